"""Kernels that lay out the exact solver's rows: the row order and the column-major view.

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

from .._jit import jit

ORDER_DEPTH = 2  # rows are ordered by their two most frequent columns (coarsest cell first)


@jit
def count_columns(indptr, slots, col_ptr, last_row):
    """Entries per slot into ``col_ptr[1:]`` (zeroed by the caller) and their running sum;
    returns the number of entries that repeat a slot earlier in their row (the column view
    needs them summed first). ``last_row`` (n_slots, filled with -1) is scratch."""
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
def row_keys(indptr, slots, col_ptr, keys):
    """``keys[r, :]``: the slots of row ``r`` with the most entries in the whole data (ties: the
    smaller slot), most frequent first; ``n_slots`` where the row has fewer entries."""
    n_slots = col_ptr.shape[0] - 1
    depth = keys.shape[1]
    for r in range(indptr.shape[0] - 1):
        for d in range(depth):
            keys[r, d] = n_slots
        for p in range(indptr[r], indptr[r + 1]):
            j = slots[p]
            size = col_ptr[j + 1] - col_ptr[j]
            # insert j into the row's sorted top ``depth`` (by size, then slot)
            for d in range(depth):
                k = keys[r, d]
                if k == j:
                    break
                k_size = col_ptr[k + 1] - col_ptr[k] if k < n_slots else -1
                if size > k_size or (size == k_size and j < k):
                    for e in range(depth - 1, d, -1):
                        keys[r, e] = keys[r, e - 1]
                    keys[r, d] = j
                    break


@jit
def counting_sort(keys, order, counts, out):
    """``out``: ``order`` stably sorted by ``keys[order]`` (values in ``[0, counts.size - 1)``);
    ``counts`` is scratch."""
    counts[:] = 0
    for r in order:
        counts[keys[r] + 1] += 1
    for k in range(1, counts.shape[0]):
        counts[k] += counts[k - 1]
    for r in order:
        k = keys[r]
        out[counts[k]] = r
        counts[k] += 1


@jit
def fill_columns(indptr, slots, data, order, col_ptr, new_indptr, new_slots, new_data, col_rows, col_data):
    """The rows in ``order`` (``new_*``: row ``k`` is input row ``order[k]``) and their
    column-major copy (``col_*``, rows ascending within a column) in one pass over the entries.
    The CSR has no repeated slot in a row; ``data`` may be empty (every value is one)."""
    has_data = data.shape[0] > 0
    fill = col_ptr[:-1].copy()
    q = 0
    new_indptr[0] = 0
    for k in range(order.shape[0]):
        r = order[k]
        for p in range(indptr[r], indptr[r + 1]):
            j = slots[p]
            c = fill[j]
            col_rows[c] = k
            new_slots[q] = j
            if has_data:
                col_data[c] = data[p]
                new_data[q] = data[p]
            fill[j] = c + 1
            q += 1
        new_indptr[k + 1] = q
