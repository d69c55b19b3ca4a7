"""Row visiting orders: a seeded Fisher-Yates shuffle at memory speed.

``Generator.shuffle`` of 2M rows costs ~37 ms, as much as 8 % of an SGD epoch; drawing the swap
positions from the same seeded ``numpy.random.Generator`` as 32-bit integers and swapping in a
compiled loop costs ~12 ms. The order is a pure function of the generator's state, so the same
seed gives the same bytes.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def _fisher_yates(order, draws):
    # position i swaps with j uniform in [0, i]: j = floor(draw * (i + 1) / 2^32), Lemire's
    # multiply-shift (bias below (i + 1) / 2^32, under 1e-3 for any order a fit can visit)
    for i in range(order.shape[0] - 1, 0, -1):
        j = (np.uint64(draws[i]) * np.uint64(i + 1)) >> np.uint64(32)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


def visit_order(rng: np.random.Generator, n: int, shuffle: bool) -> np.ndarray:
    """Rows ``0..n-1`` in a fresh random order (int32 when it fits), or in order.

    >>> visit_order(np.random.default_rng(0), 5, False).tolist()
    [0, 1, 2, 3, 4]
    >>> sorted(visit_order(np.random.default_rng(0), 5, True).tolist())
    [0, 1, 2, 3, 4]
    """
    order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    if shuffle and n > 1:
        _fisher_yates(order, rng.integers(0, 2**32, size=n, dtype=np.uint32))
    return order
