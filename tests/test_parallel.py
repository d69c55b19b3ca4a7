"""The exact parts on threads (``widecross._parallel``): featurizing, scoring, the polish and the
losses give the same bits for n_jobs 1, 2, 3 and 7, the same first error, and the polish's
threaded sums agree with a dense NumPy gradient.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc
from widecross._parallel import BLOCK_ROWS, check_jobs, row_blocks, run_blocks, run_tasks
from widecross.losses import LOSSES
from widecross.model.sparse import PREDICT_CHUNK_ROWS
from widecross.train import Penalty, Polish, Rows
from widecross.train.solver import RowsPlan
from widecross.train import _polish, blocksums
from widecross.features._plan import _close_gaps
from widecross.train.blocksums import PassSums, loss_sums
from widecross.train.polish import mean_loss

JOBS = (1, 2, 3, 7)


def points(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"lat": rng.uniform(-90, 90, n), "lon": rng.uniform(-180, 180, n)}


def test_blocks_are_fixed_and_results_come_in_block_order():
    assert row_blocks(10, 4) == [(0, 4), (4, 8), (8, 10)] and row_blocks(0, 4) == []
    seen = []
    lock = threading.Lock()

    def task(start, stop):
        with lock:
            seen.append(start)
        return start, stop

    for n_jobs in JOBS:
        assert run_blocks(task, 10, n_jobs, 3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    # a task that itself asks for threads runs its blocks inline instead of waiting for the pool
    assert run_tasks([lambda: run_blocks(lambda a, b: b - a, 5, 2, 2)] * 3, 2) == [[2, 2, 1]] * 3


def test_the_first_failing_block_in_order_raises():
    def task(start, stop):
        if start >= 4:
            raise ValueError(f"block {start}")
        return start

    for n_jobs in JOBS:
        with pytest.raises(ValueError, match="block 4"):
            run_blocks(task, 12, n_jobs, 2)


def test_a_failing_task_waits_for_the_others_and_the_pool_goes_on():
    ended = []

    def task(k):
        def run():
            if k == 1:
                raise KeyError("first")
            if k == 3:
                raise ValueError("later")
            time.sleep(0.01)
            ended.append(k)
            return k
        return run

    with pytest.raises(KeyError, match="first"):
        run_tasks([task(k) for k in range(8)], 3)
    assert sorted(ended) == [0, 2, 4, 5, 6, 7]  # every other task ran to its end before the raise
    assert run_tasks([lambda k=k: k * k for k in range(50)], 3) == [k * k for k in range(50)]


def test_callers_on_several_threads_share_no_call_and_threads_are_reused():
    def call(seed):
        values = list(range(seed, seed + 40))
        return run_tasks([lambda v=v: (time.sleep(0.0005), v)[1] for v in values], 2) == values

    run_tasks([lambda: 0] * 2, 2)
    before = threading.active_count()
    with ThreadPoolExecutor(max_workers=4) as callers:  # four callers at once: each its own gang
        assert all(callers.map(call, range(0, 4000, 100)))
    assert threading.active_count() - before <= 3 * 2  # at most one gang per extra concurrent caller
    after = threading.active_count()
    for _ in range(200):
        run_tasks([lambda: 1] * 5, 2)
    assert threading.active_count() == after  # calls one after another reuse a gang


def test_the_pool_keeps_nothing_of_a_call_after_it():
    import gc
    import weakref

    class Big:
        pass

    big = Big()
    ref = weakref.ref(big)
    assert run_tasks([lambda: big, lambda: 1, lambda: 2], 2)[0] is big
    del big
    gc.collect()
    assert ref() is None  # neither the gang nor a waiting thread holds the task or its result


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_starts_threads_of_its_own():
    run_tasks([lambda: 1] * 4, 2)  # the parent's gang exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        try:
            ok = run_tasks([lambda k=k: k for k in range(6)], 2) == list(range(6))
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    signal.alarm(20)  # a child stuck on its parent's threads fails the test instead of hanging it
    try:
        assert os.read(read, 1) == b"1"
        os.waitpid(pid, 0)
    finally:
        signal.alarm(0)
        os.close(read)


def test_check_jobs():
    assert check_jobs(None) == 1 and check_jobs(np.int64(3)) == 3 and check_jobs(-1) >= 1
    for bad in (0, -2, 2.0, "1", False):
        with pytest.raises(ValueError, match="n_jobs must be a positive integer or -1"):
            check_jobs(bad, "X")


def csr_key(X):
    return (X.indptr.tobytes(), X.indices.tobytes(), X.data.tobytes(), X.indices.dtype, X.shape, X.has_canonical_format)


@pytest.mark.parametrize("bits", [None, 10, 22])
def test_transform_is_the_same_matrix_for_any_n_jobs(bits):
    # 2^10 columns: hashed rows often merge features, so blocks must close the gaps they leave
    data = points(2 * BLOCK_ROWS + 1234, seed=bits or 0)
    spec = wc.geo_spec(bits=bits)
    keys = {n: csr_key(spec.transform(data, n_jobs=n)) for n in JOBS}
    assert all(k == keys[1] for k in keys.values())
    if bits == 10:
        assert spec.transform(data).nnz < 5 * len(data["lat"])  # the case with gaps did happen


@pytest.mark.parametrize("tokens", [False, True])
def test_transform_with_numeric_categorical_and_token_columns_is_the_same_for_any_n_jobs(tokens):
    # the general fill kernel (numeric values, categoricals, a cross); token lists vary the row
    # length and take the one-thread path: the same matrix either way
    n = 2 * BLOCK_ROWS + 77
    rng = np.random.default_rng(5)
    data = {"area": rng.gamma(2.0, 50.0, n), "kind": rng.choice(["flat", "house", "villa", "barn"], n),
            **points(n, seed=5)}
    features = [wc.Numeric("area", scale="standard"), wc.Categorical("kind"),
                wc.Cross(wc.Categorical("kind"), wc.Bucketize("lat", -90, 90, 180))]
    if tokens:
        data["words"] = [list(rng.choice(["sea", "view", "old", "new"], rng.integers(0, 4))) for _ in range(n)]
        features.append(wc.Tokens("words"))
    spec = wc.FeatureSpec(features, bits=18).fit(data)
    keys = {k: csr_key(spec.transform(data, n_jobs=k)) for k in JOBS}
    assert all(k == keys[1] for k in keys.values())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closing_the_gaps_between_blocks_is_the_concatenation_of_their_rows(seed):
    # blocks filled from their first possible entry (3 per row), rows shorter than that (merged
    # features): closed up on threads (shifts shorter than every block) or in order (a one-row
    # block shorter than a shift), always the rows one after the other
    rng = np.random.default_rng(seed)
    width, sizes = 3, [int(v) for v in rng.integers(1, 9, 7)]
    sizes[3] = 1
    n_rows = sum(sizes)
    lengths = rng.integers(0 if seed else 2, width + 1, n_rows)
    expected = [rng.integers(0, 1000, k).astype(np.int32) for k in lengths]
    for n_jobs in JOBS:
        indices = np.full(n_rows * width, -1, dtype=np.int32)
        indptr = np.zeros(n_rows + 1, dtype=np.int32)
        blocks, start = [], 0
        for size in sizes:
            pos = start * width
            for r in range(start, start + size):
                indices[pos : pos + lengths[r]] = expected[r]
                pos += lengths[r]
                indptr[r + 1] = pos
            blocks.append((start, start + size, start * width, pos))
            start += size
        data = indices.astype(np.float32) / 2
        end = _close_gaps((indices, data, indptr), blocks, n_jobs)
        assert end == lengths.sum() and indptr.tolist() == np.concatenate([[0], np.cumsum(lengths)]).tolist()
        assert indices[:end].tolist() == np.concatenate(expected).tolist()
        assert (data[:end] == indices[:end] / 2).all()


def test_transform_reports_the_first_bad_row_for_any_n_jobs():
    data = points(2 * BLOCK_ROWS + 10)
    data["lat"][[BLOCK_ROWS + 7, 2 * BLOCK_ROWS + 3]] = [95.0, np.nan]
    messages = set()
    for n in JOBS:
        with pytest.raises(ValueError) as err:
            wc.geo_spec(bits=20).transform(data, n_jobs=n)
        messages.add(str(err.value))
    assert len(messages) == 1 and f"first at row {BLOCK_ROWS + 7}" in messages.pop()


@pytest.fixture(scope="module")
def model_and_rows():
    spec = wc.geo_spec(bits=20)
    rng = np.random.default_rng(1)
    idx = np.unique(rng.integers(0, spec.n_features, 30_000))
    model = wc.SparseModel(idx, rng.normal(0, 0.5, idx.size), -0.3, spec.n_features, "logistic", spec=spec)
    return model, points(PREDICT_CHUNK_ROWS + BLOCK_ROWS + 99, seed=2)


def test_predictions_are_the_same_for_any_n_jobs(model_and_rows):
    model, data = model_and_rows
    X = model.spec.transform(data)
    expected = model.decision_function(X)
    # a plain reference: the dense dot product of each row with the weights
    w = np.zeros(model.n_features)
    w[model.indices] = model.values
    np.testing.assert_allclose(expected[:500], X[:500] @ w + model.intercept, rtol=1e-12)
    for n in JOBS:
        assert model.decision_function(X, n_jobs=n).tobytes() == expected.tobytes()
        assert model.decision_function(data, n_jobs=n).tobytes() == expected.tobytes()
        assert model.predict_proba(data, n_jobs=n).tobytes() == model.predict_proba(X).tobytes()
    clf = wc.WideClassifier(model.spec, l1=1e-6, n_jobs=3, epochs=1, polish=1, random_state=0)
    clf.fit({k: v[:3000] for k, v in data.items()}, (data["lat"][:3000] > 0).astype(int))
    assert clf.predict_proba(data).tobytes() == clf.model_.predict_proba(data).tobytes()


def test_scoring_errors_are_the_serial_ones(model_and_rows):
    model, data = model_and_rows
    X = model.spec.transform(data).astype(np.float64)
    X.indices = X.indices.astype(np.int64)
    X.indices[X.indptr[[BLOCK_ROWS + 5, 2 * BLOCK_ROWS + 1]]] = model.n_features + 7  # rows of two blocks
    messages = set()
    for n in JOBS:
        with pytest.raises(ValueError) as err:
            model.decision_function(X, n_jobs=n)
        messages.add(str(err.value))
    # the validation of sparse input finds it before any block is scored
    assert messages == {f"X: row {BLOCK_ROWS + 5}: column index {model.n_features + 7} is outside [0, {model.n_features})"}


def polish_rows(seed, n=3 * BLOCK_ROWS // 2, width=5000, values=False, weighted=False):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 8, n)
    X = sp.csr_matrix((rng.normal(size=lengths.sum()) if values else np.ones(lengths.sum()),
                       rng.integers(0, width, lengths.sum()), np.concatenate([[0], np.cumsum(lengths)])),
                      shape=(n, width))
    X.sum_duplicates()
    if not values:
        X.data[:] = 1.0
    y = (rng.random(n) < 0.35).astype(np.float64)
    sw = rng.uniform(0.2, 3.0, n) if weighted else np.empty(0)
    rows = Rows(X.indptr.astype(np.int64), X.indices.astype(np.int32), X.data if values else np.empty(0), y, sw)
    return X, rows, rng.normal(0, 0.05, width)


@pytest.mark.parametrize("values, weighted", [(False, False), (True, True)])
def test_threaded_pass_sums_are_the_serial_ones_and_the_dense_gradient(values, weighted):
    X, rows, w = polish_rows(3, values=values, weighted=weighted)
    loss = LOSSES["logistic"]
    serial = np.zeros((w.size, 3))
    serial[:, 0] = w
    sums = np.zeros(_polish.N_SUMS)
    _polish.add_rows(*rows.arrays, serial, 0.2, loss.code, 1.0, False, sums)
    s = rows.sw if weighted else np.ones(X.shape[0])
    margin = X @ w + 0.2
    g = s * (1 / (1 + np.exp(-margin)) - rows.y)  # dense reference of the unscaled gradient
    np.testing.assert_allclose(serial[:, 1], X.T @ g, rtol=1e-10, atol=1e-12)
    for n in JOBS[1:]:
        rec = np.zeros((w.size, 3))
        rec[:, 0] = w
        threaded = np.zeros(_polish.N_SUMS)
        PassSums(rows, n).add(rec, 0.2, loss.code, 1.0, threaded)
        assert rec.tobytes() == serial.tobytes() and threaded.tobytes() == sums.tobytes()
        assert loss_sums(rows, w, 0.2, loss.code, n) == _polish.loss_sums(*rows.arrays, w, 0.2, loss.code)
        unseen = rows._replace(slots=np.where(rows.slots % 5 == 0, -1, rows.slots).astype(np.int32))  # held-out rows
        assert loss_sums(unseen, w, 0.2, loss.code, n) == _polish.loss_sums(*unseen.arrays, w, 0.2, loss.code)


@pytest.mark.parametrize("values, blocks", [(False, "two"), (True, "one"), (False, "read again")])
def test_the_polish_and_its_objective_are_the_same_for_any_n_jobs(values, blocks, monkeypatch):
    # the head rows' one sweep, the tail's terms and per-slot-range sums, the per-slot steps on
    # slot blocks: the one-thread bits, over one block of rows, two, or rows read anew each pass
    monkeypatch.setattr(blocksums, "SLOT_BLOCK", 1024)  # several slot blocks on the threads
    _, rows, w0 = polish_rows(5, values=values, weighted=True)
    passes = {"one": lambda: (rows,), "two": lambda: (rows, rows),
              "read again": lambda: (Rows(*(a.copy() for a in rows)),)}[blocks]
    results = set()
    for n in JOBS:
        w = w0.copy()
        solution = Polish(4, measure=True, n_jobs=n).solve(passes, w, 0.1, Penalty(1e-4, 1e-5), LOSSES["logistic"])
        results.add((w.tobytes(), solution.intercept, solution.objective,
                     mean_loss(lambda: (rows,), w, 0.3, LOSSES["logistic"], n)))
    assert len(results) == 1
    assert np.count_nonzero(w) < w.size  # the l1 zeroed weights: the prox's exact zeros were compared too


def test_a_kept_plan_serves_the_next_polish_of_the_same_rows_with_the_same_bits():
    # an l1 path's points polish one set of rows again and again: the split by slot range is kept
    # in the plan and reused, and each polish is still the fresh one-thread polish bit for bit
    _, rows, w0 = polish_rows(6, values=True, weighted=True)
    plan = RowsPlan()
    splits = []
    for l1, start in [(1e-4, w0), (3e-5, 0.5 * w0), (1e-5, w0[::-1].copy())]:
        alone, kept = start.copy(), start.copy()
        fresh = Polish(4, n_jobs=1).solve(lambda: (rows,), alone, 0.1, Penalty(l1, 0.0), LOSSES["logistic"])
        again = Polish(4, n_jobs=2).solve(lambda: (rows,), kept, 0.1, Penalty(l1, 0.0), LOSSES["logistic"], plan)
        assert kept.tobytes() == alone.tobytes() and again.intercept == fresh.intercept
        splits.append(plan.polish_sums)
    assert splits[0] is splits[1] is splits[2] and splits[0].rows is rows
    other = Rows(*(a.copy() for a in rows))  # other rows (the same values): a split of their own
    Polish(2, n_jobs=2).solve(lambda: (other,), w0.copy(), 0.1, Penalty(1e-4, 0.0), LOSSES["logistic"], plan)
    assert plan.polish_sums is not splits[0] and plan.polish_sums.rows is other
    Polish(2, n_jobs=3).solve(lambda: (other,), w0.copy(), 0.1, Penalty(1e-4, 0.0), LOSSES["logistic"], plan)
    assert plan.polish_sums.n_jobs == 3  # another thread count: another split


def test_a_fit_keeps_no_plan_of_its_rows_and_a_path_drops_its_plan_at_its_end(monkeypatch):
    from widecross.estimators.path import fit_path
    from widecross.train import params

    monkeypatch.setattr(params, "POLISH_THREADS_MIN_ROWS", 1000)  # the polish of these rows on threads
    X, rows, _ = polish_rows(7)
    y = rows.y
    clf = wc.WideClassifier(None, l1=1e-4, n_jobs=2).fit(X, y)
    assert clf._trainer._plan.polish_sums is None and clf._trainer._sharded is None
    est = wc.WideClassifier(None, l1=1e-4, n_jobs=2)
    fit = est._path_fitter(X, y)
    fit()
    split = est._trainer._plan.polish_sums
    assert split is not None  # kept for the next point ...
    est.set_params(l1=3e-5, warm_start=True)
    fit()
    assert est._trainer._plan.polish_sums is split  # ... which polished the same rows with it
    walker = wc.WideClassifier(None, l1=1e-4, n_jobs=2)
    assert len(fit_path(walker, [1e-4, 3e-5], X[:60_000], y[:60_000], X[60_000:], y[60_000:])) == 2
    assert walker._trainer._plan.polish_sums is None


def test_the_polish_of_few_rows_runs_on_one_thread():
    """Below POLISH_THREADS_MIN_ROWS rows the fit's polish takes one thread (the same bits, less
    time); from there on, and where the rows are not known, n_jobs."""
    from widecross.train.params import POLISH_THREADS_MIN_ROWS

    params = wc.WideClassifier(l1=1e-6, n_jobs=3)._params()
    assert params.make_solver(False, POLISH_THREADS_MIN_ROWS - 1).n_jobs == 1
    assert params.make_solver(False, POLISH_THREADS_MIN_ROWS).n_jobs == 3 == params.make_solver(True).n_jobs
    assert wc.WideClassifier(l1=1e-6, n_jobs=3, optimizer="cd")._params().make_solver(False, 10).__class__.__name__ == "Exact"


def test_the_polish_on_threads_never_certifies_a_sign_the_one_thread_sum_does_not_give(monkeypatch):
    # the momentum test read from the slot blocks' sums: on terms built to cancel (the intercept's
    # term from 1 to 1e-20 of the magnitudes away from minus the sum), every sign it certifies is the one-thread sum's,
    # and where it cannot tell, the one-thread sum decides (the polish then keeps its bits)
    rng = np.random.default_rng(12)
    certified = undecided = 0
    for trial in range(400):
        n = int(rng.integers(1, 3000))
        terms = rng.normal(0, 1, n) * 10.0 ** rng.integers(-8, 8, n)
        terms[rng.random(n) < 0.3] = 0.0
        serial = _polish.ordered_sum(terms)
        size = float(np.abs(terms).sum())
        intercept_term = -serial + rng.choice([0.0, 1.0, -1.0]) * size * 10.0 ** -rng.uniform(0, 20)
        cuts = np.unique(np.concatenate([[0, n], rng.integers(0, n, int(rng.integers(0, 9)))]))
        parts = [(_polish.ordered_sum(terms[a:b]), float(np.abs(terms[a:b]).sum())) for a, b in zip(cuts, cuts[1:])]
        turn = blocksums.certain_turn(parts, n, intercept_term)
        if turn is None:
            undecided += 1
        else:
            certified += 1
            assert (turn + intercept_term > 0.0) == (serial + intercept_term > 0.0)
    assert certified > 50 and undecided > 50
    # the fall-back sum from the stored iterates is the serial sum, bit for bit: forced everywhere
    monkeypatch.setattr(blocksums, "SLOT_BLOCK", 1024)
    _, rows, w0 = polish_rows(7)
    results = set()
    for n, undecide in ((1, False), (2, True), (3, False), (3, True)):
        if undecide:
            monkeypatch.setattr(blocksums, "certain_turn", lambda *args: None)
        w = w0.copy()
        solution = Polish(5, n_jobs=n).solve(lambda: (rows,), w, 0.1, Penalty(1e-4, 0.0), LOSSES["logistic"])
        results.add((w.tobytes(), solution.intercept))
        monkeypatch.undo()
        monkeypatch.setattr(blocksums, "SLOT_BLOCK", 1024)
    assert len(results) == 1


def test_threaded_pass_sums_reject_rows_whose_slots_are_outside_the_records():
    _, rows, w = polish_rows(6)
    rec = np.zeros((w.size - 1, 3))  # one slot short
    with pytest.raises(ValueError, match=r"polish: rows have slots outside \[0, 4999\)"):
        PassSums(rows, 2).add(rec, 0.0, LOSSES["logistic"].code, 1.0, np.zeros(_polish.N_SUMS))


def test_split_entries_are_the_tail_entries_of_each_slot_range_in_row_order(monkeypatch):
    # many slot ranges and blocks of rows: each range's entries, unpacked, are the tail's entries
    # in that range in row order (a NumPy reference: a stable sort of the entries by range)
    monkeypatch.setattr(blocksums, "_RANGE_SLOTS", 300)
    X, rows, w = polish_rows(8, values=True)
    head = 10_000
    parts = blocksums._Segments(rows, head, w.size, 3)
    bounds = parts.bounds
    assert bounds[0] == 0 and bounds[-1] == w.size and np.all(np.diff(bounds) <= 300) and len(bounds) > 10
    row_of = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))[X.indptr[head]:]
    slot_of, value_of = X.indices[X.indptr[head]:], X.data[X.indptr[head]:]
    range_of = np.searchsorted(bounds, slot_of, side="right") - 1
    order = np.argsort(range_of, kind="stable")
    got_rows, got_slots = [], []
    for t in range(len(bounds) - 1):
        starts = parts.starts[t]
        for b in range(starts.shape[0] - 1):
            packed = parts.packed[starts[b] : starts[b + 1]].astype(np.int64)
            got_rows.append(head + b * blocksums._SEGMENT_ROWS + (packed >> blocksums._rowsums.SLOT_BITS))
            got_slots.append(bounds[t] + (packed & ((1 << blocksums._rowsums.SLOT_BITS) - 1)))
    np.testing.assert_array_equal(np.concatenate(got_rows), row_of[order])
    np.testing.assert_array_equal(np.concatenate(got_slots), slot_of[order])
    np.testing.assert_array_equal(parts.data, value_of[order])


@pytest.mark.parametrize("widths", [(1, 2, 4095, 4096, 4097, 3), (9000, 1, 20_000, 5), (37,) * 300])
def test_a_slots_range_from_the_coarse_table_is_the_one_searchsorted_finds(widths):
    # ranges narrower and wider than a coarse block, some ending on a block's edge
    rowsums = blocksums._rowsums
    bounds = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    n_slots = int(bounds[-1])
    first_range = rowsums.coarse_ranges(bounds, n_slots)
    slots = np.concatenate([np.arange(n_slots), np.random.default_rng(3).integers(0, n_slots, 5000)])
    expected = np.searchsorted(bounds, slots, side="right") - 1
    got = np.array([rowsums.range_of(first_range, bounds, j) for j in slots[:2000]])
    np.testing.assert_array_equal(got, expected[:2000])
    indptr = np.arange(slots.size + 1, dtype=np.int64)  # one entry per row, one block of rows
    counts = np.zeros((1, bounds.size - 1), dtype=np.int64)
    rowsums.count_segments(indptr, slots.astype(np.int32), first_range, bounds, 0, slots.size, slots.size, counts)
    np.testing.assert_array_equal(counts[0], np.bincount(expected, minlength=bounds.size - 1))


@pytest.mark.parametrize("values, weighted", [(False, True), (True, False)])
def test_pass_sums_over_many_slot_ranges_and_row_blocks_are_the_serial_ones(values, weighted, monkeypatch):
    monkeypatch.setattr(blocksums, "_RANGE_SLOTS", 257)  # ~20 ranges, each many blocks of rows
    X, rows, w = polish_rows(9, values=values, weighted=weighted)
    rows = rows._replace(indptr=rows.indptr.astype(np.int32))
    loss = LOSSES["logistic"]
    s = rows.sw if weighted else np.ones(X.shape[0])
    rec = np.zeros((w.size, 3))
    rec[:, 0] = w
    PassSums(rows, 2).add(rec, -0.3, loss.code, 1.0, np.zeros(_polish.N_SUMS))
    g = s * (1 / (1 + np.exp(-(X @ w - 0.3))) - rows.y)  # dense references: gradient and majorizer
    np.testing.assert_allclose(rec[:, 1], X.T @ g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rec[:, 2], X.power(2).T @ (s * (np.diff(X.indptr) + 1)), rtol=1e-12)
    for curvature in (1.0, 0.0):
        serial = np.zeros((w.size, 3))
        serial[:, 0] = w
        sums = np.zeros(_polish.N_SUMS)
        _polish.add_rows(*rows.arrays, serial, -0.3, loss.code, curvature, False, sums)
        for n in JOBS[1:]:
            rec = np.zeros((w.size, 3))
            rec[:, 0] = w
            threaded = np.zeros(_polish.N_SUMS)
            PassSums(rows, n).add(rec, -0.3, loss.code, curvature, threaded)
            assert rec.tobytes() == serial.tobytes() and threaded.tobytes() == sums.tobytes()


def test_pass_sums_of_a_few_rows_and_empty_ones():
    loss = LOSSES["logistic"]
    for n_rows in (0, 1, 3):
        lengths = np.array([0, 2, 0][:n_rows], dtype=np.int64)
        rows = Rows(np.concatenate([[0], np.cumsum(lengths)]), np.array([1, 0][: lengths.sum()], dtype=np.int32),
                    np.empty(0), np.ones(n_rows), np.empty(0))
        serial = np.zeros((2, 3))
        sums = np.zeros(_polish.N_SUMS)
        _polish.add_rows(*rows.arrays, serial, 0.1, loss.code, 1.0, False, sums)
        for n in JOBS[1:]:
            rec, threaded = np.zeros((2, 3)), np.zeros(_polish.N_SUMS)
            PassSums(rows, n).add(rec, 0.1, loss.code, 1.0, threaded)
            assert rec.tobytes() == serial.tobytes() and threaded.tobytes() == sums.tobytes()


def test_a_running_sum_adds_in_order_from_its_start():
    values = np.random.default_rng(12).normal(size=1000) * 10.0 ** np.arange(-5, 5).repeat(100)
    for lo, hi, start in ((0, 1000, 0.0), (137, 900, 1e6), (500, 500, -2.5)):
        expected = np.add.accumulate(np.concatenate([[start], values[lo:hi]]))[-1]  # one by one, in order
        assert blocksums._rowsums.running_sum(values, lo, hi, start) == expected


def test_pass_sums_again_from_other_starts_are_the_serial_ones():
    # the data-only sums of a pass are kept by where they start: a pass from other sums, or the
    # same again, adds what the serial kernel adds
    _, rows, w = polish_rows(13, weighted=True)
    loss = LOSSES["logistic"]
    summer = PassSums(rows, 2)
    for start in ([0.0, 0.0, 0.0, 0.0], [3.5, 0.0, -1.25, 7.0], [0.0, 0.0, 0.0, 0.0], [3.5, 0.0, 2.0, 7.0]):
        serial, rec = np.zeros((w.size, 3)), np.zeros((w.size, 3))
        serial[:, 0] = rec[:, 0] = w
        sums, threaded = np.array(start), np.array(start)
        _polish.add_rows(*rows.arrays, serial, 0.2, loss.code, 0.0, False, sums)
        summer.add(rec, 0.2, loss.code, 0.0, threaded)
        assert rec.tobytes() == serial.tobytes() and threaded.tobytes() == sums.tobytes()
    assert len(summer.scalar_ends) == 2
