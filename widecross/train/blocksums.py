"""The polish's sums and the mean loss on several threads, with the one-thread bits.

Rows are split into fixed blocks (:mod:`widecross._parallel`) for what each row computes alone
(its margin, loss and derivative); the sums over rows are added in row order, sequentially for
the scalars and per slot (over the transposed rows) for the gradient and curvature records. See
``_rowsums`` for why that gives exactly the sums of ``_polish.add_rows`` and ``_polish.loss_sums``.
"""

from __future__ import annotations

import numpy as np

from .._parallel import run_blocks, run_tasks
from . import _rowsums
from .rows import Rows

_EMPTY = np.empty(0)
# slot ranges per thread in the scatter: evens out ranges whose rows cost more (any count gives
# the same bits)
_RANGES_PER_JOB = 4


def loss_sums(rows: Rows, weights: np.ndarray, intercept: float, loss_code: int, n_jobs: int) -> tuple[float, float]:
    """(weighted loss, weight) over ``rows`` at (weights, intercept), like ``_polish.loss_sums``."""
    n = rows.n_rows
    g, terms = np.empty(n), np.empty(n)
    w = np.ascontiguousarray(weights, dtype=np.float64)

    def block(lo: int, hi: int) -> None:
        _rowsums.row_terms(*rows.arrays, w, intercept, loss_code, True, lo, hi, g, terms)

    run_blocks(block, n, n_jobs)
    sums = np.zeros(4)
    _rowsums.ordered_sums(rows.indptr, rows.sw, g, terms, True, _EMPTY, sums)
    return float(sums[1]), float(sums[0])


class PassSums:
    """One polish pass's sums over ``rows`` on ``n_jobs`` threads, like ``_polish.add_rows``
    (without the loss). The transposed rows are built on the first pass and kept: O(entries)."""

    def __init__(self, rows: Rows, n_jobs: int) -> None:
        self.rows = rows
        self.n_jobs = n_jobs
        self.columns: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _transposed(self, n_slots: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.columns is None or self.columns[0].shape[0] != n_slots + 1:
            rows = self.rows
            col_ptr = np.zeros(n_slots + 1, dtype=np.int64)
            col_rows = np.empty(rows.slots.shape[0], dtype=np.int32 if rows.n_rows < 2**31 else np.int64)
            col_pos = np.empty(rows.slots.shape[0] if rows.data.shape[0] else 0, dtype=np.int64)
            _rowsums.transpose(rows.indptr, rows.slots, col_ptr, col_rows, col_pos)
            self.columns = (col_ptr, col_rows, col_pos)
        return self.columns

    def add(self, rec: np.ndarray, b: float, loss_code: int, curvature: float, sums: np.ndarray) -> None:
        rows, n = self.rows, self.rows.n_rows
        g = np.empty(n)
        weights = np.ascontiguousarray(rec[:, 0])  # one sequential copy: rows read it at random

        def block(lo: int, hi: int) -> None:
            _rowsums.row_terms(*rows.arrays, weights, b, loss_code, False, lo, hi, g, _EMPTY)

        run_blocks(block, n, self.n_jobs)
        k1 = np.empty(n if curvature > 0.0 else 0)
        _rowsums.ordered_sums(rows.indptr, rows.sw, g, _EMPTY, False, k1, sums)
        col_ptr, col_rows, col_pos = self._transposed(rec.shape[0])
        parts = self.n_jobs * _RANGES_PER_JOB
        bounds = np.searchsorted(col_ptr, np.linspace(0, col_ptr[-1], parts + 1)).tolist()
        bounds[0], bounds[-1] = 0, rec.shape[0]

        def scatter(lo: int, hi: int) -> None:
            _rowsums.scatter_columns(col_ptr, col_rows, col_pos, rows.data, g, k1, rec, curvature, lo, hi)

        run_tasks([_call(scatter, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo], self.n_jobs)


def _call(task, lo: int, hi: int):  # type: ignore[no-untyped-def]
    return lambda: task(lo, hi)
