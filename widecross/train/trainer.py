"""Training state: the column -> slot map, the optimizer's records and scalars, and their epochs.

A :class:`Trainer` owns what persists between calls and turns a CSR batch into slot-indexed
:class:`~widecross.train.rows.Rows`. It runs an epoch, reads the weights and hands them to a
batch :class:`~widecross.train.solver.Solver` through the
:class:`~widecross.train.optimizer.Optimizer` it was given, without knowing which one that is.

Two layouts of the state (see :mod:`widecross.train.slots`): ``"sparse"`` hands slots to the
columns as they are first seen, so nothing is sized by the model width; ``"dense"`` makes
slot == column, with records for every column of the width. The kernels are the same, so are
the weights.
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._parallel import even_ranges, run_tasks
from .._scans import all_ones
from . import _state
from .optimizer import Optimizer
from .multiclass import class_mean_loss
from .polish import mean_loss
from .rows import Rows, Shuffle, buffers, gather_rows, visits
from .shards import ShardedEpochs
from .slots import DenseMap, SlotMap
from .solver import Blocks, RowsPlan, Solution, Solver

# the fewest slots a thread reads the weights of
SLOT_BLOCK = 65_536

# Passes longer than this train on rows gathered in visiting order, this many at a time: ~1.5 MB
# of geo rows, which stay in cache while trained.
GATHER_ROWS = 65_536
GATHER_ENTRIES = 16 * GATHER_ROWS  # 4 MB of int32 slots: a chunk of long rows holds fewer rows
# Passes of at most this many rows (small partial_fit calls) read their rows in place: they are
# in cache already, and gathering them would cost more than it saves (measured at 1k and 5k rows).
DIRECT_ROWS = 2048


class NonFiniteError(FloatingPointError):
    """An update produced NaN or infinity; ``position`` is the example's index in the order."""

    def __init__(self, position: int) -> None:
        super().__init__(f"non-finite update at example {position}")
        self.position = position


def _pointers(X: sp.csr_matrix) -> np.ndarray:
    indptr = X.indptr
    return indptr if indptr.dtype in (np.int32, np.int64) else indptr.astype(np.int64)


def _values(X: sp.csr_matrix, n_jobs: int = 1) -> np.ndarray:
    data = X.data
    if data.size and all_ones(data, n_jobs):
        # kernels then skip loading values: one memory stream less. A fresh empty array, not a
        # view, so that the rows do not keep the values of a big CSR alive.
        return np.empty(0, dtype=data.dtype)
    if data.dtype not in (np.float32, np.float64):
        return data.astype(np.float64)
    return data


class Trainer:
    """An optimizer's state over the slots of the columns seen so far.

    ``layout`` is ``"sparse"`` (slots for the columns seen) or ``"dense"`` (slot == column;
    needs ``width``). ``n_jobs`` > 1: passes of more than ``DIRECT_ROWS`` rows train on that
    many threads (:mod:`.shards`; deterministic for a given ``n_jobs``), the polish's sums and
    losses too (the same bits for any ``n_jobs``).

    >>> from widecross.losses import LOSSES
    >>> from widecross.train.sgd import SGD, SGDParams
    >>> trainer = Trainer(SGD(LOSSES["squared"], SGDParams(eta0=0.5)))
    >>> rows = trainer.rows(sp.csr_matrix(np.eye(2)), np.array([1.0, -1.0]))
    >>> trainer.epoch(rows, np.array([0, 1]))  # losses 1/2 and (0.5 + 1)^2 / 2: the intercept moved too
    0.8125
    >>> trainer.coefficients()[1].tolist(), trainer.intercept()
    ([0.5, -0.75], -0.25)
    """

    # False: the epochs stay on one thread (the rest, polish included, still on n_jobs): for
    # one-epoch fits whose pass would not repay the shards' plan (l1="auto"'s path). A class
    # default, so that a trainer pickled before it existed reads True.
    epochs_on_threads = True

    def __init__(self, optimizer: Optimizer, layout: str = "sparse", width: int | None = None,
                 n_jobs: int = 1) -> None:
        self.optimizer = optimizer
        self.n_jobs = n_jobs
        self._sharded: ShardedEpochs | None = None  # the threads' buffers, made on first use
        self._plan = RowsPlan()  # what the solver keeps of the rows between its calls
        if layout == "sparse":
            self.slot_map: SlotMap | DenseMap = SlotMap()
        elif layout == "dense":
            if width is None:
                raise ValueError("the dense layout needs the width")
            self.slot_map = DenseMap(width)
        else:
            raise ValueError(f"unknown layout {layout!r}; choose 'sparse' or 'dense'")
        self.layout = layout
        self.records = optimizer.new_records(self.slot_map.capacity)
        self.scalars = optimizer.new_scalars()
        self.published: Any = None  # the owner's cached model of the current state

    # -- input -------------------------------------------------------------------------------
    def rows(self, X: sp.csr_matrix, y: np.ndarray, sw: np.ndarray | None = None, grow: bool = True) -> Rows:
        """Slot-indexed rows of canonical CSR ``X``; unseen columns get fresh (zero) records.

        ``grow=False``: only the slot map changes (the training kernels never read it), so a
        reader thread may map while another one trains; the trainer must ``grow`` before
        training on the rows.
        """
        rows = Rows(_pointers(X), self.slot_map.map(X.indices, self.n_jobs), _values(X, self.n_jobs), y, _weights(sw))
        if grow:
            self.grow()
        return rows

    def lookup(self, X: sp.csr_matrix, y: np.ndarray, sw: np.ndarray | None = None) -> Rows:
        """Like ``rows`` but read-only: unseen columns get slot -1 (weight 0 when scoring)."""
        return Rows(_pointers(X), self.slot_map.lookup(X.indices), _values(X, self.n_jobs), y, _weights(sw))

    def grow(self) -> None:
        """Grow the records to the slot map's capacity (a new array: never while training)."""
        need = self.slot_map.capacity
        if self._records.shape[0] < need:
            grown = np.zeros((need, self.records.shape[1]), dtype=np.float64)
            grown[: self.records.shape[0]] = self.records
            self.records = grown

    # -- training ----------------------------------------------------------------------------
    def epoch(self, rows: Rows, order: np.ndarray | Shuffle | None = None) -> float:
        """One pass over ``rows`` in ``order`` (None: as stored; a :class:`Shuffle`: a fresh
        random order the pass draws, on threads shard by shard); returns the mean progressive loss.

        The kernels read rows in storage order: a pass in another order (of more than
        ``DIRECT_ROWS`` rows) runs chunk by chunk over rows gathered in that order
        (``GATHER_ROWS`` at a time, see ``rows.gather_rows``): the same updates in the same
        order, faster than reading rows from random places. Raises
        ``NonFiniteError`` with the state partly updated: callers that must survive it take a
        ``snapshot`` first.
        """
        sharded = self.n_jobs > 1 and self.epochs_on_threads and visits(rows, order) > DIRECT_ROWS
        if isinstance(order, Shuffle) and not sharded:
            order = order.draw()
        if sharded:
            self._run_sharded(rows, order)
        elif order is None:
            self._run(rows, np.arange(rows.n_rows, dtype=np.int32 if rows.n_rows < 2**31 else np.int64), 0)
        elif order.shape[0] <= DIRECT_ROWS:
            self._run(rows, order, 0)
        else:
            n = order.shape[0]
            entries = rows.slots.shape[0]
            if entries > GATHER_ENTRIES:  # room for GATHER_ENTRIES, or for the longest row
                entries = max(GATHER_ENTRIES, int(np.max(np.diff(rows.indptr))))
            buffer = buffers(rows, min(GATHER_ROWS, n), entries, np.int64)
            in_order = np.arange(buffer.n_rows, dtype=np.int32)
            loss_sum = weight_sum = 0.0
            lo = 0
            while lo < n:
                hi = gather_rows(*rows.arrays, order, lo, min(lo + buffer.n_rows, n), *buffer.arrays)
                chunk = Rows(buffer.indptr[: hi - lo + 1], buffer.slots, buffer.data, buffer.y, buffer.sw)
                self._run(chunk, in_order[: hi - lo], lo)
                loss_sum += self.scalars[_state.LOSS_SUM]
                weight_sum += self.scalars[_state.WEIGHT_SUM]
                lo = hi
            self.scalars[_state.LOSS_SUM], self.scalars[_state.WEIGHT_SUM] = loss_sum, weight_sum
        loss_sum, weight_sum = self.last_sums()
        return loss_sum / weight_sum if weight_sum > 0 else 0.0

    def _run_sharded(self, rows: Rows, order: np.ndarray | Shuffle | None) -> None:
        if order is None:
            order = np.arange(rows.n_rows, dtype=np.int32 if rows.n_rows < 2**31 else np.int64)
        sharded = self._sharded
        if sharded is None or sharded.n_jobs != self.n_jobs or not sharded.adopt(self.optimizer):
            self._drop_sharded()
            sharded = self._sharded = ShardedEpochs(self.optimizer, self.n_jobs)
        bad = sharded.run(rows, order, self._records, self.scalars)
        if bad >= 0:
            raise NonFiniteError(bad)

    def _run(self, rows: Rows, order: np.ndarray, offset: int) -> None:
        bad = self.optimizer.run_epoch(rows, order, self.records, self.scalars)
        if bad >= 0:
            raise NonFiniteError(offset + bad)

    def last_sums(self) -> tuple[float, float]:
        """(weighted loss, weight) summed over the last ``epoch`` call, for running means."""
        return float(self.scalars[_state.LOSS_SUM]), float(self.scalars[_state.WEIGHT_SUM])

    def snapshot(self, rows: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What ``restore`` needs to undo one ``epoch`` over ``rows``: O(rows' entries) copies."""
        touched = rows.slots
        return touched, self._records_to_read()[touched].copy(), self.scalars.copy()

    def restore(self, snap: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self._drop_sharded()  # its shards' copies of the records would be stale
        touched, records, scalars = snap
        self.records[touched] = records
        self.scalars[:] = scalars

    def solve(self, solver: Solver, blocks: Blocks, keep_plan: bool = False) -> Solution:
        """Run a batch ``solver`` on the current weights over the rows of ``blocks``, keep its result.

        With K columns the solver gets them all (one-vs-rest: K independent binary problems whose
        labels read "class k or not"; softmax: coupled columns). ``keep_plan``: the solver keeps
        what it worked out about the rows for the next solve on the same rows (a path's next
        point) until ``release``; else nothing of them stays.
        """
        if not solver.applies(self.optimizer.loss):
            return Solution(self.intercept(), 0)
        weights = self.slot_weights()
        plan = self._plan if keep_plan else None
        solution = solver.solve(blocks, weights, self.intercept(), self.optimizer.penalty, self.optimizer.loss, plan)
        if solution.passes:
            self.set_weights(weights, solution.intercept)
        return solution

    def reconfigure(self, optimizer: Optimizer) -> bool:
        """Continue under ``optimizer``'s settings (new rates or penalties); True if any changed.

        The idle coordinates still owe the penalty of the steps taken under the old settings:
        it is settled first (O(slots), once), so that the new settings apply from now on only.
        """
        if optimizer == self.optimizer:
            return False
        weights, intercept = self.slot_weights(), self.intercept()
        self.optimizer = optimizer
        self.set_weights(weights, intercept)
        return True

    def copy(self) -> Trainer:
        """An independent copy of the state (not of the cached model, nor of the threads' buffers)."""
        published, self.published = self.published, None
        try:
            return copy.deepcopy(self)
        finally:
            self.published = published

    def release(self) -> None:
        """Drop the threads' buffers (tens of MB per thread) and what the solver kept of the rows;
        the next threaded pass and the next solve make them again."""
        self._drop_sharded()
        self._plan = RowsPlan()

    def _drop_sharded(self) -> None:
        if self._sharded is not None:
            self._sharded.flush()
            self._sharded = None

    @property
    def records(self) -> np.ndarray:
        """The optimizer's records, one row per slot. The threaded epochs leave the records of the
        slots one shard alone touches in that shard's copy until they are read (the next pass
        goes on from the copies): reading them here writes them back first, and since a reader
        may change them in place (a cluster's mix, a checkpoint), the next pass copies them in
        again instead of going on from the shards' copies."""
        if self._sharded is not None:
            self._sharded.flush()
            self._sharded.forget()
        return self._records

    def _records_to_read(self) -> np.ndarray:
        """The records for reading only: written back, and the next threaded pass still goes on
        from the shards' copies (the trainer's own readers never change them)."""
        if self._sharded is not None:
            self._sharded.flush()
        return self._records

    @records.setter
    def records(self, records: np.ndarray) -> None:
        self._records = records

    def __getstate__(self) -> dict:
        self._records_to_read()  # written back: the copy gets the state as it is
        state = self.__dict__.copy()
        state["_sharded"] = None  # buffers, not state: never copied or pickled
        state["_plan"] = RowsPlan()
        return state

    def __setstate__(self, state: dict) -> None:
        if "records" in state:  # pickled before the records became a property
            state["_records"] = state.pop("records")
        self.__dict__.update(state)
        self.__dict__.setdefault("_plan", RowsPlan())

    # -- reading -----------------------------------------------------------------------------
    @property
    def n_slots(self) -> int:
        return self.slot_map.n

    @property
    def nbytes(self) -> int:
        """Bytes held by the training state: records (including spare capacity) and slot map."""
        return int(self._records.nbytes + self.slot_map.nbytes)

    @property
    def columns(self) -> int:
        """Weight columns: 1, or K for a multiclass model."""
        return self.optimizer.columns

    @property
    def steps(self) -> int:
        return int(self.scalars[_state.STEPS])

    def slot_weights(self, out: np.ndarray | None = None) -> np.ndarray:
        """Exact current weights per slot (float64, shape (n_slots,) or (n_slots, K)); the state is
        unchanged."""
        if out is None:
            out = np.zeros(self.n_slots if self.columns == 1 else (self.n_slots, self.columns), dtype=np.float64)
        records, n = self._records_to_read(), self.n_slots
        # each slot's weight is its own: slot blocks on threads give the same array
        n_blocks = max(1, min(self.n_jobs, n // SLOT_BLOCK))
        found = run_tasks([partial(self.optimizer.weights, records[lo:hi], hi - lo, self.scalars, out[lo:hi])
                           for lo, hi in even_ranges(n, n_blocks)], self.n_jobs)
        if min(found) < 0:
            raise NonFiniteError(-1)
        return out

    def intercept(self) -> Any:
        """The intercept, or the K intercepts of a multiclass state."""
        return self.optimizer.intercept(self.scalars)

    def coefficients(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sorted column ids (int64) and float64 values of the nonzero weights; with K columns,
        the ids where any class is nonzero and their (n, K) weights."""
        w = self.slot_weights() if weights is None else weights
        nz = np.flatnonzero(w) if w.ndim == 1 else np.flatnonzero((w != 0).any(axis=1))
        columns = self.slot_map.columns_of(nz, self.n_jobs)
        order = np.argsort(columns)  # distinct ids: any sort gives the one order
        return columns[order], w[nz][order]

    def set_weights(self, weights: np.ndarray, intercept: float) -> None:
        """Make the state describe ``weights`` (per slot) and ``intercept``; later epochs continue
        from there (SGD stamps them at the current clock, FTRL moves ``z`` to return them)."""
        # the records' reader below writes the shards' copies back and has the next pass copy the
        # records in again; the plan of the rows stays (a path's next point passes the same rows)
        w = weights if weights.dtype == np.float64 else weights.astype(np.float64)
        self.optimizer.set_weights(self.records, self.n_slots, self.scalars, w, intercept)

    def mean_loss(self, rows: Rows) -> float:
        """Mean weighted loss of the current model on ``rows`` (from ``rows`` or ``lookup``)."""
        if self.columns > 1:
            return class_mean_loss(rows, self.slot_weights(), self.intercept(), self.optimizer.loss)
        return mean_loss(lambda: (rows,), self.slot_weights(), self.intercept(), self.optimizer.loss, self.n_jobs)


def _weights(sw: np.ndarray | None) -> np.ndarray:
    return np.empty(0, dtype=np.float64) if sw is None else sw
