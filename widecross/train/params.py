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

from .._parallel import check_jobs
from ..losses import get_loss
from . import exact
from .ftrl import default_alpha
from .optimizer import Optimizer
from .optimizers import CHOICES, EXACT, optimizer_class
from .polish import Polish
from .sgd import SCHEDULES, default_learning_rate, row_scale
from .slots import DENSE_MAX_WIDTH
from .solver import Solver

LAYOUTS = ("auto", "sparse", "dense")
# layout="auto" keeps a record per column up to this width (6 MB of AdaGrad records): there the
# dense layout, which skips the slot map, is as fast or a little faster; wider, the width-long
# sweeps of publishing and polishing cost more than the map saves (docs/tuning.md).
DENSE_AUTO_MAX_WIDTH = 2**18
MULTI_CLASS = ("ovr", "multinomial")
FLAGS = ("shuffle", "early_stopping", "warm_start", "implicit")
# epochs=None: fit runs this many passes; partial_fit's default rates follow one pass
DEFAULT_EPOCHS = 5
# optimizer="cd" with epochs=None: SGD passes before the exact solve. One epoch's warm start
# took 0.77x the CPU seconds of a solve from zero at l1 = 1e-6 and 1.01x at 1e-5 (200k generated
# rows at 2^22, benchmarks/bench_cd_start.py).
CD_EPOCHS = 1
# tol=None: early stopping's least improvement; for optimizer="cd" the exact solver's largest KKT
# violation relative to the penalty's gradient. On the same rows 1e-3 and 1e-2 reach the same
# objective to 2e-8 relative (1e-2 in 0.6x the time at l1 = 1e-6); 1e-4 took 10x the time of
# 1e-3 there for the same objective, so 1e-3 keeps a margin at a moderate cost.
EARLY_STOPPING_TOL = 1e-4
CD_TOL = 1e-3
# The polish runs on n_jobs threads from this many rows on, else on one (the same bits): a pass
# over fewer takes a few ms and the threads' hand-offs cost more than they save. The 6-pass
# polish on generated rows, exact width, two threads against one (medians of 11): 100k rows 36.6
# against 29.9 ms, 200k 48.8 against 60.5, 300k 78.1 against 91.9.
POLISH_THREADS_MIN_ROWS = 150_000
# l1="auto" where nothing has been chosen on held-out rows (partial_fit before any fit): one
# pass of SGD is regularized by its few steps, and a weak l1 keeps what it learns
STREAM_L1 = 1e-7


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
    n_jobs: int = 1
    multi_class: str = "ovr"  # "ovr" or "multinomial": how more than two classes are trained

    def recorded(self) -> dict[str, Any]:
        """The parameters a model file records: those that shape the weights (not the layout of
        the training state, which never changes them, nor how the fit was run). ``n_jobs`` shapes
        the stochastic epochs when above 1 (their shards), and is recorded then only: a one-thread
        fit records what it always did. ``multi_class`` is recorded by multiclass models only
        (binary files stay as they were)."""
        skip = ("layout", "shuffle", "early_stopping", "warm_start", "n_jobs", "multi_class")
        recorded = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}
        if self.n_jobs > 1:
            recorded["n_jobs"] = self.n_jobs
        return recorded

    def make_optimizer(self, n_classes: int = 2) -> Optimizer:
        """The optimizer these parameters name, with its settings, for ``n_classes`` classes:
        one weight column up to two classes, else one per class (softmax loss with
        ``multi_class="multinomial"``, the named binary loss per column with one-vs-rest).
        ``"cd"`` trains its epochs with SGD."""
        columns = n_classes if n_classes > 2 else 1
        if columns > 1 and self.optimizer == EXACT:
            raise ValueError(f"optimizer='cd' (the exact solver) fits one weight column: two classes or a "
                             f"target, not {n_classes} classes; use optimizer='sgd' for a multiclass model")
        loss = "multinomial" if columns > 1 and self.multi_class == "multinomial" else self.loss
        return optimizer_class(self.optimizer).from_fit(get_loss(loss), self, columns)

    def make_solver(self, measure: bool, rows: int | None = None) -> Solver:
        """The batch solver that ends ``fit``: the exact one to ``tol`` for ``"cd"``, else the
        polish (``measure``: it also reports the objective), on ``n_jobs`` threads where it has
        ``rows`` (when known) of at least ``POLISH_THREADS_MIN_ROWS`` (the same bits either way)."""
        if self.optimizer == EXACT:
            return exact.Exact(tol=self.tol)
        n_jobs = self.n_jobs if rows is None or rows >= POLISH_THREADS_MIN_ROWS else 1
        return Polish(self.polish, measure=measure, n_jobs=n_jobs)

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


def resolve(values: Mapping[str, Any], owner: str, losses: tuple[str, ...], *, l1: float | None = None,
            entries: float | None = None, one_pass: bool = False, rate: float | None = None) -> FitParams:
    """Validate an estimator's parameters (``get_params()``) and fill in the defaults.

    Errors name the estimator (``owner``), the parameter and what it must be. ``l1`` is the
    value ``l1="auto"`` stands for (the one chosen on held-out rows; ``STREAM_L1`` without one).
    The default rates follow the passes (``epochs``; ``one_pass`` for ``partial_fit`` when
    ``epochs`` is None) and the rows' size: ``entries`` is the mean number of active entries
    per row (None: the tuned 5), see :func:`widecross.train.sgd.row_scale`. ``rate``: what the
    default rate of the optimizer (SGD's ``learning_rate``, FTRL's ``alpha``) stands for, when
    ``l1="auto"`` chose it on held-out rows (None: the default above).

    >>> from widecross import WideClassifier
    >>> resolve(WideClassifier(epochs=2).get_params(), "WideClassifier", ("logistic",)).learning_rate
    0.6
    """
    v = values
    _choose(owner, "loss", v["loss"], losses)
    _choose(owner, "optimizer", v["optimizer"], CHOICES)
    _choose(owner, "schedule", v["schedule"], tuple(SCHEDULES))
    _choose(owner, "layout", v["layout"], LAYOUTS)
    out: dict[str, Any] = dict(loss=v["loss"], optimizer=v["optimizer"], schedule=v["schedule"], layout=v["layout"])
    given = dict(v)
    if is_auto(v["l1"]):
        given["l1"] = STREAM_L1 if l1 is None else l1
    exact_fit = v["optimizer"] == EXACT
    if v["epochs"] is None:
        given["epochs"] = default_epochs(v["optimizer"])
    if v["tol"] is None:
        given["tol"] = CD_TOL if exact_fit else EARLY_STOPPING_TOL
    if "multi_class" in v:
        _choose(owner, "multi_class", v["multi_class"], MULTI_CLASS)
        if v["multi_class"] == "multinomial" and v["loss"] != "logistic":
            raise ValueError(f"{owner}: multi_class='multinomial' needs loss='logistic', got loss={v['loss']!r}")
        out["multi_class"] = v["multi_class"]
    for key, low, low_open in (("l1", 0.0, False), ("l2", 0.0, False), ("epochs", 1, None), ("polish", 0, None),
                               ("beta", 0.0, False), ("power_t", 0.0, True), ("t0", 0.0, True),
                               ("n_iter_no_change", 1, None), ("tol", 0.0, False)):
        value = given[key]
        out[key] = _integer(owner, key, value, low) if low_open is None else _number(owner, key, value, low, low_open)
    if v.get("cv") is not None:
        _integer(owner, "cv", v["cv"], 2)
    passes = out["epochs"] if v["epochs"] is not None or not one_pass else 1
    scale = row_scale(entries)
    chosen = {"alpha" if v["optimizer"] == "ftrl" else "learning_rate": rate} if rate is not None else {}
    defaults = {"learning_rate": default_learning_rate(v["schedule"], passes) * scale,
                "alpha": default_alpha(passes) * scale}
    for key, default in defaults.items():
        value = chosen.get(key, default) if v[key] is None else v[key]
        out[key] = _number(owner, key, value, 0.0, True)
    fraction = _number(owner, "validation_fraction", v["validation_fraction"], 0.0, True)
    if fraction >= 1.0:
        raise ValueError(f"{owner}: validation_fraction must be in (0, 1), got {fraction!r}")
    out["validation_fraction"] = fraction
    for flag in FLAGS:
        if not isinstance(v[flag], (bool, np.bool_)):
            raise ValueError(f"{owner}: {flag} must be True or False, got {v[flag]!r}")
        out[flag] = bool(v[flag])
    out["n_jobs"] = check_jobs(v.get("n_jobs", 1), owner)
    if out["optimizer"] == EXACT:
        _check_exact(owner, out)
    return FitParams(**out)


def _check_exact(owner: str, out: dict[str, Any]) -> None:
    """What the exact solver needs: its loss, a penalty (the optimum may not exist without one)
    and a tolerance it can reach."""
    if out["loss"] not in exact.LOSSES:
        raise ValueError(f"{owner}: optimizer='cd' (the exact solver) takes loss in {list(exact.LOSSES)}, "
                         f"not {out['loss']!r}; use optimizer='sgd' for it")
    if out["l1"] == 0.0 and out["l2"] == 0.0:
        raise ValueError(f"{owner}: optimizer='cd' needs a penalty (l1 > 0 or l2 > 0): without one the "
                         "optimum may not exist")
    if out["tol"] <= 0.0:
        raise ValueError(f"{owner}: optimizer='cd' needs tol > 0 (its stopping rule), got {out['tol']!r}")


def default_epochs(optimizer: str) -> int:
    """The passes of ``fit`` that ``epochs=None`` stands for."""
    return CD_EPOCHS if optimizer == EXACT else DEFAULT_EPOCHS


def is_auto(value: Any) -> bool:
    """Whether an l1 parameter asks for the automatic choice."""
    return isinstance(value, str) and value == "auto"


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
