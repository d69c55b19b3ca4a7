"""FTRL-Proximal (McMahan et al. 2013), per coordinate, with a mean-objective scaling of l1, l2.

Per coordinate ``j`` the state is ``(z_j, n_j)``; its weight is a closed form of them::

    w_j = 0                                                   if |z_j| <= lam1
    w_j = -(z_j - sign(z_j) lam1) / ((beta + sqrt(n_j)) / alpha + lam2)   otherwise

and on an example with gradient ``g`` (loss derivative times x_j times the sample weight s)::

    sigma = (sqrt(n_j + g^2) - sqrt(n_j)) / alpha;   z_j += g - sigma w_j;   n_j += g^2

FTRL's regularizers weigh the *summed* loss. With ``S`` the sum of sample weights seen so far
(this example included), ``lam1 = l1 S`` and ``lam2 = l2 S`` make ``l1``, ``l2`` mean the same
thing as in the mean objective that every optimizer here minimizes; over several epochs the
threshold keeps growing with S, otherwise a mean-objective l1 is under-applied by the number of
epochs. A weight is exactly 0 whenever |z_j| <= lam1, at any time: nothing is remembered from an
earlier nonzero value. Idle coordinates need no catch-up, so the method is lazy by nature; the
intercept is a coordinate with lam1 = lam2 = 0.

State records (float64): ``[z, n]`` per slot; scalars: see ``S_*``.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from ._losses import loss_and_derivative
from ._prefetch import prefetch_row

S_STEPS = 0  # examples processed so far
S_SEEN = 1  # S: sum of sample weights seen so far
S_BIAS_Z = 2
S_BIAS_N = 3
S_LOSS = 4  # progressive weighted loss over the last kernel call
S_WEIGHT = 5  # sum of sample weights over the last kernel call
N_SCALARS = 6

WEIGHT_LIMIT = float(np.finfo(np.float32).max)

HP_ALPHA = 0
HP_BETA = 1
HP_L1 = 2
HP_L2 = 3
N_HP = 4


@jit
def ftrl_weight(z: float, n: float, lam1: float, lam2: float, alpha: float, beta: float) -> float:
    """The FTRL-Proximal closed form; exactly 0 when |z| <= lam1."""
    if abs(z) <= lam1:
        return 0.0
    shrunk = z - lam1 if z > 0.0 else z + lam1
    return -shrunk / ((beta + math.sqrt(n)) / alpha + lam2)


@jit
def ftrl_epoch(indptr, slots, data, y, sw, order, state, scal, hp, loss):
    """Visit rows ``order`` once (see ``_sgd.sgd_epoch`` for the argument conventions).

    Returns -1, or the position of the first example whose update was not finite.
    """
    alpha = hp[HP_ALPHA]
    beta = hp[HP_BETA]
    l1 = hp[HP_L1]
    l2 = hp[HP_L2]
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    t = scal[S_STEPS]
    seen = scal[S_SEEN]
    bz = scal[S_BIAS_Z]
    bn = scal[S_BIAS_N]
    loss_sum = 0.0
    weight_sum = 0.0
    longest = 0
    for r in range(indptr.shape[0] - 1):
        longest = max(longest, indptr[r + 1] - indptr[r])
    row_w = np.empty(longest, dtype=np.float64)  # weights of the current row, O(row) memory
    n_order = order.shape[0]
    for i in range(n_order):
        # overlap the cache misses of the rows ahead (see _sgd.sgd_epoch)
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
        seen += s
        lam1 = l1 * seen
        lam2 = l2 * seen
        b = ftrl_weight(bz, bn, 0.0, 0.0, alpha, beta)
        m = b
        for p in range(start, stop):
            j = slots[p]
            w = ftrl_weight(state[j, 0], state[j, 1], lam1, lam2, alpha, beta)
            row_w[p - start] = w
            m += w * (data[p] if has_data else 1.0)
        if not math.isfinite(m):
            _store(scal, t, seen - s, bz, bn, loss_sum, weight_sum)
            return i
        yi = y[r]
        value, g = loss_and_derivative(loss, yi, m)
        loss_sum += s * value
        weight_sum += s
        g *= s
        for p in range(start, stop):
            j = slots[p]
            gx = g * (data[p] if has_data else 1.0)
            n = state[j, 1]
            n_new = n + gx * gx
            sigma = (math.sqrt(n_new) - math.sqrt(n)) / alpha
            state[j, 0] += gx - sigma * row_w[p - start]
            state[j, 1] = n_new
        bn_new = bn + g * g
        bz += g - (math.sqrt(bn_new) - math.sqrt(bn)) / alpha * b
        bn = bn_new
        t += 1.0
    _store(scal, t, seen, bz, bn, loss_sum, weight_sum)
    return -1


@jit
def _store(scal, t, seen, bz, bn, loss_sum, weight_sum):
    scal[S_STEPS] = t
    scal[S_SEEN] = seen
    scal[S_BIAS_Z] = bz
    scal[S_BIAS_N] = bn
    scal[S_LOSS] = loss_sum
    scal[S_WEIGHT] = weight_sum


@jit
def ftrl_weights(state, n_slots, scal, hp, out):
    """Current weights of slots ``[0, n_slots)`` into ``out``; returns their nonzero count."""
    seen = scal[S_SEEN]
    lam1 = hp[HP_L1] * seen
    lam2 = hp[HP_L2] * seen
    nnz = 0
    for j in range(n_slots):
        w = ftrl_weight(state[j, 0], state[j, 1], lam1, lam2, hp[HP_ALPHA], hp[HP_BETA])
        if not abs(w) <= WEIGHT_LIMIT:  # NaN, inf, or beyond what a float32 model can hold
            return -1
        if w != 0.0:
            nnz += 1
        out[j] = w
    return nnz


@jit
def ftrl_intercept(scal, hp) -> float:
    return ftrl_weight(scal[S_BIAS_Z], scal[S_BIAS_N], 0.0, 0.0, hp[HP_ALPHA], hp[HP_BETA])


def new_state(capacity: int) -> np.ndarray:
    return np.zeros((capacity, 2), dtype=np.float64)


def new_scalars() -> np.ndarray:
    return np.zeros(N_SCALARS, dtype=np.float64)


def make_hp(alpha: float, beta: float = 1.0, l1: float = 0.0, l2: float = 0.0) -> np.ndarray:
    """The ``hp`` vector of ``ftrl_epoch`` from named values."""
    hp = np.zeros(N_HP, dtype=np.float64)
    hp[HP_ALPHA], hp[HP_BETA], hp[HP_L1], hp[HP_L2] = alpha, beta, l1, l2
    return hp


@jit
def ftrl_set_weights(state, n_slots, scal, hp, weights):
    """Move each ``z_j`` so that the closed form gives ``weights[j]`` (``n_j`` unchanged).

    Inverts the weight formula: the state then describes the given model (e.g. after a batch
    polish) and later updates continue from it. A zero weight keeps its ``z`` clipped into the
    threshold band, the closest state that yields exactly 0.
    """
    seen = scal[S_SEEN]
    lam1 = hp[HP_L1] * seen
    lam2 = hp[HP_L2] * seen
    for j in range(n_slots):
        w = weights[j]
        if w == 0.0:
            z = state[j, 0]
            state[j, 0] = min(max(z, -lam1), lam1)
        else:
            scale = (hp[HP_BETA] + math.sqrt(state[j, 1])) / hp[HP_ALPHA] + lam2
            state[j, 0] = -(w * scale + (lam1 if w > 0.0 else -lam1))


@jit
def ftrl_set_intercept(scal, hp, b):
    scal[S_BIAS_Z] = -b * (hp[HP_BETA] + math.sqrt(scal[S_BIAS_N])) / hp[HP_ALPHA]
