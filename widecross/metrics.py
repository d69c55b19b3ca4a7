"""Held-out metrics in plain NumPy (no scikit-learn at run time).

>>> import numpy as np
>>> round(roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])), 3)
0.75
"""

from __future__ import annotations

from typing import Any

import numpy as np

_EPS = 1e-15


def _as_1d(name: str, values: object, dtype: type = np.float64) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    return array


def _check_pair(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: object | None) -> np.ndarray | None:
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.shape[0]} rows but predictions have {y_pred.shape[0]}")
    if y_true.size == 0:
        raise ValueError("cannot compute a metric on zero rows")
    if sample_weight is None:
        return None
    weight = _as_1d("sample_weight", sample_weight)
    if weight.shape != y_true.shape:
        raise ValueError(f"sample_weight has {weight.shape[0]} rows but y_true has {y_true.shape[0]}")
    return weight


def log_loss(y_true: object, probability: object, sample_weight: object | None = None) -> float:
    """Mean logistic loss of probabilities of class 1 (clipped to [1e-15, 1 - 1e-15])."""
    y = _as_1d("y_true", y_true)
    p = np.clip(_as_1d("probability", probability), _EPS, 1 - _EPS)
    weight = _check_pair(y, p, sample_weight)
    losses = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return float(np.average(losses, weights=weight))


def roc_auc(y_true: object, score: object, sample_weight: object | None = None) -> float:
    """Area under the ROC curve, ties counted as half (Mann-Whitney U), O(n log n)."""
    y = _as_1d("y_true", y_true)
    s = _as_1d("score", score)
    weight = _check_pair(y, s, sample_weight)
    # Without weights every sum below is a count (exact in float64), whatever the order of ties:
    # the faster unstable sort gives the same AUC. Weights keep the stable order's sums.
    kind = "mergesort" if weight is not None else "quicksort"
    weight = np.ones_like(y) if weight is None else weight
    positive = y > 0.5
    total_pos = weight[positive].sum()
    total_neg = weight[~positive].sum()
    if total_pos == 0 or total_neg == 0:
        raise ValueError("AUC needs both classes in y_true")
    order = np.argsort(s, kind=kind)
    s_sorted, pos_w, neg_w = s[order], (weight * positive)[order], (weight * ~positive)[order]
    # Group tied scores: each positive beats the negatives strictly below and half of its ties.
    boundaries = np.flatnonzero(np.diff(s_sorted)) + 1
    starts = np.concatenate(([0], boundaries))
    pos_group = np.add.reduceat(pos_w, starts)
    neg_group = np.add.reduceat(neg_w, starts)
    neg_below = np.cumsum(neg_group) - neg_group
    u = np.sum(pos_group * (neg_below + 0.5 * neg_group))
    return float(u / (total_pos * total_neg))


def accuracy(y_true: object, y_pred: object, sample_weight: object | None = None) -> float:
    """Share of exactly matching labels."""
    y = np.asarray(y_true)
    p = np.asarray(y_pred)
    weight = _check_pair(y, p, sample_weight)
    return float(np.average(y == p, weights=weight))


def rmse(y_true: object, y_pred: object, sample_weight: object | None = None) -> float:
    """Root mean squared error."""
    y = _as_1d("y_true", y_true)
    p = _as_1d("y_pred", y_pred)
    weight = _check_pair(y, p, sample_weight)
    return float(np.sqrt(np.average((y - p) ** 2, weights=weight)))


def mae(y_true: object, y_pred: object, sample_weight: object | None = None) -> float:
    """Mean absolute error."""
    y = _as_1d("y_true", y_true)
    p = _as_1d("y_pred", y_pred)
    weight = _check_pair(y, p, sample_weight)
    return float(np.average(np.abs(y - p), weights=weight))


def r2_score(y_true: object, y_pred: object, sample_weight: object | None = None) -> float:
    """(Weighted) coefficient of determination R^2: 1 for a perfect fit; 1 or 0 for a constant
    target (whether or not the predictions match it)."""
    y = _as_1d("y_true", y_true)
    p = _as_1d("y_pred", y_pred)
    weight = _check_pair(y, p, sample_weight)
    w = np.ones_like(y) if weight is None else weight
    mean = np.average(y, weights=w)
    ss_res = float(w @ (y - p) ** 2)
    ss_tot = float(w @ (y - mean) ** 2)
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


# Figures of report() that some targets leave undefined (None there), and why.
UNDEFINED = {"auc": "the target holds one class", "r2": "the target is constant"}


def report(loss: Any, y: np.ndarray, prediction: np.ndarray) -> dict[str, float | None]:
    """The held-out figures of a model with ``loss`` (a :class:`widecross.losses.Loss`) from its
    mean predictions: log-loss, AUC and accuracy of probabilities; accuracy and AUC of scores
    (hinge); RMSE, MAE and R^2 of a regression. AUC of a target with one class and R^2 of a
    constant target are undefined: None (see ``UNDEFINED``), never a number that looks measured."""
    out: dict[str, float | None]
    if loss.link == "sigmoid":
        out = {"log_loss": log_loss(y, prediction), "accuracy": accuracy(y, (prediction > 0.5).astype(y.dtype))}
    elif loss.classifier:
        out = {"accuracy": accuracy(y, (prediction > 0).astype(y.dtype))}
    else:
        out = {"rmse": rmse(y, prediction), "mae": mae(y, prediction)}
        out["r2"] = r2_score(y, prediction) if np.var(y) > 0 else None
        return out
    out["auc"] = roc_auc(y, prediction) if 0 < np.count_nonzero(y > 0.5) < y.size else None
    return out


def multiclass_log_loss(codes: object, probability: object) -> float:
    """Mean of -log p[i, codes[i]] (probabilities clipped to [1e-15, 1]).

    >>> round(multiclass_log_loss([0, 2], [[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]), 6)
    0.458128
    """
    c = np.asarray(codes, dtype=np.int64).ravel()
    p = np.asarray(probability, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != c.shape[0] or (c.size and (c.min() < 0 or c.max() >= p.shape[1])):
        raise ValueError(f"probabilities of shape {p.shape} do not fit {c.shape[0]} class codes")
    return float(-np.log(np.clip(p[np.arange(c.shape[0]), c], _EPS, 1.0)).mean())


def multiclass_report(codes: np.ndarray, probability: np.ndarray, classes: Any) -> dict[str, float | None]:
    """Held-out figures of K-class probabilities: log-loss, accuracy, each class's one-vs-rest
    AUC (``auc[label]``; None where undefined: the class absent, or alone) and their mean over
    the classes where it is defined (``macro_auc``)."""
    codes = np.asarray(codes, dtype=np.int64)
    out: dict[str, float | None] = {"log_loss": multiclass_log_loss(codes, probability),
                                    "accuracy": float(np.mean(np.argmax(probability, axis=1) == codes))}
    aucs = []
    for k, label in enumerate(classes):
        positive = codes == k
        auc = roc_auc(positive.astype(np.float64), probability[:, k]) if 0 < positive.sum() < codes.size else None
        if auc is not None:
            aucs.append(auc)
        out[f"auc[{label}]"] = auc
    out["macro_auc"] = float(np.mean(aucs)) if aucs else None
    return out
