"""Training rows: the one container every trainer, solver and stream passes around.

:class:`Rows` is a slot-indexed CSR: row pointers, the *slots* of the active columns (see
:mod:`widecross.train.slots`), their values, and each row's label and sample weight. Values
stored as an empty array mean all ones (the kernels then skip a memory stream), and so do
sample weights. Every kernel takes these five arrays in this order.

One compiled kernel, :func:`gather_rows`, copies rows into a contiguous buffer in a given order:
an epoch gathers its shuffled rows chunk by chunk before training on them (reads prefetched well
ahead, writes sequential: faster than training in the random order directly, with the same
arithmetic in the same order, so the same weights), and the shuffle buffer of a streamed fit
stacks the rows it keeps over a new chunk and draws from both.

Row orders come from a seeded Fisher-Yates shuffle at memory speed (:func:`visit_order`). The
timings behind both are in ``docs/tuning.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._jit import jit
from .._prefetch import prefetch_rows


@dataclass(frozen=True)
class Rows:
    """Slot-indexed rows: CSR pointers, slots, values (empty: all ones), labels, weights (empty: ones)."""

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
        return self.indptr, self.slots, self.data, self.y, self.sw

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
    if shuffle and n > 1:
        _fisher_yates(order, rng.integers(0, 2**32, size=n, dtype=np.uint32))
    return order


# -- gathering ---------------------------------------------------------------------------------
@jit(inline="always")
def _copy_row(source, r, out, k, i):
    """Append row ``r`` of ``source`` to ``out`` as its row ``i``, entries from ``k``; returns the
    new ``k``, or -1 when the entries would overflow ``out``'s slots."""
    indptr, slots, data, y, sw = source
    out_indptr, out_slots, out_data, out_y, out_sw = out
    start = indptr[r]
    stop = indptr[r + 1]
    if k + stop - start > out_slots.shape[0]:
        return -1
    with_data = out_data.shape[0] > 0
    has_data = data.shape[0] > 0
    for p in range(start, stop):
        out_slots[k] = slots[p]
        if with_data:
            out_data[k] = data[p] if has_data else 1.0
        k += 1
    out_indptr[i + 1] = k
    out_y[i] = y[r]
    if out_sw.shape[0] > 0:
        out_sw[i] = sw[r] if sw.shape[0] > 0 else 1.0
    return k


@jit
def gather_rows(a, b, order, lo, hi, out):
    """Copy rows ``order[lo:hi]`` of ``a`` stacked over ``b`` (row ``n_a + r`` is row ``r`` of
    ``b``) into ``out``, in that order. Sources and ``out`` are ``Rows.arrays`` tuples.

    Stops before a row whose entries would overflow ``out``'s slots and returns the position in
    ``order`` reached (``hi`` when all fitted). ``out``'s values (weights) are written when it
    has room for them, as 1 where a source stores none. With ``b`` empty the rows of ``a`` are
    requested ahead of their copy (an epoch's random order reads them from random places).
    """
    n_a = a[0].shape[0] - 1
    single = b[0].shape[0] <= 1
    out[0][0] = 0
    k = 0
    for pos in range(lo, hi):
        if single:
            prefetch_rows(order, pos, hi, a[0], a[1], a[2], a[3], a[4])
        r = order[pos]
        if r < n_a:
            k = _copy_row(a, r, out, k, pos - lo)
        else:
            k = _copy_row(b, r - n_a, out, k, pos - lo)
        if k < 0:
            return pos
    return hi


def stack_rows(a: Rows, b: Rows, rows: np.ndarray) -> Rows:
    """Rows ``rows`` of ``a`` stacked over ``b``, in that order, as one contiguous :class:`Rows`."""
    lengths = np.concatenate([np.diff(a.indptr), np.diff(b.indptr)])[rows]
    nnz = int(lengths.sum())
    pointer_dtype = np.int32 if a.slots.shape[0] + b.slots.shape[0] < 2**31 else np.int64
    with_data = bool(a.data.shape[0] or b.data.shape[0])
    data_dtype = np.result_type(a.data.dtype, b.data.dtype)
    weighted = bool(a.sw.shape[0] or b.sw.shape[0])
    out = Rows(
        np.empty(rows.shape[0] + 1, dtype=pointer_dtype), np.empty(nnz, dtype=np.int32),
        np.empty(nnz if with_data else 0, dtype=data_dtype), np.empty(rows.shape[0], dtype=np.result_type(a.y, b.y)),
        np.empty(rows.shape[0] if weighted else 0, dtype=np.float64),
    )
    gather_rows(a.arrays, b.arrays, rows, 0, rows.shape[0], out.arrays)
    return out
