"""Column id -> dense state slot: an open-addressing hash table in Numba.

Training state (weight, clock stamp, optimizer statistics) lives in arrays indexed by *slot*, and
a slot is handed out the first time a column is seen. The state therefore grows with the columns
actually touched, never with the width (2^28 hashed or 235.7M exact columns cost nothing until
used), and the kernels read compact, cache-friendly records. ``fit`` maps a whole CSR once;
``partial_fit`` maps each batch, O(batch nnz), with the table persisting between calls. With
``n_jobs`` threads a map gives the same slots and the same table as one pass (see ``SlotMap.map``):
nothing downstream can tell how many threads mapped.

Linear probing over a power-of-two table kept at most half full; a bucket holds a column id
(int64, -1 when empty) and its slot side by side, so that a look-up costs one cache miss; ids
are spread by Fibonacci multiplicative hashing so that the consecutive ids of a cross do not
cluster.

``DenseMap`` is the other layout: slot == column, so the state arrays have the width's length
(no table, nothing to map), which suits narrow models. Both classes offer the same interface, and
the kernels cannot tell them apart: the same data and seed give the same weights in either.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from .._parallel import run_tasks
from .._prefetch import prefetch_row

EMPTY = -1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# ``map(columns, n_jobs)`` maps blocks of at least this many entries on threads (fewer: one pass)
PARALLEL_ENTRIES = 1 << 18
# Columns arrive in data order, so the bucket of the column this many entries ahead is requested
# now; misses then overlap (on 1e7 geo rows' entries: 2.3x faster than 16 ahead on split arrays).
_AHEAD = 32
# entries a shard sorts out at a time (its owned ones' positions and homes stay in the L1 cache)
_CHUNK = 2048


@jit
def _home(key: int, shift: int) -> int:
    # the top bits of the product are the well-mixed ones
    return np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(shift))


@jit
def _shift(cap: int) -> int:
    # 64 - log2(cap): keep the top log2(cap) bits of the 64-bit product
    shift = 64
    while cap > 1:
        cap >>= 1
        shift -= 1
    return shift


@jit
def map_columns(table, n_slots, columns, out, start):
    """Write the slot of ``columns[p]`` into ``out[p]`` for p >= start, inserting unseen columns.

    ``table`` is (capacity, 2) int64: (column, slot) per bucket, column -1 when empty; a column
    and its slot share a cache line, so a look-up costs one miss. Stops early, before the table
    gets more than half full, and returns ``(n_slots, p)``: the caller grows the table and calls
    again from ``p``.
    """
    cap = table.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    limit = cap // 2
    n = columns.shape[0]
    for p in range(start, n):
        if p + _AHEAD < n:
            prefetch_row(table, _home(np.int64(columns[p + _AHEAD]), shift))
        c = np.int64(columns[p])
        h = _home(c, shift)
        while True:
            k = table[h, 0]
            if k == c:
                out[p] = table[h, 1]
                break
            if k == EMPTY:
                if n_slots >= limit:
                    return n_slots, p
                table[h, 0] = c
                table[h, 1] = n_slots
                out[p] = n_slots
                n_slots += 1
                break
            h = (h + 1) & mask
    return n_slots, columns.shape[0]


@jit
def lookup_columns(table, columns, out):
    """Slot of each column, or -1 for a column never seen (read-only)."""
    cap = table.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    n = columns.shape[0]
    for p in range(n):
        if p + _AHEAD < n:
            prefetch_row(table, _home(np.int64(columns[p + _AHEAD]), shift))
        c = np.int64(columns[p])
        h = _home(c, shift)
        out[p] = -1
        while True:
            k = table[h, 0]
            if k == c:
                out[p] = table[h, 1]
                break
            if k == EMPTY:
                break
            h = (h + 1) & mask


@jit
def _inverse(table, out):
    for h in range(table.shape[0]):
        if table[h, 0] != EMPTY:
            out[table[h, 1]] = table[h, 0]


@jit
def _rehash(old, table):
    cap = table.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    for i in range(old.shape[0]):
        c = old[i, 0]
        if c == EMPTY:
            continue
        h = _home(c, shift)
        while table[h, 0] != EMPTY:
            h = (h + 1) & mask
        table[h, 0] = c
        table[h, 1] = old[i, 1]


@jit
def _owner(key: int, n_shards: int) -> int:
    # bits 8-31 of the product, apart from the top bits that place a key in a table (a shard's own
    # table must not see its keys' homes narrowed); scaled to [0, n_shards) by a multiply, not a
    # division (one per entry per shard)
    bits = ((np.uint64(key) * _GOLDEN) >> np.uint64(8)) & np.uint64(0xFFFFFF)
    return np.int64((bits * np.uint64(n_shards)) >> np.uint64(24))


@jit
def shard_first_seen(columns, main, shard, n_shards, table, n_local, first, out, start):
    """One shard's pass over all of ``columns`` from ``start``: for the entries whose column it
    owns (``_owner``), ``out[p]`` is the column's slot in ``main`` (read-only here) or, for a
    column ``main`` lacks, ``-(local * n_shards + shard) - 1`` with ``local`` its rank of first
    appearance among the shard's new columns, whose first position goes to ``first[local]``.
    Stops before ``table`` gets more than half full and returns ``(n_local, p)`` (grow, call again).
    """
    main_mask = main.shape[0] - 1
    main_shift = _shift(main.shape[0])
    cap = table.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    limit = cap // 2
    n = columns.shape[0]
    # the owned entries of a chunk are listed first, without a branch (an owner test per entry
    # mispredicts half the time), then probed with their tables' buckets requested ahead
    owned = np.empty(_CHUNK, dtype=np.int64)
    homes = np.empty(_CHUNK, dtype=np.int64)
    for lo in range(start, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        k = 0
        for p in range(lo, hi):
            owned[k] = p
            k += _owner(np.int64(columns[p]), n_shards) == shard
        for i in range(k):
            homes[i] = _home(np.int64(columns[owned[i]]), shift)
        for i in range(k):
            if i + _AHEAD < k:
                prefetch_row(main, _home(np.int64(columns[owned[i + _AHEAD]]), main_shift))
                prefetch_row(table, homes[i + _AHEAD])
            p = owned[i]
            c = np.int64(columns[p])
            h = _home(c, main_shift)
            while main[h, 0] != c and main[h, 0] != EMPTY:
                h = (h + 1) & main_mask
            if main[h, 0] == c:
                out[p] = main[h, 1]
                continue
            h = homes[i]
            while True:
                key = table[h, 0]
                if key == c:
                    out[p] = -(table[h, 1] * n_shards + shard) - 1
                    break
                if key == EMPTY:
                    if n_local >= limit:
                        return n_local, p
                    table[h, 0] = c
                    table[h, 1] = n_local
                    first[n_local] = p
                    out[p] = -(n_local * n_shards + shard) - 1
                    n_local += 1
                    break
                h = (h + 1) & mask
    return n_local, n


@jit
def count_before(mine, other, ranks):
    """``ranks[i] += `` the number of ``other`` below ``mine[i]`` (both sorted ascending)."""
    j = 0
    for i in range(mine.shape[0]):
        while j < other.shape[0] and other[j] < mine[i]:
            j += 1
        ranks[i] += j


@jit
def number_new(columns, first, ranks, shard, n_shards, n_before, to, new_columns):
    """A shard's new columns get slot ``n_before + rank``: ``to`` (by encoded id) and ``new_columns``."""
    for i in range(first.shape[0]):
        to[i * n_shards + shard] = n_before + ranks[i]
        new_columns[ranks[i]] = columns[first[i]]


@jit
def insert_range(table, new_columns, n_before, lo, hi, deferred):
    """Insert the new columns whose home bucket is in [lo, hi) (slot ``n_before + i``) without
    leaving that range; the ones that would are listed in ``deferred``; returns their count."""
    shift = _shift(table.shape[0])
    n_deferred = 0
    for i in range(new_columns.shape[0]):
        c = new_columns[i]
        h = _home(c, shift)
        if h < lo or h >= hi:
            continue
        while h < hi and table[h, 0] != EMPTY:
            h += 1
        if h == hi:
            deferred[n_deferred] = i
            n_deferred += 1
            continue
        table[h, 0] = c
        table[h, 1] = n_before + i
    return n_deferred


@jit
def insert_deferred(table, new_columns, n_before, deferred):
    cap = table.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    for i in deferred:
        h = _home(new_columns[i], shift)
        while table[h, 0] != EMPTY:
            h = (h + 1) & mask
        table[h, 0] = new_columns[i]
        table[h, 1] = n_before + i


@jit
def translate_new(out, lo, hi, to):
    """``out[p] = to[-out[p] - 1]`` where ``out[p] < 0``, for ``lo <= p < hi``."""
    for p in range(lo, hi):
        if out[p] < 0:
            out[p] = to[-out[p] - 1]


def _empty_table(buckets: int, n_jobs: int = 1) -> np.ndarray:
    table = np.empty((buckets, 2), dtype=np.int64)
    # a large table's first touch (page faults, most of its cost) is shared by the threads
    cuts = [buckets * b // n_jobs for b in range(n_jobs + 1)] if buckets >= PARALLEL_ENTRIES else [0, buckets]
    run_tasks([_call(_fill_keys, table, lo, hi) for lo, hi in zip(cuts, cuts[1:])], n_jobs)
    return table


def _fill_keys(table: np.ndarray, lo: int, hi: int) -> None:
    table[lo:hi, 0] = EMPTY


class SlotMap:
    """Persistent column -> slot map; ``columns`` is the inverse (slot -> column), built on demand.

    No slot -> column array is kept: it would cost 8 bytes per slot for the whole training, and
    the inverse is only needed when a model is published (one pass over the table).

    >>> m = SlotMap()
    >>> m.map(np.array([70, 3, 70], dtype=np.int32)).tolist()
    [0, 1, 0]
    >>> m.columns[: m.n].tolist()
    [70, 3]
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.table = _empty_table(1 << max(4, int(capacity - 1).bit_length()))
        self.n = 0

    @property
    def buckets(self) -> int:
        return self.table.shape[0]

    @property
    def capacity(self) -> int:
        """Slots available before the table grows."""
        return self.table.shape[0] // 2

    @property
    def columns(self) -> np.ndarray:
        """Column id of each slot (int64, length ``n``)."""
        out = np.empty(self.n, dtype=np.int64)
        _inverse(self.table, out)
        return out

    def _grow(self, n_jobs: int = 1) -> None:
        table = _empty_table(self.table.shape[0] * 2, n_jobs)
        _rehash(self.table, table)
        self.table = table

    def map(self, columns: np.ndarray, n_jobs: int = 1) -> np.ndarray:
        """Slots (int32) of ``columns``, inserting the unseen ones in order of first appearance.

        ``n_jobs`` > 1: the same slots, the same map, on threads, each owning the columns whose
        hash falls in its share (:meth:`_map_sharded`).
        """
        out = np.empty(columns.shape[0], dtype=np.int32)
        n_shards = min(n_jobs, columns.shape[0] // PARALLEL_ENTRIES)
        if n_shards <= 1:
            self._map_into(columns, out, n_jobs)
        else:
            self._map_sharded(columns, out, n_shards)
        return out

    def _map_sharded(self, columns: np.ndarray, out: np.ndarray, n_shards: int) -> None:
        """Every shard scans all entries and handles the columns it owns: the mapped ones get their
        slot, the new ones an id by first appearance in a table of the shard's own, with their
        first position. A new column's slot is ``n`` + the rank of its first position among all
        shards' (a merge of sorted lists): the numbering of one pass. The table grows once to the
        size one pass would reach; each shard inserts the new columns whose home bucket lies in
        its range of the table (the few that would probe past it are inserted after, here), and
        the entries' ids are turned into slots by blocks.
        """
        found = run_tasks([_call(_shard_pass, columns, self.table, s, n_shards, out) for s in range(n_shards)],
                          n_shards)
        firsts = [f for f, _ in found]
        n_new = sum(f.shape[0] for f in firsts)
        n_before = self.n
        to = np.empty(n_shards * max(f.shape[0] for f in firsts), dtype=np.int32)
        new_columns = np.empty(n_new, dtype=np.int64)
        run_tasks([_call(_number_shard, columns, firsts, s, n_before, to, new_columns) for s in range(n_shards)],
                  n_shards)
        if n_new:
            buckets = self.table.shape[0]
            while n_before + n_new > buckets // 2:
                buckets *= 2
            if buckets != self.table.shape[0]:
                table = _empty_table(buckets, n_shards)
                _rehash(self.table, table)
                self.table = table
            cuts = [buckets * s // n_shards for s in range(n_shards + 1)]
            deferred = run_tasks([_call(_insert_range, self.table, new_columns, n_before, lo, hi)
                                  for lo, hi in zip(cuts, cuts[1:])], n_shards)
            insert_deferred(self.table, new_columns, n_before, np.concatenate(deferred))
            self.n = n_before + n_new
        cuts = [columns.shape[0] * s // n_shards for s in range(n_shards + 1)]
        run_tasks([_call(translate_new, out, lo, hi, to) for lo, hi in zip(cuts, cuts[1:])], n_shards)

    def _map_into(self, columns: np.ndarray, out: np.ndarray, n_jobs: int = 1) -> None:
        start = 0
        while True:
            self.n, start = map_columns(self.table, self.n, columns, out, start)
            if start == columns.shape[0]:
                return
            self._grow(n_jobs)

    def lookup(self, columns: np.ndarray) -> np.ndarray:
        """Slots (int32) of ``columns``; -1 where a column has never been mapped."""
        out = np.empty(columns.shape[0], dtype=np.int32)
        lookup_columns(self.table, columns, out)
        return out

    def columns_of(self, slots: np.ndarray) -> np.ndarray:
        """Column id (int64) of each of ``slots``."""
        return self.columns[slots]

    @property
    def nbytes(self) -> int:
        """Bytes held by the table."""
        return int(self.table.nbytes)


def _shard_pass(columns: np.ndarray, main: np.ndarray, shard: int, n_shards: int, out: np.ndarray):  # type: ignore[no-untyped-def]
    """A shard's entries: slots from ``main`` or encoded new ids into ``out``; returns the first
    positions of its new columns (ascending) and their count."""
    table = _empty_table(1 << max(4, min(columns.shape[0] // (4 * n_shards), _SHARD_START_SLOTS).bit_length() + 1))
    first = np.empty(table.shape[0] // 2, dtype=np.int64)
    n_local, start = 0, 0
    while True:
        n_local, start = shard_first_seen(columns, main, shard, n_shards, table, n_local, first, out, start)
        if start == columns.shape[0]:
            return first[:n_local], n_local
        bigger = _empty_table(table.shape[0] * 2)
        _rehash(table, bigger)
        table = bigger
        first = np.concatenate([first, np.empty(first.shape[0], dtype=np.int64)])


def _number_shard(columns: np.ndarray, firsts: list, shard: int, n_before: int, to: np.ndarray,  # type: ignore[type-arg]
                  new_columns: np.ndarray) -> None:
    mine = firsts[shard]
    ranks = np.arange(mine.shape[0], dtype=np.int64)
    for other, theirs in enumerate(firsts):
        if other != shard:
            count_before(mine, theirs, ranks)
    number_new(columns, mine, ranks, shard, len(firsts), n_before, to, new_columns)


def _insert_range(table: np.ndarray, new_columns: np.ndarray, n_before: int, lo: int, hi: int) -> np.ndarray:
    deferred = np.empty(new_columns.shape[0], dtype=np.int64)
    return deferred[: insert_range(table, new_columns, n_before, lo, hi, deferred)]


def _call(fn, *args):  # type: ignore[no-untyped-def]
    return lambda: fn(*args)


# A shard's own table starts with room for a quarter of its share of the entries, at most this
# many columns (it doubles as it fills; on generated geo rows a sixth of the entries are distinct).
_SHARD_START_SLOTS = 1 << 20

# Slots are int32 in the kernels' batches, so a dense layout holds at most this many columns.
DENSE_MAX_WIDTH = 2**31 - 1


class DenseMap:
    """The identity map over ``width`` columns: slot == column, nothing stored.

    Every column owns a slot from the start (``n == capacity == width``), so the training state
    is as long as the width: the dense layout.

    >>> m = DenseMap(100)
    >>> m.map(np.array([70, 3, 70], dtype=np.int64)).tolist(), m.n
    ([70, 3, 70], 100)
    """

    def __init__(self, width: int) -> None:
        width = int(width)
        if not 0 < width <= DENSE_MAX_WIDTH:
            raise ValueError(f"the dense layout holds 1 to {DENSE_MAX_WIDTH:,} columns, got a width of {width:,}")
        self.n = width

    @property
    def capacity(self) -> int:
        return self.n

    @property
    def columns(self) -> np.ndarray:
        return np.arange(self.n, dtype=np.int64)

    def map(self, columns: np.ndarray, n_jobs: int = 1) -> np.ndarray:
        """``columns`` as int32 slots (no copy when they already are); callers pass ids < width."""
        return columns if columns.dtype == np.int32 else columns.astype(np.int32)

    def lookup(self, columns: np.ndarray) -> np.ndarray:
        return self.map(columns)

    def columns_of(self, slots: np.ndarray) -> np.ndarray:
        return slots.astype(np.int64)

    @property
    def nbytes(self) -> int:
        return 0
