"""Row passes of the exact L1 / elastic-net solver (:mod:`.exact`, :mod:`._newton`): margins,
the Newton rows at them, a line search's trial step (which also refills the rows), the
intercept's exact shift, and the dual's loss part. Each is one pass over the rows' arrays.

The rows' state lives in an (n, 2) float64 array ``rows``: ``[a_i loss''(m_i), xd_i]``, where
``m`` are the margins at the Newton centre and ``xd = X_ws delta`` the move of the
coordinate-descent iterate (:mod:`._cd`), and beside it ``grads``: ``a_i loss'(m_i)``
(``a_i = s_i / sum s``). Most sweeps read a column's curvature and move alone: one 16-byte
record per row, one cache miss, not two; the full gradient reads the dense ``grads``. (One
24-byte record of all three took 5 % more solve time at l1 1e-6 on 1M geo rows, a padded
32-byte one 10-18 % more: the rows of a column lie close together, so density counts.)
"""

from __future__ import annotations

import math

from .._jit import jit
from .._prefetch import prefetch_row
from ..losses import LOGISTIC, SQUARED
from ._loss import curvature, loss_and_derivative, loss_derivative, loss_value

# rows[i, ...]
R_HESS = 0  # a_i loss''(m_i)
R_MOVE = 1  # (X_ws delta)_i
N_ROW = 2


@jit
def margins(indptr, slots, data, w, b, out):
    """``out[i] = x_i . w + b``."""
    has_data = data.shape[0] > 0
    n = indptr.shape[0] - 1
    for r in range(n):
        if r + 4 < n:
            for p in range(indptr[r + 4], indptr[r + 5]):
                prefetch_row(w, slots[p])
        m = b
        for p in range(indptr[r], indptr[r + 1]):
            m += w[slots[p]] * (data[p] if has_data else 1.0)
        out[r] = m


@jit
def newton_rows(y, sw, scale, m, loss, rows, grads):
    """Fill ``rows`` at margins ``m`` (``xd`` zeroed); returns (mean loss, its derivative and
    second derivative in the intercept). ``a_i = sw[i] * scale`` (``scale`` alone if ``sw`` is empty)."""
    weighted = sw.shape[0] > 0
    total = 0.0
    gb = 0.0
    hb = 0.0
    for i in range(m.shape[0]):
        a = sw[i] * scale if weighted else scale
        f, g = loss_and_derivative(loss, y[i], m[i])
        h = curvature(loss, y[i], m[i], g)
        total += a * f
        grads[i] = a * g
        rows[i, R_HESS] = a * h
        rows[i, R_MOVE] = 0.0
        gb += a * g
        hb += a * h
    return total, gb, hb


@jit
def center_intercept(y, sw, scale, m, loss, max_iter):
    """Move ``m`` (in place) by the shift ``d`` that zeroes ``sum_i a_i loss'(m_i + d)``: the
    exact intercept for the current weights. Returns ``d``.

    Squared loss: one step. Logistic: Newton's method on an increasing function of ``d``, kept
    inside a bracket of the root (bisection when a step leaves it), so it cannot diverge.
    """
    weighted = sw.shape[0] > 0
    n = m.shape[0]
    d = 0.0
    lo = -math.inf
    hi = math.inf
    for _ in range(max_iter):
        g = 0.0
        h = 0.0
        for i in range(n):
            a = sw[i] * scale if weighted else scale
            gi = loss_derivative(loss, y[i], m[i] + d)
            g += a * gi
            h += a * curvature(loss, y[i], m[i] + d, gi)
        if g > 0.0:
            hi = d
        elif g < 0.0:
            lo = d
        else:
            break
        step = g / h if h > 0.0 else math.inf
        nxt = d - step
        if not (lo < nxt < hi):
            if math.isinf(lo) or math.isinf(hi):
                nxt = d - math.copysign(1.0, g) * max(1.0, 2.0 * abs(d))
            else:
                nxt = 0.5 * (lo + hi)
        done = abs(nxt - d) <= 1e-12 * (1.0 + abs(d))  # Newton: the next step would be ~1e-24
        d = nxt
        if done or loss == SQUARED:
            break
    for i in range(n):
        m[i] += d
    return d


@jit
def conjugate(loss, y, v):
    """``loss*(v) = sup_m v m - loss(y, m)``, at the ``v`` of a dual point (see ``dual_loss``)."""
    if loss == LOGISTIC:
        q = v + y  # in [0, 1] for the dual points the solver builds
        out = 0.0
        if q > 0.0:
            out += q * math.log(q)
        if q < 1.0:
            out += (1.0 - q) * math.log1p(-q)
        return out
    return 0.5 * v * v + y * v  # squared


@jit
def dual_loss(y, sw, scale, m, loss, s):
    """The loss part of the dual objective at the point ``s * a_i loss'(m_i)``:
    ``-sum_i a_i loss*(s loss'(m_i))``."""
    weighted = sw.shape[0] > 0
    total = 0.0
    for i in range(m.shape[0]):
        a = sw[i] * scale if weighted else scale
        if a > 0.0:
            total -= a * conjugate(loss, y[i], s * loss_derivative(loss, y[i], m[i]))
    return total


@jit
def loss_change(loss, y, m, d):
    """``loss(y, m + d) - loss(y, m)``, accurate to rounding of the *change* (not of the loss):
    the line search compares changes far below the loss's own rounding near the optimum."""
    if loss == SQUARED:
        return d * (m - y + 0.5 * d)
    if abs(d) > 1.0:
        return loss_value(loss, y, m + d) - loss_value(loss, y, m)
    # log(1 + e^(m+d)) - log(1 + e^m) = log1p(p expm1(d)), p = sigmoid(m), from the side where
    # p <= 1/2 (for m > 0: softplus(m) = m + softplus(-m))
    if m <= 0.0:
        e = math.exp(m)
        return math.log1p(e / (1.0 + e) * math.expm1(d)) - y * d
    e = math.exp(-m)
    return d + math.log1p(e / (1.0 + e) * math.expm1(-d)) - y * d


@jit
def logistic_step(y, m, d):
    """``(loss(y, m + d) - loss(y, m), loss'(y, m + d))`` of the logistic loss for ``|d| <= 1``:
    ``loss_change``'s expression (for ``m > 0`` with ``(1 - y) d`` taken first: exact for a label
    of one, whose ``d - y d`` cancelled), with the new probability from the same two
    exponentials, ``p' = p e^d / (1 + p expm1(d))``, instead of a third (the line search's
    pass evaluates both at every row)."""
    if m <= 0.0:
        e = math.exp(m)
        p = e / (1.0 + e)
        grow = math.expm1(d)
        q = p * grow
        return math.log1p(q) - y * d, p * (1.0 + grow) / (1.0 + q) - y
    e = math.exp(-m)
    r = e / (1.0 + e)  # 1 - p, from the side where it is <= 1/2
    grow = math.expm1(-d)
    q = r * grow
    return (1.0 - y) * d + math.log1p(q), 1.0 - r * (1.0 + grow) / (1.0 + q) - y


@jit
def step_rows(y, sw, scale, m, rows, grads, db, t, loss):
    """Move the margins to ``m + t (xd + db)`` and fill the Newton rows' derivatives there
    (``xd`` is kept, for ``undo_step``). Returns (the change of the mean loss, G_b, H_b at the
    new margins): a line search trial and the next Newton model's rows in one pass."""
    weighted = sw.shape[0] > 0
    change = 0.0
    gb = 0.0
    hb = 0.0
    for i in range(m.shape[0]):
        a = sw[i] * scale if weighted else scale
        d = t * (rows[i, R_MOVE] + db)
        mi = m[i] + d
        if loss == LOGISTIC and abs(d) <= 1.0:
            c, g = logistic_step(y[i], m[i], d)
        else:
            c = loss_change(loss, y[i], m[i], d)
            g = loss_derivative(loss, y[i], mi)
        change += a * c
        m[i] = mi
        h = curvature(loss, y[i], mi, g)
        grads[i] = a * g
        rows[i, R_HESS] = a * h
        gb += a * g
        hb += a * h
    return change, gb, hb


@jit
def undo_step(m, rows, db, t):
    for i in range(m.shape[0]):
        m[i] -= t * (rows[i, R_MOVE] + db)


@jit
def clear_moves(rows):
    for i in range(rows.shape[0]):
        rows[i, R_MOVE] = 0.0


@jit
def shift_rows(m, rows, grads, d):
    """Shift the margins by ``d`` and the rows' first derivatives to first order (``d`` small:
    the error, O(d^2), is far below what the derivatives are used for)."""
    for i in range(m.shape[0]):
        m[i] += d
        grads[i] += rows[i, R_HESS] * d
