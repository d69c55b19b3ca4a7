"""The polish's sums and the mean loss on several threads, with the one-thread bits.

Rows are split into blocks (:mod:`widecross._parallel`) for what each row computes alone (its
margin, loss and derivative); the sums over rows are added in row order, sequentially for the
scalars and per slot (slot ranges on threads) for the gradient and curvature records, the first
rows' through the one-sweep kernel. See ``_rowsums`` for why that gives exactly the sums of
``_polish.add_rows`` and ``_polish.loss_sums``. The per-slot steps of a pass (:class:`SlotSweeps`)
run on slot blocks.
"""

from __future__ import annotations

import numpy as np

from .._parallel import row_blocks, run_blocks, run_tasks
from . import _polish, _rowsums
from .rows import Rows

_EMPTY = np.empty(0)
# None of these change the bits, only how the work is shared. Per row, a tail row's terms cost
# about as much as the head's one sweep (0.8-1.0 of it, measured on 1M generated rows at 2^22;
# the tail's per-slot sums come on top): the head takes a little less than its share of the
# first step, and its thread then joins the tail's blocks.
_TAIL_COST = 0.85
_TAIL_BLOCK_ROWS = 32_768
# what a slot's record costs the per-slot sums besides its entries, in entries (measured: a slot
# range's CPU seconds ~ its entries + 6 per slot, on 1M generated rows)
_SLOT_COST = 6
_RANGES_PER_JOB = 2
# slots per task of the per-slot steps: ~0.5 ms each, enough tasks to even out two threads
SLOT_BLOCK = 65_536


def loss_sums(rows: Rows, weights: np.ndarray, intercept: float, loss_code: int, n_jobs: int) -> tuple[float, float]:
    """(weighted loss, weight) over ``rows`` at (weights, intercept), like ``_polish.loss_sums``."""
    n = rows.n_rows
    g, terms = np.empty(n), np.empty(n)
    w = np.ascontiguousarray(weights, dtype=np.float64)

    def block(lo: int, hi: int) -> None:
        _rowsums.row_terms(*rows.arrays, w, intercept, loss_code, True, lo, hi, g, terms)

    run_blocks(block, n, n_jobs)
    sums = np.zeros(4)
    _rowsums.ordered_sums(rows.indptr, rows.sw, g, terms, True, 0, _EMPTY, sums)
    return float(sums[1]), float(sums[0])


class PassSums:
    """One polish pass's sums over ``rows`` on ``n_jobs`` threads, like ``_polish.add_rows``
    (without the loss), in the steps of ``_rowsums``: the head rows through the one-sweep kernel
    on one thread while the others compute the tail rows' terms on row blocks, then the tail's
    per-slot sums on slot ranges. The tail's entries are split by slot range on the first pass
    and kept (O(entries)), with the per-row buffers."""

    def __init__(self, rows: Rows, n_jobs: int) -> None:
        self.rows = rows
        self.n_jobs = n_jobs
        n = rows.n_rows
        self.head = int(n * _TAIL_COST / (n_jobs - 1 + _TAIL_COST)) if n_jobs > 1 else n
        self.parts: _SlotParts | None = None
        self.g = np.empty(n)
        self.k1: np.ndarray | None = None  # of the tail rows, made on the first pass with curvature

    def add(self, rec: np.ndarray, b: float, loss_code: int, curvature: float, sums: np.ndarray) -> None:
        rows, n, g, head = self.rows, self.rows.n_rows, self.g, self.head
        if self.parts is None or self.parts.n_slots != rec.shape[0]:
            self.parts = None
            self.parts = _SlotParts(rows, head, rec.shape[0], self.n_jobs)
        parts = self.parts
        def copy(lo: int, hi: int) -> None:  # the tail's threads read the weights here, not in rec
            np.copyto(parts.weights[lo:hi], rec[lo:hi, 0])

        run_blocks(copy, rec.shape[0], self.n_jobs, SLOT_BLOCK)

        def head_sweep() -> None:
            indptr, slots, data, y, sw = rows.arrays
            _polish.add_rows(indptr[: head + 1], slots, data, y, sw, rec, b, loss_code, curvature, False, sums)

        def tail_block(lo: int, hi: int) -> None:
            _rowsums.row_terms(*rows.arrays, parts.weights, b, loss_code, False, lo, hi, g, _EMPTY)

        # the pool takes tasks in order: the head starts first, and its thread joins the tail after
        run_tasks([head_sweep, *(_bind(tail_block, lo, hi) for lo, hi in _tail_blocks(head, n))], self.n_jobs)
        if curvature > 0.0 and self.k1 is None:  # each row's s (k + 1), as the kernels compute it
            k1 = np.diff(rows.indptr[head:]) + 1.0
            self.k1 = k1 * rows.sw[head:] if rows.sw.shape[0] else k1

        k1 = self.k1 if self.k1 is not None else _EMPTY  # read only with curvature

        def scatter(t: int) -> None:
            _rowsums.scatter_entries(parts.rows, parts.slots, parts.data, g, k1, rec, curvature,
                                     parts.starts[t], parts.starts[t + 1], head)

        def scalars() -> None:
            _rowsums.ordered_sums(rows.indptr, rows.sw, g, _EMPTY, False, head, _EMPTY, sums)

        run_tasks([scalars, *(_bind(scatter, t) for t in range(parts.n_ranges))], self.n_jobs)


class _SlotParts:
    """The entries of rows ``head`` to the last split into slot ranges of about the same cost
    each (``_RANGES_PER_JOB`` per thread): range ``t`` is entries ``[starts[t], starts[t + 1])``
    of ``rows`` / ``slots`` / ``data``, its entries in row order. With a copy of the weights."""

    def __init__(self, rows: Rows, head: int, n_slots: int, n_jobs: int) -> None:
        slots = rows.slots
        self.n_slots = n_slots
        blocks = _tail_blocks(head, rows.n_rows)
        # a range's cost: its entries, plus a record that is rarely in cache for each slot; the
        # entries of every 16th row tell where they fall well enough (the bits never depend on it)
        sample = slots[_every_16th_row(rows.indptr[head:])]
        if sample.shape[0] and (int(sample.min()) < 0 or int(sample.max()) >= n_slots):
            raise ValueError(f"polish: rows have slots outside [0, {n_slots})")
        ends = np.cumsum(16 * np.bincount(sample, minlength=n_slots) + _SLOT_COST)
        n_ranges = n_jobs * _RANGES_PER_JOB
        cuts = np.searchsorted(ends, np.linspace(0, ends[-1] if n_slots else 0, n_ranges + 1)[1:-1], side="right")
        bounds = np.array([0, *cuts, n_slots], dtype=np.int64)
        self.n_ranges = n_ranges
        per_block = np.zeros((len(blocks), n_ranges), dtype=np.int64)
        outside = run_tasks([_bind(lambda lo, hi, k=k: _rowsums.count_parts(rows.indptr, slots, bounds, lo, hi,
                                                                              per_block[k]), lo, hi)
                             for k, (lo, hi) in enumerate(blocks)], n_jobs)
        if any(outside):
            raise ValueError(f"polish: rows have slots outside [0, {n_slots})")
        # block k's entries of range t go after those of the ranges before t and the blocks before k
        fills = np.cumsum(per_block.T.ravel()).reshape(n_ranges, len(blocks)).T - per_block
        self.starts = [0, *np.cumsum(per_block.sum(axis=0)).tolist()]
        n_entries = self.starts[-1]
        self.rows = np.empty(n_entries, dtype=np.int32 if rows.n_rows < 2**31 else np.int64)
        self.slots = np.empty(n_entries, dtype=np.int32)
        self.data = np.empty(n_entries if rows.data.shape[0] else 0, dtype=rows.data.dtype)
        run_tasks([_bind(lambda lo, hi, k=k: _rowsums.split_by_slot(rows.indptr, slots, rows.data, bounds, lo, hi,
                                                                     fills[k].copy(), self.rows, self.slots,
                                                                     self.data), lo, hi)
                   for k, (lo, hi) in enumerate(blocks)], n_jobs)
        self.weights = np.empty(n_slots)


def _tail_blocks(head: int, n_rows: int) -> list[tuple[int, int]]:
    return [(head + lo, head + hi) for lo, hi in row_blocks(n_rows - head, _TAIL_BLOCK_ROWS)]


def _every_16th_row(indptr: np.ndarray) -> np.ndarray:
    """The entry positions of rows 0, 16, 32, ... of ``indptr`` (a sample to size slot ranges)."""
    starts, stops = indptr[:-1:16].astype(np.int64), indptr[1::16].astype(np.int64)
    lengths = stops - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.repeat(starts - offsets, lengths) + np.arange(lengths.sum(), dtype=np.int64)


class SlotSweeps:
    """The polish's per-slot steps (``_polish.reset``, ``finish``, ``prox_step``) on fixed slot
    blocks on ``n_jobs`` threads, with one thread's bits: each slot's arithmetic is its own, and
    the momentum test's terms are stored and added in slot order. A block's scaling runs with
    its prox step, its extrapolation with the next pass's reset: two sweeps over the records a
    pass instead of four. One thread: the serial kernels."""

    def __init__(self, n_slots: int, n_jobs: int) -> None:
        self.n_slots, self.n_jobs = n_slots, n_jobs
        self.terms = np.empty(n_slots) if n_jobs > 1 else _EMPTY
        self.scale: tuple[float, float] | None = None  # (curvature, total) of a finish not yet applied
        self.cleared = False  # the gradients are zero already (reset for a pass with curvature 0)

    def _run(self, task) -> None:  # type: ignore[no-untyped-def]
        run_blocks(task, self.n_slots, self.n_jobs, SLOT_BLOCK)

    def reset(self, rec: np.ndarray, curvature: float, sums: np.ndarray) -> None:
        if self.n_jobs == 1:
            _polish.reset(rec, curvature, sums)
            return
        sums[:] = 0.0
        if not (self.cleared and curvature == 0.0):
            self._run(lambda lo, hi: _polish.reset_range(rec, curvature, lo, hi))
        self.cleared = False

    def finish(self, rec: np.ndarray, curvature: float, sums: np.ndarray) -> tuple[float, float, float]:
        total = float(sums[_polish.SUM_WEIGHT])
        if self.n_jobs == 1 or total <= 0.0:
            return _polish.finish(rec, curvature, sums)
        self.scale = (curvature, total)  # the records are scaled by the prox step's sweep
        return _polish.finish_sums(curvature, sums)

    def prox_step(self, rec: np.ndarray, last: np.ndarray, l1: float, l2: float, gb: float, lb: float,
                  momentum: np.ndarray, extrapolate: bool) -> None:
        if self.n_jobs == 1:
            _polish.prox_step(rec, last, l1, l2, gb, lb, momentum, extrapolate)
            return
        assert self.scale is not None, "finish comes before each prox step"
        curvature, total = self.scale
        self.scale = None

        def step(lo: int, hi: int) -> None:
            _polish.finish_range(rec, curvature, total, lo, hi)
            _polish.prox_range(rec, last, l1, l2, lo, hi, self.terms)

        def move(lo: int, hi: int) -> None:
            _polish.extrapolate_range(rec, last, beta, lo, hi)
            _polish.reset_range(rec, 0.0, lo, hi)

        self._run(step)
        beta = _polish.momentum_step(_polish.ordered_sum(self.terms), gb, lb, momentum, extrapolate)
        self._run(move)
        self.cleared = True


def _bind(task, *args):  # type: ignore[no-untyped-def]
    return lambda: task(*args)
