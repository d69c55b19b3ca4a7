"""Kernels of the exact L1 / elastic-net solver: column passes and coordinate descent.

The driver (:mod:`.exact`) minimizes the mean objective of the trainers::

    F(w, b) = sum_i a_i loss(y_i, x_i . w + b) + l1 ||w||_1 + l2/2 ||w||^2,   a_i = s_i / sum s

by proximal Newton steps on a working set of columns. The rows' state (``rows``, ``grads``) and
the passes over it are :mod:`._rowpass`'s.

The data are the slot-indexed CSR of the trainers (slots in ``[0, n_slots)``, ``data`` empty when
every value is one) and its column-major copy (:mod:`._layout`, O(nnz + n_slots)): nothing is
sized by the model width.
"""

from __future__ import annotations

import math

from .._jit import jit
from .._prefetch import prefetch_row
from ._penalty import prox

from ._rowpass import R_HESS, R_MOVE

# model[...]: the intercept's part of the quadratic model of one Newton step
Q_DB = 0  # the intercept's move
Q_T = 1  # sum_i a_i loss''(m_i) (X_ws delta)_i, kept up to date as delta changes
Q_GB = 2  # the loss's derivative in the intercept at the centre
Q_HB = 3  # its second derivative
N_MODEL = 4

AHEAD = 8  # entries of a column read this far ahead are requested early (their rows are scattered)


@jit
def penalty_change(w, ws, delta, t, l1, l2):
    """The penalty's change from ``w[ws]`` to ``w[ws] + t delta``, coordinate by coordinate.
    Where the sign stays, the L1 part is ``sign t delta``: ``|u| - |v|`` would cancel the weight's
    rounding (1e-16 |w|), which near the optimum exceeds the steps' whole decrease."""
    a = 0.0
    q = 0.0
    for k in range(ws.shape[0]):
        v = w[ws[k]]
        u = v + t * delta[k]
        if (u > 0.0 and v > 0.0) or (u < 0.0 and v < 0.0):
            a += t * delta[k] if v > 0.0 else -t * delta[k]
        else:
            a += abs(u) - abs(v)
        q += t * delta[k] * (u + v)
    return l1 * a + 0.5 * l2 * q


@jit
def gradient(col_ptr, col_rows, col_data, fix_ptr, fix_rows, fix_data, grads, out):
    """``out[j] = sum_i x_ij a_i loss'(m_i)`` for every slot: the loss's full gradient. The
    column view's values are ``col_data``, or where that is empty one, corrected at the entries
    of ``fix_*`` (a column view of the entries whose value is not one: ``_layout``)."""
    has_data = col_data.shape[0] > 0
    has_fixes = fix_ptr.shape[0] > 0
    nnz = col_rows.shape[0]
    for j in range(col_ptr.shape[0] - 1):
        g = 0.0
        for p in range(col_ptr[j], col_ptr[j + 1]):
            if p + 4 * AHEAD < nnz:
                prefetch_row(grads, col_rows[p + 4 * AHEAD])
            g += grads[col_rows[p]] * (col_data[p] if has_data else 1.0)
        if has_fixes:
            for f in range(fix_ptr[j], fix_ptr[j + 1]):
                g += grads[fix_rows[f]] * (fix_data[f] - 1.0)
        out[j] = g


@jit
def _prefetch_column(col_ptr, col_rows, rows, j):
    stop = min(col_ptr[j + 1], col_ptr[j] + AHEAD)
    for p in range(col_ptr[j], stop):
        prefetch_row(rows, col_rows[p])


@jit
def violation(w, g, l1, l2):
    """Distance of ``-g`` (the loss's gradient) to the penalty's subdifferential at ``w``."""
    if w > 0.0:
        return abs(g + l2 * w + l1)
    if w < 0.0:
        return abs(g + l2 * w - l1)
    return max(abs(g) - l1, 0.0)


@jit
def violations(w, grad, l1, l2, out):
    """Per-slot KKT violation (``violation``) into ``out``; returns its maximum and, read in the
    same pass over the slots, the nonzeros, ``sum |w|`` and ``sum w^2`` (the penalty's parts)."""
    worst = 0.0
    nnz = 0
    a = 0.0
    q = 0.0
    for j in range(w.shape[0]):
        x = w[j]
        v = violation(x, grad[j], l1, l2)
        out[j] = v
        if v > worst:
            worst = v
        if x != 0.0:
            nnz += 1
            a += abs(x)
            q += x * x
    return worst, nnz, a, q


@jit
def cd_sweep(sel, ws, col_ptr, col_rows, col_data, fix_lo, fix_hi, fix_rows, fix_data, rows, grads, w, g, hdiag, cvec,
             reach, delta, model, l1, l2, moved, fresh, max_move):
    """One sweep of coordinate descent, over the working-set positions ``sel``, on the proximal
    Newton model of the working set ``ws``::

        q(delta, db) = g . delta + G_b db + 1/2 sum_i a_i loss''(m_i) ((X_ws delta)_i + db)^2
                       + l1 ||w + delta||_1 + l2/2 ||w + delta||^2 - (the same at delta = 0)

    ``delta`` (per working-set column) and ``rows[:, R_MOVE]`` (= X_ws delta) are updated in
    place, ``model`` holds the intercept's terms (``Q_*``). After each coordinate the intercept
    takes its exact minimizer, ``db = -(G_b + T) / H_b`` with ``T = sum_k cvec[k] delta[k]``:
    O(1), because the rows never hold ``db`` (the columns add ``db cvec[k]`` to their
    gradient instead).

    A ``fresh`` sweep (the first on a new model) also computes each column's model terms while
    it reads its rows: the loss gradient ``g``, the Hessian's diagonal ``hdiag``, the coupling
    to the intercept ``cvec[k] = sum_i x_ij a_i loss''(m_i)`` and ``reach[k] = max_move /
    max_i |x_ij|``, which bounds the coordinate's move in one model (a trust region on the
    margins): where the loss is nearly flat (rows whose logistic probability is saturated) its
    quadratic model is too, and predicts steps that the line search would have to halve dozens
    of times. The minimizer of a convex function of one variable over an interval is its
    unconstrained minimizer clipped, so each coordinate step stays exact.

    Returns (the largest coordinate move times its curvature: the size of the model's
    prox-gradient step, in the units of a gradient, 0 at the model's optimum; and for a
    ``fresh`` sweep the largest KKT violation at the centre, else 0). The move of each
    coordinate goes into ``moved[k]``.

    Values: as in ``gradient``, every entry one where ``col_data`` is empty, corrected at the
    entries ``fix_lo[k]:fix_hi[k]`` of ``fix_*`` for working-set position ``k`` (per position,
    not per slot: read in the sweep's order; both empty where the working set has none).
    """
    has_data = col_data.shape[0] > 0
    has_fixes = fix_lo.shape[0] > 0
    db = model[Q_DB]
    t_sum = model[Q_T]
    gb = model[Q_GB]
    hb = model[Q_HB]
    n_sel = sel.shape[0]
    worst = 0.0
    centre = 0.0
    for q in range(n_sel):
        k = sel[q]
        j = ws[k]
        if q + 1 < n_sel:
            _prefetch_column(col_ptr, col_rows, rows, ws[sel[q + 1]])
        start = col_ptr[j]
        stop = col_ptr[j + 1]
        coupling = 0.0
        if fresh:
            gj = 0.0
            hj = 0.0
            cj = 0.0
            top = 0.0
            for p in range(start, stop):
                if p + AHEAD < stop:
                    prefetch_row(rows, col_rows[p + AHEAD])
                i = col_rows[p]
                x = col_data[p] if has_data else 1.0
                xh = x * rows[i, R_HESS]
                gj += x * grads[i]
                cj += xh
                hj += x * xh
                coupling += xh * rows[i, R_MOVE]
                top = max(top, abs(x))
            if has_fixes and fix_hi[k] > fix_lo[k]:
                # x = 1 + e at these entries: the loop above counted them as ones
                fixed_top = 0.0
                for f in range(fix_lo[k], fix_hi[k]):
                    i = fix_rows[f]
                    x = fix_data[f]
                    e = x - 1.0
                    eh = e * rows[i, R_HESS]
                    gj += e * grads[i]
                    cj += eh
                    hj += eh * (x + 1.0)  # x^2 - 1
                    coupling += eh * rows[i, R_MOVE]
                    fixed_top = max(fixed_top, abs(x))
                top = fixed_top if fix_hi[k] - fix_lo[k] == stop - start else max(top, fixed_top)
            g[k] = gj
            hdiag[k] = hj
            cvec[k] = cj
            reach[k] = max_move / top if top > 0.0 else math.inf
            centre = max(centre, violation(w[j], gj, l1, l2))
        else:
            # no software prefetch here: measured, its requests cost more than they saved
            # (4-6 % of the whole solve on 1M geo rows); the fresh sweep above keeps it
            for p in range(start, stop):
                i = col_rows[p]
                coupling += (col_data[p] if has_data else 1.0) * rows[i, R_HESS] * rows[i, R_MOVE]
            if has_fixes:
                for f in range(fix_lo[k], fix_hi[k]):
                    i = fix_rows[f]
                    coupling += (fix_data[f] - 1.0) * rows[i, R_HESS] * rows[i, R_MOVE]
        grad = g[k] + db * cvec[k] + coupling
        z = w[j] + delta[k]
        h = hdiag[k]
        denom = h + l2
        if denom <= 0.0:
            new = 0.0  # a column without values: only the penalty sees it
        else:
            new = prox(h * z - grad, h, l1, l2)
            limit = reach[k]
            if new > w[j] + limit:
                new = w[j] + limit
            elif new < w[j] - limit:
                new = w[j] - limit
        step = new - z
        v = abs(step) * denom
        moved[k] = v
        if v > worst:
            worst = v
        if step != 0.0:
            delta[k] += step
            for p in range(start, stop):
                i = col_rows[p]
                rows[i, R_MOVE] += step * (col_data[p] if has_data else 1.0)
            if has_fixes:
                for f in range(fix_lo[k], fix_hi[k]):
                    rows[fix_rows[f], R_MOVE] += step * (fix_data[f] - 1.0)
            t_sum += step * cvec[k]
            if hb > 0.0:
                db = -(gb + t_sum) / hb
    model[Q_DB] = db
    model[Q_T] = t_sum
    return worst, centre


@jit
def ray_quadratic(rows, before, db, ddb):
    """The model's quadratic term along the ray through the last sweep's move: with
    ``e = X delta + db`` now and ``f`` its change over the sweep (``before``: X delta before it),
    returns ``(sum h e^2, sum h e f, sum h f^2)``, so that at ``t`` sweeps further it is
    ``A + 2 t B + t^2 C``."""
    a = 0.0
    b = 0.0
    c = 0.0
    for i in range(before.shape[0]):
        e = rows[i, R_MOVE] + db
        f = rows[i, R_MOVE] - before[i] + ddb
        h = rows[i, R_HESS]
        a += h * e * e
        b += h * e * f
        c += h * f * f
    return a, b, c


@jit
def save_moves(rows, out):
    for i in range(out.shape[0]):
        out[i] = rows[i, R_MOVE]


@jit
def extend_moves(rows, before, t):
    """``X delta`` moved ``t`` sweeps further along the last sweep's move (``before``: it before)."""
    for i in range(before.shape[0]):
        m = rows[i, R_MOVE]
        rows[i, R_MOVE] = m + t * (m - before[i])


@jit
def ray_linear(sel, ws, w, g, delta, step, t, l1, l2):
    """``g . (t step) + penalty(w + delta + t step) - penalty(w + delta)`` over positions ``sel``
    (``step`` indexed like ``sel``)."""
    lin = 0.0
    a = 0.0
    q = 0.0
    for r in range(sel.shape[0]):
        k = sel[r]
        v = w[ws[k]] + delta[k]
        u = v + t * step[r]
        lin += g[k] * t * step[r]
        a += abs(u) - abs(v)
        q += t * step[r] * (u + v)
    return lin + l1 * a + 0.5 * l2 * q


@jit
def dot(a, b):
    """``sum_k a[k] b[k]`` in one thread. NumPy's ``a @ b`` of float64 vectors calls the
    threaded BLAS above ~10,000 entries, whose idle threads then spin on the other cores: on 1M
    geo rows at l1 = 1e-6 one such product per extrapolation (``_newton._ray``, 62k entries)
    cost the exact solver 0.8-1.0 CPU-s of spinning beside its 2.3 CPU-s of work."""
    total = 0.0
    for k in range(a.shape[0]):
        total += a[k] * b[k]
    return total


@jit
def dual_penalty(grad, s, l1, l2):
    """``R*(-s grad)`` of the elastic net: ``sum_j max(s |grad_j| - l1, 0)^2 / (2 l2)``; for
    l2 = 0 (the lasso) 0 if every ``s |grad_j| <= l1``, else infinity."""
    total = 0.0
    for j in range(grad.shape[0]):
        e = s * abs(grad[j]) - l1
        if e > 0.0:
            if l2 <= 0.0:
                return math.inf
            total += e * e
    return total / (2.0 * l2) if total > 0.0 else 0.0


@jit
def apply_step(w, ws, delta, t):
    for k in range(ws.shape[0]):
        w[ws[k]] += t * delta[k]


@jit
def model_decrease(w, ws, g, delta, gb, db, l1, l2):
    """The first-order decrease of the objective along (delta, db), with the penalty's exact
    change: the Armijo term of Tseng and Yun's line search (also liblinear's newGLMNET)."""
    lin = gb * db
    for k in range(ws.shape[0]):
        lin += g[k] * delta[k]
    return lin + penalty_change(w, ws, delta, 1.0, l1, l2)
