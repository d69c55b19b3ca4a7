"""Identical rows folded into one weighted row in the exact solver's problem (``train._fold``):
the groups against NumPy, and the same optimum, objective and certificate as the rows unfolded."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from widecross.train import _fold
from widecross.train import exact as _solver


def repeated_rows(seed=0, n=3000, distinct=400, weighted=True):
    """Rows drawn from ``distinct`` templates (nested cells plus a free column, some values other
    than one, a few empty rows, a few slots repeated within a row), labels drawn per row, sample
    weights with zeros: most rows have copies, with mixed labels."""
    rng = np.random.default_rng(seed)
    templates = []
    for _ in range(distinct):
        fine = int(rng.integers(0, 90))
        row = [100 + fine // 9, 120 + fine // 30, fine, 130 + int(rng.integers(0, 20))]
        k = int(rng.integers(0, 5))
        cols = row[:k] + ([row[0]] if k and rng.random() < 0.05 else [])  # a repeated slot now and then
        values = np.where(rng.random(len(cols)) < 0.3, rng.choice([2.0, -0.5, 0.25], len(cols)), 1.0)
        templates.append((np.array(cols, dtype=np.int32), values))
    pick = rng.integers(0, distinct, n)
    lens = np.array([templates[t][0].size for t in pick])
    indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    slots = np.concatenate([templates[t][0] for t in pick]).astype(np.int32)
    data = np.concatenate([templates[t][1] for t in pick])
    p_true = 1 / (1 + np.exp(-(np.sin(pick) + 0.3)))
    y = (rng.random(n) < p_true).astype(np.float64)
    sw = np.where(rng.random(n) < 0.05, 0.0, rng.random(n) + 0.5) if weighted else np.empty(0)
    return indptr, slots, data, y, sw, 150


def numpy_groups(indptr, slots, data, y, sw):
    """Distinct rows (slots and values as given, in order) -> (summed weight, summed weight * y)."""
    weights = sw if sw.size else np.ones(y.size)
    out: dict[tuple, list[float]] = {}
    for r in range(y.size):
        key = tuple(zip(slots[indptr[r]:indptr[r + 1]].tolist(), data[indptr[r]:indptr[r + 1]].tolist()))
        total = out.setdefault(key, [0.0, 0.0])
        total[0] += weights[r]
        total[1] += weights[r] * y[r]
    return out


def unique_rows(indptr, slots, data):
    """Each row's group by ``np.unique`` over the rows padded to one length (length, slots, value
    bits): an independent numbering of the distinct rows."""
    n = indptr.size - 1
    lengths = np.diff(indptr)
    width = int(lengths.max(initial=0))
    padded = np.full((n, 1 + 2 * width), -1, dtype=np.int64)
    padded[:, 0] = lengths
    for r in range(n):
        k = lengths[r]
        padded[r, 1:1 + k] = slots[indptr[r]:indptr[r + 1]]
        padded[r, 1 + width:1 + width + k] = data[indptr[r]:indptr[r + 1]].view(np.int64)
    return np.unique(padded, axis=0, return_inverse=True)[1].ravel()


def same_partition(a, b):
    """Two numberings of the rows put the same rows together."""
    pairs = np.unique(np.stack([a, b]), axis=1).shape[1]
    return pairs == np.unique(a).size == np.unique(b).size


def run_groups(X, run_key, hash_bits=_fold.ALL_HASH_BITS):
    group_of, firsts = np.empty(X.shape[0], dtype=np.int64), np.empty(X.shape[0], dtype=np.int64)
    run_keys = run_key.reshape(run_key.shape[0], -1)  # one key per row, or a row of keys
    n_groups = _fold.group_runs(X.indptr, X.indices, _fold.value_bits(X.data), run_keys, group_of, firsts,
                                np.uint64(hash_bits))
    return n_groups, group_of, firsts[:n_groups]


# all bits, then 2 bits and none: most rows, then every row, share a hash with another row
@pytest.mark.parametrize("hash_bits", [_fold.ALL_HASH_BITS, 0b11, 0])
def test_groups_against_numpy(hash_bits):
    indptr, slots, data, y, sw, n_slots = repeated_rows(1)
    # one run key for all rows, then keys of the first slot, then of the first and the last:
    # copies share any key that is a function of the row's entries
    first = np.array([slots[indptr[r]] if indptr[r + 1] > indptr[r] else -1 for r in range(y.size)])
    last = np.array([slots[indptr[r + 1] - 1] if indptr[r + 1] > indptr[r] else -1 for r in range(y.size)])
    for keys in (np.zeros((y.size, 1), dtype=np.int32), first[:, None], np.stack([first, last], 1)):
        order = np.lexsort(keys.T[::-1])
        run_key = keys[order].astype(np.int32)
        X = sp.csr_matrix((data, slots, indptr), shape=(y.size, n_slots))[order]
        n_groups, group_of, firsts = run_groups(X, run_key, hash_bits)
        expected = numpy_groups(X.indptr, X.indices, X.data, y[order], sw[order])
        assert n_groups == len(expected)
        assert same_partition(group_of, unique_rows(X.indptr, X.indices, X.data))
        assert np.all(np.diff(firsts) > 0)  # numbered in order of first appearance
        assert np.array_equal(group_of[firsts], np.arange(n_groups))
        for r in range(y.size):  # every row's group holds a copy of it
            a, b = slice(X.indptr[r], X.indptr[r + 1]), slice(X.indptr[firsts[group_of[r]]], X.indptr[firsts[group_of[r]] + 1])
            assert np.array_equal(X.indices[a], X.indices[b]) and np.array_equal(X.data[a].view(np.uint64), X.data[b].view(np.uint64))


def test_rows_of_equal_hash_but_other_entries_stay_apart():
    """With no hash bits kept every row collides with every other: rows that differ in one slot,
    one value, their length or their order of entries are still told apart, copies still found."""
    rows = [([1, 2], [1.0, 1.0]), ([1, 3], [1.0, 1.0]), ([1, 2], [1.0, 2.0]), ([1], [1.0]), ([2, 1], [1.0, 1.0]),
            ([], []), ([1, 2], [1.0, 1.0]), ([], []), ([1, 3], [1.0, 1.0]), ([1, 2, 2], [1.0, 1.0, 1.0])]
    indptr = np.concatenate([[0], np.cumsum([len(s) for s, _ in rows])])
    X = sp.csr_matrix((np.concatenate([v for _, v in rows]), np.concatenate([s for s, _ in rows]).astype(np.int32),
                       indptr), shape=(len(rows), 4))
    for hash_bits in (_fold.ALL_HASH_BITS, 0):
        n_groups, group_of, _ = run_groups(X, np.zeros(len(rows), dtype=np.int32), hash_bits)
        assert n_groups == 7 and group_of.tolist() == [0, 1, 2, 3, 4, 5, 0, 5, 1, 6]


def test_values_are_compared_by_their_bits():
    """Rows equal but for the sign of a zero or the last bit of a value stay apart."""
    indptr = np.array([0, 2, 4, 6, 8])
    slots = np.array([1, 2] * 4, dtype=np.int32)
    data = np.array([1.0, 0.0, 1.0, -0.0, 1.0, np.nextafter(0.0, 1.0), 1.0, 0.0])
    X = sp.csr_matrix((data, slots, indptr), shape=(4, 3))
    n_groups, group_of, _ = run_groups(X, np.zeros(4, np.int32))
    assert n_groups == 3 and group_of.tolist() == [0, 1, 2, 0]


def test_the_folded_problem_holds_each_distinct_row_once_with_its_weight_and_mean_label():
    indptr, slots, data, y, sw, n_slots = repeated_rows(2)
    p = _solver.make_problem(indptr, slots, data, y, sw, "logistic", n_slots)
    merged = sp.csr_matrix((data, slots, indptr), shape=(y.size, n_slots))
    merged.sum_duplicates()  # the problem sums a slot repeated within a row first
    expected = numpy_groups(merged.indptr, merged.indices, merged.data, y, sw)
    assert p.n_rows == len(expected) < y.size // 4
    mine = numpy_groups(p.indptr, p.slots, p.data if p.data.size else np.ones(p.slots.size), p.y * 0 + 1, p.sw)
    for key, (weight, labelled) in expected.items():
        assert mine[key][0] == pytest.approx(weight, rel=1e-12)
    for r in range(p.n_rows):
        key = tuple(zip(p.slots[p.indptr[r]:p.indptr[r + 1]].tolist(),
                        (p.data[p.indptr[r]:p.indptr[r + 1]] if p.data.size else np.ones(p.indptr[r + 1] - p.indptr[r])).tolist()))
        weight, labelled = expected[key]
        assert 0.0 <= p.y[r] <= 1.0
        if weight > 0:
            assert p.y[r] == pytest.approx(labelled / weight, rel=1e-12)
    assert np.array_equal(np.sort(np.unique(p.row_order)), np.sort(p.row_order))  # a first input row each
    # the column view is the transpose of the folded rows
    by_column = sp.csr_matrix((p.data if p.data.size else np.ones(p.slots.size), p.slots, p.indptr),
                              shape=(p.n_rows, n_slots)).tocsc()
    by_column.sort_indices()
    np.testing.assert_array_equal(p.col_ptr, by_column.indptr)
    np.testing.assert_array_equal(p.col_rows, by_column.indices)


@pytest.mark.parametrize("loss,l1,l2", [("logistic", 2e-3, 0.0), ("logistic", 1e-3, 1e-2), ("squared", 5e-3, 0.0),
                                        ("squared", 2e-3, 5e-2)])
@pytest.mark.parametrize("weighted", [False, True])
def test_folded_and_unfolded_rows_reach_the_same_optimum(loss, l1, l2, weighted):
    indptr, slots, data, y, sw, n_slots = repeated_rows(3, weighted=weighted)
    if loss == "squared":
        y = y * 2.0 + np.random.default_rng(3).normal(size=y.size)
    folded = _solver.make_problem(indptr, slots, data, y, sw, loss, n_slots)
    plain = _solver.make_problem(indptr, slots, data, y, sw, loss, n_slots, fold=False)
    assert folded.n_rows < plain.n_rows // 4 and plain.n_rows == y.size
    a = _solver.solve(folded, l1, l2, tol=1e-10)
    b = _solver.solve(plain, l1, l2, tol=1e-10)
    assert a.converged and b.converged
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-7, atol=1e-9)
    assert a.intercept == pytest.approx(b.intercept, rel=1e-8, abs=1e-10)
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    assert 0.0 <= a.gap <= 1e-8 * a.objective and a.gap == pytest.approx(b.gap, abs=1e-9 * a.objective)
    # the objective it reports is the input rows' objective at its weights, computed apart
    X = sp.csr_matrix((data, slots, indptr), shape=(y.size, n_slots))
    m = X @ a.weights + a.intercept
    weights = sw if sw.size else np.ones(y.size)
    per_row = np.logaddexp(0, m) - y * m if loss == "logistic" else 0.5 * (m - y) ** 2
    direct = weights @ per_row / weights.sum() + l1 * np.abs(a.weights).sum() + 0.5 * l2 * a.weights @ a.weights
    assert a.objective == pytest.approx(direct, rel=1e-10)


def test_rows_that_barely_repeat_are_left_as_they_came():
    """30 copies in 400 rows (7.5 %, under ``MIN_SAVED``): the rows stay unweighted, one per
    input row; 100 copies (25 %) fold."""
    assert _fold.MIN_SAVED == 0.1
    n = 400
    rows = np.array([[r, 400 + r % 7] for r in range(n)], dtype=np.int32)
    rows[1:60:2] = rows[0:60:2]  # rows 1, 3, ..., 59 copy the row before them
    y = (np.arange(n) % 3 == 0).astype(np.float64)
    indptr = np.arange(0, 2 * n + 1, 2)
    p = _solver.make_problem(indptr, rows.ravel(), np.empty(0), y, np.empty(0), "logistic", 407)
    assert p.n_rows == n and p.sw.size == 0 and p.loss_constant == 0.0
    rows[1:200:2] = rows[0:200:2]  # 100 copies: folded
    p = _solver.make_problem(indptr, rows.ravel(), np.empty(0), y, np.empty(0), "logistic", 407)
    assert p.n_rows == n - 100 and np.sort(p.sw).tolist() == [1.0] * 200 + [2.0] * 100


def repeated_matrix(seed, loss="logistic"):
    indptr, slots, data, y, sw, n_slots = repeated_rows(seed)
    if loss == "squared":
        y = y * 2.0 + np.random.default_rng(seed).normal(size=y.size)
    return sp.csr_matrix((data, slots, indptr), shape=(y.size, n_slots)), y, sw


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_the_trainers_exact_solver_and_l1_max_fold_to_the_same_optimum(loss, monkeypatch):
    """``optimizer="cd"`` (the ``Exact`` batch solver builds its problem with ``make_problem``)
    and ``l1_max`` on repeated rows: the same as with folding turned off."""
    import widecross as wc

    X, y, sw = repeated_matrix(4, loss)
    kind = wc.WideClassifier if loss == "logistic" else wc.WideRegressor
    build, built = _solver.make_problem, []

    def fit(fold):
        def make_problem(*args, **kwargs):
            built.append(build(*args, **kwargs, fold=fold))
            return built[-1]

        with monkeypatch.context() as patch:
            patch.setattr(_solver, "make_problem", make_problem)
            return kind(optimizer="cd", l1=2e-3, l2=1e-3, tol=1e-10, random_state=0).fit(X, y, sample_weight=sw)

    folded, plain = fit(True), fit(False)
    merged = X.copy()
    merged.sum_duplicates()  # slots repeated within a row are summed first
    assert [p.n_rows for p in built] == [len(numpy_groups(merged.indptr, merged.indices, merged.data, y, sw)), y.size]
    assert folded.objective_ == pytest.approx(plain.objective_, rel=1e-10)
    np.testing.assert_allclose(folded.coef_.toarray(), plain.coef_.toarray(), atol=1e-6)  # float32 weights
    assert folded.intercept_ == pytest.approx(plain.intercept_, abs=1e-6)
    tops = [_solver.l1_max(_solver.csr_problem(X, y, sw, loss, fold=fold)) for fold in (True, False)]
    assert tops[0] == pytest.approx(tops[1], rel=1e-12)


def test_a_warm_started_path_folds_to_the_same_points():
    X, y, sw = repeated_matrix(5)
    folded, plain = _solver.csr_problem(X, y, sw), _solver.csr_problem(X, y, sw, fold=False)
    assert folded.n_rows < plain.n_rows // 4
    grid = _solver.l1_grid(_solver.l1_max(plain), 1e-4, 6)
    for a, b in zip(_solver.solve_path(folded, grid, tol=1e-10), _solver.solve_path(plain, grid, tol=1e-10)):
        assert a.objective == pytest.approx(b.objective, rel=1e-12)
        np.testing.assert_allclose(a.weights, b.weights, rtol=1e-7, atol=1e-9)
        assert 0.0 <= a.gap <= 1e-7 * a.objective


def test_the_search_stops_where_the_first_runs_save_too_little():
    """The first 100 rows distinct, the other 100 copies in pairs (the run key: the slot halved,
    a function of the row as it must be). With a probe of the first 100 rows and 5 % to save,
    the search gives up (-1); a probe of 120 rows (its runs save 10 of 120) or none goes on to
    every group."""
    slots = np.concatenate([np.arange(100), np.repeat(np.arange(100, 150), 2)]).astype(np.int32)
    X = sp.csr_matrix((np.ones(200), slots, np.arange(201)), shape=(200, 150))
    run_keys = (slots // 2)[:, None]
    group_of, firsts = np.empty(200, dtype=np.int64), np.empty(200, dtype=np.int64)
    args = (X.indptr, X.indices, _fold.value_bits(X.data), run_keys, group_of, firsts, _fold.ALL_HASH_BITS)
    assert _fold.group_runs(*args, 0.05, 100) == -1
    assert _fold.group_runs(*args, 0.05, 120) == 150
    assert _fold.group_runs(*args, 0.05, 0) == _fold.group_runs(*args) == 150


def numpy_compact_values(data):
    """The values as the exact solver keeps them, by plain NumPy: empty when all are one,
    float32 when each value round-trips through it."""
    if not np.all(np.isfinite(data)):
        return "raises"
    if not np.any(data != 1.0):
        return np.empty(0, dtype=np.float32)
    if data.dtype == np.float32:
        return data
    with np.errstate(over="ignore"):
        narrow = data.astype(np.float32)
    return narrow if np.array_equal(narrow.astype(np.float64), data) else data


@pytest.mark.parametrize("values", [
    [1.0, 2.0, 1.0], [1.0, 1.0], [], [1.0, 0.1], [1.0, 1e300], [1.0, -0.0, 3.0], [1.0, 5e-324],
    [1.0, 2.0 ** -149], [1.0, float("inf")], [float("nan"), 1.0], [1.0, 2.0, -float("inf")],
    [16777217.0, 1.0], [16777216.0, 1.0],
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compact_values_against_numpy(values, dtype):
    from widecross.train import exact as _solver

    with np.errstate(over="ignore"):
        data = np.array(values, dtype=dtype)
    expected = numpy_compact_values(data)
    if isinstance(expected, str):
        bad = int(np.flatnonzero(~np.isfinite(data))[0])
        with pytest.raises(ValueError, match=f"data must be finite; entry {bad} is"):
            _solver._compact_values(data)
        return
    got = _solver._compact_values(data)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))  # bit for bit (-0.0)
