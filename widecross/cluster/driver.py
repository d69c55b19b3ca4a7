"""Fit on a Dask cluster: the graph of rounds, the merges and the distributed polish.

Every step is a task whose result depends on its inputs alone:

- ``prepare`` (per shard): read and featurize the shard's partitions, where they are read;
- ``train_round`` (per shard and epoch): the shard's state after one local epoch, from its state
  before and the merged values it was sent; ``delta`` takes the round's sparse delta out of it;
- ``piece`` (per shard, round and range): the part of a shard's delta in a range of column ids;
- ``merge`` (per round and range): the range's merged model and each shard's update, from its
  previous merged model and the shards' pieces, added in shard order (a reduce-scatter: see
  :mod:`.ranges`); ``join`` (per shard) puts a shard's updates from the ranges together.

The whole graph of the epochs is submitted at once and the client only waits for each epoch's
small summary; a worker lost in the middle is recomputed by Dask from its partitions and the
rounds before (each a pure function of its inputs), so the model is the same as without the
fault. The polish then runs on the same shards and ranges (:mod:`.rangepolish`): per pass each
range sends each shard the point on its columns, adds the shards' gradient sums in shard order and
takes its columns' prox step; the client sees scalars only (the softmax polish excepted: see
:mod:`.polish`).
"""

from __future__ import annotations

import math
import operator
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..train import Optimizer, Polish
from . import mixed, rangepolish, ranges, shard
from .merge import MergedModel
from .polish import range_polish, softmax_polish

Progress = Callable[[int, int, float], None]


@dataclass
class ClusterFit:
    """What a distributed fit produced: the merged (and polished) model, and what it cost."""

    columns: np.ndarray  # int64 sorted columns of the merged model (zeros included)
    weights: np.ndarray  # float64
    intercept: float
    losses: list[float]  # mean progressive training loss of each epoch
    polish_passes: int
    n_rows: int
    n_shards: int
    rounds: list[dict[str, float]] = field(default_factory=list)  # bytes moved and seconds per round
    polish_bytes: list[int] = field(default_factory=list)  # bytes moved per polish pass
    shard_bytes: list[int] = field(default_factory=list)  # rows and slot map held by each shard
    merged: tuple[np.ndarray, np.ndarray] | None = None  # the merged fields and scalars (:mod:`.mixed`)
    polish_seconds: float = 0.0  # wall seconds from the merged model to the polished one on the client


@dataclass(frozen=True)
class Plan:
    """How to train: the optimizer and its state layout, passes, shuffling, the fit's seed."""

    optimizer: Optimizer
    layout: str
    width: int
    epochs: int
    polish: int
    shuffle: bool
    seed: int
    rounds_per_epoch: int = 1  # merges per epoch (at most the partitions of a shard)
    merge_ranges: int = 0  # merge tasks, each over a range of column ids (0: one per shard)


def shard_seed(seed: int, k: int) -> np.random.SeedSequence:
    """Shard ``k``'s generator seed: shard 0 draws what an in-memory fit with ``seed`` draws, so
    one shard reproduces it; the others get independent streams."""
    return np.random.SeedSequence(seed, spawn_key=(k,) if k else ())


def _summary(data: shard.ShardData, n_ranges: int) -> tuple[int, int, np.ndarray]:
    return data.n_rows, data.nbytes, ranges.sample_columns(data.columns, n_ranges)


def _split(data: shard.ShardData, bounds: np.ndarray) -> ranges.Split:
    return ranges.Split.of(data.columns, bounds)


def _range_summary(data: shard.ShardData, split: ranges.Split, r: int) -> tuple[np.ndarray, np.ndarray, float]:
    part = split.ranges[r]
    return data.columns[part], data.counts[part], data.weight


def _start_range(summaries: list[tuple[np.ndarray, np.ndarray, float]], n_fields: int, n_scalars: int) -> MergedModel:
    return MergedModel.start(summaries, n_fields, n_scalars)


def _merge(mixer: MergedModel, deltas: list[shard.Delta]) -> tuple[MergedModel, list[shard.Update], dict[str, Any]]:
    clock = time.process_time()
    merged, updates = mixer.merge(deltas)
    stats = {
        "merge_seconds": time.process_time() - clock,
        "train_seconds": max(d.seconds for d in deltas),
        "delta_bytes": sum(d.nbytes for d in deltas),
        "update_bytes": sum(u.nbytes for u in updates),
        "changed": int(sum(d.changed.shape[0] for d in deltas)),
        "loss_sum": float(sum(d.loss_sum for d in deltas)),
        "weight_sum": float(sum(d.weight_sum for d in deltas)),
    }
    return merged, updates, stats


def _round_stats(*per_range: dict[str, Any]) -> dict[str, Any]:
    """A round's figures from its ranges' merges: bytes and columns add up, the merge's critical
    path is the slowest range (``merge_seconds``), its CPU the sum (``merge_cpu_seconds``)."""
    out = dict(per_range[0])
    for key in ("delta_bytes", "update_bytes", "changed"):
        out[key] = sum(s[key] for s in per_range)
    out["merge_seconds"] = max(s["merge_seconds"] for s in per_range)
    out["merge_cpu_seconds"] = sum(s["merge_seconds"] for s in per_range)
    return out


def _pick(merged: tuple[MergedModel, list[shard.Update], dict[str, Any]], k: int) -> shard.Update:
    return merged[1][k]


@dataclass
class _Graph:
    """The futures of a fit: shards' data, splits and states, the ranges' merged models."""

    client: Any
    data: list[Any]
    splits: list[Any]
    shard_place: list[dict[str, Any]]
    range_place: list[dict[str, Any]]

    def submit(self, fn: Callable[..., Any], *args: Any, shard: int | None = None, rng: int | None = None) -> Any:
        place = self.shard_place[shard] if shard is not None else self.range_place[rng] if rng is not None else {}
        return self.client.submit(fn, *args, **place)

    def start(self, plan: Plan) -> tuple[list[Any], list[Any]]:
        """Each shard's first state and each range's merged model (zero)."""
        n_ranges, n_shards = len(self.range_place), len(self.data)
        optimizer = plan.optimizer
        states = [self.submit(shard.start, d, optimizer, plan.layout, plan.width, shard_seed(plan.seed, k), shard=k)
                  for k, d in enumerate(self.data)]
        mixers = []
        for r in range(n_ranges):
            parts = [self.submit(_range_summary, self.data[k], self.splits[k], r, shard=k) for k in range(n_shards)]
            mixers.append(self.submit(_start_range, parts, mixed.n_fields(optimizer), mixed.n_scalars(optimizer),
                                      rng=r))
        return states, mixers

    def round(self, states: list[Any], updates: list[Any], mixers: list[Any], plan: Plan, first: bool,
              counts: list[int]) -> tuple[list[Any], list[Any], list[Any], Any]:
        """Submit one round: train, split the deltas by range, merge each range, join the updates."""
        n_ranges, n_shards = len(self.range_place), len(self.data)
        states = [self.submit(shard.train_round, d, s, u, plan.shuffle, first, counts[k], shard=k)
                  for k, (d, s, u) in enumerate(zip(self.data, states, updates))]
        deltas = [self.submit(shard.delta, s, shard=k) for k, s in enumerate(states)]
        pieces = [[d] if n_ranges == 1 else [self.submit(ranges.piece, self.splits[k], d, r, shard=k)
                                             for r in range(n_ranges)] for k, d in enumerate(deltas)]
        merged = [self.submit(_merge, mixers[r], [pieces[k][r] for k in range(n_shards)], rng=r)
                  for r in range(n_ranges)]
        mixers = [self.submit(operator.getitem, m, 0, rng=r) for r, m in enumerate(merged)]
        picks = [[self.submit(_pick, m, k, shard=k) for m in merged] for k in range(n_shards)]
        updates = [p[0] if n_ranges == 1 else self.submit(ranges.join, self.splits[k], *p, shard=k)
                   for k, p in enumerate(picks)]
        stats = self.submit(_round_stats, *[self.submit(operator.getitem, m, 2, rng=r) for r, m in enumerate(merged)])
        return states, updates, mixers, stats


def fit_frame(client: Any, parts: list[Any], featurize: shard.Featurize, plan: Plan,
              progress: Progress | None = None) -> ClusterFit:
    """Train on ``parts`` (a DataFrame's partitions as Dask delayed objects) on ``client``'s workers.

    Partition ``i`` belongs to shard ``i % K``, K = min(workers, partitions): each shard holds
    partitions from all over the data set, which mixing handles best. The merge runs as
    ``plan.merge_ranges`` range tasks (default: one per shard), range ``r`` on worker ``r``.
    """
    import dask

    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise RuntimeError("the Dask cluster has no workers")
    n_shards = max(1, min(len(workers), len(parts)))
    n_ranges = max(1, plan.merge_ranges or n_shards)
    place = [dict(workers=[workers[k % len(workers)]], allow_other_workers=True) for k in range(max(n_shards, n_ranges))]
    data = []
    for k in range(n_shards):
        prepared = dask.delayed(shard.prepare, pure=True)(featurize, plan.optimizer, plan.layout, plan.width,
                                                          *parts[k::n_shards])
        data.append(client.compute(prepared, **place[k]))
    summaries = client.gather([client.submit(_summary, d, n_ranges, **place[k]) for k, d in enumerate(data)])
    n_rows, shard_bytes = sum(s[0] for s in summaries), [s[1] for s in summaries]
    if n_rows == 0:
        raise ValueError("the DataFrame has no rows")
    bounds = ranges.range_bounds([s[2] for s in summaries], n_ranges)
    splits = [client.submit(_split, d, bounds, **place[k]) for k, d in enumerate(data)]
    graph = _Graph(client, data, splits, place[:n_shards], place[:n_ranges])
    states, mixers = graph.start(plan)
    shard_parts = [len(parts[k::n_shards]) for k in range(n_shards)]
    n_rounds = max(1, min(plan.rounds_per_epoch, max(shard_parts)))
    counts = [[len(c) for c in np.array_split(np.arange(p), n_rounds)] for p in shard_parts]
    updates: list[Any] = [None] * n_shards
    stats = []
    for epoch in range(plan.epochs):
        for r in range(n_rounds):
            states, updates, mixers, round_stats = graph.round(states, updates, mixers, plan, r == 0,
                                                               [c[r] for c in counts])
            stats.append(round_stats)
    losses, rounds = _summaries(stats, n_rounds, n_rows, progress)
    del states, updates, stats
    clock = time.perf_counter()
    columns, weights, intercept, passes, polish_bytes, merged = _polish(graph, mixers, plan)
    return ClusterFit(columns, weights, intercept, losses, passes, n_rows, n_shards, rounds, polish_bytes, shard_bytes,
                      merged, time.perf_counter() - clock)


def _polish(graph: _Graph, mixers: list[Any], plan: Plan) -> tuple[Any, ...]:
    """The polished model from the ranges' merged ones: (columns, weights, intercept, passes,
    bytes per pass, the merged fields and scalars)."""
    client, optimizer = graph.client, plan.optimizer
    solver = Polish(plan.polish)
    scalars = client.gather(graph.submit(_scalars, mixers[0], rng=0))
    if optimizer.columns > 1 and optimizer.loss.labels == "class":  # softmax: through the client
        models: list[MergedModel] = client.gather(mixers)
        columns, fields, positions = ranges.assemble(models, client.gather(graph.splits))
        weights, intercept = mixed.to_model(optimizer, fields, scalars)
        passes, moved = 0, []
        if solver.applies(optimizer.loss):
            intercept, passes, moved = softmax_polish(client, graph.data, positions, plan.polish, optimizer, weights,
                                                      np.asarray(intercept))
        return columns, weights, intercept, passes, moved, (fields, scalars)
    states = [graph.submit(rangepolish.start, m, optimizer, rng=r) for r, m in enumerate(mixers)]
    b = client.gather(graph.submit(rangepolish.intercept, mixers[0], optimizer, rng=0))
    passes, moved = 0, []
    if solver.applies(optimizer.loss):
        states, b, passes, moved = range_polish(client, graph.submit, graph.data, graph.splits, states, plan.polish,
                                                optimizer, b)
    parts = client.gather([graph.submit(rangepolish.result, s, rng=r) for r, s in enumerate(states)])
    columns, fields, weights = (np.concatenate([p[i] for p in parts]) for i in range(3))
    intercept = float(b[0]) if optimizer.columns == 1 else b
    return columns, weights, intercept, passes, moved, (fields, scalars)


def _scalars(model: MergedModel) -> np.ndarray:
    return model.scalars


def _summaries(stats: list[Any], n_rounds: int, n_rows: int, progress: Progress | None
               ) -> tuple[list[float], list[dict[str, float]]]:
    """Each epoch's mean training loss and each round's bytes, as the rounds finish."""
    losses, rounds = [], []
    loss_sum = weight_sum = 0.0
    for i, future in enumerate(stats):
        s = future.result()
        rounds.append({k: s[k] for k in ("delta_bytes", "update_bytes", "changed", "train_seconds", "merge_seconds",
                                          "merge_cpu_seconds")})
        loss_sum += s["loss_sum"]
        weight_sum += s["weight_sum"]
        if (i + 1) % n_rounds:
            continue
        loss = loss_sum / weight_sum if weight_sum > 0 else 0.0
        if not math.isfinite(loss):
            raise FloatingPointError("training diverged: the training loss became NaN or infinite")
        losses.append(loss)
        loss_sum = weight_sum = 0.0
        if progress is not None:
            progress(len(losses) - 1, n_rows, loss)
    return losses, rounds
