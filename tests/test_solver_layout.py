"""The exact solver's row order and column view (``train._layout``) against plain NumPy: the rows
are renumbered for locality, and nothing about the problem may change with them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from widecross.train import _layout
from widecross.train import exact as _solver


def nested_rows(seed=0, n=600):
    """Rows of a 3-level nest (a cell in a region in a country) plus a free column each, in a
    random order, with a few values other than one and a few empty rows."""
    rng = np.random.default_rng(seed)
    fine = rng.integers(0, 60, n)
    region, country = 60 + fine // 6, 70 + fine // 20
    free = 80 + rng.integers(0, 25, n)
    cols = np.stack([free, fine, country, region], 1)
    lens = rng.integers(2, 5, n)
    lens[rng.random(n) < 0.03] = 0
    indices = np.concatenate([rng.permutation(c[:k]) for c, k in zip(cols, lens)]).astype(np.int32)
    indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    data = np.where(rng.random(indices.size) < 0.2, rng.normal(size=indices.size), 1.0)
    y = (rng.random(n) < 0.4).astype(np.float64)
    return indptr, indices, data, y, 105


def dense_row_keys(indptr, slots, n_slots, depth):
    size = np.bincount(slots, minlength=n_slots)
    keys = np.full((indptr.size - 1, depth), n_slots)
    for r in range(indptr.size - 1):
        row = slots[indptr[r]:indptr[r + 1]]
        top = sorted(set(row.tolist()), key=lambda j: (-size[j], j))[:depth]
        keys[r, :len(top)] = top
    return keys


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_row_keys_and_the_order_against_numpy(depth):
    indptr, slots, _, _, n_slots = nested_rows(1)
    col_ptr = np.zeros(n_slots + 1, dtype=np.int64)
    assert _layout.count_columns(indptr, slots, col_ptr, np.full(n_slots, -1, dtype=np.int64)) == 0
    np.testing.assert_array_equal(np.diff(col_ptr), np.bincount(slots, minlength=n_slots))
    keys = np.empty((indptr.size - 1, depth), dtype=np.int32)
    _layout.row_keys(indptr, slots, _layout.slot_sizes(col_ptr), keys)
    expected = dense_row_keys(indptr, slots, n_slots, depth)
    np.testing.assert_array_equal(keys, expected)
    # the counting sorts, key by key from the last: numpy's stable lexicographic sort
    order, spare = np.arange(keys.shape[0], dtype=np.int64), np.empty(keys.shape[0], dtype=np.int64)
    counts = np.empty(n_slots + 2, dtype=np.int64)
    for d in range(depth - 1, -1, -1):
        _layout.counting_sort(np.ascontiguousarray(keys[:, d]), order, counts, spare)
        order, spare = spare, order
    np.testing.assert_array_equal(order, np.lexsort(expected.T[::-1]))


def test_the_problem_holds_the_same_rows_renumbered_and_its_columns():
    indptr, slots, data, y, n_slots = nested_rows(2)
    sw = np.random.default_rng(2).random(y.size) + 0.5
    p = _solver.make_problem(indptr, slots, data, y, sw, "logistic", n_slots, fold=False)  # folding: test_fold.py
    order = p.row_order
    assert np.array_equal(np.sort(order), np.arange(y.size))
    X = sp.csr_matrix((data, slots, indptr), shape=(y.size, n_slots))
    mine = sp.csr_matrix((p.data, p.slots, p.indptr), shape=X.shape)
    assert (mine != X[order]).nnz == 0
    np.testing.assert_array_equal(p.y, y[order])
    np.testing.assert_array_equal(p.sw, sw[order])
    # the column view is the transpose of the renumbered rows, rows ascending in each column
    by_column = X[order].tocsc()
    by_column.sort_indices()
    np.testing.assert_array_equal(p.col_ptr, by_column.indptr)
    np.testing.assert_array_equal(p.col_rows, by_column.indices)
    np.testing.assert_array_equal(p.col_data, by_column.data)
    # rows sharing their most frequent column are neighbours: each such column is one run
    top = dense_row_keys(p.indptr, p.slots, n_slots, 1)[:, 0]
    starts = np.flatnonzero(np.diff(top)) + 1
    assert starts.size == np.unique(top).size - 1


def test_the_optimum_does_not_depend_on_the_row_order():
    indptr, slots, data, y, n_slots = nested_rows(3)
    p = _solver.make_problem(indptr, slots, data, y, np.empty(0), "logistic", n_slots)
    # the same rows handed over already in the solver's order: the order it picks is the same
    again = _solver.make_problem(p.indptr, p.slots, p.data, p.y, np.empty(0), "logistic", n_slots)
    assert np.array_equal(again.row_order, np.arange(y.size))
    # and rows given in reverse reach the same optimum
    rev = np.arange(y.size)[::-1]
    X = sp.csr_matrix((data, slots, indptr), shape=(y.size, n_slots))[rev]
    q = _solver.make_problem(X.indptr, X.indices, X.data, y[rev], np.empty(0), "logistic", n_slots)
    a, b = _solver.solve(p, 2e-3, tol=1e-10), _solver.solve(q, 2e-3, tol=1e-10)
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    np.testing.assert_allclose(a.weights, b.weights, atol=1e-7)
    assert a.intercept == pytest.approx(b.intercept, abs=1e-7)
