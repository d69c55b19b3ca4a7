"""Column id -> dense state slot: an open-addressing hash table in Numba.

Training state (weight, clock stamp, optimizer statistics) lives in arrays indexed by *slot*, and
a slot is handed out the first time a column is seen. The state therefore grows with the columns
actually touched, never with the width (2^28 hashed or 235.7M exact columns cost nothing until
used), and the kernels read compact, cache-friendly records. ``fit`` maps a whole CSR once;
``partial_fit`` maps each batch, O(batch nnz), with the table persisting between calls.

Linear probing over a power-of-two table kept at most half full; keys are column ids (int64, -1
marks an empty bucket), spread by Fibonacci multiplicative hashing so that the consecutive ids
of a cross do not cluster.

``DenseMap`` is the other layout: slot == column, so the state arrays have the width's length
(no table, nothing to map), which suits narrow models. Both classes offer the same interface, and
the kernels cannot tell them apart: the same data and seed give the same weights in either.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from ._prefetch import prefetch_row

EMPTY = -1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


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
def map_columns(keys, values, n_slots, columns, out, start):
    """Write the slot of ``columns[p]`` into ``out[p]`` for p >= start, inserting unseen columns.

    Stops early, before the table gets more than half full, and returns ``(n_slots, p)``: the
    caller grows the table and calls again from ``p``.
    """
    cap = keys.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    limit = cap // 2
    n = columns.shape[0]
    for p in range(start, n):
        if p + 16 < n:  # columns arrive in data order: request the bucket 16 lookups ahead now
            prefetch_row(keys, _home(np.int64(columns[p + 16]), shift))
        c = np.int64(columns[p])
        h = _home(c, shift)
        while True:
            k = keys[h]
            if k == c:
                out[p] = values[h]
                break
            if k == EMPTY:
                if n_slots >= limit:
                    return n_slots, p
                keys[h] = c
                values[h] = n_slots
                out[p] = n_slots
                n_slots += 1
                break
            h = (h + 1) & mask
    return n_slots, columns.shape[0]


@jit
def lookup_columns(keys, values, columns, out):
    """Slot of each column, or -1 for a column never seen (read-only)."""
    cap = keys.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    for p in range(columns.shape[0]):
        c = np.int64(columns[p])
        h = _home(c, shift)
        out[p] = -1
        while True:
            k = keys[h]
            if k == c:
                out[p] = values[h]
                break
            if k == EMPTY:
                break
            h = (h + 1) & mask


@jit
def _inverse(keys, values, out):
    for h in range(keys.shape[0]):
        if keys[h] != EMPTY:
            out[values[h]] = keys[h]


@jit
def _rehash(old_keys, old_values, keys, values):
    cap = keys.shape[0]
    mask = cap - 1
    shift = _shift(cap)
    for i in range(old_keys.shape[0]):
        c = old_keys[i]
        if c == EMPTY:
            continue
        h = _home(c, shift)
        while keys[h] != EMPTY:
            h = (h + 1) & mask
        keys[h] = c
        values[h] = old_values[i]


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
        cap = 1 << max(4, int(capacity - 1).bit_length())
        self.keys = np.full(cap, EMPTY, dtype=np.int64)
        self.values = np.zeros(cap, dtype=np.int32)
        self.n = 0

    @property
    def capacity(self) -> int:
        """Slots available before the table grows."""
        return self.keys.shape[0] // 2

    @property
    def columns(self) -> np.ndarray:
        """Column id of each slot (int64, length ``n``)."""
        out = np.empty(self.n, dtype=np.int64)
        _inverse(self.keys, self.values, out)
        return out

    def _grow(self) -> None:
        cap = self.keys.shape[0] * 2
        keys = np.full(cap, EMPTY, dtype=np.int64)
        values = np.zeros(cap, dtype=np.int32)
        _rehash(self.keys, self.values, keys, values)
        self.keys, self.values = keys, values

    def map(self, columns: np.ndarray) -> np.ndarray:
        """Slots (int32) of ``columns``, inserting the unseen ones in order of first appearance."""
        out = np.empty(columns.shape[0], dtype=np.int32)
        start = 0
        while True:
            self.n, start = map_columns(self.keys, self.values, self.n, columns, out, start)
            if start == columns.shape[0]:
                return out
            self._grow()

    def lookup(self, columns: np.ndarray) -> np.ndarray:
        """Slots (int32) of ``columns``; -1 where a column has never been mapped."""
        out = np.empty(columns.shape[0], dtype=np.int32)
        lookup_columns(self.keys, self.values, columns, out)
        return out

    def columns_of(self, slots: np.ndarray) -> np.ndarray:
        """Column id (int64) of each of ``slots``."""
        return self.columns[slots]

    @property
    def nbytes(self) -> int:
        """Bytes held by the table."""
        return int(self.keys.nbytes + self.values.nbytes)


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

    def map(self, columns: np.ndarray) -> np.ndarray:
        """``columns`` as int32 slots (no copy when they already are); callers pass ids < width."""
        return columns if columns.dtype == np.int32 else columns.astype(np.int32)

    lookup = map

    def columns_of(self, slots: np.ndarray) -> np.ndarray:
        return slots.astype(np.int64)

    @property
    def nbytes(self) -> int:
        return 0
