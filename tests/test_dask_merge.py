"""The cluster's merge and mixing, run in this process on a synchronous stand-in for a Dask client
(many shards cost no worker processes).

References: the single merge (one range of columns) for the range-split merge with many shards;
FTRL's definition (the shards' ``z`` and ``n`` mixed per coordinate, weights by the closed form)
computed here in NumPy from each shard's own round.
"""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

import widecross as wc  # noqa: E402
from dask_sync import SPEC, houses, on, same_model as same  # noqa: E402,F401
from widecross.cluster import driver, ranges, shard  # noqa: E402
from widecross.cluster.merge import MergedModel  # noqa: E402


@pytest.fixture(scope="module")
def frame():
    return houses(2400, 0)


@pytest.mark.parametrize("optimizer", ["sgd", "ftrl"])
def test_the_range_split_merge_gives_the_single_merges_bits_with_many_shards(on, frame, optimizer):
    parts = dd.from_pandas(frame.sort_values("lon").reset_index(drop=True), npartitions=9, sort=False)
    kw = dict(optimizer=optimizer, l1=1e-4, epochs=3, polish=2, random_state=0)
    fits = {}
    for n_ranges in (1, 3, 9):
        on(9, n_ranges)
        fits[n_ranges] = wc.WideClassifier(SPEC, **kw).fit(parts, y="label", sample_weight="w")
    single = fits[1]
    assert single.cluster_["shards"] == 9 and single.model_.nnz > 100
    for n_ranges in (3, 9):
        assert same(fits[n_ranges].model_, single.model_), n_ranges
        assert fits[n_ranges].loss_curve_ == single.loss_curve_
        # the ranges move the same coordinates, so the same bytes (up to the scalars sent per range)
        for a, b in zip(fits[n_ranges].cluster_["rounds"], single.cluster_["rounds"]):
            assert a["changed"] == b["changed"]
            assert a["delta_bytes"] - b["delta_bytes"] == 9 * (n_ranges - 1) * 8 * (3 if optimizer == "ftrl" else 1)


def test_range_pieces_partition_a_delta_and_join_back():
    columns = np.array([40, 3, 17, 99, 5, 60], dtype=np.int64)
    bounds = ranges.range_bounds([np.sort(columns)], 3)
    assert bounds[0] == 0 and bounds[-1] == np.iinfo(np.int64).max and np.all(np.diff(bounds) > 0)
    split = ranges.Split.of(columns, bounds)
    assert sorted(np.concatenate(split.ranges).tolist()) == list(range(6))
    for r, part in enumerate(split.ranges):
        assert np.all((columns[part] >= bounds[r]) & (columns[part] < bounds[r + 1]))
    d = shard.Delta(np.array([0, 2, 3, 5], np.int32), np.arange(8.0).reshape(4, 2), np.array([1.5]), 0.0, 0.0)
    pieces = [split.delta(d, r) for r in range(3)]
    back = {int(split.ranges[r][c]): v.tolist() for r, p in enumerate(pieces) for c, v in zip(p.changed, p.values)}
    assert back == {int(c): v.tolist() for c, v in zip(d.changed, d.values)}
    joined = split.join(tuple(shard.Update(p.changed, p.values, p.scalars) for p in pieces))
    assert sorted(zip(joined.changed.tolist(), joined.values[:, 0].tolist())) == \
        sorted(zip(d.changed.tolist(), d.values[:, 0].tolist()))


def _ftrl_weight(z, n, lam1, lam2, alpha, beta):
    """FTRL-Proximal's closed form, written out (McMahan et al. 2013)."""
    w = -(z - np.sign(z) * lam1) / ((beta + np.sqrt(n)) / alpha + lam2)
    return np.where(np.abs(z) <= lam1, 0.0, w)


def test_ftrl_on_a_cluster_mixes_z_and_n_then_derives_the_weights(on, frame):
    """One round of three shards: each coordinate's (z, n) is the weighted mean of the shards'
    (the rows touching it; one shard: its own), S and the intercept's (z, n) weighted by the
    shards' rows; the weights follow from FTRL's closed form. Reference: the shards' own rounds,
    mixed here in NumPy."""
    parts = dd.from_pandas(frame, npartitions=3, sort=False)
    kw = dict(optimizer="ftrl", l1=2e-4, l2=1e-3, epochs=1, polish=0, random_state=5)
    on(3)
    est = wc.WideClassifier(SPEC, **kw).fit(parts, y="label")
    params = est._fit_params
    optimizer = params.make_optimizer()
    featurize = _featurizer(est, frame)
    z, n, rows = {}, {}, []
    scal = []
    for k, part in enumerate(parts.to_delayed()):
        data = shard.prepare(featurize, optimizer, "sparse", SPEC.n_features, part.compute(scheduler="sync"))
        state = shard.start(data, optimizer, "sparse", SPEC.n_features, driver.shard_seed(params_seed(est), k))
        state = shard.train_round(data, state, None, True, True, 1)
        rec = state.trainer.records[data.touched]
        for c, count, (zz, nn) in zip(data.columns, data.counts, rec):
            z.setdefault(int(c), []).append((count, zz))
            n.setdefault(int(c), []).append((count, nn))
        rows.append(data.weight)
        scal.append(state.trainer.scalars[[1, 2, 3]])  # S, the intercept's z and n
    mean = {c: (sum(w * v for w, v in z[c]) / sum(w for w, _ in z[c]) if len(z[c]) > 1 else z[c][0][1]) for c in z}
    nmean = {c: (sum(w * v for w, v in n[c]) / sum(w for w, _ in n[c]) if len(n[c]) > 1 else n[c][0][1]) for c in n}
    S, bz, bn = sum(w * s for w, s in zip(rows, scal)) / sum(rows)
    cols = np.array(sorted(z))
    zs, ns = np.array([mean[c] for c in cols]), np.array([nmean[c] for c in cols])
    p = optimizer.params
    expected = _ftrl_weight(zs, ns, p.l1 * S, p.l2 * S, p.alpha, p.beta)
    assert sum(len(v) > 1 for v in z.values()) > 50  # columns shared by shards were mixed
    nz = expected != 0
    np.testing.assert_array_equal(est.model_.indices, cols[nz])
    np.testing.assert_allclose(est.model_.values, expected[nz], rtol=2e-6)
    assert est.model_.intercept == pytest.approx(float(_ftrl_weight(bz, bn, 0.0, 0.0, p.alpha, p.beta)), rel=1e-12)
    # merging the weights instead (each shard keeping its own n) gives another model
    own_n = [_ftrl_weight(np.array([v for _, v in z[c]]), np.array([v for _, v in n[c]]), p.l1 * S, p.l2 * S,
                          p.alpha, p.beta) for c in cols]
    weight_mix = np.array([np.average(w, weights=[c for c, _ in z[col]]) for w, col in zip(own_n, cols)])
    assert np.abs(weight_mix - expected).max() > 1e-3


def params_seed(est) -> int:
    return int(est.random_state)


def _featurizer(est, frame):
    from widecross.estimators.frames import FrameFeatures

    return FrameFeatures(type(est)(**est.get_params()), "label", None, np.array([0, 1]))


def test_merged_model_start_sizes_fields_and_scalars():
    m = MergedModel.start([(np.array([4, 1]), np.array([1.0, 0.0]), 2.0)], n_fields=4, n_scalars=3)
    assert m.columns.tolist() == [1, 4] and m.fields.shape == (2, 4) and m.scalars.shape == (3,)
    assert m.counts[0].tolist()[0] > 0 and m.counts[0].tolist()[1] == 1.0  # a zero weight becomes positive
