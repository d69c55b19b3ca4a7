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
    assert _layout.count_columns(indptr, slots, col_ptr, np.full(n_slots, -1, dtype=np.int32)) == 0
    np.testing.assert_array_equal(np.diff(col_ptr), np.bincount(slots, minlength=n_slots))
    keys = np.empty((indptr.size - 1, depth), dtype=np.int32)
    _layout.row_keys(indptr, slots, _layout.slot_sizes(col_ptr), keys)
    expected = dense_row_keys(indptr, slots, n_slots, depth)
    np.testing.assert_array_equal(keys, expected)
    # the counting sorts, key by key from the last: numpy's stable lexicographic sort
    for dtype in (np.int32, np.int64):
        order, spare = np.arange(keys.shape[0], dtype=dtype), np.empty(keys.shape[0], dtype=dtype)
        counts = np.empty(n_slots + 2, dtype=dtype)
        sorted_keys = np.full_like(keys, -1)
        for d in range(depth - 1, -1, -1):
            _layout.counting_sort(keys, d, order, counts, spare, sorted_keys if d == 0 else keys[:0])
            order, spare = spare, order
        np.testing.assert_array_equal(order, np.lexsort(expected.T[::-1]))
        # the keys carried along by the last sort: the keys of the rows in that order
        np.testing.assert_array_equal(sorted_keys, expected[np.lexsort(expected.T[::-1])])
    # row_order: the same order and keys
    order, run_keys = _layout.row_order(indptr, slots, col_ptr, with_keys=True) if depth == _layout.ORDER_DEPTH \
        else (None, None)
    if order is not None:
        assert order.dtype == np.int32
        np.testing.assert_array_equal(order, np.lexsort(expected.T[::-1]))
        np.testing.assert_array_equal(run_keys, expected[order])


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
    np.testing.assert_array_equal(p.column_values(), by_column.data)
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


def mostly_ones(seed, share):
    indptr, slots, _, y, n_slots = nested_rows(seed)
    rng = np.random.default_rng(seed)
    data = np.where(rng.random(slots.size) < share, rng.choice([0.0, -1.5, 2.0, 0.25], slots.size), 1.0)
    return indptr, slots, data, y, n_slots


@pytest.mark.parametrize("share", [0.0, 0.03, 0.5])
def test_values_other_than_one_are_listed_apart_where_few(share):
    """Where at most ``MAX_FIXED_SHARE`` of the values are not one, the column view keeps no
    values and lists those entries apart (``fix_*``); its values written out are the transpose's."""
    indptr, slots, data, y, n_slots = mostly_ones(4, share)
    p = _solver.make_problem(indptr, slots, data, y, np.empty(0), "logistic", n_slots, fold=False)
    n_fixed = int(np.count_nonzero(data != 1.0))
    if share == 0.0:
        assert p.col_data.size == 0 and p.fix_ptr.size == 0 and p.data.size == 0
    elif n_fixed <= _layout.MAX_FIXED_SHARE * data.size:
        assert p.col_data.size == 0 and p.fix_rows.size == n_fixed and p.fix_ptr[-1] == n_fixed
        for j in range(n_slots):  # rows ascending within each column's fixes
            assert np.all(np.diff(p.fix_rows[p.fix_ptr[j]:p.fix_ptr[j + 1]]) > 0)
    else:
        assert p.col_data.size == data.size and p.fix_ptr.size == 0
    X = sp.csr_matrix((data, slots, indptr), shape=(y.size, n_slots))
    by_column = X[p.row_order].tocsc()
    by_column.sort_indices()
    np.testing.assert_array_equal(p.col_ptr, by_column.indptr)
    np.testing.assert_array_equal(p.col_rows, by_column.indices)
    np.testing.assert_array_equal(p.column_values(), by_column.data)


@pytest.mark.parametrize("loss,l1,l2", [("logistic", 3e-3, 0.0), ("logistic", 1e-3, 1e-2), ("squared", 5e-3, 0.0)])
def test_values_listed_apart_reach_the_same_optimum_as_values_in_full(loss, l1, l2, monkeypatch):
    """The sweeps and gradients with the few values other than one listed apart against the same
    problem with every value stored (``MAX_FIXED_SHARE`` 0), and the KKT conditions in NumPy."""
    indptr, slots, data, y, n_slots = mostly_ones(5, 0.03)
    if loss == "squared":
        y = y * 2.0 - 0.5
    compact = _solver.make_problem(indptr, slots, data, y, np.empty(0), loss, n_slots)
    assert compact.col_data.size == 0 and compact.fix_rows.size > 0
    monkeypatch.setattr(_layout, "MAX_FIXED_SHARE", 0.0)
    full = _solver.make_problem(indptr, slots, data, y, np.empty(0), loss, n_slots)
    assert full.col_data.size == data.size
    a = _solver.solve(compact, l1, l2, tol=1e-10)
    b = _solver.solve(full, l1, l2, tol=1e-10)
    assert a.objective == pytest.approx(b.objective, rel=1e-13)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-8, atol=1e-10)
    # KKT in NumPy on the input rows
    X = sp.csr_matrix((data, slots, indptr), shape=(y.size, n_slots))
    m = X @ a.weights + a.intercept
    residual = (1 / (1 + np.exp(-m)) - y) if loss == "logistic" else (m - y)
    grad = X.T @ residual / y.size + l2 * a.weights
    assert abs(residual.mean()) < 1e-9  # the intercept's condition
    on = a.weights != 0
    np.testing.assert_allclose(grad[on], -l1 * np.sign(a.weights[on]), rtol=0, atol=1e-8 * max(l1, 1e-12) + 1e-11)
    assert np.all(np.abs(grad[~on]) <= l1 * (1 + 1e-8))


@pytest.mark.parametrize("fresh_only", [True, False])
def test_a_sweep_on_values_listed_apart_equals_one_on_values_in_full(fresh_only, monkeypatch):
    """Each of a sweep's outputs (the model's column terms, the moves, X delta) with the values
    other than one listed apart, against the same sweep on every value stored."""
    from widecross.train import _cd, _rowpass

    indptr, slots, data, y, n_slots = mostly_ones(6, 0.03)
    compact = _solver.make_problem(indptr, slots, data, y, np.empty(0), "logistic", n_slots, fold=False)
    monkeypatch.setattr(_layout, "MAX_FIXED_SHARE", 0.0)
    full = _solver.make_problem(indptr, slots, data, y, np.empty(0), "logistic", n_slots, fold=False)
    np.testing.assert_array_equal(compact.row_order, full.row_order)
    rng = np.random.default_rng(6)
    m = rng.normal(size=compact.n_rows)
    w = np.where(rng.random(n_slots) < 0.5, rng.normal(size=n_slots) * 0.1, 0.0)
    ws = np.arange(n_slots)
    outputs = []
    for p in (compact, full):
        rows, grads = np.empty((p.n_rows, _rowpass.N_ROW)), np.empty(p.n_rows)
        _, gb, hb = _rowpass.newton_rows(p.y, p.sw, p.scale, m, p.loss, rows, grads)
        g, hdiag, cvec, reach, delta, moved = (np.zeros(n_slots) for _ in range(6))
        model = np.array([0.0, 0.0, gb, hb])
        lo, hi = (p.fix_ptr[:-1], p.fix_ptr[1:]) if p.fix_ptr.size else (np.empty(0, np.int64),) * 2
        args = (p.col_ptr, p.col_rows, p.col_data, lo, hi, p.fix_rows, p.fix_data, rows, grads, w, g, hdiag, cvec,
                reach, delta, model, 1e-3, 1e-3, moved)
        _cd.cd_sweep(ws, ws, *args, True, 5.0)
        if not fresh_only:
            _cd.cd_sweep(ws, ws, *args, False, 5.0)
        outputs.append((g, hdiag, cvec, reach, delta, moved, rows[:, _rowpass.R_MOVE], model))
    for mine, theirs in zip(*outputs):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-15)


def edge_rows():
    """(name, indptr, slots, data, n_slots): no rows, one row, empty rows, a slot repeated
    within a row, long rows, every row a copy."""
    yield "no rows", [0], [], [], 3
    yield "one row", [0, 2], [2, 0], [1.0, 2.0], 3
    yield "one empty row", [0, 0], [], [], 3
    yield "empty rows", [0, 0, 2, 2, 3, 3], [1, 2, 2, 1], [1.0, 1.0, 1.0, 1.0], 4
    yield "repeats", [0, 3, 5, 7], [1, 1, 2, 0, 0, 2, 1], [1.0, 2.0, 1.0, 1.0, 0.5, 1.0, 1.0], 3
    rng = np.random.default_rng(5)
    long = np.concatenate([rng.permutation(40)[:30] for _ in range(20)])
    yield "long rows", np.arange(0, 601, 30), long, np.ones(600), 40
    yield "all copies", np.arange(0, 41, 2), np.tile([3, 1], 20), np.ones(40), 4


@pytest.mark.parametrize("case", list(edge_rows()), ids=lambda c: c[0])
@pytest.mark.parametrize("pointers", [np.int32, np.int64])
@pytest.mark.parametrize("fold", [False, True])
def test_column_view_edge_cases_against_numpy(case, pointers, fold):
    from widecross.train.rows import Rows

    _, indptr, slots, data, n_slots = case
    indptr, slots, data = np.array(indptr, pointers), np.array(slots, np.int32), np.array(data, np.float64)
    n = indptr.size - 1
    y = (np.arange(n) % 2).astype(np.float64)
    view, rows, order, _ = _layout.column_view(Rows(indptr, slots, data, y, np.empty(0)), n_slots, fold)
    merged = sp.csr_matrix((data, slots, indptr), shape=(n, n_slots))
    merged.sum_duplicates()
    keys = dense_row_keys(merged.indptr, merged.indices, n_slots, _layout.ORDER_DEPTH)
    expected = np.lexsort(keys.T[::-1])
    assert order.dtype == np.int64
    if not fold or rows.n_rows == n:
        np.testing.assert_array_equal(order, expected)
    else:  # the first row of each group of copies, in the order
        padded = merged.toarray()[expected]
        _, first = np.unique(padded, axis=0, return_index=True)
        np.testing.assert_array_equal(order, expected[np.sort(first)])
    mine = sp.csr_matrix((rows.data if rows.data.size else np.ones(rows.slots.size), rows.slots, rows.indptr),
                         shape=(rows.n_rows, n_slots))
    assert (mine != merged[order]).nnz == 0
    by_column = merged[order].tocsc()
    by_column.sort_indices()
    np.testing.assert_array_equal(view.col_ptr, by_column.indptr)
    np.testing.assert_array_equal(view.col_rows, by_column.indices)
