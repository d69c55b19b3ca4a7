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

from .._parallel import BLOCK_ROWS, row_blocks, run_blocks, run_tasks
from . import _polish, _rowsums
from .rows import Rows

_EMPTY = np.empty(0)
# None of these change the bits, only how the work is shared. Per row, a tail row's terms cost
# less than the head's one sweep (timed per task on 1M generated rows, two threads: 27 vs 36 ns a
# row at the exact width, 28 vs 42 at 2^22; the tail's per-slot sums come on top): the head takes
# that much less than its share of the first step, and its thread then joins the tail's blocks.
# The whole polish on two threads, medians of 7 alternated runs: 0.85 -> 0.72 -> 0.65 gave
# 1.34x -> 1.45x (exact) and 1.47x -> 1.57x -> 1.61x (2^22) over one thread.
_TAIL_COST = 0.7
_TAIL_BLOCK_ROWS = 32_768
# what a slot's record costs the per-slot sums besides its entries, in entries (measured: a slot
# range's CPU seconds ~ its entries + at most 1 per slot, on 1M generated rows at 2^22; the first
# slots are the most frequent columns)
_SLOT_COST = 1
# Slot ranges per thread: each reads the tail rows' terms where its entries are, about all
# their cache lines: few ranges, each wide, but enough to even out the threads.
_RANGES_PER_JOB = 2
# rows sampled to cut the slot ranges: one in _SAMPLE (the bits never depend on it)
_SAMPLE = 64
# the most slots of a range, and the rows of a block of its entries (packed in 32 bits)
_RANGE_SLOTS = 1 << _rowsums.SLOT_BITS
_SEGMENT_ROWS = 1 << (32 - _rowsums.SLOT_BITS)
# slots per task of the per-slot steps: ~0.5 ms each, enough tasks to even out two threads
SLOT_BLOCK = 65_536


def loss_sums(rows: Rows, weights: np.ndarray, intercept: float, loss_code: int, n_jobs: int) -> tuple[float, float]:
    """(weighted loss, weight) over ``rows`` at (weights, intercept), like ``_polish.loss_sums``."""
    n = rows.n_rows
    terms = np.empty(n)  # each page first written by the thread that fills it
    w = np.ascontiguousarray(weights, dtype=np.float64)

    def block(lo: int, hi: int) -> None:
        _rowsums.row_terms(*rows.arrays, w, intercept, loss_code, True, lo, hi, _EMPTY, terms)

    run_blocks(block, n, n_jobs)
    sums = np.zeros(4)
    _rowsums.ordered_sums(rows.indptr, rows.sw, _EMPTY, terms, True, 0, sums)
    return float(sums[1]), float(sums[0])


class PassSums:
    """One polish pass's sums over ``rows`` on ``n_jobs`` threads, like ``_polish.add_rows``
    (without the loss), in the steps of ``_rowsums``: the head rows through the one-sweep kernel
    on one thread while the others compute the tail rows' terms on row blocks, then the tail's
    per-slot sums on slot ranges. The tail's entries are split by slot range on the first pass
    and kept (4 bytes each, and the value if any), with the per-row terms."""

    def __init__(self, rows: Rows, n_jobs: int) -> None:
        self.rows = rows
        self.n_jobs = n_jobs
        n = rows.n_rows
        self.head = int(n * _TAIL_COST / (n_jobs - 1 + _TAIL_COST)) if n_jobs > 1 else n
        self.g = np.empty(n)  # the tail's terms: the head's pages are never touched
        self.segments: _Segments | None = None
        self.extremes = _extremes(rows.slots, n_jobs)
        # the weight and intercept curvature sums depend on the rows alone: their ends, by their starts
        self.scalar_ends: dict[bytes, tuple[float, float]] = {}

    def add(self, rec: np.ndarray, b: float, loss_code: int, curvature: float, sums: np.ndarray,
            point: np.ndarray | None = None) -> None:
        """The sums at ``rec[:, 0]``; ``point``: a copy of it the caller keeps (else one is made)."""
        rows, n, g, head = self.rows, self.rows.n_rows, self.g, self.head
        start = sums[[_polish.SUM_WEIGHT, _polish.SUM_LB]].tobytes()
        known = self.scalar_ends.get(start)
        if self.segments is None or self.segments.n_slots != rec.shape[0]:
            if self.extremes[0] < 0 or self.extremes[1] >= rec.shape[0]:
                raise ValueError(f"polish: rows have slots outside [0, {rec.shape[0]})")
            self.segments = None
            self.segments = _Segments(rows, head, rec.shape[0], self.n_jobs)
        parts = self.segments

        # the tail's threads read the weights from a copy, not next to the records the head writes
        if point is None and parts.weights is None:
            parts.weights = np.empty(rec.shape[0])
        weights = point if point is not None else parts.weights
        if point is None:
            run_blocks(lambda lo, hi: np.copyto(weights[lo:hi], rec[lo:hi, 0]), rec.shape[0], self.n_jobs,
                       SLOT_BLOCK)

        def head_sweep() -> None:
            indptr, slots, data, y, sw = rows.arrays
            _polish.add_rows(indptr[: head + 1], slots, data, y, sw, rec, b, loss_code, curvature, False, sums)

        def tail_block(lo: int, hi: int) -> None:
            _rowsums.row_terms(*rows.arrays, weights, b, loss_code, False, lo, hi, g, _EMPTY)

        # the pool takes tasks in order: the head starts first, and its thread joins the tail after
        run_tasks([head_sweep, *(_bind(tail_block, lo, hi) for lo, hi in _tail_blocks(head, n))], self.n_jobs)

        def scatter(t: int) -> None:
            _rowsums.scatter_segments(parts.packed, parts.data, parts.starts[t], head, _SEGMENT_ROWS,
                                      parts.bounds[t], rows.indptr, rows.sw, g, rec, curvature)

        def scalars() -> None:
            if known is None:
                _rowsums.ordered_sums(rows.indptr, rows.sw, g, _EMPTY, False, head, sums)
            else:  # the same additions as a pass before: only the intercept gradient is new
                sums[_polish.SUM_GB] = _rowsums.running_sum(g, head, n, sums[_polish.SUM_GB])
                sums[_polish.SUM_WEIGHT], sums[_polish.SUM_LB] = known

        # the heaviest ranges first (the first slots are the most frequent columns), the scalars last
        run_tasks([*(_bind(scatter, t) for t in parts.order), scalars], self.n_jobs)
        if known is None:
            self.scalar_ends[start] = (float(sums[_polish.SUM_WEIGHT]), float(sums[_polish.SUM_LB]))


def _extremes(slots: np.ndarray, n_jobs: int) -> tuple[int, int]:
    """(smallest, largest) slot of the rows, ``(0, -1)`` without entries."""
    found = [e for e in run_blocks(lambda lo, hi: _rowsums.slot_extremes(slots, lo, hi), slots.shape[0], n_jobs,
                                   16 * BLOCK_ROWS) if e[1] >= e[0]]
    return (min(e[0] for e in found), max(e[1] for e in found)) if found else (0, -1)


class _Segments:
    """The entries of rows ``head`` to the last split into slot ranges of at most ``_RANGE_SLOTS``
    (``_RANGES_PER_JOB`` per thread or more, of about the same cost each), each range's
    entries in row order, by blocks of ``_SEGMENT_ROWS`` rows: range ``t``'s entries of block
    ``b`` are ``[starts[t][b], starts[t][b + 1])`` of ``packed`` (row in its block << SLOT_BITS |
    slot in its range) and ``data``. With room for a copy of the weights."""

    def __init__(self, rows: Rows, head: int, n_slots: int, n_jobs: int) -> None:
        self.n_slots = n_slots
        bounds = _slot_bounds(rows, head, n_slots, n_jobs * _RANGES_PER_JOB)
        self.bounds = bounds
        n_ranges = bounds.shape[0] - 1
        first_range = _rowsums.coarse_ranges(bounds, n_slots)
        tasks = _tail_blocks(head, rows.n_rows)  # whole blocks of _SEGMENT_ROWS rows each
        per_task = _TAIL_BLOCK_ROWS // _SEGMENT_ROWS
        n_blocks = -(-(rows.n_rows - head) // _SEGMENT_ROWS)
        per_block = np.zeros((n_blocks, n_ranges), dtype=np.int64)
        run_tasks([_bind(_rowsums.count_segments, rows.indptr, rows.slots, first_range, bounds, lo, hi, _SEGMENT_ROWS,
                         per_block[k * per_task : (k + 1) * per_task])
                   for k, (lo, hi) in enumerate(tasks)], n_jobs)
        # block k's entries of range t go after those of the ranges before t and the blocks before k
        ends = np.cumsum(per_block.T.ravel()).reshape(n_ranges, n_blocks)
        self.starts = [np.concatenate([[0] if t == 0 else ends[t - 1, -1:], ends[t]]) if n_blocks
                       else np.zeros(1, dtype=np.int64) for t in range(n_ranges)]
        fills = (ends - per_block.T).T.copy()
        self.order = sorted(range(n_ranges), key=lambda t: -int(self.starts[t][-1] - self.starts[t][0]))
        n_entries = int(per_block.sum())
        self.packed = np.empty(n_entries, dtype=np.uint32)
        self.data = np.empty(n_entries if rows.data.shape[0] else 0, dtype=rows.data.dtype)
        run_tasks([_bind(_rowsums.fill_segments, rows.indptr, rows.slots, rows.data, first_range, bounds, lo, hi,
                         _SEGMENT_ROWS, fills[k * per_task : (k + 1) * per_task], self.packed, self.data)
                   for k, (lo, hi) in enumerate(tasks)], n_jobs)
        self.weights: np.ndarray | None = None  # made on the first pass whose caller keeps no copy


def _slot_bounds(rows: Rows, head: int, n_slots: int, n_ranges: int) -> np.ndarray:
    """Bounds cutting ``[0, n_slots)`` into ``n_ranges`` ranges of about the same cost (the
    tail's entries in the range, plus ``_SLOT_COST`` per slot), then any wider than
    ``_RANGE_SLOTS`` into equal parts. The entries of every ``_SAMPLE``-th row tell where they
    fall well enough (the bits never depend on it)."""
    sample = np.sort(rows.slots[_every_kth_row(rows.indptr[head:], _SAMPLE)])
    total = _SAMPLE * sample.shape[0] + _SLOT_COST * n_slots
    targets = total * np.arange(1, n_ranges) / n_ranges
    # each bound: the first slot whose cost before it reaches its target (the cost grows with the
    # slot, so the bounds come in order), all found by one bisection
    lo, hi = np.zeros(n_ranges - 1, dtype=np.int64), np.full(n_ranges - 1, n_slots, dtype=np.int64)
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        short = _SAMPLE * np.searchsorted(sample, mid) + _SLOT_COST * mid < targets
        lo, hi = np.where(short, mid + 1, lo), np.where(short, hi, mid)
    bounds = [0, *lo.tolist()]
    bounds.append(n_slots)
    cuts = []
    for lo, hi in zip(bounds, bounds[1:]):
        if hi > lo:
            pieces = -(-(hi - lo) // _RANGE_SLOTS)
            cuts += [lo + (hi - lo) * i // pieces for i in range(pieces)]
    return np.array([*cuts, n_slots] if cuts else [0, 0], dtype=np.int64)


def _tail_blocks(head: int, n_rows: int, block_rows: int = _TAIL_BLOCK_ROWS) -> list[tuple[int, int]]:
    return [(head + lo, head + hi) for lo, hi in row_blocks(n_rows - head, block_rows)]


def _every_kth_row(indptr: np.ndarray, k: int) -> np.ndarray:
    """The entry positions of rows 0, k, 2k, ... of ``indptr`` (a sample to size slot ranges)."""
    starts, stops = indptr[:-1:k].astype(np.int64), indptr[1::k].astype(np.int64)
    lengths = stops - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.repeat(starts - offsets, lengths) + np.arange(lengths.sum(), dtype=np.int64)


class SlotSweeps:
    """The polish's per-slot steps (``_polish.reset``, ``finish``, ``prox_step``) on fixed slot
    blocks on ``n_jobs`` threads, with one thread's bits: each slot's arithmetic is its own, and
    the momentum test takes the sign of the one-thread sum (:func:`certain_turn`). A block's scaling runs with
    its prox step, its extrapolation with the next pass's reset: two sweeps over the records a
    pass instead of four. One thread: the serial kernels."""

    def __init__(self, n_slots: int, n_jobs: int) -> None:
        self.n_slots, self.n_jobs = n_slots, n_jobs
        # the point's weights as one array (``rec[:, 0]``), for the sums' threads (``PassSums``)
        self.point = np.empty(n_slots) if n_jobs > 1 else None
        self.scale: tuple[float, float] | None = None  # (curvature, total) of a finish not yet applied
        self.cleared = False  # the gradients are zero already (reset for a pass with curvature 0)

    def _run(self, task) -> list:  # type: ignore[no-untyped-def]
        # about 4 blocks a thread (fewer hand-offs), at least SLOT_BLOCK slots each
        return run_blocks(task, self.n_slots, self.n_jobs, max(SLOT_BLOCK, -(-self.n_slots // (4 * self.n_jobs))))

    def start(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The records (weight, gradient, curvature bound per slot) and the previous iterate,
        both starting from ``weights``: first written on the threads, a slot block each (a fresh
        array's page faults cost about as much as a pass over it)."""
        rec, last = np.empty((self.n_slots, 3)), np.empty(self.n_slots)
        point = self.point

        def fill(lo: int, hi: int) -> None:
            rec[lo:hi, 0] = weights[lo:hi]
            last[lo:hi] = rec[lo:hi, 0]
            if point is not None:
                point[lo:hi] = rec[lo:hi, 0]

        self._run(fill)
        return rec, last

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

        def step(lo: int, hi: int) -> tuple[float, float]:
            _polish.finish_range(rec, curvature, total, lo, hi)
            return _polish.prox_range(rec, last, l1, l2, lo, hi, _EMPTY)

        def move(lo: int, hi: int) -> None:
            _polish.extrapolate_range(rec, last, beta, lo, hi)
            _polish.reset_range(rec, 0.0, lo, hi)
            np.copyto(point[lo:hi], rec[lo:hi, 0])  # the block's records are still in the cache

        point = self.point
        assert point is not None

        turn = certain_turn(self._run(step), self.n_slots, _polish.intercept_turn(gb, lb, momentum)[1])
        if turn is None:  # too close to call from the blocks' sums: the one-thread sum
            turn = _polish.turn_sum(rec, last, 0, self.n_slots)
        beta = _polish.momentum_step(turn, gb, lb, momentum, extrapolate)
        self._run(move)
        self.cleared = True


def certain_turn(parts: list[tuple[float, float]], n_terms: int, intercept_term: float) -> float | None:
    """The momentum test's slot sum from the slot blocks' (sum, sum of magnitudes) ``parts``,
    when it decides the test as the one-thread sum would; else None.

    The test reads only the sign of ``turn + intercept_term`` (``_polish.momentum_step``). Any
    order of adding ``n`` terms errs by at most ``(n - 1) u sum|t|`` (u = 2^-53), so the one-
    thread sum and this one differ by at most twice that: where their common sign is farther
    from zero than three times it, both give the same decision. Without any nonzero term both
    sums are exactly 0. Rare near-ties (and a non-finite term) go back to the one-thread sum.

    >>> certain_turn([(1.0, 1.0), (-0.25, 0.5)], 2, 0.0), certain_turn([(1e-17, 1.0)], 1, -1e-17)
    (0.75, None)
    """
    turn = size = 0.0
    for part_turn, part_size in parts:
        turn += part_turn
        size += part_size
    if size == 0.0:
        return turn
    margin = 3.0 * (n_terms + len(parts) + 2) * 2.0**-53 * size
    return turn if abs(turn + intercept_term) > margin else None


def _bind(task, *args):  # type: ignore[no-untyped-def]
    return lambda: task(*args)
