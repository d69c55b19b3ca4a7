"""The distributed polish reduced by column ranges, run in this process on a synchronous stand-in
for a Dask client.

Reference: the polish as the client ran it over the shards before the ranges (each shard's sums
over its partitions, through the in-memory kernels, added in shard order into the whole model on
the client, then ``Polish.solve_sums``; one-vs-rest columns class by class on the labels "k or
not"). The range polish must give its bits for any cut into ranges, with only scalars through
the client. (One partition against the in-memory fit: test_dask.py and test_dask_classes.py.)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

import widecross as wc  # noqa: E402
from dask_sync import SPEC, SyncClient, columns, houses  # noqa: E402
from widecross.cluster import rangepolish, ranges, shard  # noqa: E402
from widecross.cluster.merge import MergedModel  # noqa: E402
from widecross.cluster.polish import range_polish  # noqa: E402
from widecross.train import Polish  # noqa: E402
from widecross.train.polish import RowSums, new_sums  # noqa: E402

N_SHARDS, PASSES = 3, 4


@pytest.fixture(scope="module")
def rows():
    frame = houses(1800, 5).sort_values("lon").reset_index(drop=True)  # shards by longitude band
    band = np.digitize(frame["price"], np.quantile(frame["price"], [0.33, 0.67])).astype(np.float64)
    return SPEC.transform(columns(frame)), frame["label"].to_numpy().astype(np.float64), band, frame["w"].to_numpy()


def _optimizer(n_classes: int):
    return wc.WideClassifier(SPEC, l1=1e-3, learning_rate=0.5)._params(entries=5.0).make_optimizer(n_classes)


def _shards(X, y, sw, optimizer):
    """Three shards of two partitions each, as the driver prepares them."""
    bounds = np.linspace(0, X.shape[0], 2 * N_SHARDS + 1).astype(int)
    blocks = [(X[a:b], y[a:b], sw[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    return [shard.prepare(lambda f: f, optimizer, "sparse", X.shape[1], *blocks[k::N_SHARDS]) for k in range(N_SHARDS)]


class ClientSums:
    """The reference: each shard's pass at the client's point, added in shard order on the client."""

    def __init__(self, data, positions, label):
        self.data, self.positions, self.label = data, positions, label

    def add(self, rec, b, code, curvature, sums):
        for d, pos in zip(self.data, self.positions):
            mine = np.zeros((d.slot_map.n, 3))
            mine[d.touched, 0] = rec[pos, 0]
            parts = d.parts if self.label < 0 else [p._replace(y=(p.y == self.label).astype(np.float64))
                                                    for p in d.parts]
            part_sums = new_sums()
            RowSums(lambda: parts).add(mine, b, code, curvature, part_sums)
            rec[pos, 1] += mine[d.touched, 1]
            if curvature > 0.0:
                rec[pos, 2] += mine[d.touched, 2]
            sums += part_sums


class RecordingClient(SyncClient):
    """Records the largest array the client receives."""

    largest = 0

    def gather(self, futures):
        out = super().gather(futures)
        self.largest = max([self.largest, *(a.size for a in _arrays(out))])
        return out


def _arrays(x):
    if isinstance(x, np.ndarray):
        yield x
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _arrays(v)


def _range_polish(data, optimizer, start, intercept, n_ranges):
    union = np.unique(np.concatenate([d.columns for d in data]))
    bounds = ranges.range_bounds([ranges.sample_columns(d.columns, n_ranges) for d in data], n_ranges)
    splits = [ranges.Split.of(d.columns, bounds) for d in data]
    client = RecordingClient(N_SHARDS)

    def submit(fn, *args, shard=None, rng=None):
        return client.submit(fn, *args)

    states = []
    for r in range(n_ranges):
        model = MergedModel.start([(d.columns[s.ranges[r]], d.counts[s.ranges[r]], d.weight)
                                   for d, s in zip(data, splits)], optimizer.columns, optimizer.columns)
        fields = start[np.searchsorted(union, model.columns)].reshape(model.columns.shape[0], -1)
        model = dataclasses.replace(model, fields=fields, scalars=intercept.copy())
        states.append(submit(rangepolish.start, model, optimizer))
    states, b, passes, moved = range_polish(client, submit, data, splits, states, PASSES, optimizer, intercept)
    largest = client.largest  # what the polish brought to the client (the model comes next)
    parts = client.gather([submit(rangepolish.result, s) for s in states])
    assert np.array_equal(np.concatenate([p[0] for p in parts]), union)
    return np.concatenate([p[2] for p in parts]), b, passes, moved, largest


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_range_polish_gives_the_client_polish_bits_for_any_cut_and_moves_only_scalars_through_it(rows, n_classes):
    X, label, band, sw = rows
    optimizer = _optimizer(n_classes)
    K = optimizer.columns
    data = _shards(X, label if K == 1 else band, sw, optimizer)
    union = np.unique(np.concatenate([d.columns for d in data]))
    positions = [np.searchsorted(union, d.columns) for d in data]
    rng = np.random.default_rng(1)
    start = np.where(rng.random((union.shape[0], K)) < 0.5, rng.normal(0, 0.3, (union.shape[0], K)), 0.0)
    start = start[:, 0].copy() if K == 1 else start
    intercept = rng.normal(0, 0.2, K)

    expected, expected_b = start.copy(), intercept.copy()
    for k in range(K):  # class by class, as the client polished before
        column = np.ascontiguousarray(expected if K == 1 else expected[:, k])
        solution = Polish(PASSES).solve_sums(ClientSums(data, positions, -1 if K == 1 else k), column,
                                             float(intercept[k]), optimizer.penalty, optimizer.loss)
        if K == 1:
            expected[:] = column
        else:
            expected[:, k] = column
        expected_b[k] = solution.intercept
    assert np.abs(expected - start).max() > 0.01 and ((start != 0) & (expected == 0)).sum() > 100

    touched = sum(d.touched.shape[0] for d in data)
    for n_ranges in (1, 2, 5):
        weights, b, passes, moved, largest = _range_polish(data, optimizer, start, intercept, n_ranges)
        assert np.array_equal(weights, expected), n_ranges
        assert np.array_equal(b, expected_b) and passes == PASSES
        # the point out and the gradient back per touched column and class, the majorizer once
        assert moved == [24 * K * touched] + [16 * K * touched] * (PASSES - 1)
        assert largest <= K * N_SHARDS * 4  # the shards' scalar sums: nothing sized by the columns


def test_the_momentum_test_sum_runs_on_across_the_ranges_in_column_order():
    """The ranges' terms added as one running sum in column order (the single range's bits),
    not each range's sum added afterwards (which rounds otherwise on these terms)."""
    from types import SimpleNamespace

    from widecross.train import _polish

    terms = np.array([1.0] + [1e-16] * 10 + [1.0] + [1e-16] * 10)
    cuts = [terms[:5], terms[5:15], terms[15:]]
    turn = (np.zeros(1), 0)
    for part in cuts:
        turn = rangepolish.carry(turn, SimpleNamespace(terms=part[None], moved=8))
    assert turn[0][0] == _polish.ordered_sum(terms) and turn[1] == 24
    assert sum(_polish.ordered_sum(part) for part in cuts) != _polish.ordered_sum(terms)
