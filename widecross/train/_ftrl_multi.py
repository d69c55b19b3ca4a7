"""Kernel of FTRL-Proximal for K classes: K weight columns trained in one pass over each row.

Slot ``j``'s row of ``records`` holds class ``k``'s ``[z, n]`` at columns ``2k, 2k + 1``. The sum
of sample weights seen (the threshold's growth) is shared; each class has its own intercept
state. Per class the arithmetic is that of ``_ftrl.ftrl_epoch`` in the same order, so a
one-vs-rest column equals the binary model of that class against the rest, bit for bit.

Scalars: those of ``_state`` (``STEPS``, the weights seen at 1, the loss and weight sums), then
per class ``k`` its intercept's ``z`` at ``N_SCALARS + 2k`` and ``n`` at ``N_SCALARS + 2k + 1``.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import jit
from .._prefetch import prefetch_row
from ._ftrl import H_ALPHA, H_BETA, H_L1, H_L2, S_SEEN, ftrl_weight
from ._loss import class_losses
from ._state import LOSS_SUM, N_SCALARS, STEPS, WEIGHT_SUM


@jit
def _store(scal, t, seen, bz, bn, loss_sum, weight_sum):
    scal[STEPS] = t
    scal[S_SEEN] = seen
    scal[LOSS_SUM] = loss_sum
    scal[WEIGHT_SUM] = weight_sum
    for k in range(bz.shape[0]):
        scal[N_SCALARS + 2 * k] = bz[k]
        scal[N_SCALARS + 2 * k + 1] = bn[k]


@jit
def ftrl_multi_epoch(indptr, slots, data, y, sw, order, records, scal, hyper, loss, n_classes):
    """Visit rows ``order`` once, training all K columns (see ``_ftrl.ftrl_epoch``).

    Returns -1, or the position of the first example whose update was not finite.
    """
    alpha = hyper[H_ALPHA]
    beta = hyper[H_BETA]
    l1 = hyper[H_L1]
    l2 = hyper[H_L2]
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    t = scal[STEPS]
    seen = scal[S_SEEN]
    bz = np.empty(n_classes)
    bn = np.empty(n_classes)
    for k in range(n_classes):
        bz[k] = scal[N_SCALARS + 2 * k]
        bn[k] = scal[N_SCALARS + 2 * k + 1]
    longest = 0
    for r in range(indptr.shape[0] - 1):
        longest = max(longest, indptr[r + 1] - indptr[r])
    row_w = np.empty((longest, n_classes), dtype=np.float64)
    m = np.empty(n_classes)
    g = np.empty(n_classes)
    b = np.empty(n_classes)
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
        seen += s
        lam1 = l1 * seen
        lam2 = l2 * seen
        for k in range(n_classes):
            b[k] = ftrl_weight(bz[k], bn[k], 0.0, 0.0, alpha, beta)
            m[k] = b[k]
        for p in range(start, stop):
            j = slots[p]
            x = data[p] if has_data else 1.0
            for k in range(n_classes):
                w = ftrl_weight(records[j, 2 * k], records[j, 2 * k + 1], lam1, lam2, alpha, beta)
                row_w[p - start, k] = w
                m[k] += w * x
        finite = True
        for k in range(n_classes):
            finite = finite and math.isfinite(m[k])
        if not finite:
            _store(scal, t, seen - s, bz, bn, loss_sum, weight_sum)
            return i
        loss_sum += s * class_losses(loss, int(y[r]), m, g)
        weight_sum += s
        for k in range(n_classes):
            g[k] *= s
        for p in range(start, stop):
            j = slots[p]
            x = data[p] if has_data else 1.0
            for k in range(n_classes):
                gx = g[k] * x
                n = records[j, 2 * k + 1]
                n_new = n + gx * gx
                sigma = (math.sqrt(n_new) - math.sqrt(n)) / alpha
                records[j, 2 * k] += gx - sigma * row_w[p - start, k]
                records[j, 2 * k + 1] = n_new
        for k in range(n_classes):
            bn_new = bn[k] + g[k] * g[k]
            bz[k] += g[k] - (math.sqrt(bn_new) - math.sqrt(bn[k])) / alpha * b[k]
            bn[k] = bn_new
        t += 1.0
    _store(scal, t, seen, bz, bn, loss_sum, weight_sum)
    return -1
