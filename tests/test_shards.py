"""Stochastic epochs on K threads (``widecross.train.shards``) against a plain reference of
iterative parameter mixing, and their determinism.

The reference is written from the definition: for each round, each shard copies the *whole*
state, runs the optimizer's epoch kernel on its rows, settles it; the merged record of a slot is
the one shard's record, or ``base + sum w (v - base) / sum w`` over the shards that touched it
(``w``: the shard's rows touching it), and the scalars mix the same way with the shards' row
counts as weights, examples adding up. Nothing of the engine (local ids, radix sort, merge) is
shared with it.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc
from widecross.train import _state
from widecross.train.shards import ShardedEpochs

from trainers import ftrl, sgd


def random_problem(seed, n=600, width=80, values=False, weighted=False):
    rng = np.random.default_rng(seed)
    X = sp.random(n, width, density=0.06, random_state=seed, format="csr", dtype=np.float64)
    if not values:
        X.data[:] = 1.0
    X.sort_indices()
    y = (rng.random(n) < 0.4).astype(np.float64)
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    return X, y, sw, rng.permutation(n).astype(np.int32)


def reference_pass(trainer, rows, order, n_jobs, shard_rows):
    """One mixed pass from the definition (full copies of the state, dense merge)."""
    opt = trainer.optimizer
    records, scalars = trainer.records, trainer.scalars
    n, lo = order.shape[0], 0
    while lo < n:
        hi = min(lo + n_jobs * shard_rows, n)
        cuts = [lo + (hi - lo) * k // n_jobs for k in range(n_jobs + 1)]
        shards = []
        for k in range(n_jobs):
            part = order[cuts[k]:cuts[k + 1]]
            if part.size == 0:
                continue
            own_records, own_scalars = records.copy(), scalars.copy()
            assert opt.run_epoch(rows, part, own_records, own_scalars) < 0
            touched = np.concatenate([rows.slots[rows.indptr[r]:rows.indptr[r + 1]] for r in part])
            counts = np.bincount(touched, minlength=records.shape[0]).astype(np.float64)
            assert opt.settle(own_records, records.shape[0], own_scalars) < 0
            shards.append((own_records, own_scalars, counts, float(part.size)))
        base = records.copy()
        for j in range(records.shape[0]):
            holders = [(r, c[j]) for r, _, c, _ in shards if c[j] > 0]
            if len(holders) == 1:
                records[j] = holders[0][0][j]
            elif holders:
                move, total = np.zeros(records.shape[1]), 0.0
                for r, w in holders:
                    move += w * (r[j] - base[j])
                    total += w
                records[j] = base[j] + move / total
        base_scalars = scalars.copy()
        if len(shards) == 1:
            scalars[:] = shards[0][1]
        else:
            move, total = np.zeros(scalars.shape[0]), 0.0
            for _, s, _, w in shards:
                move += w * (s - base_scalars)
                total += w
            scalars[:] = base_scalars + move / total
        scalars[_state.STEPS] = base_scalars[_state.STEPS] + sum(s[_state.STEPS] - base_scalars[_state.STEPS]
                                                                 for _, s, _, _ in shards)
        lo = hi


TRAINERS = {
    "sgd-adagrad-l1": lambda: sgd(eta0=0.5, l1=1e-3, adaptive=True),
    "sgd-invscaling-enet": lambda: sgd(eta0=0.3, l1=1e-3, l2=1e-2, schedule="invscaling", t0=50.0),
    "sgd-newton-implicit": lambda: sgd(eta0=1.0, l1=1e-4, adaptive=2, implicit=True, delta=2.0),
    "ftrl-l1": lambda: ftrl(alpha=0.5, l1=1e-3),
    "ftrl-squared-l2": lambda: ftrl(loss="squared", alpha=0.2, l2=1e-2),
}


@pytest.mark.parametrize("name", sorted(TRAINERS))
@pytest.mark.parametrize("n_jobs, shard_rows", [(2, 64), (3, 50), (7, 16)])
def test_sharded_pass_matches_the_reference(name, n_jobs, shard_rows):
    values, weighted = n_jobs == 3, n_jobs == 7
    X, y, sw, order = random_problem(n_jobs, values=values, weighted=weighted)
    engine, reference = TRAINERS[name](), TRAINERS[name]()
    rows_e, rows_r = engine.rows(X, y, sw), reference.rows(X, y, sw)
    sharded = ShardedEpochs(engine.optimizer, n_jobs, shard_rows)
    for shard in sharded.shards:  # the smallest table: localizing must grow it on the way
        shard.last_local = 1
    sharded.run(rows_e, order[:0], engine.records, engine.scalars)  # no rows: nothing changes
    for _ in range(2):  # a second pass starts from a mixed state
        assert sharded.run(rows_e, order, engine.records, engine.scalars) == -1
        reference_pass(reference, rows_r, order, n_jobs, shard_rows)
        np.testing.assert_allclose(engine.records, reference.records, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(engine.scalars[:4], reference.scalars[:4], rtol=1e-13, atol=1e-15)
    # the state held per thread is sized by the rows of a round, never by the slots
    entries_per_round = max(int(np.diff(rows_e.indptr)[order].max()) * shard_rows, 1)
    assert all(s.local.shape[0] <= entries_per_round for s in sharded.shards)


def test_the_pass_reports_the_loss_of_every_row():
    X, y, _, order = random_problem(4)
    trainer = sgd(eta0=0.3, adaptive=True)
    rows = trainer.rows(X, y)
    ShardedEpochs(trainer.optimizer, 3, 40).run(rows, order, trainer.records, trainer.scalars)
    assert trainer.scalars[_state.WEIGHT_SUM] == X.shape[0]
    assert trainer.scalars[_state.STEPS] == X.shape[0]
    assert 0 < trainer.scalars[_state.LOSS_SUM] / X.shape[0] < 1


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
