"""Training state behind the estimators: slot map + per-slot records + kernel dispatch.

The estimators validate and convert input; this module owns what persists between calls (the
column -> slot map, the optimizer records, the step count and clock) and turns a CSR batch into
the slot-indexed arrays the kernels read.

Two layouts of the state (see ``_slots``): ``"sparse"`` hands slots to the columns as they are
first seen, so nothing is sized by the model width; ``"dense"`` makes slot == column, with
records for every column of the width. The kernels are the same, so are the weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp

from . import _ftrl, _order, _sgd
from ._losses import LOSS_CODES
from ._slots import DenseMap, SlotMap

SCHEDULES = {"constant": _sgd.CONSTANT, "invscaling": _sgd.INVSCALING, "linear": _sgd.LINEAR}
# Passes longer than this train on rows gathered in visiting order, this many at a time: ~1.5 MB
# of geo rows, which stay in cache while trained (8k to 256k rows per chunk: the same speed).
GATHER_ROWS = 65_536
GATHER_ENTRIES = 16 * GATHER_ROWS  # 4 MB of int32 slots: a chunk of long rows holds fewer rows


@dataclass(frozen=True)
class Batch:
    """A CSR batch whose column ids were replaced by slots. ``data`` is empty when all ones."""

    indptr: np.ndarray  # int32 or int64, n_rows + 1
    slots: np.ndarray  # int32, nnz
    data: np.ndarray  # float32/float64, nnz or 0
    n_rows: int


def _pointers(X: sp.csr_matrix) -> np.ndarray:
    indptr = X.indptr
    return indptr if indptr.dtype in (np.int32, np.int64) else indptr.astype(np.int64)


def _values(X: sp.csr_matrix) -> np.ndarray:
    data = X.data
    if data.size and np.all(data == 1):
        # kernels then skip loading values: one memory stream less. A fresh empty array, not a
        # view, so that the batch does not keep the values of a big CSR alive.
        return np.empty(0, dtype=data.dtype)
    if data.dtype not in (np.float32, np.float64):
        return data.astype(np.float64)
    return data


class NonFiniteError(FloatingPointError):
    """An update produced NaN or infinity; ``position`` is the example's index in the order."""

    def __init__(self, position: int) -> None:
        super().__init__(f"non-finite update at example {position}")
        self.position = position


class Trainer:
    """Optimizer state over the slots of the columns seen so far.

    ``optimizer`` is ``"sgd"`` or ``"ftrl"``; ``hp`` the kernel's hyperparameter vector
    (``_sgd.HP_*`` or ``_ftrl.HP_*``); for SGD ``schedule`` names the global rate factor and
    ``adaptive`` picks per-coordinate rates (``_sgd.ADAGRAD`` or True, ``_sgd.NEWTON``).
    ``layout`` is ``"sparse"`` (slots
    for the columns seen) or ``"dense"`` (slot == column; needs ``width``).
    """

    def __init__(self, optimizer: str, loss: str, hp: np.ndarray, schedule: str = "constant", adaptive: int = 0,
                 layout: str = "sparse", width: int | None = None):
        self.optimizer = optimizer
        self.loss = LOSS_CODES[loss]
        self.hp = np.asarray(hp, dtype=np.float64)
        self.schedule = SCHEDULES[schedule]
        self.adaptive = int(adaptive)  # _sgd.PLAIN, ADAGRAD (True) or NEWTON
        if layout == "sparse":
            self.slot_map: SlotMap | DenseMap = SlotMap()
        elif layout == "dense":
            if width is None:
                raise ValueError("the dense layout needs the width")
            self.slot_map = DenseMap(width)
        else:
            raise ValueError(f"unknown layout {layout!r}; choose 'sparse' or 'dense'")
        self.layout = layout
        self.published = None  # the estimator's cached SparseModel of the current state
        self.rng = None  # the row-order generator of the estimator that owns this state
        if optimizer == "sgd":
            self.state = _sgd.new_state(self.slot_map.capacity, self.adaptive)
            self.scal = _sgd.new_scalars()
        elif optimizer == "ftrl":
            self.state = _ftrl.new_state(self.slot_map.capacity)
            self.scal = _ftrl.new_scalars()
        else:
            raise ValueError(f"unknown optimizer {optimizer!r}")

    # -- input -------------------------------------------------------------------------------
    def map(self, X: sp.csr_matrix) -> Batch:
        """Slot-indexed view of canonical CSR ``X``; unseen columns get fresh (zero) records."""
        batch = self.map_only(X)
        self.fit_capacity()
        return batch

    def map_only(self, X: sp.csr_matrix) -> Batch:
        """``map`` without growing the records: for a reader thread while another one trains.

        Only the slot map changes (the training kernels never read it); the trainer must call
        ``fit_capacity`` before training on the batch.
        """
        return Batch(_pointers(X), self.slot_map.map(X.indices), _values(X), X.shape[0])

    def lookup(self, X: sp.csr_matrix) -> Batch:
        """Like ``map`` but read-only: unseen columns get slot -1 (weight 0 when scoring)."""
        return Batch(_pointers(X), self.slot_map.lookup(X.indices), _values(X), X.shape[0])

    def mean_loss(self, batch: Batch, y: np.ndarray, sw: np.ndarray) -> float:
        """Mean weighted loss of the current model on ``batch`` (from ``map`` or ``lookup``)."""
        from . import _batch

        return float(_batch.mean_loss(batch.indptr, batch.slots, batch.data, y, sw, self.slot_weights(), self.intercept(), self.loss))

    def fit_capacity(self) -> None:
        """Grow the records to the slot map's capacity (a new array: never while training)."""
        need = self.slot_map.capacity
        if self.state.shape[0] < need:
            grown = np.zeros((need, self.state.shape[1]), dtype=np.float64)
            grown[: self.state.shape[0]] = self.state
            self.state = grown

    # -- training ----------------------------------------------------------------------------
    def epoch(self, batch: Batch, y: np.ndarray, sw: np.ndarray, order: np.ndarray) -> float:
        """One pass over ``batch`` rows in ``order``; returns the mean progressive loss.

        Long passes run chunk by chunk over rows gathered in visiting order (``GATHER_ROWS`` at
        a time, see ``_order.gather_rows``): the same updates in the same order, faster.
        Raises ``NonFiniteError`` with the state partly updated: callers that must survive it
        take a ``snapshot`` first.
        """
        loss_i, weight_i = self._sums_at
        n = order.shape[0]
        if n <= GATHER_ROWS:
            self._run(batch.indptr, batch.slots, batch.data, y, sw, order, 0)
        else:
            # buffers for GATHER_ROWS rows of up to GATHER_ENTRIES entries in all (a chunk ends
            # early rather than growing them), or one row, if a row is longer than that
            rows = GATHER_ROWS
            entries = max(GATHER_ENTRIES, int(np.max(np.diff(batch.indptr))))
            out_indptr = np.empty(rows + 1, dtype=np.int64)
            out_slots = np.empty(entries, dtype=batch.slots.dtype)
            out_data = np.empty(entries if batch.data.size else 0, dtype=batch.data.dtype)
            out_y = np.empty(rows, dtype=y.dtype)
            out_sw = np.empty(rows if sw.size else 0, dtype=sw.dtype)
            in_order = np.arange(rows, dtype=np.int32)
            loss_sum = weight_sum = 0.0
            lo = 0
            while lo < n:
                hi = _order.gather_rows(batch.indptr, batch.slots, batch.data, y, sw, order, lo, min(lo + rows, n),
                                        out_indptr, out_slots, out_data, out_y, out_sw)
                self._run(out_indptr[: hi - lo + 1], out_slots, out_data, out_y, out_sw, in_order[: hi - lo], lo)
                loss_sum += self.scal[loss_i]
                weight_sum += self.scal[weight_i]
                lo = hi
            self.scal[loss_i], self.scal[weight_i] = loss_sum, weight_sum
        weight = self.scal[weight_i]
        return float(self.scal[loss_i] / weight) if weight > 0 else 0.0

    def _run(self, indptr, slots, data, y, sw, order, offset: int) -> None:
        if self.optimizer == "sgd":
            bad = _sgd.sgd_epoch(indptr, slots, data, y, sw, order, self.state, self.scal, self.hp,
                                 self.loss, self.schedule, self.adaptive)
        else:
            bad = _ftrl.ftrl_epoch(indptr, slots, data, y, sw, order, self.state, self.scal, self.hp, self.loss)
        if bad >= 0:
            raise NonFiniteError(offset + int(bad))

    @property
    def _sums_at(self) -> tuple[int, int]:
        """Where the kernels leave the (weighted loss, weight) of their last call in ``scal``."""
        return (_sgd.S_LOSS, _sgd.S_WEIGHT) if self.optimizer == "sgd" else (_ftrl.S_LOSS, _ftrl.S_WEIGHT)

    def last_sums(self) -> tuple[float, float]:
        """(weighted loss, weight) summed over the last ``epoch`` call, for running means."""
        loss_i, weight_i = self._sums_at
        return float(self.scal[loss_i]), float(self.scal[weight_i])

    def snapshot(self, batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What ``restore`` needs to undo one ``epoch`` over ``batch``: O(batch nnz) copies."""
        touched = batch.slots
        return touched, self.state[touched].copy(), self.scal.copy()

    def restore(self, snap: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        touched, records, scal = snap
        self.state[touched] = records
        self.scal[:] = scal

    # -- reading -----------------------------------------------------------------------------
    @property
    def n_slots(self) -> int:
        return self.slot_map.n

    @property
    def nbytes(self) -> int:
        """Bytes held by the training state: records (including spare capacity) and slot map."""
        return int(self.state.nbytes + self.slot_map.nbytes)

    @property
    def steps(self) -> int:
        return int(self.scal[0])

    def slot_weights(self, out: np.ndarray | None = None) -> np.ndarray:
        """Exact current weights per slot (float64, length ``n_slots``); the state is unchanged.

        ``out`` may be any float64 view of that length (e.g. a column of a record array).
        """
        if out is None:
            out = np.zeros(self.n_slots, dtype=np.float64)
        if self.optimizer == "sgd":
            nnz = _sgd.sgd_weights(self.state, self.n_slots, self.scal, self.hp, self.adaptive, out)
        else:
            nnz = _ftrl.ftrl_weights(self.state, self.n_slots, self.scal, self.hp, out)
        if nnz < 0:
            raise NonFiniteError(-1)
        return out

    def intercept(self) -> float:
        if self.optimizer == "sgd":
            return float(self.scal[_sgd.S_BIAS])
        return float(_ftrl.ftrl_intercept(self.scal, self.hp))

    def coefficients(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sorted column ids (int64) and float64 values of the nonzero weights."""
        w = self.slot_weights() if weights is None else weights
        nz = np.flatnonzero(w)
        columns = self.slot_map.columns_of(nz)
        order = np.argsort(columns, kind="stable")
        return columns[order], w[nz][order]

    def set_weights(self, weights: np.ndarray, intercept: float) -> None:
        """Make the state describe ``weights`` (per slot) and ``intercept``, e.g. after a polish.

        SGD stores them stamped at the current clock; FTRL moves ``z`` so that its closed form
        returns them. Later epochs continue from there.
        """
        w = weights if weights.dtype == np.float64 else weights.astype(np.float64)
        if self.optimizer == "sgd":
            _sgd.sgd_set_weights(self.state, self.n_slots, self.scal, w)
            self.scal[_sgd.S_BIAS] = intercept
        else:
            _ftrl.ftrl_set_weights(self.state, self.n_slots, self.scal, self.hp, w)
            _ftrl.ftrl_set_intercept(self.scal, self.hp, float(intercept))

    def polish(self, batch: Batch, y: np.ndarray, sw: np.ndarray, max_passes: int) -> tuple[float, int]:
        """Majorized prox-gradient passes over ``batch`` (see ``_batch``); returns (objective, passes).

        A no-op (0 passes) for losses without a curvature bound (hinge, Poisson).
        """
        from . import _batch

        curvature = self._curvature()
        if max_passes <= 0 or curvature <= 0.0 or batch.n_rows == 0:
            return float("nan"), 0
        l1, l2 = self.penalties
        rec = np.empty((self.n_slots, 3), dtype=np.float64)  # weight, gradient, curvature per slot
        self.slot_weights(rec[:, 0])
        b, f = _batch.polished(batch, y, sw, rec, self.intercept(), l1, l2, self.loss, curvature, max_passes)
        self.set_weights(rec[:, 0], b)
        return f, max_passes

    def polish_stream(self, chunks: Callable[[], Iterable[tuple[Batch, np.ndarray, np.ndarray]]], max_passes: int) -> int:
        """``polish`` over data that arrives in chunks: ``chunks()`` yields one full pass.

        Each pass accumulates the gradient chunk by chunk in the order given, then steps, so
        the weights are bit for bit those of ``polish`` over the concatenated rows. The final
        objective would cost one more pass, so it is not measured. Returns the passes run.
        """
        from . import _batch

        curvature = self._curvature()
        if max_passes <= 0 or curvature <= 0.0:
            return 0
        l1, l2 = self.penalties
        rec = np.empty((self.n_slots, 3), dtype=np.float64)
        self.slot_weights(rec[:, 0])
        last = rec[:, 0].copy()
        momentum = _batch.new_momentum(self.intercept())
        sums = np.zeros(_batch.N_SUMS)
        lb = 0.0
        for done in range(max_passes):
            c = curvature if done == 0 else 0.0  # the bound depends on the data only
            _batch.reset(rec, c, sums)
            b = float(momentum[_batch.M_B])
            stream = iter(chunks())
            try:
                for batch, y, sw in stream:
                    _batch.accumulate(batch.indptr, batch.slots, batch.data, y, sw, rec, b, self.loss, c, False, sums)
            finally:  # a generator is closed at once, so that an error stops its reader
                getattr(stream, "close", lambda: None)()
            if sums[_batch.SUM_WEIGHT] <= 0.0:
                return 0
            _, gb, lb_new = _batch.finish(rec, c, sums)
            if done == 0:
                lb = lb_new
            _batch.prox_step(rec, last, l1, l2, gb, lb, momentum, done + 1 < max_passes)
        self.set_weights(rec[:, 0], float(momentum[_batch.M_B]))
        return max_passes

    def _curvature(self) -> float:
        from ._losses import CURVATURE

        name = next(k for k, v in LOSS_CODES.items() if v == self.loss)
        return float(CURVATURE[name])

    @property
    def penalties(self) -> tuple[float, float]:
        if self.optimizer == "sgd":
            return float(self.hp[_sgd.HP_L1]), float(self.hp[_sgd.HP_L2])
        return float(self.hp[_ftrl.HP_L1]), float(self.hp[_ftrl.HP_L2])
