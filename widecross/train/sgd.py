"""Lazy proximal SGD as an :class:`~widecross.train.optimizer.Optimizer` (kernels in ``_sgd``).

The estimators' ``schedule`` names a pair: a global decay of the rate (constant or inverse
scaling) and per-coordinate rates (none, AdaGrad, or per-coordinate Newton). The defaults below
were tuned on generated geo data; the measurements behind them are in ``docs/tuning.md``.

>>> default_learning_rate("adagrad", 1), default_learning_rate("adagrad", 5), default_learning_rate("newton", 5)
(0.3, 1.5, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..losses import Loss
from . import _sgd, _sgd_multi
from .optimizer import Optimizer
from .rows import Rows

if TYPE_CHECKING:  # pragma: no cover
    from .params import FitParams

# schedule -> (global decay, per-coordinate rates)
SCHEDULES: dict[str, tuple[str, str]] = {
    "adagrad": ("constant", "adagrad"),
    "newton": ("constant", "newton"),
    "constant": ("constant", "plain"),
    "invscaling": ("invscaling", "plain"),
}
PLAIN_SCHEDULES = tuple(name for name, (_, rates) in SCHEDULES.items() if rates == "plain")
DECAYS = {"constant": _sgd.CONSTANT, "invscaling": _sgd.INVSCALING}
RATES = {"plain": _sgd.PLAIN, "adagrad": _sgd.ADAGRAD, "newton": _sgd.NEWTON}

# learning_rate=None per schedule. AdaGrad's eta0 is a step length, and the best one grows with
# the passes (short steps generalize best in one pass, long ones reach the optimum in several):
# 0.3 x epochs, up to 1.5.
DEFAULT_RATE = {"adagrad": 0.3, "newton": 1.0, "constant": 0.1, "invscaling": 0.5}
ADAGRAD_MAX_DEFAULT_RATE = 1.5
# delta of the per-coordinate rates: AdaGrad's is small, so that a rare column's first steps
# are not damped below its later ones; Newton's is the prior precision (times eta0).
DELTA = {"adagrad": 0.1, "newton": 2.0}


# The defaults above were tuned on rows of 5 active entries (the geo crosses). A row's step moves
# its margin by about the rate times its number of active entries (the per-coordinate rates
# remove each column's scale), so the default rates are scaled by 5 / (mean active entries per
# row), as Vowpal Wabbit's normalized updates divide by the row's normalized squared norm;
# the factor is rounded to a power of 2 (a rate within sqrt(2) of the ideal one trains as well),
# so that rows of 3.6 to 7 entries keep the tuned rates exactly.
TUNED_ROW_ENTRIES = 5.0
ROW_SCALE_RANGE = (2.0**-6, 4.0)


def row_scale(entries: float | None) -> float:
    """The factor of the default rates for rows of ``entries`` active entries on average.

    >>> [row_scale(e) for e in (None, 4.0, 5.9, 10, 20, 1)]
    [1.0, 1.0, 1.0, 0.5, 0.25, 4.0]
    """
    if entries is None or not entries > 0:
        return 1.0
    return min(max(2.0 ** round(math.log2(TUNED_ROW_ENTRIES / entries)), ROW_SCALE_RANGE[0]), ROW_SCALE_RANGE[1])


def default_learning_rate(schedule: str, epochs: int = 1) -> float:
    """The SGD rate ``learning_rate=None`` stands for, given the schedule and the passes of ``fit``.

    >>> [default_learning_rate("adagrad", e) for e in (1, 2, 5, 30)]
    [0.3, 0.6, 1.5, 1.5]
    """
    rate = DEFAULT_RATE[schedule]
    if schedule == "adagrad":
        rate = min(ADAGRAD_MAX_DEFAULT_RATE, round(rate * epochs, 12))
    return rate


@dataclass(frozen=True)
class SGDParams:
    """Settings of lazy proximal SGD: rate ``eta0 * decay(t)``, optionally per coordinate."""

    eta0: float
    l1: float = 0.0
    l2: float = 0.0
    decay: str = "constant"  # "constant" or "invscaling": (1 + t / t0) ** -power
    rates: str = "plain"  # "plain", "adagrad" or "newton"
    power: float = 0.5
    t0: float = 1.0
    delta: float = 1.0
    implicit: bool = False


class SGD(Optimizer):
    """Lazy proximal SGD (records ``[w, stamp]``, plus ``A_j`` with per-coordinate rates).

    >>> from widecross.losses import LOSSES
    >>> SGD(LOSSES["logistic"], SGDParams(eta0=0.3, rates="adagrad")).fields
    ('weight', 'stamp', 'rate_sum')
    """

    name = "sgd"
    rate_param = "learning_rate"
    clock_scalar = _sgd.S_CLOCK

    def __init__(self, loss: Loss, params: SGDParams, columns: int = 1) -> None:
        if params.decay not in DECAYS or params.rates not in RATES:
            raise ValueError(f"unknown decay {params.decay!r} or rates {params.rates!r}")
        self.decay = DECAYS[params.decay]
        self.mode = RATES[params.rates]
        super().__init__(loss, params, columns)

    @classmethod
    def from_fit(cls, loss: Loss, fit: FitParams, columns: int = 1) -> SGD:
        decay, rates = SCHEDULES[fit.schedule]
        return cls(loss, SGDParams(fit.learning_rate, fit.l1, fit.l2, decay, rates, fit.power_t, fit.t0,
                                   DELTA.get(fit.schedule, 1.0), fit.implicit), columns)

    @property
    def fields(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("weight", "stamp", "rate_sum") if self.mode != _sgd.PLAIN else ("weight", "stamp")

    def _hyper(self) -> np.ndarray:
        p = self.params
        hyper = np.zeros(_sgd.N_HYPER, dtype=np.float64)
        hyper[_sgd.H_ETA0], hyper[_sgd.H_L1], hyper[_sgd.H_L2] = p.eta0, p.l1, p.l2
        hyper[_sgd.H_POWER], hyper[_sgd.H_T0], hyper[_sgd.H_DELTA] = p.power, p.t0, p.delta
        hyper[_sgd.H_IMPLICIT] = 1.0 if p.implicit else 0.0
        return hyper

    @property
    def rate(self) -> float:
        return self.params.eta0

    def rate_text(self) -> tuple[str, str]:
        text, hint = super().rate_text()
        schedule = next((k for k, v in SCHEDULES.items() if v == (self.params.decay, self.params.rates)), None)
        return (f"{text} (schedule {schedule!r})" if schedule else text), hint

    def _run_epoch(self, rows: Rows, order: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> int:
        return int(_sgd.sgd_epoch(*rows.arrays, order, records, scalars, self.hyper, self.loss.code, self.decay, self.mode))

    def _run_multi(self, rows: Rows, order: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> int:
        return int(_sgd_multi.sgd_multi_epoch(*rows.arrays, order, records, scalars, self.hyper, self.loss.code,
                                              self.decay, self.mode, self.columns))

    def _weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, out: np.ndarray) -> int:
        return int(_sgd.sgd_weights(records, n_slots, scalars, self.hyper, self.mode, out))

    def _intercept(self, scalars: np.ndarray) -> float:
        return float(scalars[_sgd.S_BIAS])

    @property
    def stamp_fields(self) -> tuple[int, ...]:
        return tuple(k * len(self.fields) + 1 for k in range(self.columns))

    def settle(self, records: np.ndarray, n_slots: int, scalars: np.ndarray) -> int:
        for k in range(self.columns):  # the classes share the clock
            bad = int(_sgd.sgd_settle(self.class_records(records, k), n_slots, scalars, self.hyper, self.mode))
            if bad >= 0:
                return bad
        return -1

    def _set_weights(self, records: np.ndarray, n_slots: int, scalars: np.ndarray, weights: np.ndarray,
                    intercept: float) -> None:
        _sgd.sgd_set_weights(records, n_slots, scalars, weights)
        scalars[_sgd.S_BIAS] = intercept
