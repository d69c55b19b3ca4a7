"""``class_weight``: one weight per class, from a dict or scikit-learn's "balanced" rule.

Apart from the classifier so that the Dask fit (which the estimators' base imports) can weigh its
rows without importing the classifier.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def class_weights(class_weight: Any, labels: np.ndarray, codes: np.ndarray | None) -> np.ndarray | None:
    """The weight of each class (float64, one per label), or None for ``class_weight=None``.

    A dict maps labels to weights (unnamed classes weigh 1); "balanced" weighs class ``k`` by
    ``n / (K n_k)`` from the class codes of the rows (scikit-learn's rule).

    >>> class_weights("balanced", np.array(["a", "b"]), np.array([0, 0, 0, 1])).tolist()
    [0.6666666666666666, 2.0]
    """
    if class_weight is None:
        return None
    n_classes = len(labels)
    if isinstance(class_weight, str) and class_weight == "balanced":
        if codes is None:
            raise ValueError("class_weight='balanced' needs the labels of all rows at once: it is not available for "
                             "partial_fit or a data set on disk; pass a dict of class weights")
        return balanced_weights(np.bincount(codes.astype(np.int64), minlength=n_classes))
    if not isinstance(class_weight, dict):
        raise ValueError(f"class_weight must be None, 'balanced' or a dict of class -> weight, got {class_weight!r}")
    out = np.ones(n_classes)
    known = {(c.item() if isinstance(c, np.generic) else c): k for k, c in enumerate(labels)}
    for label, weight in class_weight.items():
        key = label.item() if isinstance(label, np.generic) else label
        if key not in known:
            raise ValueError(f"class_weight names the class {label!r}, which is not one of the classes {list(known)}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)) or \
                not np.isfinite(weight) or weight < 0:
            raise ValueError(f"class_weight[{label!r}] must be a finite number >= 0, got {weight!r}")
        out[known[key]] = float(weight)
    return out


def balanced_weights(counts: np.ndarray) -> np.ndarray:
    """scikit-learn's "balanced" rule from the rows per class: ``n / (K n_k)``, 1 for a class
    without rows (wherever the counts come from: codes in memory, a count on a cluster).

    >>> balanced_weights(np.array([3, 1, 0])).tolist()
    [0.4444444444444444, 1.3333333333333333, 1.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    return np.where(counts > 0, counts.sum() / (counts.shape[0] * np.maximum(counts, 1.0)), 1.0)
