"""An estimator's parameters, validated and resolved once into a frozen record.

The estimators store their constructor arguments untouched (scikit-learn's convention);
:func:`resolve` turns them into a :class:`FitParams` with every default filled in (the rates
that follow the number of epochs, the layout that follows the width), which is all the training
code reads. Its :meth:`FitParams.recorded` part is written into each model file.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..losses import get_loss
from .ftrl import default_alpha
from .optimizer import Optimizer
from .optimizers import OPTIMIZERS
from .sgd import SCHEDULES, default_learning_rate
from .slots import DENSE_MAX_WIDTH

LAYOUTS = ("auto", "sparse", "dense")
# layout="auto" keeps a record per column up to this width (6 MB of AdaGrad records): there the
# dense layout, which skips the slot map, is as fast or a little faster; wider, the width-long
# sweeps of publishing and polishing cost more than the map saves (docs/tuning.md).
DENSE_AUTO_MAX_WIDTH = 2**18
MULTI_CLASS = ("ovr", "multinomial")
FLAGS = ("shuffle", "early_stopping", "warm_start", "implicit")


@dataclass(frozen=True)
class FitParams:
    """The resolved parameters of a fit (see the estimators for their meaning)."""

    loss: str
    optimizer: str
    schedule: str
    layout: str
    l1: float
    l2: float
    epochs: int
    polish: int
    beta: float
    power_t: float
    t0: float
    n_iter_no_change: int
    tol: float
    learning_rate: float
    alpha: float
    validation_fraction: float
    implicit: bool
    shuffle: bool
    early_stopping: bool
    warm_start: bool
    multi_class: str = "ovr"  # "ovr" or "multinomial": how more than two classes are trained

    def recorded(self) -> dict[str, Any]:
        """The parameters a model file records: those that shape the weights (not the layout of
        the training state, which never changes them, nor how the fit was run). ``multi_class``
        is recorded by multiclass models only (binary files stay as they were)."""
        skip = ("layout", "shuffle", "early_stopping", "warm_start", "multi_class")
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}

    def make_optimizer(self, n_classes: int = 2) -> Optimizer:
        """The optimizer these parameters name, with its settings, for ``n_classes`` classes:
        one weight column up to two classes, else one per class (softmax loss with
        ``multi_class="multinomial"``, the named binary loss per column with one-vs-rest)."""
        columns = n_classes if n_classes > 2 else 1
        loss = "multinomial" if columns > 1 and self.multi_class == "multinomial" else self.loss
        return OPTIMIZERS[self.optimizer][0].from_fit(get_loss(loss), self, columns)

    def layout_for(self, width: int, owner: str) -> str:
        """The layout of the training state for a model of ``width`` columns."""
        if self.layout == "auto":
            return "dense" if width <= DENSE_AUTO_MAX_WIDTH else "sparse"
        if self.layout == "dense" and width > DENSE_MAX_WIDTH:
            raise ValueError(
                f"{owner}: layout='dense' holds at most {DENSE_MAX_WIDTH:,} columns, the model has "
                f"{width:,}; use layout='sparse' (records for the touched columns only)"
            )
        return self.layout


def resolve(values: Mapping[str, Any], owner: str, losses: tuple[str, ...]) -> FitParams:
    """Validate an estimator's parameters (``get_params()``) and fill in the defaults.

    Errors name the estimator (``owner``), the parameter and what it must be.

    >>> from widecross import WideClassifier
    >>> resolve(WideClassifier(epochs=2).get_params(), "WideClassifier", ("logistic",)).learning_rate
    0.6
    """
    v = values
    _choose(owner, "loss", v["loss"], losses)
    _choose(owner, "optimizer", v["optimizer"], tuple(OPTIMIZERS))
    _choose(owner, "schedule", v["schedule"], tuple(SCHEDULES))
    _choose(owner, "layout", v["layout"], LAYOUTS)
    out: dict[str, Any] = dict(loss=v["loss"], optimizer=v["optimizer"], schedule=v["schedule"], layout=v["layout"])
    if "multi_class" in v:
        _choose(owner, "multi_class", v["multi_class"], MULTI_CLASS)
        if v["multi_class"] == "multinomial" and v["loss"] != "logistic":
            raise ValueError(f"{owner}: multi_class='multinomial' needs loss='logistic', got loss={v['loss']!r}")
        out["multi_class"] = v["multi_class"]
    for key, low, low_open in (("l1", 0.0, False), ("l2", 0.0, False), ("epochs", 1, None), ("polish", 0, None),
                               ("beta", 0.0, False), ("power_t", 0.0, True), ("t0", 0.0, True),
                               ("n_iter_no_change", 1, None), ("tol", 0.0, False)):
        out[key] = _integer(owner, key, v[key], low) if low_open is None else _number(owner, key, v[key], low, low_open)
    rate = default_learning_rate(v["schedule"], out["epochs"]) if v["learning_rate"] is None else v["learning_rate"]
    out["learning_rate"] = _number(owner, "learning_rate", rate, 0.0, True)
    out["alpha"] = _number(owner, "alpha", default_alpha(out["epochs"]) if v["alpha"] is None else v["alpha"], 0.0, True)
    fraction = _number(owner, "validation_fraction", v["validation_fraction"], 0.0, True)
    if fraction >= 1.0:
        raise ValueError(f"{owner}: validation_fraction must be in (0, 1), got {fraction!r}")
    out["validation_fraction"] = fraction
    for flag in FLAGS:
        if not isinstance(v[flag], (bool, np.bool_)):
            raise ValueError(f"{owner}: {flag} must be True or False, got {v[flag]!r}")
        out[flag] = bool(v[flag])
    return FitParams(**out)


def _choose(owner: str, key: str, value: Any, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{owner}: unknown {key} {value!r}; choose one of {list(choices)}")


def _number(owner: str, key: str, value: Any, low: float, low_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{owner}: {key} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < low or (low_open and value == low):
        bound = ">" if low_open else ">="
        raise ValueError(f"{owner}: {key} must be finite and {bound} {low}, got {value!r}")
    return value


def _integer(owner: str, key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < low:
        raise ValueError(f"{owner}: {key} must be an integer >= {low}, got {value!r}")
    return int(value)
