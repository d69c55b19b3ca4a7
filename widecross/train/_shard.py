"""Kernels of the sharded epochs: each shard's rows renamed once into a small local state, the
shards' orders of a pass, and the mix of the slots that several shards share.

A shard trains on its own copy of the records of the slots its rows touch, indexed by *local*
ids, so that its state is O(slots it touches), never as long as the whole state. Local ids put
the *shared* slots (touched by rows of two shards or more) first, in increasing slot order, then
the slots the shard alone touches in order of first appearance: the shared ones of every shard
are then a prefix of its state, and walking them in local order walks the union of shared slots
in order too (``shared_pos`` is increasing), which is what keeps the mix sequential.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

SHARED = -2  # ``owner`` of a slot touched by two shards or more
_MARK = -3


@jit
def mark_slots(indptr, slots, rows, marks):
    """Set bit ``s`` of ``marks`` (64 slots a word) for the slot ``s`` of each entry of ``rows``:
    the slots one shard's rows touch, in n_slots / 8 bytes."""
    for i in range(rows.shape[0]):
        r = rows[i]
        for p in range(indptr[r], indptr[r + 1]):
            s = slots[p]
            marks[s >> 6] |= np.uint64(1) << np.uint64(s & 63)


@jit
def owners_from_marks(marks, owner, lo, hi):
    """``owner[s]`` for the slots ``lo <= s < hi`` (a thread's range) from the shards' marks
    (``marks[k]``: shard ``k``'s, see ``mark_slots``): -1 (untouched), the one shard whose rows
    touch slot ``s``, or ``SHARED``. Returns the number of shared slots in the range."""
    n_shared = 0
    for s in range(lo, hi):
        word = s >> 6
        bit = np.uint64(1) << np.uint64(s & 63)
        o = -1
        for k in range(marks.shape[0]):
            if marks[k, word] & bit:
                if o == -1:
                    o = k
                else:
                    o = SHARED
                    n_shared += 1
                    break
        owner[s] = o
    return n_shared


@jit
def number_shared(owner, union):
    """The shared slots in increasing order into ``union``; ``owner[s]`` of the ``u``-th becomes
    ``SHARED - u``. Returns how many."""
    n = 0
    for s in range(owner.shape[0]):
        if owner[s] == SHARED:
            union[n] = s
            owner[s] = SHARED - n
            n += 1
    return n


@jit
def localize_shard(indptr, slots, rows, n_shards, owner, union, mine, ids, shared_pos, shared_counts, local_slots):
    """The local ids of the entries of one shard's ``rows`` into ``local_slots`` (at the entries'
    places); returns (shared, local ids). ``ids[l]``: local ``l``'s slot; the first ``shared`` are
    its shared slots, at positions ``shared_pos`` of ``union``, touched by ``shared_counts`` of
    its entries.

    ``owner`` comes from ``number_shared``: the shard turns the ``owner`` of each slot that it
    alone touches (no other shard reads or writes it) into ``n_shards`` + its number among the
    shard's own slots (first appearance order). ``mine`` (one int32 per shared slot, all -1) is
    this shard's. One pass over the entries reads ``owner`` (the random reads) and leaves each
    entry a provisional id (``-1 - u`` for the shared slot ``u``, else the own slot's number);
    a second, sequential pass turns them into local ids once the shared slots are counted."""
    n_own = 0
    for i in range(rows.shape[0]):
        for p in range(indptr[rows[i]], indptr[rows[i] + 1]):
            s = slots[p]
            o = owner[s]
            if o <= SHARED:
                u = SHARED - o
                mine[u] = _MARK
                local_slots[p] = -1 - u
            elif o < n_shards:
                owner[s] = n_shards + n_own
                ids[n_own] = s
                local_slots[p] = n_own
                n_own += 1
            else:
                local_slots[p] = o - n_shards
    n_shared = 0
    for u in range(mine.shape[0]):
        if mine[u] == _MARK:
            n_shared += 1
    for j in range(n_own - 1, -1, -1):  # the own slots after the shared ones
        ids[n_shared + j] = ids[j]
    n_shared = 0
    for u in range(mine.shape[0]):
        if mine[u] == _MARK:
            mine[u] = n_shared
            ids[n_shared] = union[u]
            shared_pos[n_shared] = u
            shared_counts[n_shared] = 0.0
            n_shared += 1
    for i in range(rows.shape[0]):
        for p in range(indptr[rows[i]], indptr[rows[i] + 1]):
            j = local_slots[p]
            if j < 0:
                j = mine[-1 - j]
                shared_counts[j] += 1.0
            else:
                j += n_shared
            local_slots[p] = j
    return n_shared, n_shared + n_own


@jit
def pick_rows(order, shard_of, k, out):
    """The rows of shard ``k`` into ``out``, in the order they come in ``order``. Returns how
    many; ``out`` past them may be overwritten.

    Without a branch on the shard (each row's is random: half the branches would be
    mispredicted): every row is written at the next place, which only a row of shard ``k``
    keeps."""
    n = 0
    m = out.shape[0]
    for i in range(order.shape[0]):
        r = order[i]
        if n < m:
            out[n] = r
        n += shard_of[r] == k
    return min(n, m)


@jit
def copy_in(records, ids, local):
    """``local[l] = records[ids[l]]``: a shard's copy of its slots' records."""
    for j in range(ids.shape[0]):
        for f in range(records.shape[1]):
            local[j, f] = records[ids[j], f]


@jit
def count_shared(slots, n_entries, n_shared, counts):
    """Add the entries ``slots[:n_entries]`` (local ids) that touch a shared slot to ``counts``.

    Without a branch: most entries touch a shared slot (about 85 % on generated geo rows), and
    the others come at random, so a branch would be mispredicted often; an entry of an own slot
    adds 0 to the last count instead. Counting here, in one pass over the gathered chunk, beat
    counting inside the gather's loop (that loop's misses overlap less)."""
    last = n_shared - 1
    for p in range(n_entries if n_shared > 0 else 0):
        j = slots[p]
        counts[min(j, last)] += 1.0 if j < n_shared else 0.0


@jit
def mix_shared(local, local_offsets, shared_offsets, shared_pos, counts, lo, hi, base, holders, single, total, move):
    """Mix the shards' copies of the shared slots ``lo <= u < hi`` into ``base`` (one row per
    shared slot, the state they all started from); ``holders[u]``: how many shards had a count
    > 0 for it.

    The weight of shard ``k``'s copy is its count (rows that touched the slot); a slot one shard
    alone counted takes that copy exactly, one that several counted moves by the weighted mean
    of their moves, one that none counted keeps ``base``. Shards are added in shard order."""
    n_fields = base.shape[1]
    for u in range(lo, hi):
        holders[u] = 0
    for k in range(local_offsets.shape[0] - 1):
        first = local_offsets[k]
        mine = shared_pos[shared_offsets[k]:shared_offsets[k + 1]]
        start = shared_offsets[k] + np.searchsorted(mine, lo)
        stop = shared_offsets[k] + np.searchsorted(mine, hi)
        for g in range(start, stop):
            c = counts[g]
            if c > 0.0:
                u = shared_pos[g]
                row = first + g - shared_offsets[k]
                if holders[u] == 0:
                    single[u] = row
                    total[u] = 0.0
                    for f in range(n_fields):
                        move[u, f] = 0.0
                holders[u] += 1
                total[u] += c
                for f in range(n_fields):
                    move[u, f] += c * (local[row, f] - base[u, f])
    for u in range(lo, hi):
        if holders[u] == 1:
            for f in range(n_fields):
                base[u, f] = local[single[u], f]
        elif holders[u] > 1:
            for f in range(n_fields):
                base[u, f] = base[u, f] + move[u, f] / total[u]


@jit
def apply_mix(local, shared_pos, holders, base, stamp_fields, clock):
    """Give a shard's copies of the shared slots mixed last (``holders > 0``) their mixed
    record, stamped at the shard's ``clock`` (the record is settled: it owes no penalty)."""
    for j in range(shared_pos.shape[0]):
        u = shared_pos[j]
        if holders[u] > 0:
            for f in range(base.shape[1]):
                local[j, f] = base[u, f]
            for f in stamp_fields:
                local[j, f] = clock


@jit
def shift_stamps(local, first, stamp_fields, shift):
    """Move the stamps of records ``local[first:]`` by ``shift``: into another clock's frame,
    owing the same penalty."""
    for j in range(first, local.shape[0]):
        for f in stamp_fields:
            local[j, f] += shift


@jit
def write_back(records, ids, local, first, stamp_fields, clock, shift):
    """``records[ids[l]] = local[l]`` for ``l >= first``, stamped at ``clock``, or with stamps
    moved by ``shift`` (``clock`` < 0)."""
    for j in range(first, ids.shape[0]):
        s = ids[j]
        for f in range(records.shape[1]):
            records[s, f] = local[j, f]
        for f in stamp_fields:
            records[s, f] = clock if clock >= 0.0 else local[j, f] + shift
