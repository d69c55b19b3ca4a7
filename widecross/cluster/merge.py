"""The driver's side of iterative parameter mixing: the merged model, and what each shard gets.

After a round, shard ``k``'s value of a column it touches is its delta's value where the column
moved, else the merged value it started from. The merge is the per-coordinate weighted mean of
the shards' moves (:mod:`widecross.train.mixing`, the same rule the threads use)::

    w_j = base_j + sum_k c_kj (v_kj - base_j) / sum_k c_kj   over the shards k that touch column j,

with ``c_kj`` the sample weight of shard k's rows that touch it. A column touched by one shard
takes that shard's value exactly (one shard gives the single-machine bits), and a column of
many shards is not pulled back by the shards that never see it, which is what uniform averaging
does wrong on partitions split by geography. The intercept is weighted by the shards' total
sample weights.

Each shard then receives only the coordinates whose merged value differs from its own (the
shared columns that moved) and the intercept: what moves is sparse, never sized by the width.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..train.mixing import merge_into
from .shard import Delta, Update

# merge weight of a column whose rows all weigh 0 (it never moves: no gradient, a zero start)
_TINY = float(np.finfo(np.float64).tiny)


@dataclass(frozen=True)
class MergedModel:
    """The merged model over the union of the shards' columns, and how each shard maps onto it."""

    columns: np.ndarray  # int64, sorted: every column some shard touches
    positions: tuple[np.ndarray, ...]  # per shard: position in ``columns`` of each touched slot
    counts: tuple[np.ndarray, ...]  # per shard: merge weight (> 0) of each touched slot
    shard_weights: np.ndarray  # per shard: total sample weight (the intercept's merge weight)
    weights: np.ndarray  # float64 merged weights
    intercept: float

    @classmethod
    def start(cls, shards: list[tuple[np.ndarray, np.ndarray, float]]) -> MergedModel:
        """From each shard's (touched columns, their merge weights, total weight); weights 0."""
        columns = np.unique(np.concatenate([c for c, _, _ in shards])) if shards else np.empty(0, np.int64)
        positions = tuple(np.searchsorted(columns, c) for c, _, _ in shards)
        counts = tuple(np.maximum(n, _TINY) for _, n, _ in shards)
        return cls(columns.astype(np.int64), positions, counts, np.array([w for _, _, w in shards], dtype=np.float64),
                   np.zeros(columns.shape[0]), 0.0)

    def merge(self, deltas: list[Delta]) -> tuple[MergedModel, list[Update]]:
        """The merged model after a round, and what each shard must take from it."""
        bases = [self.weights[pos][:, None] for pos in self.positions]
        values = []
        for base, d in zip(bases, deltas):
            v = base.copy()
            v[d.changed, 0] = d.values
            values.append(v)
        merged = self.weights[:, None].copy()
        orders = [np.argsort(p, kind="stable") for p in self.positions]  # merge_into reads ids in order
        merge_into(merged, [p[o] for p, o in zip(self.positions, orders)],
                   [np.ascontiguousarray(v[o]) for v, o in zip(values, orders)],
                   [np.ascontiguousarray(c[o], dtype=np.float64) for c, o in zip(self.counts, orders)])
        weights = merged[:, 0]
        intercept = _mean([d.intercept for d in deltas], self.shard_weights)
        updates = []
        for pos, v in zip(self.positions, values):
            mine = weights[pos]
            moved = np.flatnonzero(mine != v[:, 0]).astype(np.int32)
            updates.append(Update(moved, mine[moved], intercept))
        return replace(self, weights=weights, intercept=intercept), updates


def _mean(values: list[float], weights: np.ndarray) -> float:
    if len(values) == 1:
        return float(values[0])  # one shard: its own bits
    total = float(weights.sum())
    if total <= 0:
        return float(np.mean(values))
    return float(np.dot(weights, np.asarray(values)) / total)
