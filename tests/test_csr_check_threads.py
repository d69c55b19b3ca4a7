"""The input check on threads: row blocks give the same matrix, and the same first error, as one scan."""

import numpy as np
import pytest
import scipy.sparse as sp

from widecross import _csr_check
from widecross._csr_check import checked_csr


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(_csr_check, "PARALLEL_SCAN_ENTRIES", 1)
    monkeypatch.setattr(_csr_check, "SCAN_BLOCK_ROWS", 7)


def random_csr(seed, n_rows=100, n_columns=50):
    X = sp.random(n_rows, n_columns, density=0.1, format="csr", random_state=np.random.default_rng(seed))
    X.data[:] = np.arange(1, X.nnz + 1)
    return X


def corruptions():
    """(name, function that breaks a CSR's arrays in place) — each problem the scan reports."""
    def column_too_large(X):
        X.indices[X.indptr[60] + 1] = 50

    def negative_column(X):
        X.indices[X.indptr[33]] = -3

    def decreasing(X):
        X.indptr[40] = X.indptr[39] - 1

    def past_end(X):
        X.indptr[-1] = X.indices.shape[0] + 5

    def not_finite(X):
        X.data[X.indptr[90]] = np.nan

    def two_problems(X):  # the first in row order is reported, whatever the blocks
        X.data[X.indptr[80]] = np.inf
        X.indices[X.indptr[20]] = 99

    return [column_too_large, negative_column, decreasing, past_end, not_finite, two_problems]


def error_of(X, n_jobs):
    with pytest.raises(ValueError) as info:
        checked_csr(X, n_jobs=n_jobs)
    return str(info.value)


@pytest.mark.parametrize("n_jobs", [2, 3, 7])
def test_blocks_give_the_matrix_of_one_scan(small_blocks, n_jobs):
    for seed in range(3):
        X = random_csr(seed)
        if seed == 1:  # a row out of order: not canonical, sorted by the check
            row = np.flatnonzero(np.diff(X.indptr) >= 2)[0]
            lo = X.indptr[row]
            X.indices[lo], X.indices[lo + 1] = X.indices[lo + 1], X.indices[lo]
        one, many = checked_csr(X), checked_csr(X, n_jobs=n_jobs)
        assert many.has_canonical_format == one.has_canonical_format
        for a, b in ((one.indptr, many.indptr), (one.indices, many.indices), (one.data, many.data)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_jobs", [2, 3, 7])
@pytest.mark.parametrize("corrupt", corruptions(), ids=lambda f: f.__name__)
def test_blocks_report_the_first_problem_of_one_scan(small_blocks, corrupt, n_jobs):
    X = random_csr(5)
    corrupt(X)
    assert error_of(X, n_jobs) == error_of(X, 1)
