"""Kernels of the polish's sums split for threads, with the serial sums' bits.

``_polish.add_rows`` makes one sweep: each row's margin, then its gradient added into the
records of its columns. Split into three steps, the same additions happen in the same order:

1. :func:`row_terms`, over any rows ``[lo, hi)``: each row's weighted loss derivative (and loss)
   at the current point, into per-row arrays. Rows are independent: threads take row blocks.
2. :func:`ordered_sums`: the scalar sums (weight, loss, intercept gradient and curvature) in row
   order, one cheap sequential sweep.
3. :func:`scatter_columns`, over any slot range: each slot's gradient and curvature bound, adding
   its rows in row order from the transposed rows (:func:`transpose`: each slot's entries in row
   order). Slots are independent: threads take slot ranges.

Every sum is therefore added in row order, as in the one-sweep kernel, whatever the threads.
"""

from __future__ import annotations

from .._jit import jit
from .._prefetch import prefetch_row
from ._loss import loss_derivative, loss_value
from ._polish import row_margin


@jit
def row_terms(indptr, slots, data, y, sw, weights, b, loss, want_loss, lo, hi, g_out, loss_out):
    """For rows ``[lo, hi)``: ``g_out[r] = s loss'(y, m)`` and, with ``want_loss``,
    ``loss_out[r] = s loss(y, m)`` at margin ``m = b + x . weights`` (slot -1 weighs 0)."""
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    for r in range(lo, hi):
        if r + 4 < hi:
            for p in range(indptr[r + 4], indptr[r + 5]):
                prefetch_row(weights, slots[p])
        s = sw[r] if weighted else 1.0
        m = row_margin(indptr, slots, data, has_data, weights, r, b)
        g_out[r] = s * loss_derivative(loss, y[r], m)
        if want_loss:
            loss_out[r] = s * loss_value(loss, y[r], m)


@jit
def ordered_sums(indptr, sw, g, loss_terms, want_loss, k1_out, sums):
    """Add the rows' weight, loss, intercept gradient and curvature term to ``sums`` (the
    ``_polish.SUM_*`` layout) in row order; each row's ``s (k + 1)`` into ``k1_out`` if sized."""
    weighted = sw.shape[0] > 0
    keep_k1 = k1_out.shape[0] > 0
    total = sums[0]
    loss_sum = sums[1]
    gb = sums[2]
    lb = sums[3]
    for r in range(indptr.shape[0] - 1):
        s = sw[r] if weighted else 1.0
        if want_loss:
            loss_sum += loss_terms[r]
        total += s
        gb += g[r]
        k1 = s * (indptr[r + 1] - indptr[r] + 1.0)
        lb += k1
        if keep_k1:
            k1_out[r] = k1
    sums[0] = total
    sums[1] = loss_sum
    sums[2] = gb
    sums[3] = lb


@jit
def transpose(indptr, slots, col_ptr, col_rows, col_pos):
    """Each slot's entries in row order: rows ``col_rows[col_ptr[j]:col_ptr[j + 1]]`` (and their
    entry positions into ``col_pos``, if sized). ``col_ptr`` has one more entry than the slots
    and comes zeroed; a counting sort, O(entries + slots)."""
    keep_pos = col_pos.shape[0] > 0
    for p in range(slots.shape[0]):
        col_ptr[slots[p] + 1] += 1
    for j in range(col_ptr.shape[0] - 1):
        col_ptr[j + 1] += col_ptr[j]
    for r in range(indptr.shape[0] - 1):
        for p in range(indptr[r], indptr[r + 1]):
            j = slots[p]
            q = col_ptr[j]
            col_rows[q] = r
            if keep_pos:
                col_pos[q] = p
            col_ptr[j] = q + 1
    for j in range(col_ptr.shape[0] - 1, 0, -1):  # the fill moved each start to the next one's
        col_ptr[j] = col_ptr[j - 1]
    col_ptr[0] = 0


@jit
def scatter_columns(col_ptr, col_rows, col_pos, data, g, k1, rec, curvature, lo, hi):
    """For slots ``[lo, hi)``: ``rec[j, 1] += g[r] x_rj`` and, with ``curvature`` > 0,
    ``rec[j, 2] += k1[r] x_rj^2``, over the slot's rows in row order."""
    has_data = data.shape[0] > 0
    for j in range(lo, hi):
        for e in range(col_ptr[j], col_ptr[j + 1]):
            r = col_rows[e]
            x = data[col_pos[e]] if has_data else 1.0
            rec[j, 1] += g[r] * x
            if curvature > 0.0:
                rec[j, 2] += k1[r] * x * x
