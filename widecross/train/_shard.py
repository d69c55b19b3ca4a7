"""Kernels of the sharded epochs: each shard's rows renamed once into a small local state, the
shards' orders of a pass, and the mix of the slots that several shards share.

A shard trains on its own copy of the records of the slots its rows touch, indexed by *local*
ids, so that its state is O(slots it touches), never as long as the whole state. Local ids put
the *shared* slots (touched by rows of two shards or more) first, then the slots the shard alone
touches, each group in increasing slot order: the shared ones of every shard are then a prefix of
its state, and walking them in local order walks the union of shared slots in order too
(``shared_pos`` is increasing), which is what keeps the mix sequential.

The renaming reads bitmaps, not a table as long as the state: ``marks[k]`` has a bit per slot
that shard ``k`` touches, ``shared`` one per slot that two shards or more touch, and a shard's
*word table* holds, per 64-slot word, the shared word, its own marks and how many of its shared
and own slots come before the word. An entry's local id is then one 32-byte read (the word's
row: 2 MB per shard at 2^22 slots, which stays in cache) and a popcount, where a table of an
int32 per slot (16 MB) cost a random read from memory; the whole renaming is one pass over the
entries, split by ranges of rows (each row reads its shard's table: a thread reads the K
tables), and the counts of the shared slots one more pass over each shard's rows.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import intrinsic

from .._jit import jit


@intrinsic
def _popcount(typingctx, word):
    """The set bits of a uint64, as an int64 (one instruction: LLVM's ctpop)."""
    if not isinstance(word, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.int64(types.uint64), codegen


@jit
def deal_rows(order, lo, hi, k, shard_of):
    """``shard_of[r] = k`` for the rows ``r`` of ``order[lo:hi]``: one shard's part of the deal."""
    for i in range(lo, hi):
        shard_of[order[i]] = k


@jit
def shard_rows(shard_of, k, out):
    """The rows of shard ``k`` in increasing order into ``out`` (room for them all); returns how
    many. One pass over ``shard_of`` (n bytes), where sorting the shard's part of an order cost
    n / K log(n / K) comparisons (31 ms a shard at 2M rows on two shards, against ~2 ms).

    Without a branch on the shard (each row's is random): every row is written at the next
    place, which only a row of shard ``k`` keeps, as in ``pick_rows``."""
    n = 0
    m = out.shape[0]
    for r in range(shard_of.shape[0]):
        if n < m:
            out[n] = r
        n += shard_of[r] == k
    return min(n, m)


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
def shared_words(marks, lo, hi, shared):
    """Words ``lo <= w < hi`` of ``shared``: the bits of the slots that two shards' marks or more
    hold (``marks[k]``: shard ``k``'s, see ``mark_slots``)."""
    for w in range(lo, hi):
        seen = np.uint64(0)
        twice = np.uint64(0)
        for k in range(marks.shape[0]):
            m = marks[k, w]
            twice |= seen & m
            seen |= m
        shared[w] = twice


@jit
def rank_words(bits, before):
    """``before[w]``: the set bits of ``bits`` in the words before ``w``; returns all of them."""
    n = 0
    for w in range(bits.shape[0]):
        before[w] = n
        n += _popcount(bits[w])
    return n


@jit
def set_bits(bits, out):
    """The positions of the set bits of ``bits``, in increasing order, into ``out``."""
    n = 0
    for w in range(bits.shape[0]):
        word = bits[w]
        while word:
            low = word & (~word + np.uint64(1))  # the lowest set bit
            out[n] = w * 64 + _popcount(low - np.uint64(1))
            n += 1
            word ^= low
    return n


@jit
def word_table(marks_k, shared, table):
    """Shard ``k``'s word table (see the module docstring): per word ``w``, ``shared[w]``, its
    marks, and its shared and own slots in the words before; returns (shared, own) in all."""
    n_shared = n_own = 0
    for w in range(shared.shape[0]):
        m = marks_k[w]
        table[w, 0] = shared[w]
        table[w, 1] = m
        table[w, 2] = n_shared
        table[w, 3] = n_own
        n_shared += _popcount(m & shared[w])
        n_own += _popcount(m & ~shared[w])
    return n_shared, n_own


@jit
def local_ids(table, union_before, ids, shared_pos):
    """``ids[l]``: local ``l``'s slot (the shard's shared slots, then its own, each in slot
    order); ``shared_pos[j]``: the position of its ``j``-th shared slot in the union of shared
    slots (``union_before``: ``rank_words`` of the shared words)."""
    j = 0
    n_shared = shared_pos.shape[0]
    o = n_shared
    for w in range(table.shape[0]):
        shared, m = table[w, 0], table[w, 1]
        word = m
        while word:
            low = word & (~word + np.uint64(1))
            below = low - np.uint64(1)
            s = w * 64 + _popcount(below)
            if shared & low:
                ids[j] = s
                shared_pos[j] = union_before[w] + _popcount(shared & below)
                j += 1
            else:
                ids[o] = s
                o += 1
            word ^= low


@jit
def localize_rows(indptr, slots, shard_of, tables, n_shared, lo, hi, local_slots):
    """The local id of each entry of rows ``lo <= r < hi`` into ``local_slots`` (at the entries'
    places), each from the word table of its row's shard (``tables[k]``; ``n_shared[k]``: the
    shard's shared slots, which come first).

    By ranges of rows, not by shard: the shards' rows interleave (they are dealt at random), so
    threads that each wrote their own shard's entries would write into the same cache lines
    (which then move between the cores at every write), and each would read every line of the
    slots for half of its entries."""
    one = np.uint64(1)
    for r in range(lo, hi):
        k = shard_of[r]
        table = tables[k]
        first_own = n_shared[k]
        for p in range(indptr[r], indptr[r + 1]):
            s = slots[p]
            w = s >> 6
            bit = one << np.uint64(s & 63)
            below = bit - one
            shared, m = table[w, 0], table[w, 1]
            j_shared = np.int64(table[w, 2]) + _popcount(m & shared & below)
            j_own = first_own + np.int64(table[w, 3]) + _popcount(m & ~shared & below)
            local_slots[p] = j_shared if (shared & bit) != 0 else j_own


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
