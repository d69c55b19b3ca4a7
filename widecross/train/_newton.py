"""Proximal Newton steps on one working set (the inner solver of :mod:`.exact`).

A step minimizes a quadratic model of the loss at the current margins plus the penalty, by
coordinate descent over the working set (``_cd.cd_sweep``), then moves along the result with a
backtracking line search on the true objective (Tseng and Yun's Armijo rule, as liblinear's
newGLMNET). For the squared loss the model is exact: the full step is its minimizer, and the
steps are plain coordinate descent.

The rows' state (margins, the loss's derivatives per row, the intercept) lives in ``Rows`` and
is kept current pass by pass: the line search's trial pass also fills the next model's rows, and
the first sweep of a model computes its column terms while it reads the rows anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..losses import LOGISTIC, SQUARED
from . import _cd, _rowpass

ARMIJO = 0.01  # sufficient decrease of the line search (liblinear's newGLMNET uses the same)
MAX_HALVINGS = 40
# The largest move of a margin by one coordinate in one logistic Newton model (``_cd.cd_sweep``):
# e^5 ~ 150 in odds, more than any step of a well-scaled iterate needs.
MAX_MOVE = 5.0
FIRST_ORDER_SHIFT = 1e-6  # intercept shifts ``Rows.center`` applies to first order, at least ...
MAX_FIRST_ORDER_SHIFT = 1e-4  # ... and at most (``first_order_shift``)
# max |loss'''| / 2 over the margins: the logistic sigmoid's second derivative peaks at 1 / (6 sqrt 3)
HALF_THIRD_DERIVATIVE = 0.5 / (6.0 * 3.0**0.5)
NEWTON_SHIFT = 1e-2  # ... by plain Newton steps on the rows (larger: bracketed Newton)
EXACT_SHIFTS = 4
RAY_MAX = 1024.0  # the furthest extrapolation of a sweep's move, in sweeps


@dataclass
class Rows:
    """Margins, the Newton rows at them (``_cd.R_*``), the intercept, the mean loss and its
    derivatives in the intercept."""

    m: np.ndarray
    rows: np.ndarray
    grads: np.ndarray
    b: float
    loss: float = 0.0
    gb: float = 0.0
    hb: float = 0.0

    def fill(self, p) -> None:
        """Recompute the rows and sums at the margins (exact)."""
        self.loss, self.gb, self.hb = _rowpass.newton_rows(p.y, p.sw, p.scale, self.m, p.loss, self.rows, self.grads)

    def center(self, p, first_order: float = FIRST_ORDER_SHIFT) -> None:
        """Give the intercept its exact minimizer for the current weights.

        A shift below ``first_order`` (the usual one after a Newton step, whose model moved the
        intercept exactly; see ``first_order_shift``) is applied to first order, which costs no
        transcendental function. A shift up to 1e-2 takes Newton steps of one pass each
        (``_rowpass.step_rows`` moves the margins and refills the rows at once), each squaring the
        shift left, until it is first order; a larger one (a warm start far from its intercept)
        Newton's method kept in a bracket (``_rowpass.center_intercept``: a pass per step, then
        one more to refill the rows).
        """
        d = -self.gb / self.hb if self.hb > 0 else 0.0
        for _ in range(EXACT_SHIFTS):
            if abs(d) <= first_order or abs(d) > NEWTON_SHIFT:
                break
            # one Newton step on the intercept: a single pass that also refills the rows there
            change, self.gb, self.hb = _rowpass.step_rows(p.y, p.sw, p.scale, self.m, self.rows, self.grads, d, 1.0,
                                                          p.loss)
            self.loss += change
            self.b += d
            d = -self.gb / self.hb if self.hb > 0 else 0.0
        if abs(d) <= first_order:
            _rowpass.shift_rows(self.m, self.rows, self.grads, d)
            self.loss += d * (self.gb + 0.5 * self.hb * d)
            self.gb += self.hb * d
        else:
            d = _rowpass.center_intercept(p.y, p.sw, p.scale, self.m, p.loss, 100)
            self.fill(p)
        self.b += d


def first_order_shift(loss: int, target: float, x_max: float) -> float:
    """The largest intercept shift ``Rows.center`` may apply to first order when the gradient is
    then checked against ``target`` (absolute): each column's gradient is off by at most
    ``sum_i a_i |x_ij| max|loss'''| d^2 / 2 <= HALF_THIRD_DERIVATIVE x_max d^2`` (the weights
    ``a`` sum to one), kept to 1 % of ``target``; between ``FIRST_ORDER_SHIFT`` and
    ``MAX_FIRST_ORDER_SHIFT`` (the mean loss is then off by ~1e-14 at most). The squared loss
    is quadratic: any shift is exact to first order. (After the Newton steps on 1M geo rows at
    l1 1e-5 the shifts were 6e-3, 3e-4, 9e-5 and 2e-6: each above 1e-6 cost a pass over the rows
    with three transcendental functions per row.)"""
    if loss == SQUARED:
        return np.inf
    if not (target > 0 and x_max > 0):
        return FIRST_ORDER_SHIFT
    return float(np.clip(np.sqrt(0.01 * target / (HALF_THIRD_DERIVATIVE * x_max)), FIRST_ORDER_SHIFT,
                         MAX_FIRST_ORDER_SHIFT))


@dataclass
class Counts:
    newton: int = 0
    sweeps: int = 0


def newton_steps(p, ws: np.ndarray, w: np.ndarray, state: Rows, l1: float, l2: float, tol: float, sweep_tol: float,
                 max_newton: int, max_sweeps: int, counts: Counts) -> None:
    """Proximal Newton steps on the working set ``ws`` until its KKT violation (intercept
    included) is at most ``tol``. ``state`` holds the rows at the current point on entry and on
    return; ``w`` is updated in place."""
    n_ws = ws.shape[0]
    g, hdiag, cvec, delta, reach = (np.empty(n_ws) for _ in range(5))
    max_move = MAX_MOVE if p.loss == LOGISTIC else np.inf
    model = np.zeros(_cd.N_MODEL)
    for step in range(max_newton):
        delta[:] = 0.0
        model[:] = (0.0, 0.0, state.gb, state.hb)
        sweeps, centre = _minimize_model(p, ws, w, g, hdiag, cvec, reach, delta, model, state.rows, state.grads, l1, l2,
                                         sweep_tol, max_sweeps, max_move, abs(state.gb), tol if step else -1.0)
        counts.sweeps += sweeps
        db = float(model[_cd.Q_DB])
        decrease = _cd.model_decrease(w, ws, g, delta, state.gb, db, l1, l2)
        if (step and centre <= tol) or not decrease < 0:
            _rowpass.clear_moves(state.rows)  # solved at the centre already, or to rounding
            return
        counts.newton += 1
        if not _line_search(p, ws, w, state, delta, db, decrease, l1, l2):
            return


def _line_search(p, ws, w, state: Rows, delta, db, decrease, l1, l2) -> bool:
    """Take the longest step ``t = 2^-k`` along (delta, db) with Armijo's decrease; the trial
    pass leaves the next model's rows in ``state``. False if no step decreased."""
    t = 1.0
    for _ in range(MAX_HALVINGS):
        change, gb, hb = _rowpass.step_rows(p.y, p.sw, p.scale, state.m, state.rows, state.grads, db, t, p.loss)
        penalty = _cd.penalty_change(w, ws, delta, t, l1, l2)
        # the squared loss's model is exact: its full step is the model's minimizer
        if p.loss == SQUARED or change + penalty <= ARMIJO * t * decrease:
            _cd.apply_step(w, ws, delta, t)
            _rowpass.clear_moves(state.rows)
            state.b += t * db
            state.loss += change
            state.gb, state.hb = gb, hb
            return True
        _rowpass.undo_step(state.m, state.rows, db, t)
        t *= 0.5
    _rowpass.clear_moves(state.rows)
    state.fill(p)
    return False


def _minimize_model(p, ws, w, g, hdiag, cvec, reach, delta, model, rows, grads, l1, l2, sweep_tol, max_sweeps, max_move,
                    intercept_violation, solved) -> tuple[int, float]:
    """Coordinate descent on one Newton model (``_cd.cd_sweep``) until a sweep over the whole
    working set moves no coordinate by more than ``sweep_tol`` times the model's violation at
    its centre, or at once if that violation is at most ``solved``. Returns (the sweeps run,
    that violation).

    The first sweep computes the model's column terms. Then the sweeps visit the nonzeros alone
    until they settle (glmnet's active set: zeros that stay zero cost a pass over their entries
    and move nothing), then the whole working set again to confirm. After each sweep over the
    nonzeros, ``_ray`` looks further along the sweep's move.
    """
    everything = np.arange(ws.shape[0])
    moved = np.zeros(ws.shape[0])
    before = np.empty(rows.shape[0])
    sweep = (p.col_ptr, p.col_rows, p.col_data, *_fixes_of(p, ws), p.fix_rows, p.fix_data, rows, grads, w, g, hdiag,
             cvec, reach, delta, model, l1, l2, moved)
    worst, centre = _cd.cd_sweep(everything, ws, *sweep, True, max_move)
    centre = max(centre, intercept_violation)
    if centre <= solved:
        return 1, centre
    tol = sweep_tol * centre
    sweeps = 1
    sel = np.flatnonzero(w[ws] + delta)
    while worst > tol and sweeps < max_sweeps:
        sweeps += 1
        if sel is everything:
            worst, _ = _cd.cd_sweep(sel, ws, *sweep, False, max_move)
            sel = np.flatnonzero(w[ws] + delta)
            continue
        start, db_start = delta[sel], float(model[_cd.Q_DB])
        _cd.save_moves(rows, before)
        worst, _ = _cd.cd_sweep(sel, ws, *sweep, False, max_move)
        if worst <= tol:  # the nonzeros have settled: confirm on the whole working set
            sel, worst = everything, np.inf
            continue
        _ray(sel, ws, w, g, cvec, reach, delta, model, rows, before, delta[sel] - start,
             float(model[_cd.Q_DB]) - db_start, l1, l2)
        sel = np.flatnonzero(w[ws] + delta)
    return sweeps, centre


def _fixes_of(p, ws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per working-set position, the range of its column's entries in ``p.fix_*`` (values other
    than one); both empty where no column of ``ws`` has any (the sweeps then skip the test).
    Per position: read per slot, ``fix_ptr`` (8 bytes per slot, the sweeps visit a few slots in
    ten) costs a cache miss per column visited, for ranges that are almost all empty."""
    none = np.empty(0, dtype=np.int64)
    if not p.fix_ptr.size:
        return none, none
    lo, hi = p.fix_ptr[ws], p.fix_ptr[ws + 1]
    return (lo, hi) if np.any(hi > lo) else (none, none)


def _ray(sel, ws, w, g, cvec, reach, delta, model, rows, before, step, db_step, l1, l2) -> None:
    """Extrapolate the last sweep's move ``t`` times further when that lowers the model.

    On nested columns (a cell and the cells that contain it) the loss is flat along moves that
    shift weight between a cell and its parts: only the penalty decides there, and coordinate
    descent crawls along such a valley by about l1 / curvature per sweep, the same move sweep
    after sweep, until some weight reaches zero (hundreds of sweeps on geo crosses). The model
    restricted to that ray is a convex function of ``t`` whose quadratic part costs one pass
    over the rows (``_cd.ray_quadratic``) and whose penalty part a pass over ``sel``; ``t``
    doubles while the model keeps falling. Anderson extrapolation (which assumes iterates that
    converge linearly) was tried first: a constant drift is not that.
    """
    gb = float(model[_cd.Q_GB])
    db = float(model[_cd.Q_DB])
    a, b, c = _cd.ray_quadratic(rows, before, db, db_step)

    def value(t: float) -> float:
        return gb * t * db_step + t * b + 0.5 * t * t * c + _cd.ray_linear(sel, ws, w, g, delta, step, t, l1, l2)

    limit = np.inf
    moving = step != 0
    if np.any(moving):
        room = reach[sel][moving] - np.abs(delta[sel][moving])
        limit = float(np.min(np.maximum(room, 0.0) / np.abs(step[moving])))
    best_t, best = 0.0, 0.0
    t = 1.0
    while t <= min(limit, RAY_MAX):
        v = value(t)
        if v >= best:
            break
        best_t, best = t, v
        t *= 2.0
    if best_t > 0.0:
        delta[sel] += best_t * step
        _cd.extend_moves(rows, before, best_t)
        model[_cd.Q_DB] = db + best_t * db_step
        model[_cd.Q_T] = _cd.dot(cvec, delta)
