"""Fitting on a Dask DataFrame (a small LocalCluster of two worker processes).

References: the in-memory fit of the same rows in the same order (one partition: the same bits);
the in-memory polish over all rows (the distributed polish's sums); the same cluster fit without
a fault (a worker restarted mid-fit); the in-memory default fit's held-out loss (two workers).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import widecross as wc  # noqa: E402
from widecross.cluster import driver, rangepolish, ranges, shard  # noqa: E402
from widecross.cluster.merge import MergedModel  # noqa: E402
from widecross.losses import LOSSES  # noqa: E402
from widecross.metrics import log_loss  # noqa: E402
from widecross.train import Polish, Trainer  # noqa: E402
from widecross.train.polish import RowSums  # noqa: E402
from widecross.train.sgd import SGD, SGDParams  # noqa: E402

from dask_sync import SPEC, columns, houses, same_model  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def frame():
    return houses(3000, 0)


def test_one_partition_reproduces_the_in_memory_fit_bit_for_bit(client, frame):
    one = dd.from_pandas(frame, npartitions=1, sort=False)
    cluster = wc.WideClassifier(SPEC, l1=1e-6, random_state=3).fit(one, y="label")
    memory = wc.WideClassifier(SPEC, l1=1e-6, random_state=3).fit(columns(frame), frame["label"].to_numpy())
    assert same_model(cluster.model_, memory.model_) and cluster.model_.nnz > 100
    assert cluster.loss_curve_ == memory.loss_curve_ and cluster.polish_passes_ == memory.polish_passes_ == 6
    assert cluster.cluster_["shards"] == 1
    named = wc.WideClassifier(SPEC, l1=1e-6, random_state=3).fit(one, y="label", classes=[0, 1])  # no pass for the labels
    assert same_model(named.model_, memory.model_)
    # a regressor with sample weights, unshuffled, FTRL: the same rows in the same order, the same bits
    kw = dict(optimizer="ftrl", shuffle=False, l1=1e-5, polish=2, epochs=2)
    cluster = wc.WideRegressor(SPEC, **kw).fit(one, y="price", sample_weight="w")
    memory = wc.WideRegressor(SPEC, **kw).fit(columns(frame), frame["price"].to_numpy(), frame["w"].to_numpy())
    assert same_model(cluster.model_, memory.model_)
    np.testing.assert_array_equal(cluster.predict(one).compute(), memory.predict(columns(frame)))


def test_one_shard_gives_the_same_bits_however_often_it_merges(client, frame, monkeypatch):
    """One worker's shard: merging after every partition or once an epoch changes nothing (the
    merge of one shard is the identity), so the rounds' bookkeeping of an epoch's partitions is
    exact. Two workers with two partitions each: four rounds an epoch, a different model."""
    four = dd.from_pandas(frame, npartitions=4, sort=False)
    one_worker = [sorted(client.scheduler_info()["workers"])[:1]]
    monkeypatch.setattr(client, "scheduler_info", lambda real=client.scheduler_info: {"workers": one_worker[0]})
    kw = dict(random_state=1, epochs=2, polish=1)
    once = wc.WideClassifier(SPEC, **kw).fit(four, y="label")
    plan = driver.Plan
    monkeypatch.setattr(driver, "Plan", lambda *a: plan(*a, rounds_per_epoch=4))
    often = wc.WideClassifier(SPEC, **kw).fit(four, y="label")
    assert same_model(once.model_, often.model_) and len(often.cluster_["rounds"]) == 8
    assert len(once.cluster_["rounds"]) == 2 and once.loss_curve_ == often.loss_curve_


def test_the_merge_against_a_per_coordinate_reference():
    """Shard values where they moved, the start value elsewhere; weighted by the rows touching
    each column; a column of one shard keeps that shard's bits; updates only where a shard differs."""
    start = MergedModel.start([(np.array([2, 5, 9]), np.array([1.0, 3.0, 2.0]), 6.0),
                               (np.array([5, 7]), np.array([1.0, 4.0]), 2.0)])
    start = dataclasses.replace(start, fields=np.array([[0.5], [1.0], [0.0], [-1.0]]))
    deltas = [shard.Delta(np.array([0, 1], np.int32), np.array([[0.1], [2.0]]), np.array([0.3]), 0.0, 0.0),
              shard.Delta(np.array([1], np.int32), np.array([[0.7 / 3]]), np.array([-0.5]), 0.0, 0.0)]
    merged, updates = start.merge(deltas)
    values = {2: [(1.0, 0.1)], 5: [(3.0, 2.0), (1.0, 1.0)], 7: [(4.0, 0.7 / 3)], 9: [(2.0, -1.0)]}
    expected = {c: sum(w * v for w, v in pairs) / sum(w for w, _ in pairs) for c, pairs in values.items()}
    assert merged.columns.tolist() == [2, 5, 7, 9]
    np.testing.assert_allclose(merged.fields[:, 0], [expected[c] for c in (2, 5, 7, 9)], rtol=1e-15)
    assert merged.fields[2, 0] == 0.7 / 3 and merged.fields[0, 0] == 0.1  # one shard: its exact value
    assert merged.scalars[0] == pytest.approx((6 * 0.3 + 2 * -0.5) / 8, rel=1e-15)
    assert updates[0].changed.tolist() == [1] and updates[1].changed.tolist() == [0]  # column 5 only
    assert updates[0].values[0, 0] == updates[1].values[0, 0] == merged.fields[1, 0]


def test_the_distributed_polish_sums_equal_the_in_memory_ones(frame):
    """Each shard's pass sums at a point, added in shard order, are the sums over all rows; the
    polish from them lands where the in-memory polish does (to rounding: other addition order)."""
    X = SPEC.transform(columns(frame))
    y = frame["label"].to_numpy().astype(np.float64)
    optimizer = SGD(LOSSES["logistic"], SGDParams(eta0=0.5, l1=1e-5, rates="adagrad"))
    halves = [slice(0, 1000), slice(1000, None)]
    data = []
    for part in halves:
        Xp = X[part]
        data.append(shard.prepare(lambda f: f, optimizer, "sparse", X.shape[1], (Xp, y[part], np.empty(0))))
    merged = MergedModel.start([(d.columns, d.counts, d.weight) for d in data])
    rng = np.random.default_rng(0)
    start = np.where(rng.random(merged.columns.shape[0]) < 0.5, rng.normal(0, 0.3, merged.columns.shape[0]), 0.0)

    class Local:
        def add(self, rec, b, code, curvature, sums):
            for d, pos in zip(data, merged.positions):
                one_range = ranges.Split.of(d.columns, np.array([0, np.iinfo(np.int64).max]))
                ((g, c),), s = rangepolish.shard_pass(d, one_range, np.array([b]), code, curvature, False,
                                                      rec[pos, :1])
                rec[pos, 1] += g[:, 0]
                if c is not None:
                    rec[pos, 2] += c[:, 0]
                sums += s[0]

    w_cluster = start.copy()
    solved = Polish(4).solve_sums(Local(), w_cluster, 0.1, optimizer.penalty, optimizer.loss)
    trainer = Trainer(optimizer, layout="dense", width=merged.columns.shape[0])
    rows = trainer.rows(sp.csr_matrix(X[:, merged.columns]), y)  # slot j == merged column j
    w_memory = start.copy()
    reference = Polish(4).solve_sums(RowSums(lambda: (rows,)), w_memory, 0.1, optimizer.penalty, optimizer.loss)
    np.testing.assert_allclose(w_cluster, w_memory, rtol=1e-9, atol=1e-12)
    assert solved.intercept == pytest.approx(reference.intercept, rel=1e-9)
    assert np.array_equal(w_cluster == 0, w_memory == 0) and np.abs(w_cluster - start).max() > 0.01


def test_two_workers_by_longitude_band_fit_a_good_ordinary_model(client, frame, tmp_path):
    bands = dd.from_pandas(frame.sort_values("lon").reset_index(drop=True), npartitions=4, sort=False)
    test = houses(2000, 1)
    kw = dict(random_state=0, l1=1e-4)  # a penalty that suits 3,000 rows
    fitted = wc.WideClassifier(SPEC, **kw).fit(bands, y="label")
    memory = wc.WideClassifier(SPEC, **kw).fit(columns(frame), frame["label"].to_numpy())
    assert fitted.cluster_["shards"] == 2
    p = fitted.predict_proba(columns(test))[:, 1]
    held_out = log_loss(test["label"].to_numpy(), p)
    assert held_out < log_loss(test["label"].to_numpy(), np.full(len(test), frame["label"].mean())) - 0.02
    assert held_out < log_loss(test["label"].to_numpy(), memory.predict_proba(columns(test))[:, 1]) + 0.02
    path = tmp_path / "m.wcm"
    fitted.model_.save(path)
    np.testing.assert_array_equal(wc.load(path).predict_proba(columns(test)), fitted.predict_proba(columns(test)))
    # what moves per round is sparse: less than a byte per column of the exact width
    for r in fitted.cluster_["rounds"]:
        assert 0 < r["delta_bytes"] < SPEC.n_features and r["update_bytes"] < r["delta_bytes"]
    assert fitted.n_features_in_ == 2 and list(fitted.classes_) == [0, 1]
    # scores of a Dask DataFrame: lazy Dask collections, the model's scores of each row
    lazy = fitted.predict_proba(bands)
    assert isinstance(lazy, dd.DataFrame) and list(lazy.columns) == ["0", "1"]
    rows = columns(frame.sort_values("lon").reset_index(drop=True))
    np.testing.assert_array_equal(lazy.compute().to_numpy(), fitted.predict_proba(rows))
    assert fitted.predict(bands).compute().tolist() == fitted.predict(rows).tolist()
    np.testing.assert_array_equal(fitted.decision_function(bands).compute(), fitted.decision_function(rows))


def test_a_worker_restarted_mid_fit_changes_nothing(client, frame):
    parts = dd.from_pandas(frame, npartitions=4, sort=False)
    kw = dict(random_state=0, epochs=3, polish=2)
    clean = wc.WideClassifier(SPEC, **kw).fit(parts, y="label")
    faulted = wc.WideClassifier(SPEC, **kw)
    restarted = []

    def restart_one(epoch, rows, loss):
        if epoch == 0:  # the rounds of epochs 2 and 3 are queued: the worker's shard is lost with it
            victim = sorted(client.scheduler_info()["workers"])[1]
            client.restart_workers([victim])
            restarted.append(victim)

    faulted.set_epoch_callback(restart_one)
    faulted.fit(parts, y="label")
    assert restarted and same_model(clean.model_, faulted.model_)
    assert clean.loss_curve_ == faulted.loss_curve_


def test_errors_name_what_is_wrong(client, frame):
    ddf = dd.from_pandas(frame, npartitions=2, sort=False)
    with pytest.raises(ValueError, match="no rows"):  # every partition empty
        wc.WideRegressor(SPEC).fit(ddf[ddf["lat"] > 100], y="price")
    bad = frame.copy()
    bad.loc[1500 + 7, "lat"] = np.nan
    with pytest.raises(ValueError, match="first row has index 1500: column 'lat'.* row 7"):  # raised on a worker
        wc.WideRegressor(SPEC).fit(dd.from_pandas(bad, npartitions=2, sort=False), y="price")
    with pytest.raises(ValueError, match="no column 'target'"):
        wc.WideClassifier(SPEC).fit(ddf, y="target")
    with pytest.raises(TypeError, match="y must name one of its columns"):
        wc.WideClassifier(SPEC).fit(ddf, y=frame["label"].to_numpy())
    with pytest.raises(TypeError, match="needs a spec"):
        wc.WideClassifier().fit(ddf, y="label")
    with pytest.raises(ValueError, match="early_stopping is not available"):
        wc.WideClassifier(SPEC, early_stopping=True).fit(ddf, y="label")
    with pytest.raises(FloatingPointError, match="diverged in a round of fit on the cluster.*learning_rate=1e"):
        wc.WideRegressor(SPEC, learning_rate=1e30, schedule="constant", implicit=False, l1=1e-6).fit(ddf, y="price")
    with pytest.raises(FloatingPointError, match="learning_rate=1e"):  # l1="auto": the path diverges first
        wc.WideRegressor(SPEC, learning_rate=1e30, schedule="constant", implicit=False).fit(ddf, y="price")
    with pytest.raises(TypeError, match="chunk_rows applies"):
        wc.WideClassifier(SPEC).fit(ddf, y="label", chunk_rows=10)


def test_auto_l1_and_three_classes_on_two_workers(client, frame):
    """l1="auto" on a cluster: the path on a sample of all partitions (here every row), the
    in-memory choice; three classes on two workers (one-vs-rest, multinomial): about the
    in-memory quality."""
    parts = dd.from_pandas(frame, npartitions=4, sort=False)
    auto = wc.WideClassifier(SPEC, epochs=2, polish=2, random_state=0).fit(parts, y="label")
    memory = wc.WideClassifier(SPEC, epochs=2, polish=2, random_state=0).fit(columns(frame), frame["label"].to_numpy())
    assert auto.cluster_["shards"] == 2 and auto.l1_ != 1e-6
    assert auto.l1_path_["path_rows"] == memory.l1_path_["path_rows"] and auto.l1_ == memory.l1_  # the same rows
    bands = frame.assign(band=frame["label"] + (frame["lat"] > 20))  # 3 classes: the label and the place
    test = houses(2000, 1)
    yt = (test["label"] + (test["lat"] > 20)).to_numpy()
    parts = dd.from_pandas(bands, npartitions=4, sort=False)

    def loss(p):
        p = p / p.sum(axis=1, keepdims=True)
        return float(-np.mean(np.log(np.clip(p[np.arange(len(yt)), yt], 1e-15, 1))))

    prior = loss(np.tile(np.bincount(bands["band"], minlength=3) / len(bands), (len(yt), 1)))
    for multi_class in ("ovr", "multinomial"):
        kw = dict(l1=1e-4, random_state=0, multi_class=multi_class)
        fitted = wc.WideClassifier(SPEC, **kw).fit(parts, y="band")
        in_memory = wc.WideClassifier(SPEC, **kw).fit(columns(bands), bands["band"].to_numpy())
        assert fitted.cluster_["shards"] == 2 and list(fitted.classes_) == [0, 1, 2] and fitted.polish_passes_ == 6
        ours, reference = loss(fitted.predict_proba(columns(test))), loss(in_memory.predict_proba(columns(test)))
        assert ours < prior - 0.02 and ours < reference + 0.02, multi_class
