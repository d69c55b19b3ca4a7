"""Kernels of lazy proximal SGD (FOBOS) with exact catch-up of the L1 / L2 / elastic-net penalty.

Each example advances a global *clock* by ``c_t = decay(t) * s_t`` (``s_t`` its sample weight).
Coordinate ``j`` moves at ``r_j`` times the clock: ``r_j = eta0``, or ``eta0 / (delta + A_j)``
per coordinate: AdaGrad's ``A_j = sqrt(G_j)`` (``G_j`` sums its squared gradients) or the Newton
mode's ``A_j = sum of s_t loss''(m_t) x_tj^2`` (the diagonal of the loss Hessian summed over the
rows seen: a per-coordinate Newton step whose prior precision is ``delta / eta0``). A step is a
gradient step on the active coordinates followed by the penalty flow (``_penalty.flow``) of length
``a = r_j c_t`` on *every* coordinate. Flows compose by adding their lengths, so the steps a
coordinate missed while idle collapse into one flow of length ``r_j (C_now - stamp_j)``, where
``C`` is the cumulative clock and ``stamp_j`` its value at the coordinate's last update. This
holds for any rate sequence (decaying schedules, sample weights, AdaGrad's per-coordinate rates,
constant while idle) with no per-step history, no underflowing product to reset and no list of
touched coordinates.

Records (float64) per slot: ``[w, stamp, A_j]`` with per-coordinate rates, ``[w, stamp]``
without. Keeping the root (updated as sqrt(root^2 + g^2)) makes the rate of a catch-up a single
division, and 24-byte records miss the cache less than a 32-byte record caching the rate.
Scalars: see ``_state`` and ``S_*``; settings (``hyper``): see ``H_*``.
"""

from __future__ import annotations

import math

from .._jit import jit
from .._prefetch import prefetch_row
from ._loss import curvature, implicit_derivative, loss_and_derivative
from ._penalty import flow
from ._state import STEPS, WEIGHT_LIMIT, store

# scalars besides those of ``_state`` (in the order ``_state.store`` writes them)
S_CLOCK = 1  # cumulative clock C
S_BIAS = 2  # intercept b
S_BIAS_SUM = 3  # the intercept's per-coordinate sum A_b

# hyper[...]: the kernel's settings
H_ETA0 = 0
H_L1 = 1
H_L2 = 2
H_POWER = 3  # inverse scaling exponent
H_T0 = 4  # inverse scaling time constant (examples)
H_DELTA = 5  # the per-coordinate rates' delta
H_IMPLICIT = 6  # 1.0: importance-aware (implicit) loss step, 0.0: plain gradient step
N_HYPER = 7

# global decay of the rate
CONSTANT = 0
INVSCALING = 1

# per-coordinate rate modes: none, AdaGrad, summed curvature (per-coordinate Newton)
PLAIN = 0
ADAGRAD = 1
NEWTON = 2


@jit
def rate(mode: int, eta0: float, delta: float, acc: float) -> float:
    """A coordinate's rate: ``eta0``, or ``eta0 / (delta + A)`` with per-coordinate rates."""
    return eta0 / (delta + acc) if mode != PLAIN else eta0


@jit
def grow_rate_sum(mode: int, acc: float, sg: float, s_curv_x2: float) -> float:
    """A coordinate's ``A`` after one more row: ``sg`` = s g x, ``s_curv_x2`` = s loss'' x^2."""
    if mode == NEWTON:
        return acc + s_curv_x2
    return math.sqrt(acc * acc + sg * sg)


@jit
def decay_factor(decay: int, t: float, hyper) -> float:
    """Global rate multiplier at step ``t`` (0-based count of examples seen before this one)."""
    if decay == INVSCALING:
        return (1.0 + t / hyper[H_T0]) ** (-hyper[H_POWER])
    return 1.0


@jit
def sgd_epoch(indptr, slots, data, y, sw, order, records, scal, hyper, loss, decay, mode):
    """Visit rows ``order`` of the slot-indexed CSR (``train.rows.Rows``) once (callers gather
    rows so that ``order`` runs through them in storage order).

    Returns the position in ``order`` of the first example whose update was not finite, or -1
    when all were; on failure the state is partly updated and the caller restores its snapshot.
    """
    eta0 = hyper[H_ETA0]
    l1 = hyper[H_L1]
    l2 = hyper[H_L2]
    delta = hyper[H_DELTA]
    implicit = hyper[H_IMPLICIT] != 0.0
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    t = scal[STEPS]
    clock = scal[S_CLOCK]
    b = scal[S_BIAS]
    bias_sum = scal[S_BIAS_SUM]
    loss_sum = 0.0
    weight_sum = 0.0
    n_order = order.shape[0]
    for i in range(n_order):
        if i + 4 < n_order:  # request the records of the row 4 ahead: their slots are anywhere
            near = order[i + 4]
            for p in range(indptr[near], indptr[near + 1]):
                prefetch_row(records, slots[p])
        r = order[i]
        start = indptr[r]
        stop = indptr[r + 1]
        s = sw[r] if weighted else 1.0
        # catch up the active coordinates to the end of the previous step, and score
        m = b
        for p in range(start, stop):
            j = slots[p]
            w = records[j, 0]
            if w != 0.0:
                lag = clock - records[j, 1]
                if lag > 0.0:
                    w = flow(w, rate(mode, eta0, delta, records[j, 2] if mode else 0.0) * lag, l1, l2)
                    records[j, 0] = w
            x = data[p] if has_data else 1.0
            m += w * x
        if not math.isfinite(m):
            store(scal, t, clock, b, bias_sum, loss_sum, weight_sum)
            return i
        yi = y[r]
        value, g = loss_and_derivative(loss, yi, m)
        loss_sum += s * value
        weight_sum += s
        c = decay_factor(decay, t, hyper) * s
        clock += c
        # the per-coordinate sums take the gradient and curvature at the current margin
        s_curv = s * curvature(loss, yi, m, g) if mode == NEWTON else 0.0
        if mode:
            bias_sum = grow_rate_sum(mode, bias_sum, s * g, s_curv)
        if implicit:
            # The step moves the margin by -reach * d for a derivative d; take d where the step
            # lands (see losses.implicit_derivative), so that a row of several fresh columns
            # cannot overshoot its own label.
            reach = rate(mode, eta0, delta, bias_sum)
            for p in range(start, stop):
                j = slots[p]
                x = data[p] if has_data else 1.0
                if mode:
                    records[j, 2] = grow_rate_sum(mode, records[j, 2], s * g * x, s_curv * x * x)
                    reach += rate(mode, eta0, delta, records[j, 2]) * x * x
                else:
                    reach += eta0 * x * x
            g_step = implicit_derivative(loss, yi, m, reach * c, g)
        else:
            g_step = g
        for p in range(start, stop):
            j = slots[p]
            x = data[p] if has_data else 1.0
            gx = g_step * x
            if mode and not implicit:
                records[j, 2] = grow_rate_sum(mode, records[j, 2], s * g * x, s_curv * x * x)
            a = rate(mode, eta0, delta, records[j, 2] if mode else 0.0) * c
            w = flow(records[j, 0] - a * gx, a, l1, l2)
            if not abs(w) <= WEIGHT_LIMIT:  # NaN, inf, or beyond what a float32 model can hold
                store(scal, t, clock, b, bias_sum, loss_sum, weight_sum)
                return i
            records[j, 0] = w
            records[j, 1] = clock
        b -= rate(mode, eta0, delta, bias_sum) * c * g_step
        t += 1.0
    store(scal, t, clock, b, bias_sum, loss_sum, weight_sum)
    return -1


@jit
def sgd_weights(records, n_slots, scal, hyper, mode, out):
    """Up-to-date weights of slots ``[0, n_slots)`` into ``out`` without touching the state.

    Reading never perturbs the trajectory, so publishing a model between ``partial_fit`` calls
    cannot change later results. Returns the number of nonzero weights (-1 if any is not finite).
    """
    clock = scal[S_CLOCK]
    eta0 = hyper[H_ETA0]
    l1 = hyper[H_L1]
    l2 = hyper[H_L2]
    nnz = 0
    for j in range(n_slots):
        w = records[j, 0]
        if w != 0.0:
            acc = records[j, 2] if mode else 0.0  # plain records have no third field
            w = flow(w, rate(mode, eta0, hyper[H_DELTA], acc) * (clock - records[j, 1]), l1, l2)
            if not abs(w) <= WEIGHT_LIMIT:
                return -1
            if w != 0.0:
                nnz += 1
        out[j] = w
    return nnz


@jit
def sgd_set_weights(records, n_slots, scal, weights):
    """Replace the weights (e.g. after a batch polish), stamped at the current clock."""
    clock = scal[S_CLOCK]
    for j in range(n_slots):
        records[j, 0] = weights[j]
        records[j, 1] = clock


@jit
def sgd_settle(records, n_slots, scal, hyper, mode):
    """Bring slots ``[0, n_slots)`` up to the current clock (weights caught up, stamped now), so
    that records of separate runs describe their weights alone and can be averaged. Returns -1,
    or the first slot whose weight is not finite."""
    clock = scal[S_CLOCK]
    for j in range(n_slots):
        w = records[j, 0]
        if w != 0.0:
            acc = records[j, 2] if mode else 0.0
            w = flow(w, rate(mode, hyper[H_ETA0], hyper[H_DELTA], acc) * (clock - records[j, 1]), hyper[H_L1],
                     hyper[H_L2])
            if not abs(w) <= WEIGHT_LIMIT:
                return j
            records[j, 0] = w
        records[j, 1] = clock
    return -1
