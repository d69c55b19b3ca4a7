"""Kernels of the batch polish: majorized proximal gradient with FISTA momentum, O(nnz) per pass.

Majorizer: for row i with k_i stored values plus the intercept, Cauchy-Schwarz gives
``(x_i . v + v_b)^2 <= (k_i + 1) (sum_j x_ij^2 v_j^2 + v_b^2)``, hence, with ``c`` the loss's
curvature bound (``Loss.curvature_bound``)::

    H <= diag(L),   L_j = c sum_i s_i (k_i + 1) x_ij^2 / sum_i s_i

and the step ``w_j <- prox(L_j w_j - g_j, L_j, l1, l2)`` (the exact minimizer of the separable
quadratic upper bound plus the penalty) never increases the objective: no line search, no tuning.

A pass is ``reset``, then ``add_rows`` over the row blocks in a fixed order, then ``finish``
and ``prox_step``: one block or many give the same bits. Weight, gradient and curvature bound
share one 24-byte record per slot (``rec``, shape (n_slots, 3)), so an active column costs one
cache miss per pass.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from .._prefetch import prefetch_row
from ._loss import loss_derivative, loss_value
from ._penalty import prox

# sums[...]: what the rows add up to besides the per-slot records
SUM_WEIGHT = 0  # sum of sample weights
SUM_LOSS = 1  # weighted loss
SUM_GB = 2  # intercept gradient (unscaled)
SUM_LB = 3  # intercept curvature bound (unscaled)
N_SUMS = 4

# momentum[...]: FISTA's state besides the per-slot previous iterate
M_B = 0  # intercept where the next gradient is taken (the extrapolated point)
M_B_LAST = 1  # intercept of the last prox iterate
M_T = 2  # FISTA's t_k
N_MOMENTUM = 3

# rows between a row's prefetch and its use: the records (24 bytes a slot) in ``add_rows``, the
# weights alone (8 bytes) where only margins are needed (measured on 1M generated rows at 2^22,
# one thread, ~5 entries a row: add_rows 4 / 8 / 16 ahead 17.2 / 15.9 / 16.4 ms over 460k rows;
# the margins and derivatives 4 / 8 / 16 ahead 18.9 / 16.9 / 16.2 ms over 540k rows)
_RECORDS_AHEAD = 8
WEIGHTS_AHEAD = 16


@jit
def reset(rec, curvature, sums):
    """Start a pass: zero the gradients (and the curvature bounds when ``curvature`` > 0)."""
    reset_range(rec, curvature, 0, rec.shape[0])
    sums[:] = 0.0


@jit
def reset_range(rec, curvature, lo, hi):
    """``reset`` of slots ``[lo, hi)`` only (slot ranges on threads), without the sums."""
    for j in range(lo, hi):
        rec[j, 1] = 0.0
        if curvature > 0.0:
            rec[j, 2] = 0.0


@jit
def add_rows(indptr, slots, data, y, sw, rec, b, loss, curvature, with_loss, sums):
    """Add one block of rows at (w = rec[:, 0], b) to the running sums of a pass.

    The unscaled gradient goes into ``rec[:, 1]``; with ``curvature`` > 0 the unscaled
    majorizer into ``rec[:, 2]``; the rest into ``sums`` (``SUM_*``).
    """
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    total = sums[SUM_WEIGHT]
    loss_sum = sums[SUM_LOSS]
    gb = sums[SUM_GB]
    lb = sums[SUM_LB]
    n_rows = indptr.shape[0] - 1
    for r in range(n_rows):
        if r + _RECORDS_AHEAD < n_rows:  # request the records of a row ahead: their slots are anywhere
            for p in range(indptr[r + _RECORDS_AHEAD], indptr[r + _RECORDS_AHEAD + 1]):
                prefetch_row(rec, slots[p])
        start = indptr[r]
        stop = indptr[r + 1]
        s = sw[r] if weighted else 1.0
        m = b
        for p in range(start, stop):
            m += rec[slots[p], 0] * (data[p] if has_data else 1.0)
        if with_loss:
            loss_sum += s * loss_value(loss, y[r], m)
        g = s * loss_derivative(loss, y[r], m)
        total += s
        gb += g
        k1 = s * (stop - start + 1.0)
        lb += k1
        for p in range(start, stop):
            x = data[p] if has_data else 1.0
            rec[slots[p], 1] += g * x
            if curvature > 0.0:
                rec[slots[p], 2] += k1 * x * x
    sums[SUM_WEIGHT] = total
    sums[SUM_LOSS] = loss_sum
    sums[SUM_GB] = gb
    sums[SUM_LB] = lb


@jit
def finish(rec, curvature, sums):
    """End a pass: scale the sums to means. Returns (mean loss, intercept gradient, L_b)."""
    total = sums[SUM_WEIGHT]
    if total <= 0.0:
        return 0.0, 0.0, 0.0
    finish_range(rec, curvature, total, 0, rec.shape[0])
    return finish_sums(curvature, sums)


@jit
def finish_range(rec, curvature, total, lo, hi):
    """``finish`` of slots ``[lo, hi)`` only (slot ranges on threads), ``total`` > 0."""
    scale = curvature / total
    for j in range(lo, hi):
        rec[j, 1] /= total
        if curvature > 0.0:
            rec[j, 2] *= scale


@jit
def finish_sums(curvature, sums):
    """``finish``'s result from the sums alone: (mean loss, intercept gradient, L_b)."""
    total = sums[SUM_WEIGHT]
    return sums[SUM_LOSS] / total, sums[SUM_GB] / total, sums[SUM_LB] * (curvature / total)


@jit
def new_momentum(intercept: float) -> np.ndarray:
    momentum = np.empty(N_MOMENTUM)
    momentum[M_B] = intercept
    momentum[M_B_LAST] = intercept
    momentum[M_T] = 1.0
    return momentum


@jit
def prox_step(rec, last, l1, l2, gb, lb, momentum, extrapolate):
    """One majorized prox-gradient step from the point in ``rec[:, 0]``, then FISTA's momentum.

    ``rec[:, 1]`` holds the mean gradient at that point, ``rec[:, 2]`` the majorizer ``L_j``;
    ``last`` the previous prox iterate per slot, ``momentum`` the intercept and ``t_k``
    (``M_*``). The prox iterate ``x`` is the exact minimizer of the separable upper bound plus
    the penalty (an exact zero where ``|L_j w_j - g_j| <= l1``). With ``extrapolate`` the next
    point is ``x + (t_k - 1) / t_(k+1) (x - last)`` (Beck & Teboulle's FISTA: the gap falls as
    1/k^2 instead of 1/k), restarted from ``t = 1`` when the step went against the momentum
    (O'Donoghue & Candes' gradient test), which keeps it from oscillating; without, the point
    is ``x`` itself: a plain step, which never increases the objective. ``rec[:, 0]`` always
    ends on a point whose zeros are exact where ``x`` has them and ``last`` too.
    """
    turn, _ = prox_range(rec, last, l1, l2, 0, rec.shape[0], np.empty(0))  # add the terms up
    beta = momentum_step(turn, gb, lb, momentum, extrapolate)
    extrapolate_range(rec, last, beta, 0, rec.shape[0])


@jit(inline="always")
def _turn_term(point, x, last):
    # a slot's term of the momentum test: the step against the last move
    return (point - x) * (x - last)


@jit
def prox_range(rec, last, l1, l2, lo, hi, terms):
    """The prox iterates ``x`` of slots ``[lo, hi)`` into ``rec[:, 1]``; returns the sum of
    their momentum test terms ``(point - x) (x - last)`` in slot order and the sum of their
    magnitudes or, with ``terms`` sized, stores each in ``terms[j]`` instead (slot ranges on
    other machines: the caller adds them in slot order, for the same bits)."""
    keep = terms.shape[0] > 0
    turn = 0.0
    size = 0.0
    for j in range(lo, hi):
        point = rec[j, 0]
        lj = rec[j, 2]
        if lj <= 0.0:
            x = point  # column never stored with a nonzero value: the loss ignores it
        else:
            x = prox(lj * point - rec[j, 1], lj, l1, l2)
        term = _turn_term(point, x, last[j])
        if keep:
            terms[j] = term
        else:
            turn += term
            size += abs(term)
        rec[j, 1] = x
    return turn, size


@jit
def turn_sum(rec, last, lo, hi):
    """The momentum test sum of :func:`prox_range` over slots ``[lo, hi)`` after it ran (the
    points still in ``rec[:, 0]``, the iterates in ``rec[:, 1]``): the same additions, the
    same bits."""
    turn = 0.0
    for j in range(lo, hi):
        turn += _turn_term(rec[j, 0], rec[j, 1], last[j])
    return turn


@jit
def intercept_turn(gb, lb, momentum):
    """The intercept's prox iterate and its term of the momentum test."""
    b_point = momentum[M_B]
    b_x = b_point - gb / lb if lb > 0.0 else b_point
    return b_x, (b_point - b_x) * (b_x - momentum[M_B_LAST])


@jit
def momentum_step(turn, gb, lb, momentum, extrapolate):
    """The intercept's prox step and FISTA's t for the next point, given the slots' momentum
    test sum ``turn``; updates ``momentum`` and returns the slots' extrapolation factor. Only the
    sign of ``turn`` plus the intercept's term counts (``blocksums`` relies on it)."""
    b_x, b_term = intercept_turn(gb, lb, momentum)
    turn += b_term
    t = momentum[M_T]
    if turn > 0.0:
        t = 1.0
    t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
    beta = (t - 1.0) / t_next if extrapolate else 0.0
    momentum[M_B] = b_x + beta * (b_x - momentum[M_B_LAST])
    momentum[M_B_LAST] = b_x
    momentum[M_T] = t_next
    return beta


@jit
def extrapolate_range(rec, last, beta, lo, hi):
    """The next point ``x + beta (x - last)`` of slots ``[lo, hi)`` from the prox iterates in
    ``rec[:, 1]``; ``last`` becomes ``x``."""
    for j in range(lo, hi):
        x = rec[j, 1]
        rec[j, 0] = x + beta * (x - last[j])
        last[j] = x


@jit
def ordered_sum(values):
    """``values`` added in order from 0.0 (the same bits as a running sum over them)."""
    total = 0.0
    for v in values:
        total += v
    return total


@jit(inline="always")
def row_margin(indptr, slots, data, has_data, w, r, b):
    """``b + x_r . w`` over row ``r``'s stored entries; a slot of -1 (unseen column) weighs 0."""
    m = b
    for p in range(indptr[r], indptr[r + 1]):
        j = slots[p]
        if j >= 0:
            m += w[j] * (data[p] if has_data else 1.0)
    return m


@jit
def loss_sums(indptr, slots, data, y, sw, w, b, loss):
    """(weighted loss, weight) summed over rows at (w, b); a slot of -1 (unseen column) weighs 0."""
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    total = 0.0
    loss_sum = 0.0
    n_rows = indptr.shape[0] - 1
    for r in range(n_rows):
        if r + WEIGHTS_AHEAD < n_rows:  # a slot of -1 points before the array: harmless for a hint
            for p in range(indptr[r + WEIGHTS_AHEAD], indptr[r + WEIGHTS_AHEAD + 1]):
                prefetch_row(w, slots[p])
        s = sw[r] if weighted else 1.0
        m = row_margin(indptr, slots, data, has_data, w, r, b)
        loss_sum += s * loss_value(loss, y[r], m)
        total += s
    return loss_sum, total
