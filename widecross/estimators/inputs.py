"""The estimators' input conversion: features, targets, sample weights and seeds, checked once.

:func:`as_features` is the one function through which every ``X`` an estimator trains on or
scores passes (raw columns through the spec, or a matrix), before any kernel reads it.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._csr_check import checked_csr


class DataConversionWarning(UserWarning):
    """A column-vector ``y`` was raveled (the name scikit-learn's checks look for)."""


def as_features(X: Any, spec: Any, owner: str, fitting: bool, expected: int | None = None,
                n_jobs: int = 1) -> tuple[sp.csr_matrix, int]:
    """Canonical CSR (float values, no duplicates) of ``X`` and the model width; never modifies X.

    With a ``spec``, ``X`` is raw columns (featurized on ``n_jobs`` threads); without, a sparse
    matrix (any SciPy format) or 2-D array whose width must be ``expected`` (the fitted one) when
    given.
    """
    if spec is not None:
        if sp.issparse(X) or isinstance(X, np.ndarray) and X.dtype.names is None:
            raise TypeError(
                f"{owner} has a spec, so X must be raw columns (a dict, DataFrame or "
                f"pyarrow Table with columns {list(spec.columns)}), got {type(X).__name__}"
            )
        X = spec.transform(X, n_jobs=n_jobs)
    if not sp.issparse(X):
        X = sp.csr_matrix(_dense(X).astype(np.float64, copy=False))
    # Every index a kernel will read is checked here, in O(nnz), whatever the format (and even
    # for the spec's own output): in range, a valid row pointer, no duplicates, finite values.
    X = checked_csr(X, n_jobs=n_jobs)
    n, d = X.shape
    if d == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape=({n}, 0)) while a minimum of 1 is required.")
    if fitting and n == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape=(0, {d})) while a minimum of 1 is required.")
    if spec is not None:
        return X, int(spec.n_features)
    if expected is not None and d != expected:
        raise ValueError(f"X has {d} features, but {owner} is expecting {expected} features as input.")
    return X, d


def _dense(X: Any) -> np.ndarray:
    if not (hasattr(X, "__array__") or isinstance(X, (list, tuple))):
        raise TypeError(f"X must be a scipy sparse matrix or a 2-D array, got {type(X).__name__}")
    arr = np.asarray(X)
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    if arr.dtype.kind not in "fiub":
        try:
            arr = arr.astype(np.float64)
        except TypeError as exc:
            raise TypeError(f"X must hold real numbers: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"X must hold real numbers: {exc}") from None
    if arr.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {arr.ndim}D array instead. Reshape your data with "
            "X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample."
        )
    return arr


def as_sample_weight(sample_weight: Any, n: int, whole: bool = True) -> np.ndarray:
    """Finite non-negative float64 weights of ``n`` rows (empty: all ones); ``whole``: they
    must not sum to zero (a chunk of a data set may weigh 0; the whole may not)."""
    if sample_weight is None:
        return np.empty(0, dtype=np.float64)
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.ndim == 0:
        sw = np.full(n, float(sw))
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(f"sample_weight has shape {sw.shape}, expected ({n},) to match X")
    if not np.isfinite(sw).all():
        raise ValueError(f"sample_weight contains NaN or infinity (row {int(np.flatnonzero(~np.isfinite(sw))[0])})")
    if (sw < 0).any():
        raise ValueError(f"sample_weight must be >= 0, got {sw.min()} (row {int(np.argmin(sw))})")
    if whole and sw.sum() <= 0:
        raise ValueError("sample_weight sums to zero: nothing to learn from")
    return sw


def scoring_target(y: Any, sample_weight: Any, n: int, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """``y`` and the sample weights of ``score`` (empty: unweighted), checked against ``n`` rows."""
    if n == 0:
        raise ValueError("score needs at least one row, X has none")
    labels = None if y is None else np.asarray(y)
    if labels is not None and labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()  # a column of labels, as scikit-learn's scorers pass: no warning
    return as_target(labels, n, owner), as_sample_weight(sample_weight, n)


def as_target(y: Any, n: int, owner: str) -> np.ndarray:
    """A 1-D target of ``n`` rows (a column vector is raveled, with scikit-learn's warning)."""
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        # scikit-learn's own class when it is loaded, so that its warning filters apply
        sk = sys.modules.get("sklearn.exceptions")
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the shape "
            "of y to (n_samples, ), for example using ravel().",
            sk.DataConversionWarning if sk is not None else DataConversionWarning,
            stacklevel=4,
        )
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {arr.shape[0]}: inconsistent numbers of samples")
    return arr


def generator(random_state: Any) -> np.random.Generator:
    """The seeded generator of a fit: row orders, the validation split, the shuffle buffer."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int or a numpy Generator, got {random_state!r}")


def split_holdout(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, held-out rows), each sorted: ``round(fraction * n)`` rows (at least one)
    drawn by one permutation from ``rng``. The split of ``early_stopping`` and of the command line.

    >>> train, held = split_holdout(10, 0.3, np.random.default_rng(0))
    >>> len(train), len(held), sorted(np.concatenate([train, held]).tolist()) == list(range(10))
    (7, 3, True)
    """
    n_held = max(1, int(round(fraction * n)))
    if n_held >= n:
        raise ValueError(f"validation_fraction={fraction} leaves no training rows")
    held = np.zeros(n, dtype=bool)
    held[rng.permutation(n)[:n_held]] = True  # each part in order from a mask: no sort of n ids
    return np.flatnonzero(~held), np.flatnonzero(held)
