"""The batch polish that ends ``fit``: accelerated majorized proximal gradient over all rows.

Plain prox-SGD ends with many small weights that the last gradients kicked away from zero (the
stochastic gradient of a rare column is rarely as small as the full one); the optimum zeroes
them. A few passes of proximal gradient on the *whole* objective, with a per-coordinate step from
a diagonal majorizer of the loss Hessian (see ``_polish``), remove them and close most of the
remaining gap. FISTA's momentum on top, restarted whenever a step goes against it, closes the
gap faster than plain steps (measured in ``docs/tuning.md``). The last step does not
extrapolate, so the result is a prox iterate with its exact zeros. Each pass is one sequential
sweep over the rows plus two sweeps over the slots.

Losses without a curvature bound (hinge, Poisson) have no majorizer: the polish leaves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..losses import Loss
from . import _polish
from .penalty import Penalty
from .solver import Blocks, Solution, Solver, opened


@dataclass(frozen=True)
class Polish(Solver):
    """``passes`` majorized prox-gradient steps; ``measure``: also report the objective (one
    more pass); ``accelerated=False``: plain steps, each a descent step."""

    passes: int
    measure: bool = False
    accelerated: bool = True

    def applies(self, loss: Loss) -> bool:
        return self.passes > 0 and loss.curvature_bound > 0.0

    def solve(self, blocks: Blocks, weights: np.ndarray, intercept: float, penalty: Penalty, loss: Loss) -> Solution:
        solution = self.solve_sums(RowSums(blocks), weights, intercept, penalty, loss)
        if self.measure and solution.passes:
            objective = mean_loss(blocks, weights, solution.intercept, loss) + penalty.value(weights)
            return Solution(solution.intercept, solution.passes, objective)
        return solution

    def solve_sums(self, rows: PassSums, weights: np.ndarray, intercept: float, penalty: Penalty,
                   loss: Loss) -> Solution:
        """The polish with each pass's sums over the rows added by ``rows`` (rows in memory or on
        disk: :class:`RowSums`; partitions on other machines: their sums, added in a fixed order)."""
        bound = loss.curvature_bound
        if not self.applies(loss):
            return Solution(intercept, 0)
        rec = np.empty((weights.shape[0], 3), dtype=np.float64)  # weight, gradient, curvature bound
        rec[:, 0] = weights
        last = rec[:, 0].copy()
        momentum = _polish.new_momentum(float(intercept))
        sums = new_sums()
        lb = 0.0
        for done in range(self.passes):
            curvature = bound if done == 0 else 0.0  # the bound depends on the data only
            _polish.reset(rec, curvature, sums)
            rows.add(rec, float(momentum[_polish.M_B]), loss.code, curvature, sums)
            if sums[_polish.SUM_WEIGHT] <= 0.0:
                return Solution(intercept, 0)
            _, gb, lb_new = _polish.finish(rec, curvature, sums)
            if done == 0:
                lb = lb_new
            extrapolate = self.accelerated and done + 1 < self.passes
            _polish.prox_step(rec, last, penalty.l1, penalty.l2, gb, lb, momentum, extrapolate)
        weights[:] = rec[:, 0]
        return Solution(float(momentum[_polish.M_B]), self.passes)


def new_sums() -> np.ndarray:
    """The zeroed sums (weight, loss, intercept gradient and bound) a pass adds up besides ``rec``."""
    return np.zeros(_polish.N_SUMS)


class PassSums(Protocol):
    """What one pass of the polish needs from the rows: their gradient sums at a point."""

    def add(self, rec: np.ndarray, intercept: float, loss_code: int, curvature: float, sums: np.ndarray) -> None:
        """Add the unscaled gradient at (``rec[:, 0]``, ``intercept``) into ``rec[:, 1]``, with
        ``curvature`` > 0 the unscaled majorizer into ``rec[:, 2]``, the rest into ``sums``."""


@dataclass(frozen=True)
class RowSums:
    """The sums of a pass over row blocks (one full pass per call of ``blocks``), in their order."""

    blocks: Blocks

    def add(self, rec: np.ndarray, intercept: float, loss_code: int, curvature: float, sums: np.ndarray) -> None:
        with opened(self.blocks()) as each:
            for rows in each:
                _polish.add_rows(*rows.arrays, rec, intercept, loss_code, curvature, False, sums)


def mean_loss(blocks: Blocks, weights: np.ndarray, intercept: float, loss: Loss) -> float:
    """Mean weighted loss at (weights, intercept) over the rows of ``blocks``; a slot of -1 (a
    column unseen in training) weighs 0."""
    loss_sum = total = 0.0
    with opened(blocks()) as each:
        for rows in each:
            part, weight = _polish.loss_sums(*rows.arrays, weights, float(intercept), loss.code)
            loss_sum += part
            total += weight
    return loss_sum / total if total > 0.0 else 0.0
