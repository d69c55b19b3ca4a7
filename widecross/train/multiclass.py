"""What K-column (multiclass) training needs besides the kernels: scoring rows with K columns.

The epoch kernels (``_sgd_multi``, ``_ftrl_multi``) train the K columns of one state; a
:class:`~widecross.train.trainer.Trainer` reads and replaces them column by column. Early stopping
measures the held-out loss here, with SciPy, once per epoch.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..losses import Loss
from .rows import Rows


def class_margins(rows: Rows, weights: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """Margins (n_rows, K) of slot-indexed ``rows`` under per-slot ``weights`` (n_slots, K); a slot
    of -1 (a column unseen in training) weighs 0."""
    slots = rows.slots.astype(np.int64)
    unseen = weights.shape[0]  # one zero row past the slots
    slots = np.where(slots < 0, unseen, slots)
    data = rows.data if rows.data.size else np.ones(slots.shape[0])
    X = sp.csr_matrix((data.astype(np.float64), slots, rows.indptr), shape=(rows.n_rows, unseen + 1))
    padded = np.vstack([weights, np.zeros((1, weights.shape[1]))])
    return np.asarray(X @ padded) + intercepts


def class_mean_loss(rows: Rows, weights: np.ndarray, intercepts: np.ndarray, loss: Loss) -> float:
    """Mean weighted loss of ``rows`` (labels: class codes): the softmax loss, or the sum over the
    classes of their one-vs-rest binary losses.

    >>> from widecross.losses import LOSSES
    >>> rows = Rows(np.array([0, 1]), np.array([0], np.int32), np.empty(0), np.array([1.0]), np.empty(0))
    >>> round(class_mean_loss(rows, np.zeros((1, 2)), np.zeros(2), LOSSES["multinomial"]), 4)
    0.6931
    """
    m = class_margins(rows, weights, intercepts)
    labels = rows.y.astype(np.int64)
    n, k = m.shape
    if loss.link == "softmax":
        top = m.max(axis=1)
        values = np.log(np.exp(m - top[:, None]).sum(axis=1)) + top - m[np.arange(n), labels]
    else:
        onehot = labels[:, None] == np.arange(k)
        if loss.link != "sigmoid":
            raise ValueError(f"early stopping of a multiclass fit needs a logistic or multinomial loss, not {loss.name!r}")
        values = (np.logaddexp(0.0, m) - onehot * m).sum(axis=1)
    s = rows.sw if rows.sw.size else np.ones(n)
    return float(s @ values / s.sum()) if s.sum() > 0 else 0.0
