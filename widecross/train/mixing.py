"""Iterative parameter mixing: merge the sparse updates of K shards into one state.

Every shard starts a round from the same base state, trains on its own rows and reports only the
coordinates it touched: their ids (unique within the shard), their new values, the base values
it started from (one row of ``f`` fields per coordinate) and a positive weight per coordinate
(the rows of the shard that touched it). The merged value of a coordinate is the weighted mean
of the shards' moves away from the base::

    v = base + sum_k w_k (v_k - base) / sum_k w_k          (over the shards that touched it)

and a coordinate that one shard alone touched keeps that shard's value exactly (not rounded
through the mean). Uniform averaging is wrong when shards see different places (a coordinate
touched by one shard would be pulled back to the base by the K - 1 others): the weights are what
makes mixing work on geographic partitions.

Shards are accumulated in the order given, so the bits of the result are a pure function of the
inputs: not of which thread or worker finished first. What moves is sparse (ids and values of the
touched coordinates), never a width-long vector. One kernel serves the in-place merge into a
large state (:func:`merge_into`: shards' ids sorted, each record read and written once, no
scratch) and the pure function :func:`mix` (over the union of the shards' ids), which an engine
that ships shards between processes can call as it is.

>>> ids = [np.array([3, 7]), np.array([7, 9])]
>>> new = [np.array([[1.0], [2.0]]), np.array([[4.0], [5.0]])]
>>> base = [np.zeros((2, 1)), np.zeros((2, 1))]
>>> rows = [np.array([1.0, 1.0]), np.array([3.0, 1.0])]
>>> union, merged = mix(ids, new, base, rows)
>>> union.tolist(), merged[:, 0].tolist()  # 7: (1 * 2 + 3 * 4) / 4
([3, 7, 9], [1.0, 3.5, 5.0])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .._jit import jit
from .._prefetch import prefetch_row
from .._parallel import even_ranges, run_tasks

_AHEAD = 16


@jit
def merge_sorted(ids, values, weights, offsets, lo, hi, records):
    """Merge the shards' entries with ids in ``[lo, hi)`` into ``records`` (indexed by id; the
    bases are the records themselves, read before each is replaced).

    Shard ``k`` owns entries ``offsets[k]:offsets[k + 1]`` of ``ids`` (sorted, unique within the
    shard), ``values`` (one row of fields each) and ``weights``. The shards are walked side by side
    in id order (each record is read and written once); at each id, the shards holding it are
    added in shard order.
    """
    n_shards = offsets.shape[0] - 1
    n_fields = values.shape[1]
    heads = np.empty(n_shards, dtype=np.int64)
    ends = np.empty(n_shards, dtype=np.int64)
    for k in range(n_shards):
        own = ids[offsets[k]:offsets[k + 1]]
        heads[k] = offsets[k] + np.searchsorted(own, lo)
        ends[k] = offsets[k] + np.searchsorted(own, hi)
    move = np.empty(n_fields)
    while True:
        g = hi
        for k in range(n_shards):
            if heads[k] < ends[k] and ids[heads[k]] < g:
                g = ids[heads[k]]
        if g == hi:
            return
        seen = 0
        first = -1
        total = 0.0
        for f in range(n_fields):
            move[f] = 0.0
        for k in range(n_shards):
            e = heads[k]
            if e < ends[k] and ids[e] == g:
                if e + _AHEAD < ends[k]:
                    prefetch_row(records, ids[e + _AHEAD])
                seen += 1
                if first < 0:
                    first = e
                w = weights[e]
                total += w
                for f in range(n_fields):
                    move[f] += w * (values[e, f] - records[g, f])
                heads[k] = e + 1
        if seen == 1:
            for f in range(n_fields):
                records[g, f] = values[first, f]
        else:
            for f in range(n_fields):
                records[g, f] = records[g, f] + move[f] / total


def _check_shards(indices: Sequence[np.ndarray], values: Sequence[np.ndarray], bases: Sequence[np.ndarray],
                  weights: Sequence[np.ndarray]) -> int:
    if not len(indices) == len(values) == len(bases) == len(weights):
        raise ValueError("mix: indices, values, bases and weights must list the same shards")
    n_fields = -1
    for k, (ids, v, b, w) in enumerate(zip(indices, values, bases, weights)):
        n = ids.shape[0]
        if ids.ndim != 1 or v.ndim != 2 or v.shape != b.shape or v.shape[0] != n or w.shape != (n,):
            raise ValueError(f"mix: shard {k}: expected ids (n,), values and bases (n, f), weights (n,); got "
                             f"{ids.shape}, {v.shape}, {b.shape}, {w.shape}")
        if n_fields not in (-1, v.shape[1]):
            raise ValueError(f"mix: shard {k} has {v.shape[1]} fields, shard 0 has {n_fields}")
        n_fields = v.shape[1]
        if n and not np.all(w > 0):
            raise ValueError(f"mix: shard {k}: weights must be positive")
        if n > 1 and np.unique(ids).shape[0] != n:
            raise ValueError(f"mix: shard {k} lists a coordinate twice")
    return max(n_fields, 0)


def mix(indices: Sequence[np.ndarray], values: Sequence[np.ndarray], bases: Sequence[np.ndarray],
        weights: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Merge K shards' sparse updates; returns the sorted union of their ids and the merged values.

    Shard ``k`` gives ``indices[k]`` (n_k,) ids, unique within the shard; ``values[k]`` and
    ``bases[k]`` (n_k, f) float64: new and starting values (all shards start from one state: a
    coordinate's bases agree); ``weights[k]`` (n_k,) > 0: rows that touched each coordinate. See
    the module's docstring for the rule.
    """
    n_fields = _check_shards(indices, values, bases, weights)
    if not indices:
        return np.empty(0, dtype=np.int64), np.empty((0, 0))
    union = np.unique(np.concatenate([np.asarray(i, dtype=np.int64) for i in indices]))
    state = np.empty((union.shape[0], n_fields))
    positions = [np.searchsorted(union, np.asarray(i, dtype=np.int64)) for i in indices]
    for p, b in zip(reversed(positions), reversed(bases)):  # the first shard's base wins (they agree)
        state[p] = b
    orders = [np.argsort(p, kind="stable") for p in positions]
    merge_into(state, [p[o] for p, o in zip(positions, orders)], [_f64(v)[o] for v, o in zip(values, orders)],
               [_f64(w)[o] for w, o in zip(weights, orders)])
    return union, state


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def merge_into(records: np.ndarray, indices: Sequence[np.ndarray], values: Sequence[np.ndarray],
               weights: Sequence[np.ndarray], n_jobs: int = 1) -> None:
    """Merge shards into ``records`` in place (their starting state: the bases are the records).

    Shard ``k``'s ``indices[k]`` are sorted, unique, valid rows of ``records`` (the caller made
    them); ``values[k]`` (n_k, f) float64, ``weights[k]`` (n_k,) > 0. ``n_jobs`` threads merge
    disjoint ranges of ids, each id's shards still added in shard order: the same bits for any
    number of threads.

    >>> records = np.zeros((4, 1))
    >>> merge_into(records, [np.array([1, 2]), np.array([2])], [np.array([[2.0], [2.0]]), np.array([[4.0]])],
    ...            [np.array([1.0, 1.0]), np.array([1.0])])
    >>> records[:, 0].tolist()
    [0.0, 2.0, 3.0, 0.0]
    """
    if not indices:
        return
    offsets = np.zeros(len(indices) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([i.shape[0] for i in indices])
    ids = np.concatenate(indices) if len(indices) > 1 else indices[0]
    vals = np.concatenate(values) if len(values) > 1 else values[0]
    ws = np.concatenate(weights) if len(weights) > 1 else weights[0]
    n = records.shape[0]
    run_tasks([_part(ids, vals, ws, offsets, lo, hi, records) for lo, hi in even_ranges(n, n_jobs) if hi > lo], n_jobs)


def _part(ids, vals, ws, offsets, lo: int, hi: int, records):  # type: ignore[no-untyped-def]
    return lambda: merge_sorted(ids, vals, ws, offsets, lo, hi, records)
