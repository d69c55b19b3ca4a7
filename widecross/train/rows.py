"""Training rows: the one container every trainer, solver and stream passes around.

:class:`Rows` is a slot-indexed CSR: row pointers, the *slots* of the active columns (see
:mod:`widecross.train.slots`), their values, and each row's label and sample weight. Values
stored as an empty array mean all ones (the kernels then skip a memory stream), and so do
sample weights. Every kernel takes these five arrays in this order.

One compiled kernel, :func:`gather_rows`, copies rows into a contiguous buffer in a given order:
an epoch gathers its shuffled rows chunk by chunk before training on them (reads prefetched well
ahead, writes sequential: faster than training in the random order directly, with the same
arithmetic in the same order, so the same weights), and the shuffle buffer of a streamed fit
draws its rows from the ones it keeps stacked over a new chunk. The training kernels therefore
always read rows in storage order.

Row orders come from a seeded Fisher-Yates shuffle at memory speed (:func:`visit_order`). The
timings behind both are in ``docs/tuning.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._jit import jit
from .._prefetch import prefetch_row


class Rows(NamedTuple):
    """Slot-indexed rows: CSR pointers, slots, values (empty: all ones), labels, weights (empty: ones).

    A named tuple: cheap to make for every small ``partial_fit`` call, and ``*rows`` passes the
    five arrays to a kernel in order.
    """

    indptr: np.ndarray  # int32 or int64, n_rows + 1
    slots: np.ndarray  # int32, one per stored entry (-1: a column unseen in training)
    data: np.ndarray  # float32/float64, one per stored entry, or empty
    y: np.ndarray  # float32/float64, n_rows
    sw: np.ndarray  # float64, n_rows, or empty

    @property
    def n_rows(self) -> int:
        return self.indptr.shape[0] - 1

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(indptr, slots, data, y, sw)``: the order in which kernels take them."""
        return tuple(self)  # type: ignore[return-value]

    def empty_like(self) -> Rows:
        """No rows, with the same dtypes."""
        return Rows(np.zeros(1, dtype=self.indptr.dtype), np.empty(0, dtype=np.int32), np.empty(0, dtype=self.data.dtype),
                    np.empty(0, dtype=self.y.dtype), np.empty(0, dtype=self.sw.dtype))


# -- orders ------------------------------------------------------------------------------------
@jit
def _fisher_yates(order, draws):
    # position i swaps with j uniform in [0, i]: j = floor(draw * (i + 1) / 2^32), Lemire's
    # multiply-shift (bias below (i + 1) / 2^32, under 1e-3 for any order a fit can visit)
    for i in range(order.shape[0] - 1, 0, -1):
        j = (np.uint64(draws[i]) * np.uint64(i + 1)) >> np.uint64(32)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


def visit_order(rng: np.random.Generator, n: int, shuffle: bool) -> np.ndarray:
    """Rows ``0..n-1`` in a fresh random order (int32 when it fits), or in order.

    The swap positions are drawn from ``rng`` as 32-bit integers and applied in a compiled loop
    (faster than ``Generator.shuffle``); the order is a pure function of the generator's state,
    so the same seed gives the same bytes.

    >>> visit_order(np.random.default_rng(0), 5, False).tolist()
    [0, 1, 2, 3, 4]
    >>> sorted(visit_order(np.random.default_rng(0), 5, True).tolist())
    [0, 1, 2, 3, 4]
    """
    order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    if shuffle:
        shuffle_in_place(order, rng)
    return order


class Shuffle(NamedTuple):
    """A pass over ``n_rows`` rows in a fresh random order that the pass draws itself, from
    ``seed``: a pass on threads draws each shard's order on its shard's thread (a shuffle of the
    shard's rows with :func:`shard_generator`), any other pass the whole order (:meth:`draw`).
    The same seed gives the same orders."""

    seed: int
    n_rows: int

    def draw(self) -> np.ndarray:
        """The whole order on one thread."""
        return visit_order(np.random.default_rng(self.seed), self.n_rows, True)


def shard_generator(seed: int, shard: int) -> np.random.Generator:
    """The generator of shard ``shard``'s order in a :class:`Shuffle` pass."""
    return np.random.default_rng([seed, shard])


def shuffle_in_place(order: np.ndarray, rng: np.random.Generator) -> None:
    """``order`` in a fresh random order (the Fisher-Yates shuffle of :func:`visit_order`)."""
    if order.shape[0] > 1:
        _fisher_yates(order, rng.integers(0, 2**32, size=order.shape[0], dtype=np.uint32))


def visits(rows: Rows, order: np.ndarray | Shuffle | None) -> int:
    """How many rows a pass over ``rows`` in ``order`` visits."""
    if order is None:
        return rows.n_rows
    return order.n_rows if isinstance(order, Shuffle) else int(order.shape[0])


# -- gathering ---------------------------------------------------------------------------------
@jit
def gather_rows(indptr, slots, data, y, sw, order, lo, hi, out_indptr, out_slots, out_data, out_y, out_sw):
    """Copy rows ``order[lo:hi]`` into the ``out_*`` buffers, in that order, stopping before a row
    whose entries would overflow ``out_slots``. Returns the position in ``order`` reached (``hi``
    when all fitted; more than ``lo`` when ``out_slots`` holds any row).

    ``data`` and ``sw`` may be empty (all ones), and then their outputs are not written. This is
    the one place where rows are read in a random order, so it requests them well ahead: row 16
    visits ahead its pointers, label and weight, row 8 ahead its entries, so that the misses
    overlap (see ``_prefetch``); everything downstream reads sequentially.
    """
    has_data = data.shape[0] > 0
    weighted = sw.shape[0] > 0
    out_indptr[0] = 0
    k = 0
    n = hi - lo
    for i in range(n):
        if i + 16 < n:
            far = order[lo + i + 16]
            prefetch_row(indptr, far)
            prefetch_row(y, far)
            if weighted:
                prefetch_row(sw, far)
        if i + 8 < n:
            start = indptr[order[lo + i + 8]]
            prefetch_row(slots, start)
            if has_data:
                prefetch_row(data, start)
        r = order[lo + i]
        if k + indptr[r + 1] - indptr[r] > out_slots.shape[0]:
            return lo + i
        for p in range(indptr[r], indptr[r + 1]):
            out_slots[k] = slots[p]
            if has_data:
                out_data[k] = data[p]
            k += 1
        out_indptr[i + 1] = k
        out_y[i] = y[r]
        if weighted:
            out_sw[i] = sw[r]
    return hi


def buffers(rows: Rows, n_rows: int, n_entries: int, pointers: type | None = None) -> Rows:
    """Empty rows of ``rows``' kinds with room for ``n_rows`` rows and ``n_entries`` entries."""
    pointers = pointers or (np.int32 if n_entries < 2**31 else np.int64)
    return Rows(
        np.empty(n_rows + 1, dtype=pointers), np.empty(n_entries, dtype=np.int32),
        np.empty(n_entries if rows.data.size else 0, dtype=rows.data.dtype), np.empty(n_rows, dtype=rows.y.dtype),
        np.empty(n_rows if rows.sw.size else 0, dtype=rows.sw.dtype),
    )


def take_rows(rows: Rows, order: np.ndarray, n_entries: int | None = None) -> Rows:
    """Rows ``order`` of ``rows``, in that order, as one contiguous :class:`Rows`. ``n_entries``:
    their number of entries, where the caller knows it (a permutation of all rows: all of them),
    saving the pass that counts them.

    >>> rows = Rows(np.array([0, 2, 3]), np.array([4, 5, 6], np.int32), np.empty(0), np.array([1.0, 0.0]), np.empty(0))
    >>> take_rows(rows, np.array([1, 0])).slots.tolist()
    [6, 4, 5]
    """
    if n_entries is None:
        n_entries = int(np.diff(rows.indptr)[order].sum())
    out = buffers(rows, order.shape[0], n_entries)
    gather_rows(*rows.arrays, order, 0, order.shape[0], *out.arrays)
    return out


def stack_rows(a: Rows, b: Rows) -> Rows:
    """``a``'s rows, then ``b``'s, in one :class:`Rows` (values or weights stored by one side
    only are 1 on the other)."""
    indptr = np.concatenate([a.indptr, a.indptr[-1] + b.indptr[1:]])
    pointer_dtype = np.int32 if indptr[-1] < 2**31 else np.int64
    data = np.empty(0, dtype=np.result_type(a.data.dtype, b.data.dtype))
    if a.data.shape[0] or b.data.shape[0]:
        data = np.concatenate([_or_ones(a.data, a.slots.shape[0]), _or_ones(b.data, b.slots.shape[0])]).astype(data.dtype)
    sw = np.empty(0, dtype=np.float64)
    if a.sw.shape[0] or b.sw.shape[0]:
        sw = np.concatenate([_or_ones(a.sw, a.n_rows), _or_ones(b.sw, b.n_rows)]).astype(np.float64)
    return Rows(indptr.astype(pointer_dtype, copy=False), np.concatenate([a.slots, b.slots]), data,
                np.concatenate([a.y, b.y]), sw)


def _or_ones(values: np.ndarray, n: int) -> np.ndarray:
    return values if values.shape[0] or not n else np.ones(n, dtype=values.dtype)
