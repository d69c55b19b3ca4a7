"""The batch polish that ends ``fit``: accelerated majorized proximal gradient over all rows.

Plain prox-SGD ends with many small weights that the last gradients kicked away from zero (the
stochastic gradient of a rare column is rarely as small as the full one); the optimum zeroes
them. A few passes of proximal gradient on the *whole* objective, with a per-coordinate step from
a diagonal majorizer of the loss Hessian (see ``_polish``), remove them and close most of the
remaining gap. FISTA's momentum on top, restarted whenever a step goes against it, closes the
gap faster than plain steps (measured in ``docs/tuning.md``). The last step does not
extrapolate, so the result is a prox iterate with its exact zeros. Each pass is one sequential
sweep over the rows plus two sweeps over the slots.

Losses without a curvature bound (hinge, Poisson) have no majorizer: the polish leaves them, and
so it does the softmax loss (its K margins are coupled); one-vs-rest columns are polished one by
one (``Trainer.solve``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..losses import Loss
from . import _polish, _polish_multi
from .blocksums import PassSums, SlotSweeps, loss_sums
from .penalty import Penalty
from .rows import Rows
from .solver import Blocks, RowsPlan, Solution, Solver, opened


# The threaded sums (``blocksums.PassSums``) add exactly what ``_polish.add_rows`` adds: the head
# rows through that kernel on one thread while the others compute the tail rows' terms, then the
# tail's per-slot sums on slot ranges. About 1.3-1.4x the one sweep's CPU seconds (the whole
# polish on 1M-2M generated rows), so from two threads on they take less time, with the same bits.
THREADED_MIN_JOBS = 2


def constant_intercept(loss: Loss, b: float, gradient_sum: float, weight_sum: float, fallback: float) -> float:
    """The optimal intercept of a model with no nonzero weight, from one pass's sums at intercept
    ``b`` (every margin ``b``): where ``loss'(m) = mean(m) - y``, ``gradient_sum = sum_i s_i
    loss'(b)`` gives the labels' weighted mean, then ``Loss.constant_margin``; ``fallback``
    where that has none.

    >>> from ..losses import LOSSES
    >>> round(constant_intercept(LOSSES["logistic"], 0.0, 0.5 * 4 - 1.0, 4.0, 0.0), 12)  # 1 of 4: log(1/3)
    -1.098612288668
    """
    if not weight_sum > 0.0 or loss.link not in ("sigmoid", "identity", "exp"):
        return fallback
    margin = loss.constant_margin(float(loss.mean(np.float64(b))) - gradient_sum / weight_sum)
    return fallback if margin is None else margin


@dataclass(frozen=True)
class Polish(Solver):
    """``passes`` majorized prox-gradient steps; ``measure``: also report the objective (one
    more pass); ``accelerated=False``: plain steps, each a descent step; ``n_jobs``: threads for
    the sums over rows from ``THREADED_MIN_JOBS`` on (the same bits for any number)."""

    passes: int
    measure: bool = False
    accelerated: bool = True
    n_jobs: int = 1

    def applies(self, loss: Loss) -> bool:
        return self.passes > 0 and loss.curvature_bound > 0.0

    def solve(self, blocks: Blocks, weights: np.ndarray, intercept: float, penalty: Penalty, loss: Loss,
              plan: RowsPlan | None = None) -> Solution:
        if not self.applies(loss):
            return Solution(intercept, 0)
        if weights.ndim == 2 and loss.labels == "class":
            return self._solve_softmax(blocks, weights, np.asarray(intercept, dtype=np.float64), penalty, loss)
        if weights.ndim == 2:
            return self._solve_one_vs_rest(blocks, weights, np.asarray(intercept, dtype=np.float64), penalty, loss)
        solution = self.solve_sums(RowSums(blocks, self.n_jobs, plan), weights, intercept, penalty, loss)
        if self.measure and solution.passes:
            objective = mean_loss(blocks, weights, solution.intercept, loss, self.n_jobs) + penalty.value(weights)
            return Solution(solution.intercept, solution.passes, objective)
        return solution

    def solve_sums(self, rows: SumSource, weights: np.ndarray, intercept: float, penalty: Penalty,
                   loss: Loss) -> Solution:
        """The polish with each pass's sums over the rows added by ``rows`` (rows in memory or on
        disk: :class:`RowSums`; partitions on other machines: their sums, added in a fixed order)."""
        bound = loss.curvature_bound
        if not self.applies(loss):
            return Solution(intercept, 0)
        sweeps = SlotSweeps(weights.shape[0], self.n_jobs)
        rec, last = sweeps.start(weights)  # rec: weight, gradient, curvature bound per slot
        momentum = _polish.new_momentum(float(intercept))
        sums = new_sums()
        lb = 0.0
        for done in range(self.passes):
            curvature = bound if done == 0 else 0.0  # the bound depends on the data only
            sweeps.reset(rec, curvature, sums)
            self._add(rows, sweeps, rec, float(momentum[_polish.M_B]), loss, curvature, sums)
            if sums[_polish.SUM_WEIGHT] <= 0.0:
                return Solution(intercept, 0)
            _, gb, lb_new = sweeps.finish(rec, curvature, sums)
            if done == 0:
                lb = lb_new
            extrapolate = self.accelerated and done + 1 < self.passes
            sweeps.prox_step(rec, last, penalty.l1, penalty.l2, gb, lb, momentum, extrapolate)
        weights[:] = rec[:, 0]
        intercept = float(momentum[_polish.M_B])
        if not np.any(weights):
            # no feature kept: every margin is the intercept, so one more pass's sums give the
            # labels' weighted mean and the intercept its optimum (the prox steps of the curvature
            # bound leave it short: -0.823 for -0.848 on 200k rows without a signal, whose
            # constant then scored worse held-out than the labels' mean)
            sweeps.reset(rec, 0.0, sums)
            self._add(rows, sweeps, rec, intercept, loss, 0.0, sums)
            intercept = constant_intercept(loss, intercept, sums[_polish.SUM_GB], sums[_polish.SUM_WEIGHT], intercept)
        return Solution(intercept, self.passes)

    @staticmethod
    def _add(rows: SumSource, sweeps: SlotSweeps, rec: np.ndarray, intercept: float, loss: Loss, curvature: float,
             sums: np.ndarray) -> None:
        if sweeps.point is not None and isinstance(rows, RowSums):
            rows.add(rec, intercept, loss.code, curvature, sums, sweeps.point)
        else:
            rows.add(rec, intercept, loss.code, curvature, sums)

    def _solve_one_vs_rest(self, blocks: Blocks, weights: np.ndarray, intercepts: np.ndarray, penalty: Penalty,
                           loss: Loss) -> Solution:
        """K independent one-vs-rest polishes (class k's labels: "k or not") sharing each pass over
        the rows: per class, the steps and bits of the binary polish."""
        n_classes = weights.shape[1]
        # slot-major: a row's active column brings the records of all K classes in one place
        rec = np.empty((weights.shape[0], n_classes, 3), dtype=np.float64)
        rec[:, :, 0] = weights
        last = rec[:, :, 0].copy()
        momenta = [_polish.new_momentum(float(b)) for b in intercepts]
        lbs = np.zeros(n_classes)
        for done in range(self.passes):
            curvature = loss.curvature_bound if done == 0 else 0.0
            sums = np.zeros((n_classes, _polish.N_SUMS))
            for k in range(n_classes):
                _polish.reset(rec[:, k], curvature, sums[k])
            b = np.array([m[_polish.M_B] for m in momenta])
            with opened(blocks()) as each:
                for rows in each:
                    _polish_multi.add_rows_ovr(*rows.arrays, rec, b, loss.code, curvature, False, sums)
            if sums[0, _polish.SUM_WEIGHT] <= 0.0:
                return Solution(intercepts, 0)
            extrapolate = self.accelerated and done + 1 < self.passes
            for k in range(n_classes):
                _, gb, lb_new = _polish.finish(rec[:, k], curvature, sums[k])
                if done == 0:
                    lbs[k] = lb_new
                _polish.prox_step(rec[:, k], last[:, k], penalty.l1, penalty.l2, gb, lbs[k], momenta[k], extrapolate)
        weights[:] = rec[:, :, 0]
        b = np.array([m[_polish.M_B] for m in momenta])
        objective = None
        if self.measure:
            from .multiclass import class_mean_loss

            objective = sum(class_mean_loss(r, weights, b, loss) for r in blocks()) + penalty.value(weights.ravel())
        return Solution(b, self.passes, objective)

    def _solve_softmax(self, blocks: Blocks, weights: np.ndarray, intercepts: np.ndarray, penalty: Penalty,
                       loss: Loss) -> Solution:
        """The softmax polish over row blocks, with its objective when measured."""
        solution = self.solve_softmax_sums(SoftmaxRowSums(blocks), weights, intercepts, penalty, loss)
        if self.measure and solution.passes:
            from .multiclass import class_mean_loss

            b = np.asarray(solution.intercept)
            objective = sum(class_mean_loss(r, weights, b, loss) for r in blocks()) + penalty.value(weights.ravel())
            return Solution(solution.intercept, solution.passes, objective)
        return solution

    def solve_softmax_sums(self, rows: SoftmaxSumSource, weights: np.ndarray, intercepts: np.ndarray,
                           penalty: Penalty, loss: Loss) -> Solution:
        """The same steps as :meth:`solve_sums` on the K coupled columns of the softmax loss
        (``_polish_multi``), each pass's sums added by ``rows``; ``weights`` (n, K) updated."""
        if not self.applies(loss):
            return Solution(intercepts, 0)
        n_classes = weights.shape[1]
        W, last = weights.copy(), weights.copy()
        G, L = np.empty_like(W), np.zeros(W.shape[0])
        momentum = np.concatenate([[1.0], intercepts, intercepts])
        lb = 0.0
        for done in range(self.passes):
            curvature = loss.curvature_bound if done == 0 else 0.0
            G[:] = 0.0
            gb, sums = np.zeros(n_classes), np.zeros(3)
            rows.add(W, G, L, momentum[1 : 1 + n_classes], loss.code, curvature, gb, sums)
            if sums[0] <= 0.0:
                return Solution(intercepts, 0)
            G /= sums[0]
            gb /= sums[0]
            if done == 0:
                L *= curvature / sums[0]
                lb = sums[2] * curvature / sums[0]
            extrapolate = self.accelerated and done + 1 < self.passes
            _polish_multi.prox_step_multi(W, G, L, last, penalty.l1, penalty.l2, gb, lb, momentum, extrapolate)
        weights[:] = W
        return Solution(momentum[1 : 1 + n_classes].copy(), self.passes)


def new_sums() -> np.ndarray:
    """The zeroed sums (weight, loss, intercept gradient and bound) a pass adds up besides ``rec``."""
    return np.zeros(_polish.N_SUMS)


class SumSource(Protocol):
    """What one pass of the polish needs from the rows: their gradient sums at a point."""

    def add(self, rec: np.ndarray, intercept: float, loss_code: int, curvature: float, sums: np.ndarray) -> None:
        """Add the unscaled gradient at (``rec[:, 0]``, ``intercept``) into ``rec[:, 1]``, with
        ``curvature`` > 0 the unscaled majorizer into ``rec[:, 2]``, the rest into ``sums``."""


class SoftmaxSumSource(Protocol):
    """What one pass of the softmax polish needs from the rows: their sums at a point."""

    def add(self, W: np.ndarray, G: np.ndarray, L: np.ndarray, intercepts: np.ndarray, loss_code: int,
            curvature: float, gb: np.ndarray, sums: np.ndarray) -> None:
        """Add the unscaled gradients at (``W``, ``intercepts``) into ``G`` and ``gb``, with
        ``curvature`` > 0 the unscaled majorizer into ``L``, [weight, loss, L_b] into ``sums``
        (``_polish_multi.add_rows_multi``'s sums)."""


class SoftmaxRowSums:
    """The softmax sums of a pass over row blocks, in their order."""

    def __init__(self, blocks: Blocks) -> None:
        self.blocks = blocks

    def add(self, W: np.ndarray, G: np.ndarray, L: np.ndarray, intercepts: np.ndarray, loss_code: int,
            curvature: float, gb: np.ndarray, sums: np.ndarray) -> None:
        with opened(self.blocks()) as each:
            for rows in each:
                _polish_multi.add_rows_multi(*rows.arrays, W, G, L, intercepts, loss_code, curvature, gb, sums)


class RowSums:
    """The sums of a pass over row blocks (one full pass per call of ``blocks``), in their order;
    from ``THREADED_MIN_JOBS`` threads on over the rows split by slot range once (rows in memory
    come back every pass; a streamed pass brings new rows, and only one block of them is held).
    ``plan``: where the split is kept for a later polish of the same rows (else it goes with
    this one): the points of an ``l1="auto"`` path polish the same rows one after the other, and
    the split costs about one pass of the sums (1M generated rows, exact width, two threads:
    0.07 s of the path's 0.6 s of sums)."""

    def __init__(self, blocks: Blocks, n_jobs: int = 1, plan: RowsPlan | None = None) -> None:
        self.blocks, self.n_jobs = blocks, n_jobs
        self.plan = RowsPlan() if plan is None else plan

    def _sums(self, rows: Rows) -> PassSums:
        summer = self.plan.polish_sums
        if summer is None or summer.rows is not rows or summer.n_jobs != self.n_jobs:
            self.plan.polish_sums = None  # the old split's memory goes before the new one is made
            self.plan.polish_sums = summer = PassSums(rows, self.n_jobs)
        return summer

    def add(self, rec: np.ndarray, intercept: float, loss_code: int, curvature: float, sums: np.ndarray,
            point: np.ndarray | None = None) -> None:
        """``SumSource.add``; ``point``: ``rec[:, 0]`` as one array, if the caller keeps it."""
        with opened(self.blocks()) as each:
            for rows in each:
                if self.n_jobs >= THREADED_MIN_JOBS:
                    self._sums(rows).add(rec, intercept, loss_code, curvature, sums, point)
                else:
                    _polish.add_rows(*rows.arrays, rec, intercept, loss_code, curvature, False, sums)


def mean_loss(blocks: Blocks, weights: np.ndarray, intercept: float, loss: Loss, n_jobs: int = 1) -> float:
    """Mean weighted loss at (weights, intercept) over the rows of ``blocks``; a slot of -1 (a
    column unseen in training) weighs 0. ``n_jobs`` threads give the same bits as one."""
    loss_sum = total = 0.0
    with opened(blocks()) as each:
        for rows in each:
            if n_jobs > 1:
                part, weight = loss_sums(rows, weights, float(intercept), loss.code, n_jobs)
            else:
                part, weight = _polish.loss_sums(*rows.arrays, weights, float(intercept), loss.code)
            loss_sum += part
            total += weight
    return loss_sum / total if total > 0.0 else 0.0
