"""Kernels of the batch polish for the softmax loss: K coupled weight columns.

Boehning's bound majorizes the softmax loss's Hessian in the K margins by ``(I - 11'/K) / 2``,
below ``I / 2``: with the Cauchy-Schwarz step of ``_polish`` the majorizer of weight ``(j, k)`` is
``L_j = 1/2 sum_i s_i (k_i + 1) x_ij^2 / sum_i s_i``, the same for every class, and the step
``w_jk <- prox(L_j w_jk - g_jk, L_j, l1, l2)`` never increases the objective. FISTA's momentum
and its restart test run over all K columns together (one t sequence), as in ``_polish``.

``W`` (n_slots, K): the point; ``G`` (n_slots, K): gradients; ``L`` (n_slots,): majorizers;
``gb`` (K,): intercept gradients; ``momentum``: ``[t, b point (K), b last (K)]``.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from ._loss import class_losses, loss_derivative, loss_value
from ._penalty import prox


@jit
def add_rows_multi(indptr, slots, data, y, sw, W, G, L, b, loss, curvature, gb, sums):
    """Add one block of rows at (W, b) to a pass's sums: gradients into ``G`` and ``gb``, the
    unscaled majorizer into ``L`` (when ``curvature`` > 0), ``sums``: [weight, loss, L_b]."""
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    n_classes = W.shape[1]
    m = np.empty(n_classes)
    g = np.empty(n_classes)
    for r in range(indptr.shape[0] - 1):
        start = indptr[r]
        stop = indptr[r + 1]
        s = sw[r] if weighted else 1.0
        for k in range(n_classes):
            m[k] = b[k]
        for p in range(start, stop):
            x = data[p] if has_data else 1.0
            for k in range(n_classes):
                m[k] += W[slots[p], k] * x
        sums[1] += s * class_losses(loss, int(y[r]), m, g)
        sums[0] += s
        k1 = s * (stop - start + 1.0)
        sums[2] += k1
        for k in range(n_classes):
            gb[k] += s * g[k]
        for p in range(start, stop):
            j = slots[p]
            x = data[p] if has_data else 1.0
            for k in range(n_classes):
                G[j, k] += s * g[k] * x
            if curvature > 0.0:
                L[j] += k1 * x * x


@jit
def prox_step_multi(W, G, L, last, l1, l2, gb, lb, momentum, extrapolate):
    """One majorized prox-gradient step of all K columns, then FISTA's momentum (see
    ``_polish.prox_step``); ``G``, ``L``, ``gb``, ``lb`` are means already."""
    n_classes = W.shape[1]
    turn = 0.0
    for j in range(W.shape[0]):
        lj = L[j]
        for k in range(n_classes):
            point = W[j, k]
            x = point if lj <= 0.0 else prox(lj * point - G[j, k], lj, l1, l2)
            turn += (point - x) * (x - last[j, k])
            G[j, k] = x
    for k in range(n_classes):
        b_point = momentum[1 + k]
        b_x = b_point - gb[k] / lb if lb > 0.0 else b_point
        turn += (b_point - b_x) * (b_x - momentum[1 + n_classes + k])
        gb[k] = b_x
    t = momentum[0]
    if turn > 0.0:
        t = 1.0
    t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
    beta = (t - 1.0) / t_next if extrapolate else 0.0
    for j in range(W.shape[0]):
        for k in range(n_classes):
            x = G[j, k]
            W[j, k] = x + beta * (x - last[j, k])
            last[j, k] = x
    for k in range(n_classes):
        b_x = gb[k]
        momentum[1 + k] = b_x + beta * (b_x - momentum[1 + n_classes + k])
        momentum[1 + n_classes + k] = b_x
    momentum[0] = t_next


@jit
def add_rows_ovr(indptr, slots, data, y, sw, rec, b, loss, curvature, with_loss, sums):
    """``_polish.add_rows`` for K one-vs-rest columns in one pass over the rows: class ``k``'s
    records are ``rec[:, k]`` (n_slots, 3), its intercept ``b[k]``, its sums ``sums[k]``, and its
    label "class k or not"; per class the arithmetic is ``add_rows``'s, in the same order."""
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    n_classes = rec.shape[1]
    m = np.empty(n_classes)
    g = np.empty(n_classes)
    for r in range(indptr.shape[0] - 1):
        start = indptr[r]
        stop = indptr[r + 1]
        s = sw[r] if weighted else 1.0
        label = int(y[r])
        for k in range(n_classes):
            m[k] = b[k]
        for p in range(start, stop):
            x = data[p] if has_data else 1.0
            for k in range(n_classes):
                m[k] += rec[slots[p], k, 0] * x
        k1 = s * (stop - start + 1.0)
        for k in range(n_classes):
            yk = 1.0 if k == label else 0.0
            if with_loss:
                sums[k, 1] += s * loss_value(loss, yk, m[k])
            g[k] = s * loss_derivative(loss, yk, m[k])
            sums[k, 0] += s
            sums[k, 2] += g[k]
            sums[k, 3] += k1
        for p in range(start, stop):
            j = slots[p]
            x = data[p] if has_data else 1.0
            for k in range(n_classes):
                rec[j, k, 1] += g[k] * x
                if curvature > 0.0:
                    rec[j, k, 2] += k1 * x * x
