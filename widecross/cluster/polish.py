"""The end-of-fit polish over the shards: each pass sends every shard the point on its columns
and adds the shards' sums in shard order (the same bits for any placement of the shards), then
takes the in-memory polish's step.

- two classes or a target, and one-vs-rest columns class by class: :class:`ShardSums`, the sums
  source of :meth:`widecross.train.Polish.solve_sums`;
- the softmax (multinomial) columns: :func:`softmax_polish`, the steps of the in-memory softmax
  polish (``Polish._solve_softmax``) with each pass's sums from the shards.

A pass whose tasks fail (a worker lost) is run again on the workers left.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..losses import Loss
from ..train import Optimizer, Polish
from ..train import _polish_multi
from ..train.penalty import Penalty
from . import shard

RETRIES = 2


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


def polish(client: Any, data: list[Any], positions: list[np.ndarray], passes: int, optimizer: Optimizer,
           weights: np.ndarray, intercept: Any) -> tuple[Any, int, list[int]]:
    """The end-of-fit polish over the shards' rows (``weights`` updated in place); returns the
    intercept(s), the passes run and the bytes moved per pass. With K one-vs-rest columns, class
    k's binary polish on the labels "k or not" in turn (per class the arithmetic of the in-memory
    one-vs-rest polish, which shares its passes)."""
    solver, loss, penalty = Polish(passes), optimizer.loss, optimizer.penalty
    if not solver.applies(loss):
        return intercept, 0, []
    if optimizer.columns == 1:
        sums = ShardSums(client, data, positions)
        solution = solver.solve_sums(sums, weights, intercept, penalty, loss)
        return solution.intercept, solution.passes, sums.bytes
    if loss.labels == "class":
        return softmax_polish(client, data, positions, passes, weights, np.asarray(intercept), penalty, loss)
    intercepts, moved, run = np.array(intercept, dtype=np.float64), np.zeros(passes, dtype=np.int64), passes
    for k in range(optimizer.columns):
        column = np.ascontiguousarray(weights[:, k])
        sums = ShardSums(client, data, positions, label=k)
        solution = solver.solve_sums(sums, column, float(intercepts[k]), penalty, loss)
        weights[:, k], intercepts[k], run = column, solution.intercept, min(run, solution.passes)
        moved[: len(sums.bytes)] += sums.bytes
    return intercepts, run, [int(b) for b in moved]


class ShardSums:
    """A binary polish pass over the shards (a sums source of ``Polish.solve_sums``): each gets
    the point on its columns and returns its sums, added in shard order. ``label`` >= 0: the
    rows' labels are "class ``label`` or not" (a one-vs-rest column)."""

    def __init__(self, client: Any, data: list[Any], positions: list[np.ndarray], label: int = -1) -> None:
        self.client, self.data, self.positions, self.label = client, data, positions, label
        self.bytes: list[int] = []

    def add(self, rec: np.ndarray, intercept: float, loss_code: int, curvature: float, sums: np.ndarray) -> None:
        parts = run_pass(self.client, shard.polish_sums, self.data, [rec[pos, 0] for pos in self.positions],
                         intercept, loss_code, curvature, self.label)
        moved = 0
        for pos, (gradient, curvatures, part_sums) in zip(self.positions, parts):
            rec[pos, 1] += gradient
            if curvatures is not None:
                rec[pos, 2] += curvatures
                moved += curvatures.nbytes
            sums += part_sums
            moved += 2 * gradient.nbytes + part_sums.nbytes  # the point out, the gradient back
        self.bytes.append(moved)


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


def softmax_polish(client: Any, data: list[Any], positions: list[np.ndarray], passes: int, weights: np.ndarray,
                   intercepts: np.ndarray, penalty: Penalty, loss: Loss) -> tuple[np.ndarray, int, list[int]]:
    """The in-memory softmax polish's steps (``Polish._solve_softmax``) with each pass's sums
    from the shards, added in shard order; ``weights`` (n, K) updated in place."""
    n_classes = weights.shape[1]
    W, last = weights.copy(), weights.copy()
    G, L = np.empty_like(W), np.zeros(W.shape[0])
    momentum = np.concatenate([[1.0], intercepts, intercepts])
    lb, moved = 0.0, []
    for done in range(passes):
        curvature = loss.curvature_bound if done == 0 else 0.0
        G[:] = 0.0
        gb, sums = np.zeros(n_classes), np.zeros(3)
        parts = run_pass(client, softmax_sums, data, [W[pos] for pos in positions],
                         momentum[1 : 1 + n_classes].copy(), loss.code, curvature)
        for pos, (g, l, g_b, s) in zip(positions, parts):
            G[pos] += g
            if l is not None:
                L[pos] += l
            gb += g_b
            sums += s
        moved.append(int(sum(2 * p[0].nbytes + (0 if p[1] is None else p[1].nbytes) for p in parts)))
        if sums[0] <= 0.0:
            return intercepts, 0, moved
        G /= sums[0]
        gb /= sums[0]
        if done == 0:
            L *= curvature / sums[0]
            lb = sums[2] * curvature / sums[0]
        _polish_multi.prox_step_multi(W, G, L, last, penalty.l1, penalty.l2, gb, lb, momentum, done + 1 < passes)
    weights[:] = W
    return momentum[1 : 1 + n_classes].copy(), passes, moved
