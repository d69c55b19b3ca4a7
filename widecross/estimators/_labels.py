"""Class codes of a numeric target in one compiled pass (a fit's labels, before its first pass).

NumPy's way, ``searchsorted`` of every label among the classes, a ``clip``, a check that each
label is its class and a conversion to float32, makes five passes and four temporary arrays:
11 ms for a million labels, on one thread, before every fit. With few classes each label is
compared with all of them without a branch.

>>> codes = np.empty(4, dtype=np.float32)
>>> first_unknown(np.array([3, 7, 7, 3]), np.array([3, 7]), codes), codes.tolist()
(-1, [0.0, 1.0, 1.0, 0.0])
>>> first_unknown(np.array([3.0, 5.0]), np.array([3.0, 7.0]), codes)
1
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

# Classes up to this many are compared with every label (more: NumPy's sorted search)
FEW_CLASSES = 8


def applies(y: np.ndarray, classes: np.ndarray) -> bool:
    """Whether :func:`first_unknown` encodes ``y``: numbers or booleans of the classes' own dtype,
    and few classes."""
    return (y.dtype == classes.dtype and y.dtype.kind in "biuf" and y.ndim == 1
            and 0 < classes.shape[0] <= FEW_CLASSES)


@jit
def first_unknown(y, classes, codes):
    """``codes[i]`` = the position of ``y[i]`` in ``classes``; returns the first ``i`` whose label
    is none of them (the codes from there on are not written), or -1."""
    k = classes.shape[0]
    for i in range(y.shape[0]):
        v = y[i]
        code = 0
        hit = False
        for j in range(k):
            same = classes[j] == v
            code += j * same
            hit |= same
        if not hit:
            return i
        codes[i] = code
    return -1
