"""Sparse CSR features with a known sparse true weight vector, for controlled experiments.

With the truth known, a test can ask whether an L1-penalized fit keeps the informative columns
and drops the others (support recovery), or how far its weights are from ``w_true``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from .housing import _check_int

# Dense scratch used when rows are nearly full (the rejection sampler would stall): cap its size.
_DENSE_SCRATCH = 1 << 22


def _row_columns(rng: np.random.Generator, n_rows: int, n_features: int, k: int) -> np.ndarray:
    """(n_rows, k) int64: each row k distinct columns, sorted, uniform over all k-subsets."""
    if k == 0:
        return np.empty((n_rows, 0), dtype=np.int64)
    if 2 * k > n_features:
        # Dense rows: the first k of a random permutation, in slabs of bounded size.
        out = np.empty((n_rows, k), dtype=np.int64)
        slab = max(1, _DENSE_SCRATCH // n_features)
        for lo in range(0, n_rows, slab):
            keys = rng.random((min(slab, n_rows - lo), n_features))
            out[lo : lo + keys.shape[0]] = np.argpartition(keys, k - 1, axis=1)[:, :k]
        out.sort(axis=1)
        return out
    # Sparse rows: draw with replacement and redraw the repeats until none are left; with
    # k <= n_features / 2 each round at least halves the expected number of repeats.
    cols = rng.integers(0, n_features, size=(n_rows, k))
    while True:
        cols.sort(axis=1)
        repeat = np.zeros(cols.shape, dtype=bool)
        repeat[:, 1:] = cols[:, 1:] == cols[:, :-1]
        n_repeat = int(repeat.sum())
        if n_repeat == 0:
            return cols
        cols[repeat] = rng.integers(0, n_features, size=n_repeat)


def generate_sparse(
    n_rows: int,
    n_features: int,
    nnz_per_row: int,
    n_informative: int,
    seed: int = 0,
    loss: Literal["logistic", "squared"] = "logistic",
    noise: float = 0.1,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Random sparse rows and a target from a sparse true linear model.

    Each row has exactly ``nnz_per_row`` distinct columns drawn uniformly, with standard normal
    float32 values. ``w_true`` has ``n_informative`` nonzeros on random columns, magnitudes
    uniform in [0.5, 2] with random signs; the intercept is 0. The target is
    ``y ~ Bernoulli(sigmoid(X @ w_true))`` (int8 0/1) for ``loss="logistic"`` and
    ``y = X @ w_true + noise * N(0, 1)`` (float64) for ``loss="squared"``.

    Parameters
    ----------
    n_rows, n_features : shape of X.
    nnz_per_row : stored entries per row (0 <= nnz_per_row <= n_features).
    n_informative : nonzeros of ``w_true`` (0 <= n_informative <= n_features).
    seed : seed of a ``numpy.random.Generator``; the same arguments give identical output.
    loss : "logistic" or "squared".
    noise : standard deviation of the noise added to a squared-loss target.

    Returns
    -------
    X : scipy.sparse.csr_matrix, float32, (n_rows, n_features), sorted indices.
    y : (n_rows,) int8 labels or float64 targets.
    w_true : (n_features,) float64.

    Examples
    --------
    >>> X, y, w = generate_sparse(1000, 50, nnz_per_row=5, n_informative=3, seed=0)
    >>> X.shape, X.nnz, int((w != 0).sum())
    ((1000, 50), 5000, 3)
    """
    n_rows = _check_int("n_rows", n_rows, 0, 1 << 40)
    n_features = _check_int("n_features", n_features, 1, 1 << 40)
    nnz_per_row = _check_int("nnz_per_row", nnz_per_row, 0, n_features + 1)
    n_informative = _check_int("n_informative", n_informative, 0, n_features + 1)
    if loss not in ("logistic", "squared"):
        raise ValueError(f"loss must be 'logistic' or 'squared', got {loss!r}")
    noise = float(noise)
    if not noise >= 0.0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(_check_int("seed", seed, 0, 1 << 128))

    support = np.sort(rng.choice(n_features, size=n_informative, replace=False))
    w_true = np.zeros(n_features, dtype=np.float64)
    w_true[support] = rng.uniform(0.5, 2.0, size=n_informative) * rng.choice([-1.0, 1.0], size=n_informative)

    cols = _row_columns(rng, n_rows, n_features, nnz_per_row)
    fits_int32 = max(n_features, n_rows * nnz_per_row) <= np.iinfo(np.int32).max
    index_dtype = np.int32 if fits_int32 else np.int64
    indices = cols.reshape(-1).astype(index_dtype)
    data = rng.standard_normal(indices.shape[0]).astype(np.float32)
    indptr = np.arange(n_rows + 1, dtype=index_dtype) * index_dtype(nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features))

    margin = X @ w_true
    if loss == "logistic":
        y = (rng.random(n_rows) < expit(margin)).astype(np.int8)
    else:
        y = margin + noise * rng.standard_normal(n_rows)
    return X, y, w_true
