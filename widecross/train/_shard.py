"""Kernels of a shard's round: its rows' slots renamed into a small local state, and back.

A shard trains on a copy of the records of the slots its rows touch, indexed by *local* ids
``0..n_local-1`` (first appearance first), so that its state is O(slots touched), never as long
as the whole state. The renaming goes through an open-addressing table keyed by slot (the same
Fibonacci hashing and linear probing as the column -> slot map), which the shard keeps between
rounds and clears in O(touched).
"""

from __future__ import annotations

from .._jit import jit
from .._prefetch import prefetch_row
from .slots import EMPTY, _home, _shift

_AHEAD = 32


@jit
def localize(slots, n_entries, table, ids, counts, buckets):
    """Rename ``slots[:n_entries]`` in place to local ids; ``ids[l]`` is local ``l``'s slot,
    ``counts[l]`` the entries (rows) that touch it, ``buckets[l]`` its bucket in ``table``
    ((capacity, 2) int64, all EMPTY, capacity a power of two above ``2 n_entries``). Returns the
    number of local ids."""
    cap = table.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    n_local = 0
    for p in range(n_entries):
        if p + _AHEAD < n_entries:
            prefetch_row(table, _home(slots[p + _AHEAD], shift))
        c = slots[p]
        h = _home(c, shift)
        while True:
            k = table[h, 0]
            if k == c:
                local = table[h, 1]
                counts[local] += 1.0
                slots[p] = local
                break
            if k == EMPTY:
                table[h, 0] = c
                table[h, 1] = n_local
                ids[n_local] = c
                counts[n_local] = 1.0
                buckets[n_local] = h
                slots[p] = n_local
                n_local += 1
                break
            h = (h + 1) & mask
    return n_local


@jit
def clear(table, buckets, n_local):
    """Empty the buckets ``localize`` filled: O(touched), not O(capacity)."""
    for local in range(n_local):
        table[buckets[local], 0] = EMPTY


@jit
def take(records, ids, n_local, local, base):
    """Copy the records of slots ``ids[:n_local]`` into ``local`` (to train) and ``base`` (to mix)."""
    for i in range(n_local):
        prefetch_row(records, ids[i + 8] if i + 8 < n_local else ids[i])
        for f in range(records.shape[1]):
            v = records[ids[i], f]
            local[i, f] = v
            base[i, f] = v
