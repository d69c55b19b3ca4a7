"""Columns cut into ranges of ids, one merge task per range (a reduce-scatter of the deltas).

Each shard splits its round's delta by range (:class:`Split`); the merge task of range ``r``
(:class:`~.merge.MergedModel` over the range's columns) gets every shard's piece of that range,
and each shard joins the ranges' updates into one. A column's merged value depends on the shards'
values of that column alone, added in shard order, so any cut gives the bits of one range.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .merge import MergedModel
from .shard import Delta, Update

SAMPLE = 256  # sampled columns per shard and range, to place the cuts


def sample_columns(columns: np.ndarray, n_ranges: int) -> np.ndarray:
    """Evenly spaced quantiles of a shard's touched columns (what the cuts are chosen from)."""
    if n_ranges == 1 or columns.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    ordered = np.sort(columns)
    take = np.linspace(0, ordered.shape[0] - 1, min(ordered.shape[0], SAMPLE * n_ranges)).astype(np.int64)
    return ordered[take].astype(np.int64)


def range_bounds(samples: list[np.ndarray], n_ranges: int) -> np.ndarray:
    """Cuts of the column ids into ``n_ranges`` ranges holding about equal shares of the shards'
    sampled columns: ``bounds[r] <= column < bounds[r + 1]``, bounds[0] = 0, the last one past any id.

    >>> range_bounds([np.array([1, 5, 9]), np.array([2, 6, 7])], 2).tolist()[:2]
    [0, 6]
    """
    pooled = np.sort(np.concatenate(samples)) if samples else np.empty(0, np.int64)
    inner = pooled[(np.arange(1, n_ranges) * pooled.shape[0]) // n_ranges] if pooled.shape[0] else np.zeros(0)
    return np.concatenate([[0], np.asarray(inner, dtype=np.int64), [np.iinfo(np.int64).max]]).astype(np.int64)


@dataclass(frozen=True)
class Split:
    """A shard's touched slots by range: ``ranges[r]`` their positions in the shard's touched
    slots, ``range_of``/``local``: each touched position's range and place in it."""

    ranges: tuple[np.ndarray, ...]
    range_of: np.ndarray
    local: np.ndarray

    @classmethod
    def of(cls, columns: np.ndarray, bounds: np.ndarray) -> Split:
        range_of = (np.searchsorted(bounds, columns, side="right") - 1).astype(np.int32)
        order = np.argsort(range_of, kind="stable")
        cuts = np.searchsorted(range_of[order], np.arange(bounds.shape[0]))
        ranges = tuple(order[cuts[r]:cuts[r + 1]].astype(np.int32) for r in range(bounds.shape[0] - 1))
        local = np.empty(columns.shape[0], dtype=np.int32)
        for part in ranges:
            local[part] = np.arange(part.shape[0], dtype=np.int32)
        return cls(ranges, range_of, local)

    def delta(self, d: Delta, r: int) -> Delta:
        """The part of ``d`` in range ``r`` (positions into the range's slots)."""
        mine = self.range_of[d.changed] == r
        return replace(d, changed=self.local[d.changed[mine]], values=d.values[mine])

    def join(self, updates: tuple[Update, ...]) -> Update:
        """One update over the shard's touched slots from the ranges' updates."""
        if len(updates) == 1:
            return updates[0]
        changed = np.concatenate([part[u.changed] for part, u in zip(self.ranges, updates)])
        values = np.concatenate([u.values for u in updates])
        return Update(changed.astype(np.int32), values, updates[0].scalars)


def join(split: Split, *updates: Update) -> Update:
    """A task: the shard's update from the ranges' updates (see :meth:`Split.join`)."""
    return split.join(updates)


def piece(split: Split, d: Delta, r: int) -> Delta:
    """A task: range ``r``'s piece of a shard's delta."""
    return split.delta(d, r)


def assemble(models: list[MergedModel], splits: list[Split]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The whole merged model from the ranges' (sorted columns, fields) and each shard's
    positions in it, per touched slot."""
    columns = np.concatenate([m.columns for m in models])
    fields = np.concatenate([m.fields for m in models])
    offsets = np.cumsum([0] + [m.columns.shape[0] for m in models])
    positions = []
    for k, split in enumerate(splits):
        pos = np.empty(split.range_of.shape[0], dtype=np.int64)
        for r, m in enumerate(models):
            pos[split.ranges[r]] = offsets[r] + m.positions[k]
        positions.append(pos)
    return columns, fields, positions
