"""FTRL-Proximal as an :class:`~widecross.train.optimizer.Optimizer` (kernels in ``_ftrl``).

alpha=None follows the passes as SGD's rate does: 0.4 x epochs, up to 2.0 (measurements in
``docs/tuning.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..losses import Loss
from . import _ftrl, _ftrl_multi
from .optimizer import Optimizer
from .rows import Rows

if TYPE_CHECKING:  # pragma: no cover
    from .params import FitParams

FTRL_DEFAULT_ALPHA = 0.4
FTRL_MAX_DEFAULT_ALPHA = 2.0


def default_alpha(epochs: int = 1) -> float:
    """FTRL's alpha that ``alpha=None`` stands for, given the passes of ``fit``.

    >>> [default_alpha(e) for e in (1, 2, 5, 30)]
    [0.4, 0.8, 2.0, 2.0]
    """
    return min(FTRL_MAX_DEFAULT_ALPHA, round(FTRL_DEFAULT_ALPHA * epochs, 12))


@dataclass(frozen=True)
class FTRLParams:
    """Settings of FTRL-Proximal: per-coordinate rate ``alpha / (beta + sqrt(n_j))``."""

    alpha: float
    beta: float = 1.0
    l1: float = 0.0
    l2: float = 0.0


class FTRL(Optimizer):
    """FTRL-Proximal (records ``[z, n]``)."""

    name = "ftrl"
    fields = ("z", "n")
    rate_param = "alpha"

    @classmethod
    def from_fit(cls, loss: Loss, fit: FitParams, columns: int = 1) -> FTRL:
        return cls(loss, FTRLParams(fit.alpha, fit.beta, fit.l1, fit.l2), columns)

    def _hyper(self) -> np.ndarray:
        p = self.params
        hyper = np.zeros(_ftrl.N_HYPER, dtype=np.float64)
        hyper[_ftrl.H_ALPHA], hyper[_ftrl.H_BETA], hyper[_ftrl.H_L1], hyper[_ftrl.H_L2] = p.alpha, p.beta, p.l1, p.l2
        return hyper

    @property
    def rate(self) -> float:
        return self.params.alpha

    def _run_epoch(self, rows: Rows, order: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> int:
        return int(_ftrl.ftrl_epoch(*rows.arrays, order, records, scalars, self.hyper, self.loss.code))

    def _run_multi(self, rows: Rows, order: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> int:
        return int(_ftrl_multi.ftrl_multi_epoch(*rows.arrays, order, records, scalars, self.hyper, self.loss.code,
                                                self.columns))

    def _weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, out: np.ndarray) -> int:
        return int(_ftrl.ftrl_weights(records, n_slots, scalars, self.hyper, out))

    def _intercept(self, scalars: np.ndarray) -> float:
        return float(_ftrl.ftrl_intercept(scalars, self.hyper))

    def _set_weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, weights: np.ndarray,
                    intercept: float) -> None:
        _ftrl.ftrl_set_weights(records, n_slots, scalars, self.hyper, weights)
        _ftrl.ftrl_set_intercept(scalars, self.hyper, float(intercept))
