"""What a worker does with its shard: pure functions of (partitions, state in) -> state out.

A *shard* is the partitions one worker trains on. :func:`prepare` featurizes them once into
slot-indexed :class:`~widecross.train.Rows` (one block per partition, one slot map for the
shard) and counts, per touched column, the sample weight of the rows that touch it: the weight
of the shard's value in the merge. A round (:func:`train_round`) starts from a copy of the
shard's state, applies the merged values the driver sent (the coordinates it shares with other
shards whose value changed), visits the partitions in a fresh order with rows shuffled within
each, and keeps the sparse delta of the coordinates that moved. Nothing is modified in place, so
a round run twice (Dask recomputing a lost result) gives the same bits.

The polish's pass over a shard is in :mod:`.rangepolish` (and :mod:`.polish` for the softmax).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..train import Optimizer, Rows, Trainer, visit_order
from ..train.trainer import NonFiniteError
from . import mixed

Featurize = Callable[[Any], "tuple[Any, np.ndarray, np.ndarray] | None"]  # frame -> (CSR, y, sample weights)


@dataclass(frozen=True)
class ShardData:
    """A shard's rows, read-only after :func:`prepare`."""

    parts: tuple[Rows, ...]  # one block per partition, in the shard's partition order
    touched: np.ndarray  # int32 slots of the columns the rows touch (all slots but dense layouts' idle ones)
    columns: np.ndarray  # int64 column of each touched slot
    counts: np.ndarray  # float64 sample weight of the rows touching each touched slot
    weight: float  # sample weight of all rows (the intercept's merge weight)
    n_rows: int
    slot_map: Any  # the shard's column -> slot map (SlotMap or DenseMap), no longer changed

    @property
    def nbytes(self) -> int:
        """Bytes of the rows and the slot map held for the whole fit."""
        arrays = [a for rows in self.parts for a in rows] + [self.touched, self.columns, self.counts]
        return int(sum(a.nbytes for a in arrays) + self.slot_map.nbytes)


@dataclass(frozen=True)
class Delta:
    """What a round reports: touched positions whose mixed fields changed (:mod:`.mixed`), their
    values, the mixed scalars (the intercept; FTRL's weight seen and intercept ``z``, ``n``)."""

    changed: np.ndarray  # int32 positions into ShardData.touched
    values: np.ndarray  # float64 (n_changed, fields)
    scalars: np.ndarray  # float64
    loss_sum: float
    weight_sum: float
    seconds: float = 0.0  # CPU seconds the round's training took (for capacity planning)

    @property
    def nbytes(self) -> int:
        return int(self.changed.nbytes + self.values.nbytes + self.scalars.nbytes)


@dataclass
class ShardState:
    """A shard's training state between rounds and the delta of the round that made it."""

    trainer: Trainer
    rng: np.random.Generator
    delta: Delta | None = field(default=None)
    pending: tuple[int, ...] = ()  # partitions the current epoch has still to visit, in order


@dataclass(frozen=True)
class Update:
    """The merged values a shard must take: positions into its touched slots, values, scalars."""

    changed: np.ndarray  # int32
    values: np.ndarray  # float64 (n_changed, fields)
    scalars: np.ndarray  # float64

    @property
    def nbytes(self) -> int:
        return int(self.changed.nbytes + self.values.nbytes + self.scalars.nbytes)


def prepare(featurize: Featurize, optimizer: Optimizer, layout: str, width: int, *frames: Any) -> ShardData:
    """Featurize a shard's partitions (``frames``, in order) and map them to one slot map."""
    trainer = Trainer(optimizer, layout=layout, width=width if layout == "dense" else None)
    parts = []
    for frame in frames:
        features = featurize(frame)  # None: an empty partition
        if features is not None and features[0].shape[0]:
            parts.append(trainer.rows(*features, grow=False))
    counts = np.zeros(trainer.slot_map.capacity if layout == "dense" else trainer.n_slots, dtype=np.float64)
    weight = 0.0
    for rows in parts:
        if rows.sw.shape[0]:
            per_entry = np.repeat(rows.sw, np.diff(rows.indptr))
            counts += np.bincount(rows.slots, weights=per_entry, minlength=counts.shape[0])
            weight += float(rows.sw.sum())
        else:
            counts += np.bincount(rows.slots, minlength=counts.shape[0])
            weight += float(rows.n_rows)
    touched = np.flatnonzero(counts > 0).astype(np.int32) if layout == "dense" else np.arange(counts.shape[0], dtype=np.int32)
    columns = trainer.slot_map.columns_of(touched)
    return ShardData(tuple(parts), touched, columns, counts[touched], weight, sum(p.n_rows for p in parts),
                     trainer.slot_map)


def start(data: ShardData, optimizer: Optimizer, layout: str, width: int, seed: np.random.SeedSequence) -> ShardState:
    """The state before the first round: zero records for the shard's slots, its own generator."""
    trainer = Trainer(optimizer, layout=layout, width=width if layout == "dense" else None)
    trainer.slot_map = data.slot_map
    trainer.grow()
    return ShardState(trainer, np.random.default_rng(seed))


def _copy(trainer: Trainer) -> Trainer:
    # records and scalars change in a round; the slot map and the optimizer never do
    out = copy.copy(trainer)
    out.records, out.scalars, out.published = trainer.records.copy(), trainer.scalars.copy(), None
    return out


def train_round(data: ShardData, state: ShardState, update: Update | None, shuffle: bool, first: bool,
                count: int) -> ShardState:
    """Train ``count`` partitions from ``state`` after taking ``update``; the input state is left as it
    was. ``first``: the round opens an epoch, which visits the partitions in a fresh order."""
    clock = time.process_time()
    trainer = _copy(state.trainer)
    rng = copy.deepcopy(state.rng)
    if update is not None:
        apply(trainer, data, update)
    before = mixed.read(trainer, data.touched)
    pending = state.pending
    if first:
        n = len(data.parts)
        pending = tuple(int(p) for p in (rng.permutation(n) if shuffle and n > 1 else range(n)))
    order, pending = pending[:count], pending[count:]
    loss_sum = weight_sum = 0.0
    try:
        for p in order:
            rows = data.parts[p]
            trainer.epoch(rows, visit_order(rng, rows.n_rows, True) if shuffle else None)
            part, weight = trainer.last_sums()
            loss_sum += part
            weight_sum += weight
        after = mixed.read(trainer, data.touched)
    except NonFiniteError:
        raise FloatingPointError("training diverged: the weights became NaN or infinite") from None
    changed = np.flatnonzero((after != before).any(axis=1)).astype(np.int32)
    delta = Delta(changed, after[changed], mixed.read_scalars(trainer), loss_sum, weight_sum,
                  time.process_time() - clock)
    return ShardState(trainer, rng, delta, pending)


def apply(trainer: Trainer, data: ShardData, update: Update) -> None:
    """Set the updated coordinates (and the scalars) in place, leaving every other record as it is."""
    if update.changed.shape[0] == 0 and np.array_equal(update.scalars, mixed.read_scalars(trainer)):
        return
    mixed.write(trainer, data.touched[update.changed], update.values, update.scalars)


def delta(state: ShardState) -> Delta:
    """The delta of the round that made ``state`` (a small task, run where the state lives)."""
    if state.delta is None:
        raise ValueError("this shard state was not made by a round")
    return state.delta
