"""The end-of-fit polish over the shards.

- two classes or a target, and K one-vs-rest columns (one pass over the shards for all K, as in
  memory): reduced by the merge's column ranges (:mod:`.rangepolish`), the client sending and
  receiving scalars only (:func:`range_polish`);
- the softmax (multinomial) columns: the in-memory softmax polish
  (``Polish.solve_softmax_sums``) with each pass's sums from the shards, added on the client in
  shard order (:class:`ShardSoftmaxSums`; its step couples the K columns in one kernel over all
  of them, so the client holds the point and each shard's positions). A pass whose tasks fail
  (a worker lost) is run again on the workers left.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..train import Optimizer, Polish
from ..train import _polish, _polish_multi
from . import rangepolish, shard

RETRIES = 2
Submit = Callable[..., Any]  # submit(fn, *args, shard=k | rng=r) -> a future


def run_pass(client: Any, task: Callable[..., Any], data: list[Any], points: list[np.ndarray], *args: Any) -> list[Any]:
    """``task(shard data, point, *args)`` on every shard, its results in shard order."""
    for attempt in range(RETRIES + 1):
        try:
            # no placement: the shards' rows may have moved since a worker was lost
            futures = [client.submit(task, d, client.scatter(p, hash=False), *args, pure=False)
                       for d, p in zip(data, points)]
            return client.gather(futures)
        except FloatingPointError:
            raise
        except Exception:  # a worker lost during the pass: run it again on the ones left
            if attempt == RETRIES:
                raise
    raise AssertionError("unreachable")


def range_polish(client: Any, submit: Submit, data: list[Any], splits: list[Any], states: list[Any], passes: int,
                 optimizer: Optimizer, intercept: np.ndarray) -> tuple[list[Any], np.ndarray, int, list[int]]:
    """The polish of ``states`` (one :class:`~.rangepolish.RangePolish` future per range) over
    the shards' rows; returns the ranges' final states, the intercept(s) (a vector), the passes
    run (0: the rows weigh nothing, the states as given) and the bytes moved between the shards
    and the ranges per pass. Only scalars reach the client: per pass the shards' sums and one
    momentum test sum per class; it sends back the intercepts and the extrapolation factors."""
    loss, penalty = optimizer.loss, optimizer.penalty
    n_classes, classes = optimizer.columns, optimizer.columns > 1
    momenta = [_polish.new_momentum(float(b)) for b in intercept]
    lbs, moved, given = np.zeros(n_classes), [], states
    n_shards, n_ranges = len(data), len(states)
    for done in range(passes):
        curvature = loss.curvature_bound if done == 0 else 0.0
        b = np.array([m[_polish.M_B] for m in momenta])
        passed = [submit(rangepolish.shard_pass, data[k], splits[k], b, loss.code, curvature, classes,
                         *[submit(rangepolish.point, s, k, rng=r) for r, s in enumerate(states)], shard=k)
                  for k in range(n_shards)]
        sums = [submit(rangepolish.scalar_sums, p, shard=k) for k, p in enumerate(passed)]
        states = [submit(rangepolish.step, s, curvature, penalty.l1, penalty.l2, n_shards, *sums,
                         *[submit(rangepolish.piece, p, r, shard=k) for k, p in enumerate(passed)], rng=r)
                  for r, s in enumerate(states)]
        turn: Any = (np.zeros(n_classes), 0)
        for r, s in enumerate(states):
            turn = submit(rangepolish.carry, turn, s, rng=r)
        per_shard, (turns, pass_bytes) = client.gather([sums, turn])
        total = rangepolish.add_sums(per_shard)
        moved.append(int(pass_bytes))
        if total[0, _polish.SUM_WEIGHT] <= 0.0:
            return given, np.asarray(intercept, dtype=np.float64), 0, moved
        betas = np.zeros(n_classes)
        extrapolate = done + 1 < passes
        for k in range(n_classes):
            _, gb, lb_new = _polish.finish_sums(curvature, total[k])
            if done == 0:
                lbs[k] = lb_new
            betas[k] = _polish.momentum_step(float(turns[k]), gb, lbs[k], momenta[k], extrapolate)
        states = [submit(rangepolish.extrapolate, s, betas, rng=r) for r, s in enumerate(states)]
    return states, np.array([m[_polish.M_B] for m in momenta]), passes, moved


class ShardSoftmaxSums:
    """A softmax polish pass over the shards (a sums source of ``Polish.solve_softmax_sums``):
    each gets the point on its columns and returns its sums, added in shard order."""

    def __init__(self, client: Any, data: list[Any], positions: list[np.ndarray]) -> None:
        self.client, self.data, self.positions = client, data, positions
        self.bytes: list[int] = []

    def add(self, W: np.ndarray, G: np.ndarray, L: np.ndarray, intercepts: np.ndarray, loss_code: int,
            curvature: float, gb: np.ndarray, sums: np.ndarray) -> None:
        parts = run_pass(self.client, softmax_sums, self.data, [W[pos] for pos in self.positions],
                         intercepts.copy(), loss_code, curvature)
        for pos, (g, l, g_b, s) in zip(self.positions, parts):
            G[pos] += g
            if l is not None:
                L[pos] += l
            gb += g_b
            sums += s
        self.bytes.append(int(sum(2 * p[0].nbytes + (0 if p[1] is None else p[1].nbytes) for p in parts)))


def softmax_polish(client: Any, data: list[Any], positions: list[np.ndarray], passes: int, optimizer: Optimizer,
                   weights: np.ndarray, intercepts: np.ndarray) -> tuple[np.ndarray, int, list[int]]:
    """The softmax polish over the shards' rows (``weights`` (n, K) updated in place); returns
    the intercepts, the passes run and the bytes moved per pass."""
    source = ShardSoftmaxSums(client, data, positions)
    solution = Polish(passes).solve_softmax_sums(source, weights, intercepts, optimizer.penalty, optimizer.loss)
    return np.asarray(solution.intercept), solution.passes, source.bytes


def softmax_sums(data: shard.ShardData, point: np.ndarray, intercepts: np.ndarray, loss_code: int,
                 curvature: float) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """A shard's softmax pass at ``point`` (touched slots x K): its gradient, with ``curvature``
    > 0 its majorizer, the intercepts' gradient and [weight, loss, L_b], added over its partitions."""
    W = np.zeros((data.slot_map.n, point.shape[1]))
    W[data.touched] = point
    G, L = np.zeros_like(W), np.zeros(W.shape[0])
    gb, sums = np.zeros(W.shape[1]), np.zeros(3)
    for rows in data.parts:
        _polish_multi.add_rows_multi(*rows.arrays, W, G, L, intercepts, loss_code, curvature, gb, sums)
    return G[data.touched], (L[data.touched] if curvature > 0.0 else None), gb, sums


