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
touched coordinates), never a width-long vector. The same two kernels serve an in-place merge
into a large state (:class:`Mixer`: scratch sized by the state, reused every round) and the pure
function :func:`mix` (scratch sized by the union of the shards' ids), which an engine that ships
shards between processes can call as it is.

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


@jit
def accumulate(positions, values, bases, weights, count, weight_sum, moves):
    """Add one shard: ``count[i]`` shards seen, ``weight_sum[i]`` their weights and ``moves[i]``
    their weighted moves ``w (v - base)``, at ``i = positions[e]`` for each entry ``e``."""
    n_fields = values.shape[1]
    for e in range(positions.shape[0]):
        i = positions[e]
        w = weights[e]
        count[i] += 1
        weight_sum[i] += w
        for f in range(n_fields):
            moves[i, f] += w * (values[e, f] - bases[e, f])


@jit
def resolve(positions, values, bases, out, count, weight_sum, moves):
    """Write the merged value of each of one shard's coordinates into ``out[positions[e]]`` and
    clear its scratch; a coordinate already written (by an earlier shard) is skipped. Called for
    every shard after all were accumulated, the scratch is all zero again at the end."""
    n_fields = values.shape[1]
    for e in range(positions.shape[0]):
        i = positions[e]
        seen = count[i]
        if seen == 0:
            continue
        if seen == 1:
            for f in range(n_fields):
                out[i, f] = values[e, f]
                moves[i, f] = 0.0
        else:
            for f in range(n_fields):
                out[i, f] = bases[e, f] + moves[i, f] / weight_sum[i]
                moves[i, f] = 0.0
        count[i] = 0
        weight_sum[i] = 0.0


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
    ``bases[k]`` (n_k, f) float64: new and starting values; ``weights[k]`` (n_k,) > 0: rows that
    touched each coordinate. See the module's docstring for the rule.
    """
    n_fields = _check_shards(indices, values, bases, weights)
    if not indices:
        return np.empty(0, dtype=np.int64), np.empty((0, 0))
    union, inverse = np.unique(np.concatenate([np.asarray(i, dtype=np.int64) for i in indices]), return_inverse=True)
    count = np.zeros(union.shape[0], dtype=np.int32)
    weight_sum = np.zeros(union.shape[0])
    moves = np.zeros((union.shape[0], n_fields))
    out = np.empty((union.shape[0], n_fields))
    splits = np.cumsum([i.shape[0] for i in indices])[:-1]
    positions = np.split(inverse.reshape(-1), splits)
    for p, v, b, w in zip(positions, values, bases, weights):
        accumulate(p, _f64(v), _f64(b), _f64(w), count, weight_sum, moves)
    for p, v, b in zip(positions, values, bases):
        resolve(p, _f64(v), _f64(b), out, count, weight_sum, moves)
    return union, out


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


class Mixer:
    """In-place mixing into a state of ``records`` (one float64 row of fields per id), with
    scratch as long as the state, allocated once and clean again after every round.

    >>> records = np.zeros((4, 1))
    >>> mixer = Mixer(1)
    >>> mixer.merge(records, [np.array([1, 2]), np.array([2])], [np.array([[2.0], [2.0]]), np.array([[4.0]])],
    ...             [np.zeros((2, 1)), np.zeros((1, 1))], [np.array([1.0, 1.0]), np.array([1.0])])
    >>> records[:, 0].tolist()
    [0.0, 2.0, 3.0, 0.0]
    """

    def __init__(self, n_fields: int) -> None:
        self.count = np.zeros(0, dtype=np.int32)
        self.weight_sum = np.zeros(0)
        self.moves = np.zeros((0, n_fields))

    def _reserve(self, n: int) -> None:
        if self.count.shape[0] < n:
            n = max(n, 2 * self.count.shape[0])
            self.count = np.zeros(n, dtype=np.int32)
            self.weight_sum = np.zeros(n)
            self.moves = np.zeros((n, self.moves.shape[1]))

    def merge(self, records: np.ndarray, indices: Sequence[np.ndarray], values: Sequence[np.ndarray],
              bases: Sequence[np.ndarray], weights: Sequence[np.ndarray]) -> None:
        """Merge shards whose ids index ``records`` rows (unique within a shard, all in range:
        the caller made them) into ``records``, in shard order."""
        self._reserve(records.shape[0])
        for ids, v, b, w in zip(indices, values, bases, weights):
            accumulate(ids, v, b, w, self.count, self.weight_sum, self.moves)
        for ids, v, b in zip(indices, values, bases):
            resolve(ids, v, b, records, self.count, self.weight_sum, self.moves)
