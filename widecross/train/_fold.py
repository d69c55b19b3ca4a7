"""Rows with identical entries folded into one weighted row (the exact solver's problem build).

Rows whose entries are the same slots with the same values have the same margin at every
point, so their losses add up to one loss of their summed weight: the logistic loss
``log(1 + e^m) - y m`` is linear in ``y``, so a group with weights ``a_i`` and labels ``y_i``
contributes exactly ``A loss(ybar, m)`` (``A = sum a_i``, ``ybar = sum a_i y_i / A`` in [0, 1]);
the squared loss the same up to the constant ``sum a_i (y_i - ybar)^2 / 2``, which the problem
adds back to every objective it reports. The optimum, its objective and its duality gap are
those of the input rows, and every pass of the solver reads fewer rows and entries. On the geo
crosses (1 degree, 10' and 1' cells and the 1' marginals) 1M generated houses are 750,670
distinct rows (200k: 183,873; the 250,000 rows the ``l1="auto"`` path trains on at 1M: 225,848),
1M houses of the regional set (geo crosses and a property type) 684,851; ad-click rows (20
hashed fields and a count) never repeat.

Finding the groups rides on the row order the layout sorts anyway (:mod:`._layout`): rows
sorted by their two most frequent slots, functions of a row's entries, put every copy of a row in
the same run of those keys; each run gets a small hash table (64-bit hashes of the rows' slots and
value bits, every match confirmed entry by entry: a collision costs a comparison, never a wrong
group). O(n_rows + nnz) time, nothing sized by the model width. Measured at 1M geo rows (CPU-s,
a loaded 2-core machine): grouping, labels and the compaction 0.07, the column copy 0.03 less;
one hash table over all rows (a cache miss per row, a freshly faulted 16 MB table) cost 0.25,
and a window of the 16 most recent distinct rows found only 80 % of the copies.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

# Folding makes the rows weighted (one more stream per pass); below this share of rows saved
# the solver gains nothing from it, and the rows are left as they came. Measured (solve CPU-s,
# folded / unfolded, alternated, l1 1e-6 and 1e-5): 8 % saved (200k geo rows) 0.94-1.05 and
# 1.07-1.26, 12 % (200k regional rows) 0.79 and 0.87, 16 % (500k geo) 0.85 and 0.86, 25 % (1M
# geo) 0.82 and 0.83.
MIN_SAVED = 0.1
# Rows whose first runs (this share of the rows) save less than ``MIN_SAVED`` are left as they
# came without looking further: on rows that never repeat (1M ad-click rows of 21 entries) the
# whole search cost 0.17 CPU-s, a seventh of it so. Copies lie within one run, so these runs'
# count is exact for them: a sample of runs, not of rows.
PROBE_SHARE = 1 / 8

# every bit of the rows' hashes; tests pass fewer to force collisions (equal hashes must still
# be told apart by the comparison)
ALL_HASH_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)


def value_bits(data: np.ndarray) -> np.ndarray:
    """The values' bit patterns as unsigned integers (empty stays empty), compared exactly
    (``-0.0`` and ``0.0`` are then two rows, which only costs a fold)."""
    if data.size == 0:
        return np.empty(0, dtype=np.uint64)
    return data.view(np.uint32 if data.dtype == np.float32 else np.uint64)


@jit
def same_row(indptr, slots, bits, a, b):
    """Rows ``a`` and ``b`` hold the same slots with the same value bits, in the same order."""
    length = indptr[a + 1] - indptr[a]
    if indptr[b + 1] - indptr[b] != length:
        return False
    pa, pb = indptr[a], indptr[b]
    has_bits = bits.shape[0] > 0
    for k in range(length):
        if slots[pa + k] != slots[pb + k]:
            return False
        if has_bits and bits[pa + k] != bits[pb + k]:
            return False
    return True


@jit
def row_hash(indptr, slots, bits, r):
    """A 64-bit hash of row ``r``'s length, slots and value bits: a cheap first test of equality."""
    h = np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(indptr[r + 1] - indptr[r])
    has_bits = bits.shape[0] > 0
    for p in range(indptr[r], indptr[r + 1]):
        h = (h ^ np.uint64(np.uint32(slots[p]))) * np.uint64(0xFF51AFD7ED558CCD)
        if has_bits:
            h = (h ^ np.uint64(bits[p])) * np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(29)
    return h


@jit
def same_key(run_keys, a, b):
    """Rows ``a`` and ``b`` have the same run keys (a row of ``run_keys`` each)."""
    for d in range(run_keys.shape[1]):
        if run_keys[a, d] != run_keys[b, d]:
            return False
    return True


@jit
def group_runs(indptr, slots, bits, run_keys, group_of, firsts, hash_bits, min_saved=0.0, probe_rows=0):
    """Number the rows' groups of identical rows in order of first appearance, copies looked for
    within each run of rows of equal ``run_keys`` (a row of keys each, functions of a row's
    entries, so copies share them; the rows arrive sorted by them): ``group_of[r]`` is row
    ``r``'s group, ``firsts[g]`` the first row of group ``g``. Returns the number of groups, or
    -1 where the runs within the first ``probe_rows`` rows (if any) save less than ``min_saved``
    of their rows: the search then stops there. ``hash_bits``: the bits of each row's hash kept
    (``ALL_HASH_BITS``; fewer only to test collisions).

    Each run gets an open-addressing table of at least twice its rows, in a scratch array as
    long as the longest run (reset entry by entry after the run): the probes stay in cache."""
    n = indptr.shape[0] - 1
    longest, start = 0, 0
    for r in range(1, n + 1):
        if r == n or not same_key(run_keys, r, start):
            longest = max(longest, r - start)
            start = r
    size = 1
    while size < 2 * longest:
        size *= 2
    table = np.full(size, -1, dtype=np.int64)
    group_hash = np.empty(n, dtype=np.uint64)
    n_groups = 0
    start = 0
    while start < n:
        if probe_rows > 0 and start >= probe_rows:  # the runs so far decide whether to go on
            if start - n_groups < min_saved * start:
                return -1
            probe_rows = 0
        end = start + 1
        while end < n and same_key(run_keys, end, start):
            end += 1
        if end - start == 1:  # alone in its run: no copies
            firsts[n_groups] = start
            group_of[start] = n_groups
            n_groups += 1
            start = end
            continue
        mask = 1
        while mask < 2 * (end - start):
            mask *= 2
        mask -= 1
        for r in range(start, end):
            h = row_hash(indptr, slots, bits, r) & hash_bits
            k = h & np.uint64(mask)
            while True:
                g = table[k]
                if g < 0:
                    table[k] = n_groups
                    firsts[n_groups] = r
                    group_hash[n_groups] = h
                    group_of[r] = n_groups
                    n_groups += 1
                    break
                if group_hash[g] == h and same_row(indptr, slots, bits, firsts[g], r):
                    group_of[r] = g
                    break
                k = (k + np.uint64(1)) & np.uint64(mask)
        for r in range(start, end):  # reset what the run used
            k = group_hash[group_of[r]] & np.uint64(mask)
            while table[k] >= 0:
                table[k] = -1
                k = (k + np.uint64(1)) & np.uint64(mask)
        start = end
    return n_groups


@jit
def fold_labels(y, sw, group_of, firsts, weight, label):
    """Per group its summed weight (``sw`` empty: the count) and weighted mean label (``weight``
    and ``label`` one per group, ``firsts`` its first row); returns ``sum_i sw_i (y_i - ybar)^2 / 2``,
    the squared loss's constant. A group of weight zero keeps its first row's label."""
    weighted = sw.shape[0] > 0
    weight[:] = 0.0
    label[:] = 0.0
    for i in range(y.shape[0]):
        a = sw[i] if weighted else 1.0
        weight[group_of[i]] += a
        label[group_of[i]] += a * y[i]
    for g in range(weight.shape[0]):
        # labels in [0, 1] keep their mean there: rounding is monotone, so sum a y <= sum a
        label[g] = label[g] / weight[g] if weight[g] > 0.0 else y[firsts[g]]
    constant = 0.0
    for i in range(y.shape[0]):
        d = y[i] - label[group_of[i]]
        constant += (sw[i] if weighted else 1.0) * d * d
    return 0.5 * constant


@jit
def keep_first_rows(indptr, slots, data, group_of, col_ptr):
    """Keep the first row of each group, in place (writes trail reads): ``indptr`` then holds
    the groups' pointers in its first n_groups + 1 entries, and ``col_ptr`` (running entry
    counts per slot) loses the entries of the rows left out. Returns the entries kept."""
    n_slots = col_ptr.shape[0] - 1
    # col_ptr[1:] turned into the entries per slot, in place (no n_slots scratch), summed after
    for j in range(n_slots, 0, -1):
        col_ptr[j] -= col_ptr[j - 1]
    has_data = data.shape[0] > 0
    q = 0
    kept = 0
    for r in range(indptr.shape[0] - 1):
        begin, end = indptr[r], indptr[r + 1]
        if group_of[r] < kept:  # a copy of an earlier row
            for p in range(begin, end):
                col_ptr[slots[p] + 1] -= 1
            continue
        indptr[kept] = q
        kept += 1
        for p in range(begin, end):
            slots[q] = slots[p]
            if has_data:
                data[q] = data[p]
            q += 1
    indptr[kept] = q
    for j in range(n_slots):
        col_ptr[j + 1] += col_ptr[j]
    return q
