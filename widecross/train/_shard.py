"""Kernels of a shard's round: its rows' slots renamed into a small local state, and back.

A shard trains on a copy of the records of the slots its rows touch, indexed by *local* ids
``0..n_local-1`` (first appearance first), so that its state is O(slots touched), never as long
as the whole state. The renaming goes through an open-addressing table keyed by slot (the same
Fibonacci hashing and linear probing as the column -> slot map), which the shard keeps between
rounds and clears in O(touched).
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from .._prefetch import prefetch_row
from .slots import EMPTY, _home, _shift

_AHEAD = 32


@jit
def localize(slots, n_entries, table, ids, counts, buckets, local, records, state):
    """Local ids of ``slots[:n_entries]`` into ``local``; ``ids[l]`` is local ``l``'s slot,
    ``counts[l]`` the entries (rows) that touch it, ``buckets[l]`` its bucket in ``table``
    ((capacity, 2) int32, all EMPTY, capacity a power of two), ``state[l]`` a copy of its
    record in ``records``. Returns the number of local ids, or ``-1 - n`` when the table would
    get more than half full after ``n`` of them (the caller clears those, grows the table and
    starts again). The bucket and the record of the entry ``_AHEAD`` on are requested now."""
    cap = table.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    limit = cap // 2
    n_local = 0
    for p in range(n_entries):
        if p + _AHEAD < n_entries:
            prefetch_row(table, _home(slots[p + _AHEAD], shift))
            prefetch_row(records, slots[p + _AHEAD])
        c = slots[p]
        h = _home(c, shift)
        while True:
            k = table[h, 0]
            if k == c:
                j = table[h, 1]
                counts[j] += 1.0
                local[p] = j
                break
            if k == EMPTY:
                if n_local >= limit:
                    return -1 - n_local
                table[h, 0] = c
                table[h, 1] = n_local
                ids[n_local] = c
                counts[n_local] = 1.0
                buckets[n_local] = h
                for f in range(records.shape[1]):
                    state[n_local, f] = records[c, f]
                local[p] = n_local
                n_local += 1
                break
            h = (h + 1) & mask
    return n_local


@jit
def clear(table, buckets, n_local):
    """Empty the buckets ``localize`` filled: O(touched), not O(capacity)."""
    for local in range(n_local):
        table[buckets[local], 0] = EMPTY


_DIGIT = 11  # radix sort digit: 2,048 buckets, a count table that stays in L1


@jit
def sorted_by_slot(ids, local, counts, n_local, out_ids, out_local, out_counts):
    """``ids[:n_local]`` in increasing order with their records and counts (an LSD radix sort
    of (slot, local id) pairs, as many passes as the largest slot needs): what
    ``mixing.merge_into`` takes."""
    keys = ids[:n_local].copy()
    order = np.arange(n_local)
    spare_keys = np.empty(n_local, dtype=np.int64)
    spare = np.empty(n_local, dtype=np.int64)
    largest = 0
    for i in range(n_local):
        largest = max(largest, keys[i])
    mask = 2**_DIGIT - 1
    shift = 0
    while shift == 0 or (largest >> shift) > 0:
        starts = np.zeros(mask + 2, dtype=np.int64)
        for i in range(n_local):
            starts[((keys[i] >> shift) & mask) + 1] += 1
        for d in range(mask + 1):
            starts[d + 1] += starts[d]
        for i in range(n_local):
            d = (keys[i] >> shift) & mask
            q = starts[d]
            spare_keys[q] = keys[i]
            spare[q] = order[i]
            starts[d] = q + 1
        keys, spare_keys = spare_keys, keys
        order, spare = spare, order
        shift += _DIGIT
    for i in range(n_local):
        j = order[i]
        out_ids[i] = keys[i]
        out_counts[i] = counts[j]
        for f in range(local.shape[1]):
            out_local[i, f] = local[j, f]
