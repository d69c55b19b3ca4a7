"""Kernels of the polish's sums split for threads, with the serial sums' bits.

``_polish.add_rows`` makes one sweep: each row's margin, then its gradient added into the
records of its columns. Every slot's sums add its rows in row order, and so do the scalar sums;
any split that keeps those orders gives the same bits. The threaded pass splits the rows in two:

1. the *head* (the first rows) goes through ``_polish.add_rows`` itself on one thread, while
2. :func:`row_terms` computes, on row blocks on the other threads, each *tail* row's weighted
   loss derivative (and loss) at the current point into per-row arrays (rows are independent;
   the weights are read from a copy, the head's thread writes only the sums);
3. :func:`scatter_segments`, one slot range per task: each slot's gradient and curvature bound
   from the tail rows, in row order, after the head's; :func:`ordered_sums` continues the
   scalar sums (weight, loss, intercept gradient and curvature) over the tail in row order.
   The tail's entries are split by slot range once per fit (:func:`count_segments`,
   :func:`fill_segments`), 4 bytes each (and the value if any): row and slot within their
   block of ``2^(32 - SLOT_BITS)`` rows and their slot range (``2^SLOT_BITS`` slots at most).

The head saves the tail's second random access per entry (the one-sweep kernel finds the
record it just read); its length balances step 1 against step 2 (see ``blocksums``). Nothing
is held but the split entries, the weights (one array, kept by the slot sweeps) and the tail's
per-row terms: fresh memory costs its page faults, which on some machines take longer than a pass.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from .._prefetch import prefetch_row
from ._loss import loss_derivative, loss_value
from ._polish import WEIGHTS_AHEAD, row_margin

# a split entry packs its slot in its range into the low bits, its row in its block above
SLOT_BITS = 20
# slots per block of the coarse range table (:func:`range_of`)
COARSE_BITS = 12
# split entries between a record's request and its use in :func:`scatter_segments` (measured on
# 1M generated rows at 2^22, one thread: 8 / 16 / 32 / 64 / 128 ahead 12.4 / 11.1 / 10.5 / 9.6 /
# 10.1 ms a pass)
_AHEAD = 64


@jit
def row_terms(indptr, slots, data, y, sw, weights, b, loss, want_loss, lo, hi, g_out, loss_out):
    """For rows ``[lo, hi)``: ``g_out[r] = s loss'(y, m)`` (if sized) and, with ``want_loss``,
    ``loss_out[r] = s loss(y, m)`` at margin ``m = b + x . weights`` (slot -1 weighs 0)."""
    want_g = g_out.shape[0] > 0
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    for r in range(lo, hi):
        if r + WEIGHTS_AHEAD < hi:
            for p in range(indptr[r + WEIGHTS_AHEAD], indptr[r + WEIGHTS_AHEAD + 1]):
                prefetch_row(weights, slots[p])
        s = sw[r] if weighted else 1.0
        m = row_margin(indptr, slots, data, has_data, weights, r, b)
        if want_g:
            g_out[r] = s * loss_derivative(loss, y[r], m)
        if want_loss:
            loss_out[r] = s * loss_value(loss, y[r], m)


@jit
def ordered_sums(indptr, sw, g, loss_terms, want_loss, lo, sums):
    """Add the weight, loss, intercept gradient (``g`` if sized) and curvature term of rows ``lo``
    to the last to ``sums`` (the ``_polish.SUM_*`` layout) in row order."""
    weighted = sw.shape[0] > 0
    want_g = g.shape[0] > 0
    total = sums[0]
    loss_sum = sums[1]
    gb = sums[2]
    lb = sums[3]
    for r in range(lo, indptr.shape[0] - 1):
        s = sw[r] if weighted else 1.0
        if want_loss:
            loss_sum += loss_terms[r]
        total += s
        if want_g:
            gb += g[r]
        lb += s * (indptr[r + 1] - indptr[r] + 1.0)
    sums[0] = total
    sums[1] = loss_sum
    sums[2] = gb
    sums[3] = lb


@jit
def running_sum(values, lo, hi, start):
    """``start`` plus ``values[lo:hi]`` added one by one in order (the intercept gradient of
    :func:`ordered_sums` alone, for a pass whose data-only sums are known)."""
    total = start
    for r in range(lo, hi):
        total += values[r]
    return total


@jit
def slot_extremes(slots, lo, hi):
    """(smallest, largest) of ``slots[lo:hi]``, ``(0, -1)`` when empty: the records the rows
    may index, checked once before any kernel writes through them."""
    if hi <= lo:
        return 0, -1
    small = big = slots[lo]
    for p in range(lo + 1, hi):
        j = slots[p]
        small = min(small, j)
        big = max(big, j)
    return small, big


@jit(inline="always")
def range_of(first_range, bounds, j):
    """The slot range holding slot ``j``: from ``first_range[j >> COARSE_BITS]`` (the range of
    the first slot of ``j``'s coarse block, a table small enough to stay in cache, unlike one
    entry per slot) on, past the few ranges that end inside the block."""
    t = first_range[j >> COARSE_BITS]
    while j >= bounds[t + 1]:
        t += 1
    return t


def coarse_ranges(bounds: np.ndarray, n_slots: int) -> np.ndarray:
    """``first_range`` of :func:`range_of` for ``bounds`` (increasing, ``bounds[0] == 0``,
    ``bounds[-1] == n_slots``): the range of each coarse block's first slot."""
    firsts = np.arange(0, n_slots, 1 << COARSE_BITS, dtype=np.int64)
    return (np.searchsorted(bounds, firsts, side="right") - 1).astype(np.int32)


@jit
def count_segments(indptr, slots, first_range, bounds, lo, hi, block_rows, counts):
    """``counts[b, t]``: the entries of rows ``[lo + b block_rows, lo + (b + 1) block_rows)``
    (below ``hi``) whose slot is in range ``t`` (every slot checked inside the records first)."""
    for r in range(lo, hi):
        b = (r - lo) // block_rows
        for p in range(indptr[r], indptr[r + 1]):
            counts[b, range_of(first_range, bounds, slots[p])] += 1


@jit
def fill_segments(indptr, slots, data, first_range, bounds, lo, hi, block_rows, fill, packed, part_data):
    """Copy the entries of rows ``[lo, hi)`` into their slot ranges' segments, in row order:
    range ``t`` gets the next entries of block ``b`` (as in :func:`count_segments`) from
    ``fill[b, t]`` on, each packed as ``row in its block << SLOT_BITS | slot - bounds[t]``, its
    value in ``part_data`` if sized."""
    has_data = part_data.shape[0] > 0
    for r in range(lo, hi):
        b = (r - lo) // block_rows
        row = np.uint32(r - lo - b * block_rows) << np.uint32(SLOT_BITS)
        for p in range(indptr[r], indptr[r + 1]):
            j = slots[p]
            t = range_of(first_range, bounds, j)
            q = fill[b, t]
            packed[q] = row | np.uint32(j - bounds[t])
            if has_data:
                part_data[q] = data[p]
            fill[b, t] = q + 1


@jit
def scatter_segments(packed, part_data, starts, first_row, block_rows, first_slot, indptr, sw, g, rec, curvature):
    """One slot range's sums from its segments (block ``b``'s entries are
    ``[starts[b], starts[b + 1])``, rows from ``first_row + b block_rows``), in row order:
    ``rec[j, 1] += g[r] x_rj`` and, with ``curvature`` > 0, ``rec[j, 2] += s_r (k_r + 1) x_rj^2``,
    as ``_polish.add_rows`` adds them."""
    has_data = part_data.shape[0] > 0
    weighted = sw.shape[0] > 0
    stop = starts[starts.shape[0] - 1]
    shift = np.uint32(SLOT_BITS)
    mask = np.uint32((1 << SLOT_BITS) - 1)
    for b in range(starts.shape[0] - 1):
        r0 = first_row + b * block_rows
        for q in range(starts[b], starts[b + 1]):
            if q + _AHEAD < stop:  # the slots ahead are known: request their records early
                prefetch_row(rec, first_slot + (packed[q + _AHEAD] & mask))
            e = packed[q]
            r = r0 + (e >> shift)
            j = first_slot + (e & mask)
            x = part_data[q] if has_data else 1.0
            rec[j, 1] += g[r] * x
            if curvature > 0.0:
                s = sw[r] if weighted else 1.0
                rec[j, 2] += s * (indptr[r + 1] - indptr[r] + 1.0) * x * x
