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
from .._parallel import even_cuts, even_ranges, run_tasks
from .._prefetch import prefetch_row
from . import _distinct

EMPTY = -1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# ``map(columns, n_jobs)`` maps blocks of at least this many entries on threads (fewer: one pass);
# a batch this long first estimates its distinct columns and grows the table once to fit them
PARALLEL_ENTRIES = 1 << 18
# Batches map in blocks on threads from this many threads on; with fewer, the threads estimate the
# distinct columns and first-touch the table, and one pass maps (on 1M geo rows and two threads the
# blocks' second table and the merge of their distinct columns cost more than they save)
BLOCK_MAP_JOBS = 3
# A warm map (a table that holds columns already) on threads first checks this many of a batch's
# entries: the batch is looked up on the threads when most of them are known
_PROBE_ENTRIES = 4096
# The table is grown to fit the estimated distinct columns less this share: the estimate's error
# (0.8 % standard) never makes the table larger than one pass's growth would
RESERVE_MARGIN = 0.1
# Columns arrive in data order, so the bucket of the column this many entries ahead is requested
# now; misses then overlap (on 1e7 geo rows' entries: 2.3x faster than 16 ahead on split arrays).
_AHEAD = 32


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
def _inverse(table, lo, hi, out):
    # buckets [lo, hi): each holds its own slot, so ranges of buckets fill ``out`` apart
    for h in range(lo, hi):
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
def translate(slots, lo, hi, to):
    """``slots[p] = to[slots[p]]`` for ``lo <= p < hi``: a block's first-appearance ids into slots."""
    for p in range(lo, hi):
        slots[p] = to[slots[p]]


def _empty_table(buckets: int, n_jobs: int = 1) -> np.ndarray:
    table = np.empty((buckets, 2), dtype=np.int64)
    # a large table's first touch (page faults, most of its cost) is shared by the threads
    run_tasks([_call(_fill_keys, table, lo, hi) for lo, hi in _bucket_ranges(buckets, n_jobs)], n_jobs)
    return table


def _bucket_ranges(buckets: int, n_jobs: int) -> list[tuple[int, int]]:
    """Ranges of a table's buckets for ``n_jobs`` threads (one range for a small table)."""
    return even_ranges(buckets, n_jobs) if buckets >= PARALLEL_ENTRIES else [(0, buckets)]


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
        return self.inverse()

    def inverse(self, n_jobs: int = 1) -> np.ndarray:
        """:attr:`columns`, from ranges of the table on ``n_jobs`` threads."""
        out = np.empty(self.n, dtype=np.int64)
        run_tasks([_call(_inverse, self.table, lo, hi, out) for lo, hi in _bucket_ranges(self.table.shape[0], n_jobs)],
                  n_jobs)
        return out

    def _grow(self, n_jobs: int = 1) -> None:
        table = _empty_table(self.table.shape[0] * 2, n_jobs)
        _rehash(self.table, table)
        self.table = table

    def map(self, columns: np.ndarray, n_jobs: int = 1) -> np.ndarray:
        """Slots (int32) of ``columns``, inserting the unseen ones in order of first appearance.

        A warm map on threads (``n_jobs`` >= 2, a table that already holds most of a long batch's
        columns: a warm-started fit on the same rows, ``l1="auto"``'s path, ``partial_fit``'s later
        batches) looks the batch up on the threads first (read-only), then maps only the columns it
        did not find, in their order: a column found keeps its slot, the others are inserted as one
        pass would insert them (found columns insert nothing), so the same slots and the same map.

        ``n_jobs`` >= ``BLOCK_MAP_JOBS``: the same slots, the same map, on threads. ``columns`` is
        cut into ``n_jobs`` blocks; the first is mapped here while each other block numbers its
        columns by first appearance in a table of its own; then the other blocks' distinct columns
        (less those the first block brought, looked up on the threads: :meth:`_merge`) are mapped
        here block by block, in their order (a column first seen in block ``b`` comes first in the
        blocks' lists at block ``b``, at its place in it: the numbering of one pass), and each
        block turns its ids into those slots.

        A batch of ``PARALLEL_ENTRIES`` or more first estimates its distinct columns (per block,
        on the threads: :mod:`._distinct`) and grows the table once to fit them, and so does each
        block's own table: no chain of doublings, each rehashing what the table holds.
        """
        if n_jobs > 1 and self.n and columns.shape[0] >= 2 * PARALLEL_ENTRIES and self._mostly_known(columns):
            out = np.empty(columns.shape[0], dtype=np.int32)
            run_tasks([_call(lookup_columns, self.table, columns[lo:hi], out[lo:hi])
                       for lo, hi in even_ranges(columns.shape[0], n_jobs)], n_jobs)
            missing = np.flatnonzero(out < 0)
            if missing.size:
                out[missing] = self._map_new(columns[missing], n_jobs)
            return out
        return self._map_new(columns, n_jobs)

    def _mostly_known(self, columns: np.ndarray) -> bool:
        """Whether most of an evenly spaced sample of ``columns`` is in the table already."""
        found = self.lookup(columns[:: max(1, columns.shape[0] // _PROBE_ENTRIES)])
        return int(np.count_nonzero(found >= 0)) * 2 > found.shape[0]

    def _map_new(self, columns: np.ndarray, n_jobs: int) -> np.ndarray:
        """:meth:`map` without the warm look-up first."""
        out = np.empty(columns.shape[0], dtype=np.int32)
        n_blocks = min(n_jobs, columns.shape[0] // PARALLEL_ENTRIES)
        if n_blocks <= 0:
            self._map_into(columns, out, n_jobs)
            return out
        cuts = even_cuts(columns.shape[0], n_blocks)
        sketches = run_tasks([_call(_distinct.sketch, columns, lo, hi) for lo, hi in zip(cuts, cuts[1:])], n_jobs)
        self._reserve(_distinct.estimate(_distinct.merged(sketches)), n_jobs)
        if n_blocks < BLOCK_MAP_JOBS:
            self._map_into(columns, out, n_jobs)
            return out
        first = _call(self._map_into, columns[: cuts[1]], out[: cuts[1]], n_jobs)
        seen = run_tasks([first] + [_first_seen(columns, out, lo, hi, _distinct.estimate(registers))
                                    for lo, hi, registers in zip(cuts[1:], cuts[2:], sketches[1:])], n_jobs)
        to = self._merge(seen[1:], n_jobs)
        run_tasks([_call(translate, out, lo, hi, t) for lo, hi, t in zip(cuts[1:], cuts[2:], to)], n_jobs)
        return out

    def _merge(self, blocks: list[np.ndarray], n_jobs: int) -> list[np.ndarray]:
        """The slots of each block's distinct columns (in first-seen order), blocks in order: the
        one step on the calling thread. First, on the threads, each block looks its columns up in
        the table as the first block left it (read-only: nothing is inserted meanwhile); only the
        columns it did not hold are then mapped here, in order. A column found there keeps the
        slot it had, one not found is inserted or found as one pass would: the same inserts in the
        same order, the same slots and table."""
        found = run_tasks([_call(self.lookup, columns) for columns in blocks], n_jobs)
        for columns, slots_of in zip(blocks, found):
            missing = np.flatnonzero(slots_of < 0)
            if missing.size:
                slots_of[missing] = self._serial_map(columns[missing], n_jobs)
        return found

    def _reserve(self, distinct: float, n_jobs: int) -> None:
        """Grow the table at once to the size that a batch of about ``distinct`` distinct columns
        will at least bring it to (the estimate less ``RESERVE_MARGIN``: the table one pass would
        end with is never exceeded, so the trainer's records keep their length)."""
        need = max(self.n, int(distinct * (1 - RESERVE_MARGIN)))
        buckets = self.table.shape[0]
        while buckets // 2 < need:
            buckets *= 2
        if buckets > self.table.shape[0]:
            table = _empty_table(buckets, n_jobs)
            _rehash(self.table, table)
            self.table = table

    def _serial_map(self, columns: np.ndarray, n_jobs: int) -> np.ndarray:
        # one pass, not split again: the columns are distinct, so a block of them would number all
        # of its own in a table of its own (twice the inserts) and be mapped here after all
        out = np.empty(columns.shape[0], dtype=np.int32)
        self._map_into(columns, out, n_jobs)
        return out

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

    def columns_of(self, slots: np.ndarray, n_jobs: int = 1) -> np.ndarray:
        """Column id (int64) of each of ``slots``."""
        return self.inverse(n_jobs)[slots]

    @property
    def nbytes(self) -> int:
        """Bytes held by the table."""
        return int(self.table.nbytes)


def _first_seen(columns: np.ndarray, out: np.ndarray, lo: int, hi: int, distinct: float):  # type: ignore[no-untyped-def]
    """A task: ids by first appearance of ``columns[lo:hi]`` (about ``distinct`` distinct ones)
    into ``out[lo:hi]``; returns the block's distinct columns in that order."""
    def task() -> np.ndarray:
        block = SlotMap(min(hi - lo, max(_BLOCK_START_SLOTS, int(distinct * (1 - RESERVE_MARGIN)))))
        block._map_into(columns[lo:hi], out[lo:hi])
        return block.columns
    return task


def _call(fn, *args):  # type: ignore[no-untyped-def]
    return lambda: fn(*args)


# A block's own table starts with room for this many columns (it doubles as it fills).
_BLOCK_START_SLOTS = 1 << 16

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

    def columns_of(self, slots: np.ndarray, n_jobs: int = 1) -> np.ndarray:
        return slots.astype(np.int64)

    @property
    def nbytes(self) -> int:
        return 0
