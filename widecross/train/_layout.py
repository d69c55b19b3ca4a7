"""The exact solver's layout of its rows: the row order and the column-major view (kernels, and
``column_view`` that runs them).

The coordinate sweeps of :mod:`._cd` read, for each column, one record per row of that column
out of an array of all rows (tens of megabytes at a million rows). In the order the rows come
in, a column's rows are scattered over that array: every entry is a cache miss. Rows are
therefore renumbered so that rows sharing their most frequent columns are neighbours
(``row_order``): on nested crosses (a 1' cell inside a 10' cell inside a 1 degree cell) the rows
of a cell then form a few contiguous runs, and a sweep reads whole cache lines of them. The
order changes no result beyond rounding: the solver's output is per column.

Everything here is O(nnz + n_rows + n_slots): nothing is sized by the model width.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._jit import jit
from . import _fold
from .rows import Rows, take_rows

ORDER_DEPTH = 2  # rows are ordered by their two most frequent columns (coarsest cell first)
# The column view keeps no values where at most this share of the entries is not one (hashed
# crosses: the few rows where two features fell into one slot): those entries are listed apart
# (``fill_fixes``) and every other entry reads as one, so the sweeps stream 4 bytes less per
# entry. 1M geo rows at 2^22 have 2 such entries of 3.75M: solve 14 % faster at l1 1e-6.
MAX_FIXED_SHARE = 1 / 8


@jit
def count_columns(indptr, slots, col_ptr, last_row):
    """Entries per slot into ``col_ptr[1:]`` (zeroed by the caller) and their running sum;
    returns the number of entries that repeat a slot earlier in their row (the column view
    needs them summed first). ``last_row`` (n_slots, filled with -1; int32 where the rows'
    numbers fit: half the first writes) is scratch."""
    repeats = 0
    for r in range(indptr.shape[0] - 1):
        for p in range(indptr[r], indptr[r + 1]):
            j = slots[p]
            if last_row[j] == r:
                repeats += 1
            else:
                last_row[j] = r
                col_ptr[j + 1] += 1
    for j in range(col_ptr.shape[0] - 1):
        col_ptr[j + 1] += col_ptr[j]
    return repeats


@jit
def row_keys(indptr, slots, sizes, keys):
    """``keys[r, :]``: the slots of row ``r`` with the most entries in the whole data (``sizes``,
    per slot; ties: the smaller slot), most frequent first; ``n_slots`` where the row has fewer
    entries. (The rows' slots are spread over the slots: every size read is a cache miss, so
    ``sizes`` is as narrow as it can be, and the top's sizes are kept aside, not read again.
    At 1M geo rows this took 0.13 CPU-s reading the sizes off the int64 ``col_ptr``, 0.06 so.)"""
    n_slots = sizes.shape[0]
    depth = keys.shape[1]
    top_size = np.empty(depth, dtype=np.int64)
    for r in range(indptr.shape[0] - 1):
        for d in range(depth):
            keys[r, d] = n_slots
            top_size[d] = -1
        for p in range(indptr[r], indptr[r + 1]):
            j = slots[p]
            size = sizes[j]
            # insert j into the row's sorted top ``depth`` (by size, then slot)
            for d in range(depth):
                k = keys[r, d]
                if k == j:
                    break
                if size > top_size[d] or (size == top_size[d] and j < k):
                    for e in range(depth - 1, d, -1):
                        keys[r, e] = keys[r, e - 1]
                        top_size[e] = top_size[e - 1]
                    keys[r, d] = j
                    top_size[d] = size
                    break


def slot_sizes(col_ptr: np.ndarray) -> np.ndarray:
    """Entries per slot, in the narrowest integers that hold them (``row_keys``)."""
    sizes = np.diff(col_ptr)
    return sizes.astype(np.int32) if col_ptr[-1] < 2**31 else sizes


@jit
def counting_sort(keys, d, order, counts, out, out_keys):
    """``out``: ``order`` stably sorted by ``keys[order, d]`` (values in ``[0, counts.size - 1)``);
    ``counts`` is scratch. ``out_keys`` (empty, or shaped like ``keys``): also each row's keys,
    in ``out``'s order (their cache line is read anyway: cheaper than gathering them after)."""
    counts[:] = 0
    for r in order:
        counts[keys[r, d] + 1] += 1
    for k in range(1, counts.shape[0]):
        counts[k] += counts[k - 1]
    with_keys = out_keys.shape[0] > 0
    for r in order:
        k = keys[r, d]
        q = counts[k]
        out[q] = r
        if with_keys:
            for e in range(keys.shape[1]):
                out_keys[q, e] = keys[r, e]
        counts[k] = q + 1


@jit
def fill_columns(indptr, slots, data, col_ptr, col_rows, col_data):
    """Column-major copy of a slot CSR without repeated slots: rows ascend within a column.
    (Fed the rows already in their new order: filled from rows read in a random order, in the
    same pass as their copy, it took 1.7x as long.)"""
    has_data = data.shape[0] > 0
    # each column's next place is kept in its own ``col_ptr`` entry (no n_slots scratch), which
    # then holds the next column's start: shifted back after
    for r in range(indptr.shape[0] - 1):
        for p in range(indptr[r], indptr[r + 1]):
            j = slots[p]
            q = col_ptr[j]
            col_rows[q] = r
            if has_data:
                col_data[q] = data[p]
            col_ptr[j] = q + 1
    shift_back(col_ptr)


@jit
def shift_back(ptr):
    """``ptr[j] = ptr[j - 1]`` from the last entry down, ``ptr[0] = 0``: a fill that advanced
    each column's start to the next one's, undone."""
    for j in range(ptr.shape[0] - 1, 0, -1):
        ptr[j] = ptr[j - 1]
    if ptr.shape[0]:
        ptr[0] = 0


@jit
def fill_fixes(indptr, slots, data, fix_ptr, fix_rows, fix_data):
    """The column view of the entries whose value is not one: ``fix_ptr`` (n_slots + 1, zeroed
    by the caller) and, rows ascending within a column, each entry's row and value."""
    for r in range(indptr.shape[0] - 1):
        for p in range(indptr[r], indptr[r + 1]):
            if data[p] != 1.0:
                fix_ptr[slots[p] + 1] += 1
    for j in range(fix_ptr.shape[0] - 1):
        fix_ptr[j + 1] += fix_ptr[j]
    for r in range(indptr.shape[0] - 1):
        for p in range(indptr[r], indptr[r + 1]):
            if data[p] != 1.0:
                q = fix_ptr[slots[p]]
                fix_rows[q] = r
                fix_data[q] = data[p]
                fix_ptr[slots[p]] = q + 1
    shift_back(fix_ptr)


class ColumnView(NamedTuple):
    """The rows by column: ``col_ptr`` (n_slots + 1), each entry's row (ascending within a
    column) and value; values either in ``col_data`` (one per entry) or, where almost all are
    one, ``col_data`` empty and the other entries in the ``fix_*`` arrays (a column view of
    their own: ``fix_ptr`` empty when there are none)."""

    col_ptr: np.ndarray
    col_rows: np.ndarray
    col_data: np.ndarray
    fix_ptr: np.ndarray
    fix_rows: np.ndarray
    fix_data: np.ndarray


def column_arrays(rows: Rows, col_ptr: np.ndarray) -> ColumnView:
    """The column view of ``rows`` (no repeated slots within a row; ``col_ptr`` their running
    counts per slot)."""
    nnz = rows.slots.shape[0]
    col_rows = np.empty(nnz, dtype=np.int32)
    no_fixes = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32), np.empty(0, dtype=rows.data.dtype))
    n_fixed = int(np.count_nonzero(rows.data != 1.0)) if rows.data.size else 0
    if rows.data.size and n_fixed > MAX_FIXED_SHARE * nnz:
        col_data = np.empty_like(rows.data)
        fill_columns(rows.indptr, rows.slots, rows.data, col_ptr, col_rows, col_data)
        return ColumnView(col_ptr, col_rows, col_data, *no_fixes)
    no_values = np.empty(0, dtype=rows.data.dtype)
    fill_columns(rows.indptr, rows.slots, no_values, col_ptr, col_rows, no_values)
    if not n_fixed:
        return ColumnView(col_ptr, col_rows, no_values, *no_fixes)
    fix_ptr = np.zeros(col_ptr.shape[0], dtype=np.int64)
    fix_rows, fix_data = np.empty(n_fixed, dtype=np.int32), np.empty(n_fixed, dtype=rows.data.dtype)
    fill_fixes(rows.indptr, rows.slots, rows.data, fix_ptr, fix_rows, fix_data)
    return ColumnView(col_ptr, col_rows, no_values, fix_ptr, fix_rows, fix_data)


def column_view(rows: Rows, n_slots: int, fold: bool = False) -> tuple[ColumnView, Rows, np.ndarray, float]:
    """The column view of slot-indexed rows, renumbered first (``row_order``): returns (the
    ``ColumnView``, the rows, repeated slots summed, in their new order, that order: the input
    row of each row, and the squared loss's constant of folding). ``fold``: identical rows
    (they share a run of the order's keys) become one row (``_fold``; where that saves at least
    ``_fold.MIN_SAVED`` of the rows), and the order names the first input row of each."""
    indptr, slots, data = rows.indptr, rows.slots, rows.data
    col_ptr = np.zeros(n_slots + 1, dtype=np.int64)
    last_row = np.full(n_slots, -1, dtype=index_dtype(indptr.shape[0] - 1))
    if count_columns(indptr, slots, col_ptr, last_row):
        import scipy.sparse as sp  # a slot repeated within a row: sum the repeats, then count again

        # summed in float64: values stored as float32 (exact each) need not be exact in sum
        values = data.astype(np.float64) if data.size else np.ones(slots.shape[0])
        # a copy: summing in place would rewrite the caller's arrays
        merged = sp.csr_matrix((values, slots, indptr), shape=(indptr.shape[0] - 1, n_slots), copy=True)
        merged.sum_duplicates()
        rows = rows._replace(indptr=merged.indptr, slots=merged.indices.astype(np.int32), data=merged.data)
        col_ptr[:] = 0
        last_row[:] = -1
        count_columns(rows.indptr, rows.slots, col_ptr, last_row)
    del last_row
    order, keys = row_order(rows.indptr, rows.slots, col_ptr, with_keys=True)
    rows = take_rows(rows, order, int(rows.indptr[-1]))
    folded = _fold_runs(rows, keys, col_ptr) if fold else None
    del keys
    constant = 0.0
    if folded is not None:
        rows, firsts, constant = folded
        order = order[firsts]
    return column_arrays(rows, col_ptr), rows, order.astype(np.int64, copy=False), constant


def _fold_runs(rows: Rows, run_keys: np.ndarray, col_ptr: np.ndarray) -> tuple[Rows, np.ndarray, float] | None:
    """Where enough of ``rows`` (ordered by ``run_keys``, a row each; owned here) are copies of
    an earlier row of their run: the rows with each copy folded into the first (in place), the
    position of each first, and the squared loss's constant, ``col_ptr`` then counting the
    folded rows' entries; else None."""
    n = rows.n_rows
    group_of, firsts = np.empty(n, dtype=index_dtype(n)), np.empty(n, dtype=index_dtype(n))
    n_groups = _fold.group_runs(rows.indptr, rows.slots, _fold.value_bits(rows.data), run_keys, group_of, firsts,
                                 _fold.ALL_HASH_BITS, _fold.MIN_SAVED, int(_fold.PROBE_SHARE * n))
    if n_groups < 0 or n - n_groups < _fold.MIN_SAVED * n:
        return None
    weight, label = np.empty(n_groups), np.empty(n_groups)
    constant = _fold.fold_labels(np.asarray(rows.y, dtype=np.float64), rows.sw, group_of, firsts, weight, label)
    nnz = _fold.keep_first_rows(rows.indptr, rows.slots, rows.data, group_of, col_ptr)
    folded = Rows(rows.indptr[: n_groups + 1], rows.slots[:nnz], rows.data[:nnz] if rows.data.size else rows.data,
                  label, weight)
    return folded, firsts[:n_groups], constant


def row_order(indptr: np.ndarray, slots: np.ndarray, col_ptr: np.ndarray, with_keys: bool = False):
    """Rows sorted by their ``ORDER_DEPTH`` most frequent slots (``row_keys``), by a
    stable counting sort per key from the last to the first: O(depth (n_rows + n_slots)).
    ``with_keys``: also the keys of each row in that order (its most frequent slots; copies of a
    row share them: ``_fold``).

    Folding looks for copies within runs of equal keys: by the first key alone, a slot in every
    row (a bias, a numeric column) made one run of all rows, and a hash table of all rows cost
    1M ad-click rows 0.9 CPU-s to find no copy; by both keys the longest run there is short."""
    n = indptr.shape[0] - 1
    keys = np.empty((n, ORDER_DEPTH), dtype=np.int32)
    row_keys(indptr, slots, slot_sizes(col_ptr), keys)
    counts = np.empty(col_ptr.shape[0] + 1, dtype=index_dtype(n))
    order, spare = np.arange(n, dtype=index_dtype(n)), np.empty(n, dtype=index_dtype(n))
    sorted_keys = np.empty_like(keys) if with_keys else np.empty((0, ORDER_DEPTH), dtype=np.int32)
    no_keys = np.empty((0, ORDER_DEPTH), dtype=np.int32)
    for d in range(ORDER_DEPTH - 1, -1, -1):
        counting_sort(keys, d, order, counts, spare, sorted_keys if d == 0 else no_keys)
        order, spare = spare, order
    return (order, sorted_keys) if with_keys else order


def index_dtype(n: int) -> type:
    """The narrowest integers that number ``n`` rows (every index here is below ``n``): int32
    halves the order's arrays and the first writes to them in a fresh process."""
    return np.int32 if n < 2**31 else np.int64
