"""The end-of-fit polish reduced by column ranges, like the merge: the client sees scalars only.

The polish of two classes or a target, and of K one-vs-rest columns (which share each pass over
the rows, as in memory), is the in-memory polish (``Polish.solve_sums``, one thread; one-vs-rest:
``Polish._solve_one_vs_rest``) with its per-slot work on the merge's range tasks:

- range ``r`` keeps the records of its columns (point, gradient, majorizer per class) and the
  previous prox iterates, and sends each shard the point on the shard's columns in the range;
- each shard adds its rows' gradient and majorizer sums at its point (the same kernels as in
  memory) and sends range ``r`` the part on the range's columns, and its scalar sums (weight,
  loss, intercept gradient and bound per class) along;
- range ``r`` adds the shards' parts in shard order, scales them by the shards' total weight
  (their scalar sums, added in shard order) and takes the prox step of its columns, keeping
  each column's momentum test term;
- the momentum test adds those terms in column order: range ``r`` continues the running sum
  where range ``r - 1`` left it (a chain of small tasks), so the sum has the single range's bits;
- the client adds the shards' scalar sums in shard order, takes the intercept's step and FISTA's
  ``t``, and sends the ranges the extrapolation factor of each class.

Every column's arithmetic is the one of the polish over all columns in one place, so any cut
into ranges gives the same bits, and one partition gives the in-memory polish's. Every task is a
pure function of its inputs: a worker lost during the polish is recomputed by Dask.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..train import Optimizer, _polish, _polish_multi
from ..train.polish import RowSums
from . import mixed
from .merge import MergedModel
from .ranges import Split
from .shard import ShardData


@dataclass(frozen=True)
class RangePolish:
    """A range's polish state: its columns, the merged fields, and per class the records
    (point, gradient, majorizer) and previous prox iterates of its columns."""

    columns: np.ndarray  # int64 sorted columns of the range
    fields: np.ndarray  # the merged fields (what the fit's state keeps)
    positions: tuple[np.ndarray, ...]  # per shard: position of each of its touched slots in the range
    rec: np.ndarray  # float64 (n, K, 3)
    last: np.ndarray  # float64 (n, K)
    terms: np.ndarray  # float64 (K, n) momentum test terms of the last prox step
    moved: int = 0  # bytes of the last pass between the range and the shards

    def weights(self) -> np.ndarray:
        """The point: (n,) with one column, else (n, K)."""
        w = self.rec[:, :, 0]
        return w[:, 0].copy() if w.shape[1] == 1 else w.copy()


def start(model: MergedModel, optimizer: Optimizer) -> RangePolish:
    """A range's state at the merged model (its weights as ``mixed.to_model`` gives them)."""
    weights, _ = mixed.to_model(optimizer, model.fields, model.scalars)
    n = model.columns.shape[0]
    rec = np.zeros((n, optimizer.columns, 3))
    rec[:, :, 0] = weights.reshape(n, -1)
    return RangePolish(model.columns, model.fields, model.positions, rec, rec[:, :, 0].copy(),
                       np.zeros((optimizer.columns, n)))


def intercept(model: MergedModel, optimizer: Optimizer) -> np.ndarray:
    """The merged intercept(s) as a vector (the same in every range)."""
    return np.atleast_1d(np.asarray(mixed.to_model(optimizer, model.fields[:0], model.scalars)[1], dtype=np.float64))


def point(state: RangePolish, k: int) -> np.ndarray:
    """A task: the point on shard ``k``'s columns in the range, (n_k, K)."""
    return state.rec[state.positions[k], :, 0]


def shard_pass(data: ShardData, split: Split, b: np.ndarray, loss_code: int, curvature: float, classes: bool,
               *points: np.ndarray) -> tuple[tuple[tuple[np.ndarray, np.ndarray | None], ...], np.ndarray]:
    """A task: the shard's unscaled sums at the point the ranges sent (``points[r]`` on its
    columns in range ``r``), added over its partitions in order: per range the gradient (and
    with ``curvature`` > 0 the majorizer) of its columns there, (n, K); and the scalar sums
    (K, ``_polish.N_SUMS``). ``classes``: K one-vs-rest columns of labels 0..K-1 in one pass
    (``add_rows_ovr``), else one column of the rows' own labels (``add_rows``)."""
    rec = np.zeros((data.slot_map.n, b.shape[0], 3))
    for part, p in zip(split.ranges, points):
        rec[data.touched[part], :, 0] = p
    if classes:
        sums = np.zeros((b.shape[0], _polish.N_SUMS))
        for rows in data.parts:
            _polish_multi.add_rows_ovr(*rows.arrays, rec, b, loss_code, curvature, False, sums)
    else:
        sums = np.zeros((1, _polish.N_SUMS))
        RowSums(lambda: data.parts).add(rec[:, 0], float(b[0]), loss_code, curvature, sums[0])
    pieces = tuple((rec[data.touched[part], :, 1], rec[data.touched[part], :, 2] if curvature > 0.0 else None)
                   for part in split.ranges)
    return pieces, sums


def piece(result: tuple[Any, np.ndarray], r: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A task: range ``r``'s part of a shard's pass."""
    return result[0][r]


def scalar_sums(result: tuple[Any, np.ndarray]) -> np.ndarray:
    """A task: a shard's scalar sums of a pass."""
    return result[1]


def add_sums(per_shard: list[np.ndarray] | tuple[np.ndarray, ...]) -> np.ndarray:
    """The shards' scalar sums added in shard order (the same bits on the client and the ranges)."""
    total = np.zeros_like(per_shard[0])
    for s in per_shard:
        total += s
    return total


def step(state: RangePolish, curvature: float, l1: float, l2: float, n_shards: int, *parts: Any) -> RangePolish:
    """A task: the range's prox step. ``parts``: the shards' scalar sums, then their pieces, in
    shard order. The prox iterates go into ``rec[:, :, 1]``, the momentum test terms into
    ``terms``; a class whose rows weigh nothing is left (the client stops the polish)."""
    sums, pieces = add_sums(parts[:n_shards]), parts[n_shards:]
    rec = state.rec.copy()
    rec[:, :, 1] = 0.0
    if curvature > 0.0:
        rec[:, :, 2] = 0.0
    moved = 0
    for pos, (gradient, curvatures) in zip(state.positions, pieces):
        rec[pos, :, 1] += gradient
        moved += 2 * gradient.nbytes  # the point out, the gradient back
        if curvatures is not None:
            rec[pos, :, 2] += curvatures
            moved += curvatures.nbytes
    terms = np.zeros_like(state.terms)
    for k in range(rec.shape[1]):
        total = float(sums[k, _polish.SUM_WEIGHT])
        if total > 0.0:
            _polish.finish_range(rec[:, k], curvature, total, 0, rec.shape[0])
            _polish.prox_range(rec[:, k], state.last[:, k], l1, l2, 0, rec.shape[0], terms[k])
    return replace(state, rec=rec, terms=terms, moved=moved)


def add_on(start: float, values: np.ndarray) -> float:
    """``start`` plus ``values`` added in order (a running sum continued: from 0.0, ``start``
    first, which is ``start`` itself)."""
    return float(_polish.ordered_sum(np.concatenate([[start], values])))


def carry(before: tuple[np.ndarray, int], state: RangePolish) -> tuple[np.ndarray, int]:
    """A task: each class's running momentum test sum continued over the range's columns, and
    the bytes moved so far."""
    turns = np.array([add_on(t, state.terms[k]) for k, t in enumerate(before[0])])
    return turns, before[1] + state.moved


def extrapolate(state: RangePolish, betas: np.ndarray) -> RangePolish:
    """A task: the next point from the prox iterates, each class with its factor."""
    rec, last = state.rec.copy(), state.last.copy()
    for k, beta in enumerate(betas):
        _polish.extrapolate_range(rec[:, k], last[:, k], float(beta), 0, rec.shape[0])
    return replace(state, rec=rec, last=last)


def result(state: RangePolish) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A task: the range's (columns, merged fields, weights)."""
    return state.columns, state.fields, state.weights()
