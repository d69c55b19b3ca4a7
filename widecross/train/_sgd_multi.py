"""Kernel of lazy proximal SGD for K classes: K weight columns trained in one pass over each row.

The state of slot ``j`` is K records side by side in one row of ``records``: class ``k``'s
``[w, stamp(, A)]`` at columns ``k F .. k F + F - 1`` (``F`` fields per class), so that a row's
active columns are looked up and brought into cache once for all K classes. The clock is shared
(it counts examples, not classes); each class has its own intercept and its own per-coordinate
rate sums. Per class, the arithmetic is that of ``_sgd.sgd_epoch`` in the same order, so a
one-vs-rest column equals the binary model of that class against the rest, bit for bit.

Labels ``y`` hold class codes 0..K-1. Scalars: those of ``_state`` (``STEPS``, the clock at 1,
the loss and weight sums), then per class ``k`` its intercept at ``N_SCALARS + 2k`` and its rate
sum at ``N_SCALARS + 2k + 1``.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from .._prefetch import prefetch_row
from ._loss import class_curvature, class_implicit_derivative, class_losses
from ._penalty import flow
from ._sgd import H_DELTA, H_ETA0, H_IMPLICIT, H_L1, H_L2, NEWTON, S_CLOCK, decay_factor, grow_rate_sum, rate
from ._state import LOSS_SUM, N_SCALARS, STEPS, WEIGHT_LIMIT, WEIGHT_SUM


@jit
def _store(scal, t, clock, b, bias_sum, loss_sum, weight_sum):
    scal[STEPS] = t
    scal[S_CLOCK] = clock
    scal[LOSS_SUM] = loss_sum
    scal[WEIGHT_SUM] = weight_sum
    for k in range(b.shape[0]):
        scal[N_SCALARS + 2 * k] = b[k]
        scal[N_SCALARS + 2 * k + 1] = bias_sum[k]


@jit
def sgd_multi_epoch(indptr, slots, data, y, sw, order, records, scal, hyper, loss, decay, mode, n_classes):
    """Visit rows ``order`` once, training all K columns (see ``_sgd.sgd_epoch``'s conventions).

    Returns -1, or the position in ``order`` of the first example whose update was not finite.
    """
    eta0 = hyper[H_ETA0]
    l1 = hyper[H_L1]
    l2 = hyper[H_L2]
    delta = hyper[H_DELTA]
    implicit = hyper[H_IMPLICIT] != 0.0
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    width = records.shape[1] // n_classes  # fields per class
    t = scal[STEPS]
    clock = scal[S_CLOCK]
    b = np.empty(n_classes)
    bias_sum = np.empty(n_classes)
    for k in range(n_classes):
        b[k] = scal[N_SCALARS + 2 * k]
        bias_sum[k] = scal[N_SCALARS + 2 * k + 1]
    m = np.empty(n_classes)
    g = np.empty(n_classes)
    g_step = np.empty(n_classes)
    s_curv = np.zeros(n_classes)
    reach = np.empty(n_classes)
    loss_sum = 0.0
    weight_sum = 0.0
    n_order = order.shape[0]
    for i in range(n_order):
        if i + 4 < n_order:
            near = order[i + 4]
            for p in range(indptr[near], indptr[near + 1]):
                prefetch_row(records, slots[p])
        r = order[i]
        start = indptr[r]
        stop = indptr[r + 1]
        s = sw[r] if weighted else 1.0
        label = int(y[r])
        for k in range(n_classes):
            m[k] = b[k]
        for p in range(start, stop):
            j = slots[p]
            x = data[p] if has_data else 1.0
            for k in range(n_classes):
                base = k * width
                w = records[j, base]
                if w != 0.0:
                    lag = clock - records[j, base + 1]
                    if lag > 0.0:
                        w = flow(w, rate(mode, eta0, delta, records[j, base + 2] if mode else 0.0) * lag, l1, l2)
                        records[j, base] = w
                m[k] += w * x
        finite = True
        for k in range(n_classes):
            finite = finite and math.isfinite(m[k])
        if not finite:
            _store(scal, t, clock, b, bias_sum, loss_sum, weight_sum)
            return i
        loss_sum += s * class_losses(loss, label, m, g)
        weight_sum += s
        c = decay_factor(decay, t, hyper) * s
        clock += c
        for k in range(n_classes):
            if mode == NEWTON:
                s_curv[k] = s * class_curvature(loss, label, k, m[k], g[k])
            if mode:
                bias_sum[k] = grow_rate_sum(mode, bias_sum[k], s * g[k], s_curv[k])
            g_step[k] = g[k]
        if implicit:
            for k in range(n_classes):
                reach[k] = rate(mode, eta0, delta, bias_sum[k])
            for p in range(start, stop):
                j = slots[p]
                x = data[p] if has_data else 1.0
                for k in range(n_classes):
                    base = k * width
                    if mode:
                        records[j, base + 2] = grow_rate_sum(mode, records[j, base + 2], s * g[k] * x,
                                                             s_curv[k] * x * x)
                        reach[k] += rate(mode, eta0, delta, records[j, base + 2]) * x * x
                    else:
                        reach[k] += eta0 * x * x
            for k in range(n_classes):
                g_step[k] = class_implicit_derivative(loss, label, k, m[k], reach[k] * c, g[k])
        for p in range(start, stop):
            j = slots[p]
            x = data[p] if has_data else 1.0
            for k in range(n_classes):
                base = k * width
                gx = g_step[k] * x
                if mode and not implicit:
                    records[j, base + 2] = grow_rate_sum(mode, records[j, base + 2], s * g[k] * x, s_curv[k] * x * x)
                a = rate(mode, eta0, delta, records[j, base + 2] if mode else 0.0) * c
                w = flow(records[j, base] - a * gx, a, l1, l2)
                if not abs(w) <= WEIGHT_LIMIT:
                    _store(scal, t, clock, b, bias_sum, loss_sum, weight_sum)
                    return i
                records[j, base] = w
                records[j, base + 1] = clock
        for k in range(n_classes):
            b[k] -= rate(mode, eta0, delta, bias_sum[k]) * c * g_step[k]
        t += 1.0
    _store(scal, t, clock, b, bias_sum, loss_sum, weight_sum)
    return -1
