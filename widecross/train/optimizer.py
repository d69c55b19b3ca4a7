"""What a stochastic optimizer is to the rest of widecross: per-slot records, scalars, an epoch.

An optimizer's whole state is plain arrays: ``records`` (float64, one row per slot, all zero for
a column never seen; its columns are named by ``fields``) and ``scalars`` (float64; the entries
named in ``_state`` sit at the same place for every optimizer). With the optimizer's ``params``
(a frozen, JSON-able record) and the slot map they describe a training run completely: they can
be copied, saved, restored, or split by slot (a caller may hand an epoch the records of some
slots only and put the updated rows back) without knowing which optimizer made them.

An optimizer owns no state itself: every method takes the arrays it works on. A
:class:`~widecross.train.trainer.Trainer` holds them and calls these methods; it never asks which
optimizer it runs.

A multiclass model is ``columns`` = K weight columns in the same state: a slot's record holds
the K classes' fields side by side (class ``k`` at ``k * F .. k * F + F - 1``), the scalars hold
the shared clock and then two intercept scalars per class, and one pass over a row updates all K
columns (the ``_multi`` kernels). Reading and replacing weights works column by column through
the binary kernels, on a view of the class's fields.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..losses import Loss
from . import _state
from .penalty import Penalty
from .rows import Rows

if TYPE_CHECKING:  # pragma: no cover
    from .params import FitParams


class Optimizer(ABC):
    """A stochastic optimizer of the penalized mean loss over slot-indexed rows.

    Subclasses set ``name`` (what ``optimizer=`` says), ``fields`` (the columns of a record),
    ``rate_param`` (the estimator parameter of the step size) and implement the kernels' calls.
    """

    name: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]
    rate_param: ClassVar[str]
    # The scalar of a clock that records are stamped with (-1: none): shards that train apart
    # keep their own clock, and their records are re-stamped when they meet (see ``shards``).
    clock_scalar: ClassVar[int] = -1

    def __init__(self, loss: Loss, params: Any, columns: int = 1) -> None:
        self.loss = loss
        self.params = params
        self.columns = int(columns)  # weight columns: 1 (binary, regression) or K classes
        if self.columns < 1:
            raise ValueError(f"columns must be >= 1, got {columns}")
        self.hyper = self._hyper()  # the kernel's settings, as a float64 vector

    @classmethod
    @abstractmethod
    def from_fit(cls, loss: Loss, fit: FitParams, columns: int = 1) -> Optimizer:
        """The optimizer an estimator's resolved parameters ask for (``columns`` weight columns)."""

    @abstractmethod
    def _hyper(self) -> np.ndarray: ...

    # -- state -----------------------------------------------------------------------------------
    @property
    def record_width(self) -> int:
        return len(self.fields) * self.columns

    def new_records(self, capacity: int) -> np.ndarray:
        """Zeroed records for ``capacity`` slots."""
        return np.zeros((capacity, self.record_width), dtype=np.float64)

    def new_scalars(self) -> np.ndarray:
        extra = 2 * self.columns if self.columns > 1 else 0
        return np.zeros(_state.N_SCALARS + extra, dtype=np.float64)

    def class_records(self, records: np.ndarray, k: int) -> np.ndarray:
        """A view of class ``k``'s fields in every record (the layout of a one-column state)."""
        width = len(self.fields)
        return records[:, k * width : (k + 1) * width]

    @staticmethod
    def class_scalars(scalars: np.ndarray, k: int) -> np.ndarray:
        """A one-column scalar vector of class ``k`` (a copy): the shared ones, its intercept pair."""
        out = scalars[: _state.N_SCALARS].copy()
        out[2:4] = scalars[_state.N_SCALARS + 2 * k : _state.N_SCALARS + 2 * k + 2]
        return out

    # -- training and reading --------------------------------------------------------------------
    def run_epoch(self, rows: Rows, order: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> int:
        """Visit ``rows`` in ``order`` once, updating the state in place.

        Returns -1, or the position in ``order`` of the first example whose update was not finite
        (the state is then partly updated). The loss and weight sums of the call are left in
        ``scalars[_state.LOSS_SUM]`` and ``scalars[_state.WEIGHT_SUM]``. With K columns the
        labels are class codes 0..K-1.
        """
        if self.columns == 1:
            return self._run_epoch(rows, order, records, scalars)
        return self._run_multi(rows, order, records, scalars)

    @abstractmethod
    def _run_epoch(self, rows: Rows, order: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> int: ...

    @abstractmethod
    def _run_multi(self, rows: Rows, order: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> int: ...

    def weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, out: np.ndarray) -> int:
        """Exact current weights of slots ``[0, n_slots)`` into ``out`` (shape (n_slots,), or
        (n_slots, K) with K columns), the state unchanged.

        Returns the number of nonzero weights, or -1 if any is not finite.
        """
        if self.columns == 1:
            return self._weights(records, n_slots, scalars, out)
        total = 0
        for k in range(self.columns):
            nnz = self._weights(self.class_records(records, k), n_slots, scalars, out[:, k])
            if nnz < 0:
                return -1
            total += nnz
        return total

    def intercept(self, scalars: np.ndarray) -> Any:
        """The intercept (a float), or with K columns the K intercepts (float64 array)."""
        if self.columns == 1:
            return self._intercept(scalars)
        return np.array([self._intercept(self.class_scalars(scalars, k)) for k in range(self.columns)])

    def set_weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, weights: np.ndarray,
                    intercept: Any) -> None:
        """Make the state describe ``weights`` and ``intercept`` (e.g. after a batch solver)."""
        if self.columns == 1:
            self._set_weights(records, n_slots, scalars, weights, intercept)
            return
        for k in range(self.columns):
            one = self.class_scalars(scalars, k)
            column = np.ascontiguousarray(weights[:, k])
            self._set_weights(self.class_records(records, k), n_slots, one, column, float(intercept[k]))
            scalars[_state.N_SCALARS + 2 * k : _state.N_SCALARS + 2 * k + 2] = one[2:4]

    @abstractmethod
    def _weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, out: np.ndarray) -> int: ...

    @abstractmethod
    def _intercept(self, scalars: np.ndarray) -> float: ...

    @abstractmethod
    def _set_weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, weights: np.ndarray,
                     intercept: float) -> None: ...

    # -- mixing the runs of several shards (see ``shards``) ---------------------------------------
    @property
    def stamp_fields(self) -> tuple[int, ...]:
        """The fields of a record that hold a stamp of the ``clock_scalar`` clock."""
        return ()

    def settle(self, records: np.ndarray, n_slots: int, scalars: np.ndarray) -> int:
        """Make records ``[0, n_slots)`` describe their weights at the current scalars alone (no
        penalty still owed), so that records of shards can be averaged. Returns -1, or the first
        slot whose weight is not finite. FTRL's records always do: nothing to do."""
        return -1

    # -- settings --------------------------------------------------------------------------------
    @property
    def penalty(self) -> Penalty:
        return Penalty(self.params.l1, self.params.l2)

    @property
    @abstractmethod
    def rate(self) -> float:
        """The step size in use (the value of ``rate_param``)."""

    def rate_text(self) -> tuple[str, str]:
        """(the step size as the user set it, a ten times smaller suggestion) for error messages."""
        return f"{self.rate_param}={self.rate:g}", f"{self.rate_param}={self.rate / 10:g}"

    def describe(self) -> dict[str, Any]:
        """The parameter record: JSON-able, enough to rebuild the optimizer (``OPTIMIZERS``)."""
        record = {"optimizer": self.name, "loss": self.loss.name, **dataclasses.asdict(self.params)}
        if self.columns > 1:
            record["columns"] = self.columns
        return record

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other.loss == self.loss and other.params == self.params
                and other.columns == self.columns)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss.name!r}, {self.params!r})"
