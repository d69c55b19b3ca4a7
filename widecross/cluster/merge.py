"""The merge of a round: the merged model of a range of columns, and what each shard gets.

After a round, shard ``k``'s fields of a column it touches (:mod:`.mixed`: SGD's weight, FTRL's
``z`` and ``n``) are its delta's where the column moved, else the merged ones it started from.
The merge is the per-coordinate weighted mean of the shards' moves (:mod:`widecross.train.mixing`,
the same rule the threads use)::

    v_j = base_j + sum_k c_kj (v_kj - base_j) / sum_k c_kj   over the shards k that touch column j,

with ``c_kj`` the sample weight of shard k's rows that touch it. A column touched by one shard
takes that shard's value exactly (one shard gives the single-machine bits), and a column of
many shards is not pulled back by the shards that never see it, which is what uniform averaging
does wrong on partitions split by geography. The scalars (intercept; FTRL's weight seen) are
weighted by the shards' total sample weights, added in shard order.

**Ranges (reduce-scatter).** The columns are cut into ranges of column ids; a :class:`MergedModel`
holds one range, its merge task receives from every shard only the delta of that range's columns,
and sends each shard the range's merged values that differ from its own. A column's value depends
on the shards' values of that column alone, added in shard order, so the merged bits are the same
for any cut into ranges (one range is the single merge). Ranges spread the merge's bytes, memory
and time over as many tasks as there are ranges; a reduction tree would add partial sums in
another order than the shards' (other bits) and still bring every column to its root.

Each shard then receives only the coordinates whose merged value differs from its own (the
shared columns that moved) and the scalars: what moves is sparse, never sized by the width.
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
    """The merged model over the union of the shards' columns in a range, and how each shard maps
    onto it."""

    columns: np.ndarray  # int64, sorted: every column of the range some shard touches
    positions: tuple[np.ndarray, ...]  # per shard: position in ``columns`` of each touched slot
    orders: tuple[np.ndarray, ...]  # per shard: its touched slots in the order of their positions
    counts: tuple[np.ndarray, ...]  # per shard, in that order: merge weight (> 0) of each touched slot
    shard_weights: np.ndarray  # per shard: total sample weight (the scalars' merge weight)
    fields: np.ndarray  # float64 (n_columns, f) merged fields
    scalars: np.ndarray  # float64 merged scalars

    @classmethod
    def start(cls, shards: list[tuple[np.ndarray, np.ndarray, float]], n_fields: int = 1,
              n_scalars: int = 1) -> MergedModel:
        """From each shard's (touched columns, their merge weights, total weight); fields 0."""
        columns = np.unique(np.concatenate([c for c, _, _ in shards])) if shards else np.empty(0, np.int64)
        positions = tuple(np.searchsorted(columns, c) for c, _, _ in shards)
        # merge_into reads each shard's ids in order: sorted once here, not every round
        orders = tuple(np.argsort(p, kind="stable") for p in positions)
        counts = tuple(np.ascontiguousarray(np.maximum(n, _TINY)[o], dtype=np.float64)
                       for (_, n, _), o in zip(shards, orders))
        return cls(columns.astype(np.int64), positions, orders, counts,
                   np.array([w for _, _, w in shards], dtype=np.float64), np.zeros((columns.shape[0], n_fields)),
                   np.zeros(n_scalars))

    def merge(self, deltas: list[Delta]) -> tuple[MergedModel, list[Update]]:
        """The merged model after a round, and what each shard must take from it."""
        values = []
        for pos, d in zip(self.positions, deltas):
            v = self.fields[pos]
            v[d.changed] = d.values
            values.append(v)
        merged = self.fields.copy()
        merge_into(merged, [p[o] for p, o in zip(self.positions, self.orders)],
                   [np.ascontiguousarray(v[o]) for v, o in zip(values, self.orders)], list(self.counts))
        scalars = _mean([d.scalars for d in deltas], self.shard_weights)
        updates = []
        for pos, v in zip(self.positions, values):
            mine = merged[pos]
            moved = np.flatnonzero((mine != v).any(axis=1)).astype(np.int32)
            updates.append(Update(moved, mine[moved], scalars))
        return replace(self, fields=merged, scalars=scalars), updates


def _mean(values: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    if len(values) == 1:
        return values[0].copy()  # one shard: its own bits
    total = float(weights.sum())
    if total <= 0:
        weights, total = np.ones(len(values)), float(len(values))
    out = np.zeros_like(values[0])
    for w, v in zip(weights, values):  # in shard order: the same bits wherever the merge runs
        out += w * v
    return out / total
