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

    def __init__(self, loss: Loss, params: Any) -> None:
        self.loss = loss
        self.params = params
        self.hyper = self._hyper()  # the kernel's settings, as a float64 vector

    @classmethod
    @abstractmethod
    def from_fit(cls, loss: Loss, fit: FitParams) -> Optimizer:
        """The optimizer an estimator's resolved parameters ask for."""

    @abstractmethod
    def _hyper(self) -> np.ndarray: ...

    # -- state -----------------------------------------------------------------------------------
    @property
    def record_width(self) -> int:
        return len(self.fields)

    def new_records(self, capacity: int) -> np.ndarray:
        """Zeroed records for ``capacity`` slots."""
        return np.zeros((capacity, self.record_width), dtype=np.float64)

    def new_scalars(self) -> np.ndarray:
        return np.zeros(_state.N_SCALARS, dtype=np.float64)

    # -- training and reading --------------------------------------------------------------------
    @abstractmethod
    def run_epoch(self, rows: Rows, order: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> int:
        """Visit ``rows`` in ``order`` once, updating the state in place.

        Returns -1, or the position in ``order`` of the first example whose update was not finite
        (the state is then partly updated). The loss and weight sums of the call are left in
        ``scalars[_state.LOSS_SUM]`` and ``scalars[_state.WEIGHT_SUM]``.
        """

    @abstractmethod
    def weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, out: np.ndarray) -> int:
        """Exact current weights of slots ``[0, n_slots)`` into ``out``, the state unchanged.

        Returns the number of nonzero weights, or -1 if any is not finite.
        """

    @abstractmethod
    def intercept(self, scalars: np.ndarray) -> float: ...

    @abstractmethod
    def set_weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, weights: np.ndarray,
                    intercept: float) -> None:
        """Make the state describe ``weights`` and ``intercept`` (e.g. after a batch solver)."""

    # -- mixing the runs of several shards (see ``shards``) ---------------------------------------
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
        return {"optimizer": self.name, "loss": self.loss.name, **dataclasses.asdict(self.params)}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.loss == self.loss and other.params == self.params

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss.name!r}, {self.params!r})"
