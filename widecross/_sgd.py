"""Lazy proximal SGD (FOBOS) with exact catch-up of the L1 / L2 / elastic-net penalty.

Each example advances a global *clock* by ``c_t = schedule(t) * s_t`` (``s_t`` its sample
weight). Coordinate ``j`` moves at ``r_j`` times the clock: ``r_j = eta0``, or
``eta0 / (delta + A_j)`` per coordinate: AdaGrad's ``A_j = sqrt(G_j)`` (``G_j`` sums its squared
gradients) or the Newton mode's ``A_j = sum of s_t loss''(m_t) x_tj^2`` (the diagonal of the
loss Hessian summed over the rows seen: a per-coordinate Newton step whose prior precision is
``delta / eta0``; in one pass it generalizes better than AdaGrad, see ``estimators``). A step is a
gradient step on the active coordinates followed by the penalty step of length ``a = r_j c_t``
on *every* coordinate. The penalty step is the exact flow of ``dw/da = -l1 sign(w) - l2 w``
(stopping at zero)::

    |w| <- max(0, |w| e^(-l2 a) - l1 a phi(l2 a)),   phi(x) = (1 - e^-x) / x,  phi(0) = 1

For l2 = 0 it is the soft-threshold prox ST(w, l1 a); for l2 > 0 it is the prox of the same
penalty with the slightly longer step (e^(l2 a) - 1) / l2. Flows compose by adding their
lengths, so the steps a coordinate missed while idle collapse into one flow of length
``r_j (C_now - stamp_j)`` where ``C`` is the cumulative clock and ``stamp_j`` its value at the
coordinate's last update. This holds for any rate sequence: decaying schedules, sample weights
and AdaGrad's per-coordinate rates (constant while idle) alike, with no per-step history, no
underflowing product to reset and no list of touched coordinates (design.md's P/B form needs all
three and cannot express AdaGrad's rates with L2).

State: one record per slot (float64): ``[w, stamp, A_j]`` with per-coordinate rates, ``[w, stamp]``
without. Keeping the root (updated as sqrt(root^2 + g^2)) makes the rate of a catch-up a single
division, and 24-byte records miss the cache less than a 32-byte record caching the rate.
Scalars (``scal``, indices below): step count, clock, intercept and its AdaGrad sum, and the
progressive (before-update) loss of the last epoch. Hyperparameters (``hp``): see ``HP_*``.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from ._losses import curvature, implicit_derivative, loss_and_derivative
from ._prefetch import prefetch_row

# scal[...]
S_STEPS = 0  # examples processed so far (drives the schedule)
S_CLOCK = 1  # cumulative clock C
S_BIAS = 2  # intercept b
S_BIAS_G = 3  # the intercept's per-coordinate sum A_b (see the module docstring)
S_LOSS = 4  # progressive weighted loss summed over the last kernel call
S_WEIGHT = 5  # sum of sample weights over the last kernel call
N_SCALARS = 6

# hp[...]
HP_ETA0 = 0
HP_L1 = 1
HP_L2 = 2
HP_POWER = 3  # inverse scaling exponent
HP_T0 = 4  # inverse scaling time constant (examples)
HP_DELTA = 5  # the per-coordinate rates' delta
HP_HORIZON = 6  # linear decay: examples after which the rate reaches HP_FLOOR * eta0
HP_FLOOR = 7
HP_IMPLICIT = 8  # 1.0: importance-aware (implicit) loss step, 0.0: plain gradient step
N_HP = 9

# Weights are published as float32: anything larger in magnitude means training diverged.
WEIGHT_LIMIT = float(np.finfo(np.float32).max)

# global schedule codes
CONSTANT = 0
INVSCALING = 1
LINEAR = 2

# per-coordinate rate modes (``adaptive``): none, AdaGrad, summed curvature (per-coordinate Newton)
PLAIN = 0
ADAGRAD = 1
NEWTON = 2


@jit
def rate(mode: int, eta0: float, delta: float, acc: float) -> float:
    """A coordinate's rate: ``eta0``, or ``eta0 / (delta + A)`` with per-coordinate rates."""
    return eta0 / (delta + acc) if mode != PLAIN else eta0


@jit
def accumulate(mode: int, acc: float, sg: float, s_curv_x2: float) -> float:
    """The per-coordinate sum after one more row: ``sg`` = s g x, ``s_curv_x2`` = s loss'' x^2."""
    if mode == NEWTON:
        return acc + s_curv_x2
    return math.sqrt(acc * acc + sg * sg)


@jit
def flow(w: float, a: float, l1: float, l2: float) -> float:
    """Penalty flow of length ``a`` applied to ``w`` (see module docstring); exact zero at 0."""
    if w == 0.0 or a <= 0.0:
        return w
    aw = abs(w)
    if l2 > 0.0:
        x = l2 * a
        new = aw * math.exp(-x) + l1 * math.expm1(-x) / l2
    else:
        new = aw - l1 * a
    if new <= 0.0:
        return 0.0
    return new if w > 0.0 else -new


@jit
def schedule_factor(code: int, t: float, hp) -> float:
    """Global rate multiplier at step ``t`` (0-based count of examples seen before this one)."""
    if code == INVSCALING:
        return (1.0 + t / hp[HP_T0]) ** (-hp[HP_POWER])
    if code == LINEAR:
        f = 1.0 - (1.0 - hp[HP_FLOOR]) * t / hp[HP_HORIZON]
        return f if f > hp[HP_FLOOR] else hp[HP_FLOOR]
    return 1.0


@jit
def sgd_epoch(indptr, slots, data, y, sw, order, state, scal, hp, loss, sched, adaptive):
    """Visit rows ``order`` of the slot-indexed CSR (``indptr``, ``slots``, ``data``) once.

    ``data`` may be empty (all stored values are 1), ``sw`` empty (unit weights). Returns the
    position in ``order`` of the first example whose update was not finite, or -1 when all were;
    on failure the state is partly updated and the caller restores its snapshot.
    """
    eta0 = hp[HP_ETA0]
    l1 = hp[HP_L1]
    l2 = hp[HP_L2]
    delta = hp[HP_DELTA]
    implicit = hp[HP_IMPLICIT] != 0.0
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    t = scal[S_STEPS]
    clock = scal[S_CLOCK]
    b = scal[S_BIAS]
    bias_g = scal[S_BIAS_G]
    loss_sum = 0.0
    weight_sum = 0.0
    n_order = order.shape[0]
    for i in range(n_order):
        # Rows come in random order: request row i+16's pointers and label, row i+8's slot
        # list and row i+4's state records now, so that the misses overlap (see _prefetch).
        if i + 16 < n_order:
            far = order[i + 16]
            prefetch_row(indptr, far)
            prefetch_row(y, far)
            if weighted:
                prefetch_row(sw, far)
        if i + 8 < n_order:
            mid = indptr[order[i + 8]]
            prefetch_row(slots, mid)
            if has_data:
                prefetch_row(data, mid)
        if i + 4 < n_order:
            near = order[i + 4]
            for p in range(indptr[near], indptr[near + 1]):
                prefetch_row(state, slots[p])
        r = order[i]
        start = indptr[r]
        stop = indptr[r + 1]
        s = sw[r] if weighted else 1.0
        # catch up the active coordinates to the end of the previous step, and score
        m = b
        for p in range(start, stop):
            j = slots[p]
            w = state[j, 0]
            if w != 0.0:
                lag = clock - state[j, 1]
                if lag > 0.0:
                    w = flow(w, rate(adaptive, eta0, delta, state[j, 2] if adaptive else 0.0) * lag, l1, l2)
                    state[j, 0] = w
            x = data[p] if has_data else 1.0
            m += w * x
        if not math.isfinite(m):
            _store(scal, t, clock, b, bias_g, loss_sum, weight_sum)
            return i
        yi = y[r]
        value, g = loss_and_derivative(loss, yi, m)
        loss_sum += s * value
        weight_sum += s
        c = schedule_factor(sched, t, hp) * s
        clock += c
        # the per-coordinate sums take the gradient and curvature at the current margin
        s_curv = s * curvature(loss, yi, m, g) if adaptive == NEWTON else 0.0
        if adaptive:
            bias_g = accumulate(adaptive, bias_g, s * g, s_curv)
        if implicit:
            # The step moves the margin by -reach * d for a derivative d; take d where the step
            # lands (see implicit_derivative), so that a row of several fresh columns cannot
            # overshoot its own label.
            reach = rate(adaptive, eta0, delta, bias_g)
            for p in range(start, stop):
                j = slots[p]
                x = data[p] if has_data else 1.0
                if adaptive:
                    state[j, 2] = accumulate(adaptive, state[j, 2], s * g * x, s_curv * x * x)
                    reach += rate(adaptive, eta0, delta, state[j, 2]) * x * x
                else:
                    reach += eta0 * x * x
            g_step = implicit_derivative(loss, yi, m, reach * c, g)
        else:
            g_step = g
        for p in range(start, stop):
            j = slots[p]
            x = data[p] if has_data else 1.0
            gx = g_step * x
            if adaptive and not implicit:
                state[j, 2] = accumulate(adaptive, state[j, 2], s * g * x, s_curv * x * x)
            a = rate(adaptive, eta0, delta, state[j, 2] if adaptive else 0.0) * c
            w = flow(state[j, 0] - a * gx, a, l1, l2)
            if not abs(w) <= WEIGHT_LIMIT:  # NaN, inf, or beyond what a float32 model can hold
                _store(scal, t, clock, b, bias_g, loss_sum, weight_sum)
                return i
            state[j, 0] = w
            state[j, 1] = clock
        b -= rate(adaptive, eta0, delta, bias_g) * c * g_step
        t += 1.0
    _store(scal, t, clock, b, bias_g, loss_sum, weight_sum)
    return -1


@jit
def _store(scal, t, clock, b, bias_g, loss_sum, weight_sum):
    scal[S_STEPS] = t
    scal[S_CLOCK] = clock
    scal[S_BIAS] = b
    scal[S_BIAS_G] = bias_g
    scal[S_LOSS] = loss_sum
    scal[S_WEIGHT] = weight_sum


@jit
def sgd_weights(state, n_slots, scal, hp, adaptive, out):
    """Up-to-date weights of slots ``[0, n_slots)`` into ``out`` without touching the state.

    Reading never perturbs the trajectory, so publishing a model between ``partial_fit`` calls
    cannot change later results. Returns the number of nonzero weights (-1 if any is not finite).
    """
    clock = scal[S_CLOCK]
    eta0 = hp[HP_ETA0]
    l1 = hp[HP_L1]
    l2 = hp[HP_L2]
    nnz = 0
    for j in range(n_slots):
        w = state[j, 0]
        if w != 0.0:
            acc = state[j, 2] if adaptive else 0.0  # plain records have no third field
            w = flow(w, rate(adaptive, eta0, hp[HP_DELTA], acc) * (clock - state[j, 1]), l1, l2)
            if not abs(w) <= WEIGHT_LIMIT:
                return -1
            if w != 0.0:
                nnz += 1
        out[j] = w
    return nnz


@jit
def sgd_set_weights(state, n_slots, scal, weights):
    """Replace the weights (e.g. after a batch polish), stamped at the current clock."""
    clock = scal[S_CLOCK]
    for j in range(n_slots):
        state[j, 0] = weights[j]
        state[j, 1] = clock


def new_state(capacity: int, adaptive: int) -> np.ndarray:
    """Zeroed per-slot records: 24 bytes with AdaGrad, 16 without."""
    return np.zeros((capacity, 3 if adaptive else 2), dtype=np.float64)


def new_scalars() -> np.ndarray:
    return np.zeros(N_SCALARS, dtype=np.float64)


def make_hp(
    eta0: float,
    l1: float = 0.0,
    l2: float = 0.0,
    power: float = 0.5,
    t0: float = 1.0,
    delta: float = 1.0,
    horizon: float = 1.0,
    floor: float = 0.0,
    implicit: bool = False,
) -> np.ndarray:
    """The ``hp`` vector of ``sgd_epoch`` from named values."""
    hp = np.zeros(N_HP, dtype=np.float64)
    hp[HP_ETA0], hp[HP_L1], hp[HP_L2] = eta0, l1, l2
    hp[HP_POWER], hp[HP_T0], hp[HP_DELTA] = power, t0, delta
    hp[HP_HORIZON], hp[HP_FLOOR] = horizon, floor
    hp[HP_IMPLICIT] = 1.0 if implicit else 0.0
    return hp
