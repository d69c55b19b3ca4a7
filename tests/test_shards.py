"""Stochastic epochs on K threads (``widecross.train.shards``) against a plain reference of the
same schedule, and their determinism.

The reference is written from the definition (see the module docstring of ``shards``): rows dealt
to K shards by the first pass's order; each shard holds a *whole* copy of the state and its own
scalars, trains its part of each round with the optimizer's epoch kernel and settles the slots it
shares with another shard; a shared slot counted by one shard this round takes that record, by
several the rows-weighted mean of their moves, and every shard holding it continues from it
(stamped at its own clock); at the end of the pass each shard settles what it touched, a shared
slot takes the mean of the shards' copies weighted by the rows of each that touch it, and
everything is written back stamped at the mean clock (the engine may leave a shard's own SGD
weights owing their penalty, so weights are compared, not SGD's weight and stamp fields). Nothing
of the engine (local ids, the
grouped rows, the mix kernels) is shared with it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc
from widecross.train import _shard, _state
from widecross.train.shards import ShardedEpochs

from trainers import ftrl, sgd


def random_problem(seed, n=600, width=80, values=False, weighted=False):
    """Common columns (about 36 rows each: shared by the shards) and rare ones (about 3 rows
    each: often one shard's alone)."""
    rng = np.random.default_rng(seed)
    common = sp.random(n, width, density=0.06, random_state=seed, format="csr", dtype=np.float64)
    rare = sp.csr_matrix((rng.uniform(0.5, 1.5, n), (np.arange(n), rng.integers(0, n // 3, n))), shape=(n, n // 3))
    X = sp.hstack([common, rare], format="csr")
    if not values:
        X.data[:] = 1.0
    X.sort_indices()
    y = (rng.random(n) < 0.4).astype(np.float64)
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    return X, y, sw, rng.permutation(n).astype(np.int32)


def _touches(rows, part, n_slots):
    touched = np.concatenate([rows.slots[rows.indptr[r]:rows.indptr[r + 1]] for r in part] + [np.empty(0, np.int32)])
    return np.bincount(touched, minlength=n_slots).astype(np.float64)


def _settle(opt, copy, slots, scalars):
    part = copy[slots]
    assert opt.settle(part, part.shape[0], scalars) < 0
    copy[slots] = part


def _mixed(base, states, weights):
    if len(states) == 1:
        return states[0].copy()
    move, total = np.zeros_like(base), 0.0
    for state, weight in zip(states, weights):
        move += weight * (state - base)
        total += weight
    return base + move / total


def reference_pass(trainer, rows, order, first, k_shards, shard_rows):
    """One pass of the sharded schedule from the definition (whole copies of the state)."""
    opt, records, scalars = trainer.optimizer, trainer.records, trainer.scalars
    n, n_slots = rows.n_rows, records.shape[0]
    clock, stamps = opt.clock_scalar, list(opt.stamp_fields)
    shard_of = np.empty(n, dtype=np.int64)
    for k in range(k_shards):
        shard_of[first[n * k // k_shards:n * (k + 1) // k_shards]] = k
    orders = [order[shard_of[order] == k] for k in range(k_shards)]
    touch = np.array([_touches(rows, np.flatnonzero(shard_of == k), n_slots) for k in range(k_shards)])
    shared = np.flatnonzero((touch > 0).sum(axis=0) >= 2)
    copies, own = [records.copy() for _ in range(k_shards)], [scalars.copy() for _ in range(k_shards)]
    start, mixed, base = scalars.copy(), scalars.copy(), records.copy()
    n_rounds = max(1, math.ceil(n / (k_shards * shard_rows)))
    for r in range(n_rounds):
        counts, moved, sizes = np.zeros((k_shards, n_slots)), [], []
        for k in range(k_shards):
            part = orders[k][len(orders[k]) * r // n_rounds:len(orders[k]) * (r + 1) // n_rounds]
            own_clock = own[k][clock]
            own[k][:] = mixed
            if clock >= 0:
                own[k][clock] = own_clock
            if part.size:
                assert opt.run_epoch(rows, part, copies[k], own[k]) < 0
                counts[k] = _touches(rows, part, n_slots)
                _settle(opt, copies[k], shared[touch[k, shared] > 0], own[k])
                moved.append(own[k])
                sizes.append(float(part.size))
        for j in shared:
            holders = [k for k in range(k_shards) if counts[k, j] > 0]
            if holders:
                base[j] = _mixed(base[j], [copies[k][j] for k in holders], [counts[k, j] for k in holders])
                for k in np.flatnonzero(touch[:, j] > 0):
                    copies[k][j] = base[j]
                    copies[k][j, stamps] = own[k][clock]
        steps = mixed[_state.STEPS] + sum(m[_state.STEPS] - mixed[_state.STEPS] for m in moved)
        mixed = _mixed(mixed, moved, sizes)
        mixed[_state.STEPS] = steps
    busy = [k for k in range(k_shards) if orders[k].size]
    at = _mixed(start, [own[k] for k in busy], [float(orders[k].size) for k in busy])[clock] if clock >= 0 else 0.0
    for k in busy:
        _settle(opt, copies[k], np.flatnonzero(touch[k] > 0), own[k])
    for j in np.flatnonzero(touch.sum(axis=0) > 0):
        holders = list(np.flatnonzero(touch[:, j] > 0))
        if len(holders) == 1:
            records[j] = copies[holders[0]][j]
        else:
            move, total = np.zeros(records.shape[1]), 0.0
            for k in holders:
                move += touch[k, j] * (copies[k][j] - base[j])
                total += touch[k, j]
            records[j] = base[j] + move / total
        records[j, stamps] = at
    scalars[:] = mixed
    if clock >= 0:
        scalars[clock] = at


TRAINERS = {
    "sgd-adagrad-l1": lambda: sgd(eta0=0.5, l1=1e-3, adaptive=True),
    "sgd-invscaling-enet": lambda: sgd(eta0=0.3, l1=1e-3, l2=1e-2, schedule="invscaling", t0=50.0),
    "sgd-newton-implicit": lambda: sgd(eta0=1.0, l1=1e-4, adaptive=2, implicit=True, delta=2.0),
    "ftrl-l1": lambda: ftrl(alpha=0.5, l1=1e-3),
    "ftrl-squared-l2": lambda: ftrl(loss="squared", alpha=0.2, l2=1e-2),
}


@pytest.mark.parametrize("name", sorted(TRAINERS))
@pytest.mark.parametrize("n_jobs, shard_rows, chunk_rows", [
    (2, 64, 65_536), (3, 50, 7), (7, 16, 65_536),  # many rounds (gathered in chunks of 7 rows)
    (2, 300, 65_536), (3, 1000, 37),  # one round per pass: no counts of its own, no end mix
])
def test_sharded_pass_matches_the_reference(name, n_jobs, shard_rows, chunk_rows):
    values, weighted = n_jobs == 3, n_jobs == 7
    X, y, sw, order = random_problem(n_jobs, values=values, weighted=weighted)
    engine, reference = TRAINERS[name](), TRAINERS[name]()
    rows_e, rows_r = engine.rows(X, y, sw), reference.rows(X, y, sw)
    sharded = ShardedEpochs(engine.optimizer, n_jobs, shard_rows, chunk_rows)
    sharded.run(rows_e, order[:0], engine.records, engine.scalars)  # no rows: nothing changes
    assert not engine.records.any()
    orders = [order, np.random.default_rng(1).permutation(order.shape[0]).astype(np.int32)]
    for again in orders:  # a second pass, in another order, starts from a mixed state
        assert sharded.run(rows_e, again, engine.records, engine.scalars) == -1
        sharded.flush()  # the slots of one shard alone into the records
        reference_pass(reference, rows_r, again, order, n_jobs, shard_rows)
        # the same weights; SGD's idle weights may still owe their penalty (a stamp in the past)
        np.testing.assert_allclose(engine.slot_weights(), reference.slot_weights(), rtol=1e-13, atol=1e-15)
        lazy = [0, *engine.optimizer.stamp_fields] if engine.optimizer.stamp_fields else []
        rest = [f for f in range(engine.records.shape[1]) if f not in lazy]
        np.testing.assert_allclose(engine.records[:, rest], reference.records[:, rest], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(engine.scalars[:4], reference.scalars[:4], rtol=1e-13, atol=1e-15)
    # the state held per thread is the records of the slots its rows touch, never the whole state
    n = X.shape[0]
    for k, shard in enumerate(sharded.shards):
        mine = order[n * k // n_jobs:n * (k + 1) // n_jobs]
        assert shard.local.shape[0] == np.unique(np.concatenate([X[r].indices for r in mine])).shape[0]


def test_the_pass_reports_the_loss_of_every_row():
    X, y, _, order = random_problem(4)
    losses = []
    for chunk_rows in (65_536, 9):  # a round in one chunk, or in many: the same rows' losses
        trainer = sgd(eta0=0.3, adaptive=True)
        rows = trainer.rows(X, y)
        ShardedEpochs(trainer.optimizer, 3, 40, chunk_rows).run(rows, order, trainer.records, trainer.scalars)
        assert trainer.scalars[_state.WEIGHT_SUM] == X.shape[0]
        assert trainer.scalars[_state.STEPS] == X.shape[0]
        assert 0 < trainer.scalars[_state.LOSS_SUM] / X.shape[0] < 1
        losses.append(trainer.scalars[_state.LOSS_SUM])
    assert losses[1] == pytest.approx(losses[0], rel=1e-12)


def geo_rows(n, seed=0):
    rng = np.random.default_rng(seed)
    lat, lon = rng.normal(40, 8, n).clip(-89, 89), rng.normal(-3, 12, n).clip(-179, 179)
    return {"lat": lat, "lon": lon}, (rng.random(n) < 1 / (1 + np.exp(-(lat - 40) / 5))).astype(int)


@pytest.mark.parametrize("optimizer", ["sgd", "ftrl"])
def test_n_jobs_2_twice_gives_the_same_bytes_and_n_jobs_1_the_serial_model(optimizer):
    data, y = geo_rows(6000)
    spec = wc.geo_spec(bits=18)
    fits = {}
    for n_jobs in (1, 2, 2, 3):
        clf = wc.WideClassifier(spec, optimizer=optimizer, l1=1e-6, epochs=2, polish=2, random_state=0, n_jobs=n_jobs)
        model = clf.fit(data, y).model_
        key = (model.indices.tobytes(), model.values.tobytes(), model.intercept, clf.objective_)
        if n_jobs in fits:
            assert key == fits[n_jobs]
        fits[n_jobs] = key
        assert model.metadata["params"].get("n_jobs", 1) == n_jobs
    serial = wc.WideClassifier(spec, optimizer=optimizer, l1=1e-6, epochs=2, polish=2, random_state=0).fit(data, y).model_
    assert (serial.indices.tobytes(), serial.values.tobytes()) == fits[1][:2]
    assert fits[2][:2] != fits[1][:2] and fits[3][:2] != fits[2][:2]  # mixing is not the serial run
    assert abs(fits[2][3] - fits[1][3]) < 0.1 * fits[1][3]  # the same objective (two mixes per epoch here)


def test_a_divergence_on_threads_names_the_rate():
    data, y = geo_rows(5000)
    clf = wc.WideRegressor(wc.geo_spec(bits=16), schedule="constant", learning_rate=1e3, implicit=False,
                           n_jobs=2, random_state=0)
    with pytest.raises(FloatingPointError, match="learning_rate=1000"):
        clf.fit(data, y * 1e6)


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_n_jobs_is_checked(bad):
    with pytest.raises(ValueError, match="n_jobs must be a positive integer or -1"):
        wc.WideClassifier(n_jobs=bad).fit(sp.csr_matrix(np.eye(2)), [0, 1])


def test_a_streamed_fit_on_threads_is_reproducible(tmp_path):
    pytest.importorskip("pyarrow")
    import data_gen

    path = tmp_path / "houses.parquet"
    data_gen.write_parquet(path, 9000, seed=5)
    models = []
    for _ in range(2):
        clf = wc.WideClassifier(wc.geo_spec(bits=18), l1=1e-6, epochs=2, polish=1, random_state=0, n_jobs=2)
        model = clf.fit(str(path), y="label", chunk_rows=4000).model_
        models.append((model.indices.tobytes(), model.values.tobytes(), model.intercept))
    assert models[0] == models[1] and len(models[0][0]) > 0


def one_pass_on_3_shards(seed, trainer):
    """A problem of 900 rows and the engine after one pass of ``trainer`` on 3 shards."""
    X, y, _, order = random_problem(seed, n=900)
    rows = trainer.rows(X, y)
    sharded = ShardedEpochs(trainer.optimizer, 3, 100)
    sharded.run(rows, order, trainer.records, trainer.scalars)
    return X, order, rows, sharded


def test_only_the_shared_slots_are_mixed_and_the_rows_are_dealt_once():
    trainer = ftrl(alpha=0.3, l1=1e-3)
    X, order, rows, sharded = one_pass_on_3_shards(5, trainer)
    plan = sharded.plan
    shard_of = np.empty(X.shape[0], dtype=np.int64)
    for k in range(3):
        shard_of[order[300 * k:300 * (k + 1)]] = k
    holders = [{int(shard_of[r]) for r in X[:, c].nonzero()[0]} for c in range(X.shape[1])]
    shared = [c for c in range(X.shape[1]) if len(holders[c]) >= 2]
    assert plan.union.tolist() == sorted(trainer.slot_map.lookup(np.array(shared, dtype=np.int32)).tolist())
    assert plan.base.shape[0] == len(shared) > 0
    sharded.run(rows, np.random.default_rng(2).permutation(X.shape[0]).astype(np.int32), trainer.records,
                trainer.scalars)
    assert sharded.plan is plan  # the same rows again: dealt and renamed once
    assert sum(len(phase) for phase in sharded.phase_cpu) > 0


@pytest.mark.parametrize("optimizer", ["sgd", "ftrl"])
def test_the_epochs_on_threads_learn_as_well_as_one_thread(optimizer):
    rng = np.random.default_rng(3)
    n = 40_000
    lat, lon = rng.normal(40, 4, n).clip(-89, 89), rng.normal(-3, 6, n).clip(-179, 179)
    y = (rng.random(n) < 1 / (1 + np.exp(-np.sin(lat) * 2 - np.cos(lon)))).astype(int)
    train, test = slice(0, 30_000), slice(30_000, n)
    spec = wc.geo_spec(bits=20)
    losses = {}
    for n_jobs in (1, 2, 4):
        clf = wc.WideClassifier(spec, optimizer=optimizer, l1=1e-5, epochs=3, polish=0, random_state=0, n_jobs=n_jobs)
        clf.fit({"lat": lat[train], "lon": lon[train]}, y[train])
        p = clf.predict_proba({"lat": lat[test], "lon": lon[test]})[:, 1]
        losses[n_jobs] = wc.metrics.log_loss(y[test], p)
    assert losses[1] < 0.69 * 0.95  # it learned something
    assert losses[2] < losses[1] + 0.005 and losses[4] < losses[1] + 0.01, losses  # not worse than one thread


@pytest.mark.parametrize("optimizer", ["sgd", "ftrl"])
def test_k_classes_on_threads_are_reproducible_and_learn(optimizer):
    data, y = geo_rows(6000, seed=4)
    y = y + (data["lon"] > 0)  # three classes
    fits = []
    for n_jobs in (1, 2, 2):
        clf = wc.WideClassifier(wc.geo_spec(bits=16), optimizer=optimizer, epochs=2, polish=0, random_state=0,
                                n_jobs=n_jobs).fit(data, y)
        fits.append((clf.model_.values.tobytes(), clf.score(data, y)))
    assert fits[1] == fits[2] and fits[1][0] != fits[0][0]
    assert fits[1][1] > fits[0][1] - 0.02


def test_pick_rows_matches_numpy():
    rng = np.random.default_rng(5)
    n, k_shards = 1000, 3
    shard_of = rng.integers(0, k_shards, n).astype(np.int8)
    order = rng.permutation(n).astype(np.int32)
    for k in range(k_shards):
        out = np.full(n, -1, dtype=np.int32)
        got = _shard.pick_rows(order, shard_of, k, out)
        expected = order[shard_of[order] == k]
        assert got == expected.shape[0]
        assert out[:got].tolist() == expected.tolist()
        exact = np.full(expected.shape[0], -1, dtype=np.int32)  # room for the shard's rows only
        assert _shard.pick_rows(order, shard_of, k, exact) == expected.shape[0]
        assert exact.tolist() == expected.tolist()


def test_count_shared_matches_numpy():
    rng = np.random.default_rng(6)
    slots = rng.integers(0, 50, 2000).astype(np.int64)
    for n_shared, n_entries in ((40, 2000), (40, 1500), (1, 2000), (0, 2000), (60, 2000)):
        counts = rng.integers(0, 5, n_shared).astype(np.float64)  # added to
        expected = counts + np.bincount(slots[:n_entries][slots[:n_entries] < n_shared], minlength=n_shared)
        _shard.count_shared(slots, n_entries, n_shared, counts)
        assert np.array_equal(counts, expected)


@pytest.mark.parametrize("name", ["sgd-adagrad-l1", "ftrl-l1"])
def test_passes_without_a_reader_between_them_give_the_same_records(name):
    X, y, sw, order = random_problem(2)
    orders = [order, np.random.default_rng(1).permutation(order.shape[0]).astype(np.int32)]
    states = []
    for flush_between in (True, False):
        trainer = TRAINERS[name]()
        rows = trainer.rows(X, y, sw)
        sharded = ShardedEpochs(trainer.optimizer, 2, 64)
        for again in orders:
            assert sharded.run(rows, again, trainer.records, trainer.scalars) == -1
            if flush_between:
                sharded.flush()
        assert sharded.pending is not None or flush_between
        sharded.flush()
        states.append((trainer.records.tobytes(), trainer.scalars.tobytes()))
    assert states[0] == states[1]


def test_the_trainer_writes_the_shards_slots_back_before_anyone_reads_them():
    X, y, sw, order = random_problem(2, n=5000)
    trainer = TRAINERS["sgd-adagrad-l1"]()
    trainer.n_jobs = 2
    rows = trainer.rows(X, y, sw)
    trainer.epoch(rows, order)
    assert trainer._sharded.pending is not None  # the shards' own slots are still in their copies
    copied = trainer.copy()  # a copy, the weights and the records all see the pass's state
    assert trainer._sharded.pending is None
    assert copied.slot_weights().tobytes() == trainer.slot_weights().tobytes()
    assert trainer._sharded.plan.written is not None  # the trainer's own reads keep the resume
    assert copied.records.tobytes() == trainer.records.tobytes()
    assert trainer._sharded.plan.written is None  # a reader of the records may change them
    trainer.epoch(rows, order)
    second = trainer.records.copy()
    copied.n_jobs = 2
    copied.epoch(rows, order)  # from the records written back: the same bits
    assert copied.records.tobytes() == second.tobytes()


def test_local_ids_match_a_numpy_renaming():
    """Each shard's entries renamed: its shared slots first, then its own slots, each in slot
    order; the counts of entries per shared slot."""
    X, order, rows, sharded = one_pass_on_3_shards(6, sgd(eta0=0.5, l1=1e-3))
    plan = sharded.plan
    n = X.shape[0]
    dealt = [np.sort(order[n * k // 3:n * (k + 1) // 3]) for k in range(3)]
    touched = [set(rows.slots[np.concatenate([np.arange(rows.indptr[r], rows.indptr[r + 1]) for r in d])].tolist())
               for d in dealt]
    for k, mine in enumerate(dealt):
        entries = np.concatenate([np.arange(rows.indptr[r], rows.indptr[r + 1]) for r in mine])
        slots = rows.slots[entries]
        shared = sorted(s for s in touched[k] if any(s in touched[o] for o in range(3) if o != k))
        own = sorted(touched[k] - set(shared))
        ids = plan.ids[plan.local_offsets[k]:plan.local_offsets[k + 1]]
        assert ids.tolist() == shared + own
        assert ids[plan.local_slots[entries]].tolist() == slots.tolist()
        counts = plan.fixed_counts[plan.shared_offsets[k]:plan.shared_offsets[k + 1]]
        assert counts.tolist() == [float(np.sum(slots == s)) for s in shared]
        assert plan.union[plan.shared_pos[plan.shared_offsets[k]:plan.shared_offsets[k + 1]]].tolist() == shared


def test_shared_slots_and_word_tables_from_the_shards_marks_match_numpy():
    rng = np.random.default_rng(7)
    n_rows, n_slots, k_shards = 300, 200, 3  # 200 slots: a last word half used
    lengths = rng.integers(0, 6, n_rows)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    slots = rng.integers(0, n_slots, indptr[-1]).astype(np.int32)
    shard_of = rng.integers(0, k_shards, n_rows)
    marks = np.zeros((k_shards, (n_slots + 63) // 64), dtype=np.uint64)
    for k in range(k_shards):
        _shard.mark_slots(indptr, slots, np.flatnonzero(shard_of == k), marks[k])
    shared = np.full(marks.shape[1], 99, dtype=np.uint64)
    for lo, hi in [(0, 1), (1, 4)]:
        _shard.shared_words(marks, lo, hi, shared)
    touch = np.zeros((k_shards, n_slots), dtype=bool)
    for r in range(n_rows):
        touch[shard_of[r], slots[indptr[r]:indptr[r + 1]]] = True
    expected = np.flatnonzero(touch.sum(axis=0) >= 2)
    union = np.full(expected.shape[0] + 1, -7, dtype=np.int64)
    before = np.empty(marks.shape[1], dtype=np.int64)
    assert _shard.rank_words(shared, before) == _shard.set_bits(shared, union) == expected.shape[0] > 0
    assert union[:-1].tolist() == expected.tolist() and union[-1] == -7
    assert before.tolist() == [int(np.sum(expected < 64 * w)) for w in range(marks.shape[1])]
    for k in range(k_shards):  # each shard's word table: its shared and own slots before each word
        table = np.empty((marks.shape[1], 4), dtype=np.uint64)
        mine_shared, mine_own = touch[k] & (touch.sum(axis=0) >= 2), touch[k] & (touch.sum(axis=0) == 1)
        assert _shard.word_table(marks[k], shared, table) == (mine_shared.sum(), mine_own.sum())
        assert table[:, 2].tolist() == [int(mine_shared[:64 * w].sum()) for w in range(marks.shape[1])]
        assert table[:, 3].tolist() == [int(mine_own[:64 * w].sum()) for w in range(marks.shape[1])]
        ids, pos = np.empty(touch[k].sum(), dtype=np.int64), np.empty(mine_shared.sum(), dtype=np.int64)
        _shard.local_ids(table, before, ids, pos)
        assert ids.tolist() == np.flatnonzero(mine_shared).tolist() + np.flatnonzero(mine_own).tolist()
        assert expected[pos].tolist() == np.flatnonzero(mine_shared).tolist()


def test_a_trainer_pickled_with_its_records_as_a_plain_attribute_loads():
    import pickle

    X, y, sw, order = random_problem(2)
    trainer = TRAINERS["ftrl-l1"]()
    trainer.epoch(trainer.rows(X, y, sw), order)
    state = trainer.__getstate__()
    state["records"] = state.pop("_records")  # how an older trainer kept them
    older = object.__new__(type(trainer))
    older.__setstate__(state)
    assert older.records.tobytes() == trainer.records.tobytes()
    assert pickle.loads(pickle.dumps(trainer)).records.tobytes() == trainer.records.tobytes()


def test_records_changed_in_place_between_passes_are_what_the_next_pass_starts_from():
    """A cluster's mix writes merged records into ``trainer.records`` in place, keeping the
    scalars: the next threaded pass must start from them, not from the shards' old copies."""
    X, y, sw, order = random_problem(3, n=5000)
    ends = []
    for drop_threads_state in (False, True):
        trainer = TRAINERS["sgd-adagrad-l1"]()
        trainer.n_jobs = 2
        rows = trainer.rows(X, y, sw)
        trainer.epoch(rows, order)
        records = trainer.records
        records[: trainer.n_slots, 0] *= 0.5  # a mix that moved every weight, scalars unchanged
        if drop_threads_state:  # the reference: shards made anew from the records
            trainer.release()
        trainer.epoch(rows, order)
        ends.append(trainer.records.tobytes())
    assert ends[0] == ends[1]


def test_the_deal_names_each_shards_rows_and_collects_them_in_storage_order():
    rng = np.random.default_rng(8)
    n, k_shards = 1001, 3
    order = rng.permutation(n).astype(np.int32)
    cuts = [n * k // k_shards for k in range(k_shards + 1)]
    shard_of = np.full(n, -1, dtype=np.int8)
    for k in range(k_shards):
        _shard.deal_rows(order, cuts[k], cuts[k + 1], k, shard_of)
    for k in range(k_shards):
        expected = np.sort(order[cuts[k]:cuts[k + 1]])
        assert np.all(shard_of[expected] == k)
        mine = np.full(expected.shape[0], -1, dtype=np.int32)
        assert _shard.shard_rows(shard_of, k, mine) == expected.shape[0]
        assert mine.tolist() == expected.tolist()
    assert _shard.shard_rows(shard_of, 0, np.empty(0, dtype=np.int32)) == 0


def test_localize_rows_and_the_counts_of_shared_slots_match_a_numpy_renaming():
    """Entries renamed by ranges of rows, each from its row's shard's table, and the counts of
    each shard's shared slots from its entries gathered (as a round counts them), against a
    renaming by NumPy sets; a shard without shared slots and one without rows included."""
    rng = np.random.default_rng(9)
    n_rows, n_slots, k_shards = 400, 300, 4
    lengths = rng.integers(0, 6, n_rows)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    slots = rng.integers(0, n_slots, indptr[-1]).astype(np.int32)
    shard_of = rng.integers(0, 2, n_rows).astype(np.int8)
    lonely = np.flatnonzero(shard_of == 1)[:3]  # shard 2: three rows over slots of their own
    shard_of[lonely] = 2
    slots[np.concatenate([np.arange(indptr[r], indptr[r + 1]) for r in lonely])] = n_slots  # nobody else's
    n_slots += 1  # shard 3: no rows
    marks = np.zeros((k_shards, (n_slots + 63) // 64), dtype=np.uint64)
    mines = [np.flatnonzero(shard_of == k).astype(np.int32) for k in range(k_shards)]
    for k in range(k_shards):
        _shard.mark_slots(indptr, slots, mines[k], marks[k])
    shared = np.empty(marks.shape[1], dtype=np.uint64)
    _shard.shared_words(marks, 0, marks.shape[1], shared)
    tables = np.empty((k_shards, marks.shape[1], 4), dtype=np.uint64)
    n_shared = np.array([_shard.word_table(marks[k], shared, tables[k])[0] for k in range(k_shards)])
    assert n_shared[0] > 0 and n_shared[2] == n_shared[3] == 0
    local = np.full(slots.shape[0], -1, dtype=np.int32)
    for lo, hi in [(0, 150), (150, 151), (151, n_rows)]:
        _shard.localize_rows(indptr, slots, shard_of, tables, n_shared, lo, hi, local)
    touched = [set(slots[np.concatenate([np.arange(indptr[r], indptr[r + 1]) for r in m] + [[]]).astype(int)].tolist())
               for m in mines]
    for k in range(k_shards):
        mine_shared = sorted(s for s in touched[k] if any(s in touched[o] for o in range(k_shards) if o != k))
        ids = mine_shared + sorted(touched[k] - set(mine_shared))
        entries = np.concatenate([np.arange(indptr[r], indptr[r + 1]) for r in mines[k]] + [[]]).astype(int)
        assert [ids[j] for j in local[entries]] == slots[entries].tolist()
        counts = np.full(max(len(mine_shared), 1), 0.5)  # added to
        gathered = local[entries].astype(np.int32)
        _shard.count_shared(gathered, gathered.shape[0], len(mine_shared), counts)
        expected = [0.5 + float(np.sum(slots[entries] == s)) for s in mine_shared]
        assert counts.tolist() == (expected if mine_shared else [0.5])


@pytest.mark.parametrize("name", ["sgd-adagrad-l1", "ftrl-l1"])
@pytest.mark.parametrize("n_jobs, shard_rows", [(3, 1000), (2, 64)])  # one round per pass, or many
def test_a_shuffle_pass_is_the_pass_in_each_shards_own_fresh_order(name, n_jobs, shard_rows):
    # A Shuffle pass: each shard shuffles its own rows (its last order, Fisher-Yates with the
    # shard's generator). The same pass given as a whole order, built here from those per-shard
    # orders (shard 0's rows, then shard 1's...: only each shard's own order counts), must give
    # the same bytes; and a Shuffle on rows not dealt yet draws a whole order and deals by it.
    from widecross.train.rows import Shuffle, shard_generator, visit_order

    X, y, _, order = random_problem(9)
    shuffled, explicit = TRAINERS[name](), TRAINERS[name]()
    rows_s, rows_e = shuffled.rows(X, y), explicit.rows(X, y)
    a = ShardedEpochs(shuffled.optimizer, n_jobs, shard_rows)
    b = ShardedEpochs(explicit.optimizer, n_jobs, shard_rows)
    first = Shuffle(12345, X.shape[0])
    assert a.run(rows_s, first, shuffled.records, shuffled.scalars) == -1
    dealt = visit_order(np.random.default_rng(12345), X.shape[0], True)
    assert b.run(rows_e, dealt, explicit.records, explicit.scalars) == -1
    n = X.shape[0]
    shard_orders = [dealt[n * k // n_jobs:n * (k + 1) // n_jobs].copy() for k in range(n_jobs)]
    for seed in (7, 8):
        for k, own in enumerate(shard_orders):  # the reference shuffle of each shard's last order
            draws = shard_generator(seed, k).integers(0, 2**32, size=own.shape[0], dtype=np.uint32)
            for i in range(own.shape[0] - 1, 0, -1):
                j = (int(draws[i]) * (i + 1)) >> 32
                own[i], own[j] = own[j], own[i]
        assert a.run(rows_s, Shuffle(seed, n), shuffled.records, shuffled.scalars) == -1
        assert b.run(rows_e, np.concatenate(shard_orders), explicit.records, explicit.scalars) == -1
        a.flush()
        b.flush()
        assert shuffled.records.tobytes() == explicit.records.tobytes()
        assert shuffled.scalars.tobytes() == explicit.scalars.tobytes()
    assert [s.order.tolist() for s in a.shards] == [o.tolist() for o in shard_orders]


def test_a_trainer_keeps_its_rows_plan_across_new_settings_and_set_weights():
    """A path's points: new settings (``reconfigure``) and weights set between passes over the
    same rows keep the shards' plan (the rows dealt once); the next pass copies the records in,
    so it gives what a copy of the trainer, dealing the rows again from the same order, gives."""
    from widecross.train.sgd import SGD, SGDParams
    from widecross.losses import LOSSES

    X, y, _, order = random_problem(11, n=3000)
    kept = sgd(eta0=0.2, l1=1e-3)
    kept.n_jobs = 3
    rows = kept.rows(X, y)
    kept.epoch(rows, order)
    plan = kept._sharded.plan
    fresh = kept.copy()  # no threads' buffers: its next pass deals the rows again
    for trainer in (kept, fresh):
        trainer.reconfigure(SGD(LOSSES["logistic"], SGDParams(0.2, 1e-4, 0.0)))
        weights = trainer.slot_weights()
        weights[::7] = 0.0  # as a polish would set them
        trainer.set_weights(weights, trainer.intercept() + 0.1)
        trainer.epoch(rows, order)
    assert kept._sharded.plan is plan and fresh._sharded.plan is not plan
    assert kept.slot_weights().tobytes() == fresh.slot_weights().tobytes()
    assert kept.scalars.tobytes() == fresh.scalars.tobytes()
    assert not kept._sharded.adopt(ftrl(alpha=0.1).optimizer)  # another kind of optimizer: a new plan
