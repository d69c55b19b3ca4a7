"""Kernels of the polish's sums split for threads, with the serial sums' bits.

``_polish.add_rows`` makes one sweep: each row's margin, then its gradient added into the
records of its columns. Every slot's sums add its rows in row order, and so do the scalar sums;
any split that keeps those orders gives the same bits. The threaded pass splits the rows in two:

1. the *head* (the first rows) goes through ``_polish.add_rows`` itself on one thread, while
2. :func:`row_terms` computes, on row blocks on the other threads, each *tail* row's weighted
   loss derivative (and loss) at the current point into per-row arrays (rows are independent;
   the weights are read from a copy, the head's thread writes only the sums);
3. :func:`ordered_sums` continues the scalar sums (weight, loss, intercept gradient and
   curvature) over the tail in row order, one cheap sequential sweep (beside step 4);
4. :func:`scatter_entries`, one slot range per task: each slot's gradient and curvature bound
   from the tail rows, in row order, after the head's (the tail's entries are split by slot
   range once per fit: :func:`count_parts`, :func:`split_by_slot`).

The head saves the tail's second random access per entry (the one-sweep kernel finds the
record it just read); its length balances step 1 against step 2 (see ``blocksums``).
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
def ordered_sums(indptr, sw, g, loss_terms, want_loss, lo, k1_out, sums):
    """Add the weight, loss, intercept gradient and curvature term of rows ``lo`` to the last to
    ``sums`` (the ``_polish.SUM_*`` layout) in row order; each row's ``s (k + 1)`` into
    ``k1_out`` if sized."""
    weighted = sw.shape[0] > 0
    keep_k1 = k1_out.shape[0] > 0
    total = sums[0]
    loss_sum = sums[1]
    gb = sums[2]
    lb = sums[3]
    for r in range(lo, indptr.shape[0] - 1):
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


@jit(inline="always")
def _range_of(j, bounds):
    # the slot range of slot j: compares, no lookup table to miss in cache
    t = 0
    for k in range(1, bounds.shape[0] - 1):
        t += j >= bounds[k]
    return t


@jit
def count_parts(indptr, slots, bounds, lo, hi, counts):
    """``counts[t]``: the entries of rows ``[lo, hi)`` whose slot is in range ``t``, slots
    ``[bounds[t], bounds[t + 1])``. Returns how many slots lie outside ``[0, bounds[-1])``."""
    outside = 0
    for p in range(indptr[lo], indptr[hi]):
        j = slots[p]
        if j < 0 or j >= bounds[-1]:
            outside += 1
        else:
            counts[_range_of(j, bounds)] += 1
    return outside


@jit
def split_by_slot(indptr, slots, data, bounds, lo, hi, fill, part_rows, part_slots, part_data):
    """Copy the entries of rows ``[lo, hi)`` into their slot ranges' parts (``bounds`` as in
    :func:`count_parts`, every slot inside), in row order: range ``t`` gets the next entries
    from ``fill[t]`` on of ``part_rows`` (the row), ``part_slots`` and, if sized, ``part_data``."""
    has_data = part_data.shape[0] > 0
    for r in range(lo, hi):
        for p in range(indptr[r], indptr[r + 1]):
            j = slots[p]
            t = _range_of(j, bounds)
            q = fill[t]
            part_rows[q] = r
            part_slots[q] = j
            if has_data:
                part_data[q] = data[p]
            fill[t] = q + 1


@jit
def scatter_entries(part_rows, part_slots, part_data, g, k1, rec, curvature, first, stop, head):
    """For the entries ``[first, stop)`` of one slot range (in row order):
    ``rec[j, 1] += g[r] x_rj`` and, with ``curvature`` > 0, ``rec[j, 2] += k1[r - head] x_rj^2``."""
    has_data = part_data.shape[0] > 0
    for e in range(first, stop):
        if e + 16 < stop:  # the slots ahead are known: request their records early
            prefetch_row(rec, part_slots[e + 16])
        r = part_rows[e]
        j = part_slots[e]
        x = part_data[e] if has_data else 1.0
        rec[j, 1] += g[r] * x
        if curvature > 0.0:
            rec[j, 2] += k1[r - head] * x * x
