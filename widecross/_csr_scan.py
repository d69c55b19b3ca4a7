"""The compiled scans behind :func:`widecross._csr_check.checked_csr`: O(nnz) passes over the
index arrays of a sparse matrix that read only inside those arrays, whatever they hold, and
report the first problem as a status code and its position; and the scans of a fit's values and
labels behind :mod:`widecross._scans`.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# Scan status codes (OK = valid).
OK = 0
BAD_START = 1  # indptr[0] != 0
DECREASING = 2  # indptr[i + 1] < indptr[i]
PAST_END = 3  # indptr[i + 1] > len(indices)
BAD_MINOR = 4  # an index outside [0, n_minor)  (CSR: a column index; CSC: a row index)
BAD_MAJOR = 5  # COO only: a row index outside [0, n_rows)
NOT_FINITE = 6  # NaN or infinity among the values


@jit
def scan_compressed(indptr, indices, values, n_minor):
    """Check a compressed (CSR or CSC) structure; ``values`` empty: skip the value check.

    Returns ``(status, major, position, sorted)``: the first problem, the row (CSC: column) it is
    in and its position in ``indices``; ``sorted`` is True when every row's indices strictly
    increase (no duplicates). Reads only inside the arrays, whatever they hold.
    """
    if np.int64(indptr[0]) != 0:
        return BAD_START, np.int64(0), np.int64(0), False
    return scan_rows(indptr, indices, values, n_minor, 0, indptr.shape[0] - 1)


@jit
def scan_rows(indptr, indices, values, n_minor, lo, hi):
    """:func:`scan_compressed` of rows ``lo..hi-1`` alone (``indptr[0]`` is not checked): rows
    scanned block by block report, from the first block with a problem, the problem one scan
    reports. A row starting before 0 follows a decrease (reported earlier): DECREASING."""
    n_indices = np.int64(indices.shape[0])
    check_values = values.shape[0] > 0
    increasing = True
    for i in range(lo, hi):
        start = np.int64(indptr[i])
        stop = np.int64(indptr[i + 1])
        if stop < start or start < 0:
            return DECREASING, np.int64(i), start, False
        if stop > n_indices:
            return PAST_END, np.int64(i), stop, False
        previous = np.int64(-1)
        for k in range(start, stop):
            c = np.int64(indices[k])
            if c < 0 or c >= n_minor:
                return BAD_MINOR, np.int64(i), np.int64(k), False
            if c <= previous:
                increasing = False
            previous = c
            if check_values and not np.isfinite(values[k]):
                return NOT_FINITE, np.int64(i), np.int64(k), False
    return OK, np.int64(-1), np.int64(-1), increasing


@jit
def scan_coordinates(rows, columns, n_rows, n_columns):
    """Check COO coordinates; returns ``(status, position)`` of the first one out of range."""
    for p in range(rows.shape[0]):
        r = np.int64(rows[p])
        if r < 0 or r >= n_rows:
            return BAD_MAJOR, np.int64(p)
        c = np.int64(columns[p])
        if c < 0 or c >= n_columns:
            return BAD_MINOR, np.int64(p)
    return OK, np.int64(-1)


@jit
def count_nonzero_in(values, lo, hi):
    """How many of ``values[lo:hi]`` are not zero (iterating a slice: no negative-index
    wrap-around to check, so the loop is vectorized)."""
    n = 0
    for v in values[lo:hi]:
        n += v != 0
    return n


@jit
def label_codes(y, classes, codes):
    """``codes[i]`` = the position of ``y[i]`` in ``classes`` (each label compared with every
    class, without a branch); returns the first ``i`` whose label is none of them (the codes from
    there on are not written), or -1."""
    k = classes.shape[0]
    for i in range(y.shape[0]):
        v = y[i]
        code = 0
        hit = False
        for j in range(k):
            same = classes[j] == v
            code += j * same
            hit |= same
        if not hit:
            return i
        codes[i] = code
    return -1
