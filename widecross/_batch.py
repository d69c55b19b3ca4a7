"""Batch polish for the end of ``fit``: majorized proximal gradient, O(nnz) per pass.

Plain prox-SGD ends with many small weights that the last gradients kicked away from zero (the
stochastic gradient of a rare column is rarely as small as the full one); the optimum zeroes
them. A few passes of proximal gradient on the *whole* objective, with a per-coordinate step from
a diagonal majorizer of the loss Hessian, remove them and close most of the remaining gap.

Majorizer: for row i with k_i stored values plus the intercept, Cauchy-Schwarz gives
``(x_i . v + v_b)^2 <= (k_i + 1) (sum_j x_ij^2 v_j^2 + v_b^2)``, hence, with ``c`` the bound on
the loss's second derivative (1/4 logistic, 1 squared)::

    H <= diag(L),   L_j = c sum_i s_i (k_i + 1) x_ij^2 / sum_i s_i

and the step ``w_j <- ST(L_j w_j - g_j, l1) / (L_j + l2)`` (the exact minimizer of the separable
quadratic upper bound plus the penalty) never increases the objective: no line search, no tuning.
Each pass is one sequential sweep over the rows (margins, then the gradient scattered by slot)
plus one sweep over the slots.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from ._losses import loss_derivative, loss_value
from ._prefetch import prefetch_row


@jit
def curvature_bound(indptr, slots, data, sw, c, out):
    """Fill ``out[j] = L_j`` (see module docstring); return the intercept's ``L_b``."""
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    out[:] = 0.0
    total = 0.0
    lb = 0.0
    for r in range(indptr.shape[0] - 1):
        s = sw[r] if weighted else 1.0
        k1 = indptr[r + 1] - indptr[r] + 1.0
        total += s
        lb += s * k1
        for p in range(indptr[r], indptr[r + 1]):
            x = data[p] if has_data else 1.0
            out[slots[p]] += s * k1 * x * x
    if total <= 0.0:
        return 0.0
    for j in range(out.shape[0]):
        out[j] *= c / total
    return c * lb / total


@jit
def objective_and_gradient(indptr, slots, data, y, sw, w, b, loss, grad):
    """Mean weighted loss at (w, b); its gradient goes into ``grad`` (slots), the intercept's is returned."""
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    grad[:] = 0.0
    total = 0.0
    loss_sum = 0.0
    gb = 0.0
    n_rows = indptr.shape[0] - 1
    for r in range(n_rows):
        if r + 4 < n_rows:  # overlap the misses on the slots of the rows ahead
            for p in range(indptr[r + 4], indptr[r + 5]):
                prefetch_row(w, slots[p])
                prefetch_row(grad, slots[p])
        s = sw[r] if weighted else 1.0
        m = b
        for p in range(indptr[r], indptr[r + 1]):
            m += w[slots[p]] * (data[p] if has_data else 1.0)
        loss_sum += s * loss_value(loss, y[r], m)
        g = s * loss_derivative(loss, y[r], m)
        total += s
        gb += g
        for p in range(indptr[r], indptr[r + 1]):
            grad[slots[p]] += g * (data[p] if has_data else 1.0)
    if total <= 0.0:
        return 0.0, 0.0
    for j in range(grad.shape[0]):
        grad[j] /= total
    return loss_sum / total, gb / total


@jit
def penalty(w, l1, l2):
    a = 0.0
    q = 0.0
    for j in range(w.shape[0]):
        a += abs(w[j])
        q += w[j] * w[j]
    return l1 * a + 0.5 * l2 * q


@jit
def polish(indptr, slots, data, y, sw, w, b, lipschitz, lb, l1, l2, loss, grad, max_passes, rtol):
    """Up to ``max_passes`` majorized prox-gradient steps on (w, b), in place on ``w``.

    Stops when a pass lowers the objective by less than ``rtol`` times its value. Returns
    ``(b, objective before the last step, passes done)``; every step is a descent step.
    """
    done = 0
    f = 0.0
    for _ in range(max_passes):
        mean_loss, gb = objective_and_gradient(indptr, slots, data, y, sw, w, b, loss, grad)
        f_new = mean_loss + penalty(w, l1, l2)
        if done > 0 and f - f_new <= rtol * abs(f_new):
            f = f_new
            break
        f = f_new
        for j in range(w.shape[0]):
            lj = lipschitz[j]
            if lj <= 0.0:
                continue  # column never stored with a nonzero value: the loss ignores it
            v = lj * w[j] - grad[j]
            if v > l1:
                w[j] = (v - l1) / (lj + l2)
            elif v < -l1:
                w[j] = (v + l1) / (lj + l2)
            else:
                w[j] = 0.0
        if lb > 0.0:
            b -= gb / lb
        done += 1
    return b, f, done


def polished(batch, y, sw, weights, intercept, l1, l2, loss_code, curvature, max_passes, rtol=1e-7):
    """Polish a copy of ``weights`` (per slot); return (weights, intercept, objective, passes)."""
    w = np.array(weights, dtype=np.float64)
    lipschitz = np.empty_like(w)
    grad = np.empty_like(w)
    lb = curvature_bound(batch.indptr, batch.slots, batch.data, sw, curvature, lipschitz)
    b, f, done = polish(
        batch.indptr, batch.slots, batch.data, y, sw, w, float(intercept), lipschitz, lb,
        l1, l2, loss_code, grad, int(max_passes), float(rtol),
    )
    return w, float(b), float(f), int(done)


@jit
def mean_loss(indptr, slots, data, y, sw, w, b, loss):
    """Mean weighted loss at (w, b); a slot of -1 (a column unseen in training) weighs 0."""
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    total = 0.0
    loss_sum = 0.0
    for r in range(indptr.shape[0] - 1):
        s = sw[r] if weighted else 1.0
        m = b
        for p in range(indptr[r], indptr[r + 1]):
            j = slots[p]
            if j >= 0:
                m += w[j] * (data[p] if has_data else 1.0)
        loss_sum += s * loss_value(loss, y[r], m)
        total += s
    return loss_sum / total if total > 0.0 else 0.0
