"""The regularization path: one estimator fitted along an l1 grid, scored on held-out rows.

One implementation serves the ``path`` command and ``l1="auto"`` (:mod:`.auto`). The grid is
visited strongest first; the first fit runs the estimator's ``epochs``, each later one starts
from the previous weights (``warm_start``) and runs one epoch before its polish, at the first
fit's step size (the default would follow ``epochs=1``: short steps). Started next to the new
optimum, that lands as close as a cold fit does (objective within ~1 %) in about half the time.
The inner fit is the estimator's own (its optimizer, then its batch solver), so a better solver
serves the path as soon as the estimator uses it. :func:`choose` then reads the "too small /
appropriate / too large" picture off the held-out loss.

>>> points = [{"l1": 1e-3, "nnz": 0, "log_loss": 0.69}, {"l1": 1e-5, "nnz": 40, "log_loss": 0.50},
...           {"l1": 1e-7, "nnz": 900, "log_loss": 0.5005}]
>>> choice = choose(points, "log_loss")
>>> choice.best, choice.sparsest, choice.one_se, [p["regime"] for p in points]
(1, 1, -1, ['too large (all zero)', 'appropriate', 'appropriate'])
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from .._parallel import run_blocks, run_tasks
from ..losses import LOSSES, Loss
from ..metrics import report
from ..model.sparse import decision_by_slots, scored_csr

# a model whose held-out loss is within this factor of the best one counts as just as good
TOLERANCE = 1.002


def pointwise_loss(loss: Loss, y: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """Each row's loss at its margin (the table of :mod:`widecross.losses`).

    >>> pointwise_loss(LOSSES["squared"], np.array([1.0, 0.0]), np.array([0.0, 0.0])).tolist()
    [0.5, 0.0]
    """
    y = np.asarray(y, dtype=np.float64)
    if loss.name == "logistic":  # log(1 + e^m) - y m, without overflow for large margins
        return np.logaddexp(0.0, margin) - y * margin
    if loss.name == "squared":
        return 0.5 * (margin - y) ** 2
    if loss.name == "poisson":
        return np.exp(margin) - y * margin
    return np.maximum(0.0, 1.0 - (2.0 * y - 1.0) * margin)


def held_out_losses(model: Any, loss: Loss, X_held: Any, y_held: np.ndarray, n_jobs: int = 1,
                    margin: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each held-out row's loss under a fitted ``model``, and the margins: the estimator's loss,
    or with K classes the cross-entropy of the model's class probabilities. ``n_jobs``: threads
    for the margins (the same bits for any number); ``margin``: the model's, already scored
    (then ``model`` is read only with K classes)."""
    if margin is None:
        margin = model.decision_function(X_held, n_jobs)
    if margin.ndim == 2:
        chosen = model.probabilities(margin)[np.arange(margin.shape[0]), np.asarray(y_held, dtype=np.intp)]
        return -np.log(np.maximum(chosen, np.finfo(np.float64).tiny)), margin
    rows = np.empty(margin.shape[0])
    y_held = np.asarray(y_held, dtype=np.float64)

    def block(lo: int, hi: int) -> None:  # each row's loss is its own: the same bits on any blocks
        rows[lo:hi] = pointwise_loss(loss, y_held[lo:hi], margin[lo:hi])

    run_blocks(block, margin.shape[0], n_jobs)
    return rows, margin


class HeldOutRows:
    """The held-out rows of a path (or of rate candidates), scored from the fitted trainer's slots.

    The model's ``decision_function`` finds each entry's weight by a binary search of the
    model's columns (13 ms a point for 100k held-out rows of the exact cross, most of the
    path's scoring); here the rows are checked once as the model checks them, their columns
    looked up in the trainer's slot map once (again only where the slots changed), and each
    fit reads its float32 weights by slot (:func:`..model.sparse.decision_by_slots`): the same
    margins, bit for bit, and no model built (the sort of its columns, the inverse slot map:
    another 7 ms a point). One output only (several: the model's own scores).
    """

    def __init__(self, X_held: Any) -> None:
        self.X = X_held
        self.key: tuple[Any, int] | None = None  # (slot map, slots) the look-up was made for
        self.csr: Any = None
        self.slots = np.empty(0, dtype=np.int32)

    def score(self, estimator: Any, n_jobs: int) -> tuple[np.ndarray, int, Any]:
        """The held-out margins of the fitted ``estimator``, its model's nonzero count, and its
        model where that scored them (None where the slots did: the model is not built)."""
        trainer = estimator._trainer
        if trainer.columns != 1 or not sp.issparse(self.X):
            model = estimator.model_
            return model.decision_function(self.X, n_jobs), int(model.nnz), model
        if self.csr is None:
            csr = scored_csr(self.X, estimator._model_width)  # what the model's scoring checks
            if csr.data.dtype not in (np.float32, np.float64):
                csr.data = csr.data.astype(np.float64)
            self.csr = csr
        key = (trainer.slot_map, trainer.n_slots)
        if self.key is None or self.key[0] is not key[0] or self.key[1] != key[1]:
            self.slots, self.key = trainer.slot_map.lookup(self.csr.indices), key
        values = trainer.slot_weights().astype(np.float32)  # the model's values, by slot (0: not stored)
        margin = decision_by_slots(self.csr, self.slots, values, float(trainer.intercept()), n_jobs)
        return margin, int(np.count_nonzero(values)), None


def constant_margin(loss: Loss, y: np.ndarray, sw: Any = None) -> float | None:
    """The margin of the best constant predictor of ``y`` (``Loss.constant_margin`` of the
    weighted mean label), or None.

    >>> round(constant_margin(LOSSES["logistic"], np.array([1.0, 0.0, 0.0, 0.0])), 12)  # log(1/3)
    -1.098612288668
    """
    w = None if sw is None or np.size(sw) == 0 else np.asarray(sw, dtype=np.float64)
    if y.size == 0 or (w is not None and not w.sum() > 0):
        return None
    return loss.constant_margin(float(np.average(np.asarray(y, dtype=np.float64), weights=w)))


def mean_and_se(values: np.ndarray, weight: np.ndarray | None) -> tuple[float, float]:
    """Weighted mean and its standard error (Kish's effective size for the weights)."""
    w = np.ones(values.size) if weight is None or weight.size == 0 else np.asarray(weight, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged model's loss counts as infinite
        mean = float(np.average(values, weights=w))
        if not math.isfinite(mean):
            return math.inf, math.inf
        effective = w.sum() ** 2 / np.sum(w * w)
        spread = float(np.average((values - mean) ** 2, weights=w))
    return mean, math.sqrt(spread / max(effective - 1.0, 1.0))


def fit_path(estimator: Any, grid: Sequence[float], X: Any, y: np.ndarray, X_held: Any, y_held: np.ndarray,
             on_fit: Callable[[dict[str, Any]], None] | None = None, *, sample_weight: Any = None,
             held_weight: np.ndarray | None = None, stop: Callable[[list[dict[str, Any]]], bool] | None = None,
             epochs: int = 1, figures: bool = True, twin: Any = None) -> list[dict[str, Any]]:
    """Fit ``estimator`` at each l1 of ``grid`` (strongest first), warm-starting after the first.

    Returns one dict per l1: ``l1``, ``nnz``, ``seconds`` (wall) and ``cpu_seconds``, ``loss``
    (the held-out mean of the estimator's loss, e.g. log-loss) and its standard error
    ``loss_se``, where the loss has a best constant (``constant_margin``) the held-out mean
    ``gain`` over that constant's loss with the standard error of its row by row differences
    (``gain_se``: the same rows, so the spread of their losses cancels), and the held-out
    figures of :func:`widecross.metrics.report` (``figures=False``: not those; ``l1="auto"``
    reads the loss alone, and the AUC's sort of the held-out margins was the largest step of a
    point on the calling thread). The first fit runs the estimator's ``epochs``, each later one
    ``epochs`` at the first one's rate. ``stop`` (given the points so far) ends the path early.
    ``estimator`` is left fitted at the last l1. The points fit through
    ``estimator._path_fitter``: the rows checked and mapped once, one trainer continued in place
    (the models of a ``fit`` per point, bit for bit).

    ``twin``: an unfitted estimator of the same parameters (one thread each) that walks the
    grid's odd points on a second thread while ``estimator`` walks the even ones, each point
    warm-started from its own walk's last (see :func:`_walk_chains`): the points, ``on_fit`` and
    ``stop`` in grid order as one walk, each point its own chain's; each estimator is left
    fitted at its own chain's last l1.
    """
    estimators = [estimator] if twin is None else [estimator, twin]
    return _walk_chains(estimators, grid, X, y, X_held, y_held, on_fit, stop,
                        dict(sample_weight=sample_weight, held_weight=held_weight, epochs=epochs, figures=figures))


class _Walk:
    """One estimator fitted along l1s, each fit warm-started from the one before, and scored."""

    def __init__(self, estimator: Any, X: Any, y: np.ndarray, X_held: Any, y_held: np.ndarray, sample_weight: Any,
                 held_weight: np.ndarray | None, epochs: int, figures: bool) -> None:
        self.estimator, self.y, self.sample_weight = estimator, y, sample_weight
        self.X_held, self.y_held, self.held_weight = X_held, y_held, held_weight
        self.epochs, self.figures, self.fitted = epochs, figures, False
        self.loss = LOSSES[estimator.loss]
        self.constant_rows: np.ndarray | None = None  # the held-out rows' losses under the best constant
        self.constant_known = False
        self.fit = estimator._path_fitter(X, y, sample_weight)  # the rows checked and mapped once, one trainer
        self.held_out = HeldOutRows(X_held)

    def point(self, l1: float) -> dict[str, Any]:
        """Fit at ``l1`` (warm from this walk's last fit) and score it on the held-out rows."""
        estimator, loss = self.estimator, self.loss
        if self.fitted:
            rate = {estimator._trainer.optimizer.rate_param: estimator.learning_rate_}
            estimator.set_params(l1=l1, warm_start=True, epochs=self.epochs, **rate)
        else:
            estimator.set_params(l1=l1)
        # one thread: its own CPU (a twin chain beside it would count in the process's)
        clock = time.thread_time if estimator._jobs() == 1 else time.process_time
        start, cpu = time.perf_counter(), clock()
        self.fit()
        self.fitted = True
        seconds, cpu = time.perf_counter() - start, clock() - cpu
        margin, nnz, model = self.held_out.score(estimator, estimator._jobs())
        rows, margin = held_out_losses(model, loss, self.X_held, self.y_held, estimator._jobs(), margin)
        mean, se = mean_and_se(rows, self.held_weight)
        held = {} if margin.ndim == 2 or not self.figures else report(loss, self.y_held, loss.mean(margin))
        if margin.ndim == 1 and not self.constant_known:  # one output: a constant to beat
            self.constant_known = True
            constant = constant_margin(loss, self.y, self.sample_weight)
            if constant is not None:
                self.constant_rows = pointwise_loss(loss, self.y_held, np.full(margin.shape[0], constant))
        if self.constant_rows is not None:
            held["gain"], held["gain_se"] = mean_and_se(self.constant_rows - rows, self.held_weight)
        return {"l1": l1, "nnz": nnz, "seconds": seconds, "cpu_seconds": cpu, "loss": mean, "loss_se": se, **held}

    def release(self) -> None:
        if hasattr(self.estimator, "_trainer"):
            self.estimator._trainer.release()  # the shards' plan of the rows served the points only


def _walk_chains(estimators: list[Any], grid: Sequence[float], X: Any, y: np.ndarray, X_held: Any,
                 y_held: np.ndarray, on_fit: Callable[[dict[str, Any]], None] | None,
                 stop: Callable[[list[dict[str, Any]]], bool] | None, options: dict[str, Any]) -> list[dict[str, Any]]:
    """The grid's points in one chain per estimator (one or two), each on its thread: chain ``c``
    of ``K`` fits points ``c, c + K, ...``, each warm-started from its own last.

    A path is a chain of warm starts, each point a short fit from the last: no point can start
    before the one it starts from ends, and a point's fit (one epoch on one thread; a polish whose
    per-slot sweeps gain little from a second thread) is too small to split well (1.2x on two
    threads). Two chains of whole fits, side by side, gain what two independent programs gain.
    Each point then starts two grid steps from its own chain's last: it sits a little further from
    its optimum than on one chain (the caller may polish it more). The chains step together, K
    neighbouring points at a time (free-running chains ended the path of 1M generated rows 0.03 s
    sooner, within its run-to-run spread, at the cost of a lock and a wait); the points are
    reported, and ``stop`` asked, in grid order, and a point past the stop is dropped. Each point
    is its own chain's, whatever the threads' timing.
    """
    chains = len(estimators)
    walks: list[_Walk | None] = [None] * chains

    def fitted(c: int, i: int) -> dict[str, Any]:
        walk = walks[c]
        if walk is None:  # the rows checked and mapped on the chain's own thread
            walk = walks[c] = _Walk(estimators[c], X, y, X_held, y_held, **options)
        return walk.point(float(grid[i]))

    points: list[dict[str, Any]] = []
    try:
        for first in range(0, len(grid), chains):
            step = range(first, min(first + chains, len(grid)))
            for point in run_tasks([partial(fitted, i % chains, i) for i in step], chains):
                points.append(point)
                if on_fit is not None:
                    on_fit(point)
                if stop is not None and stop(points):
                    return points
    finally:
        for walk in walks:
            if walk is not None:
                walk.release()
    return points


@dataclass(frozen=True)
class Choice:
    best: int  # the point of the lowest held-out loss: what l1="auto" takes
    sparsest: int  # the sparsest point within TOLERANCE of it
    one_se: int = -1  # the sparsest point within one standard error of it (points with "loss_se")


def choose(points: list[dict[str, Any]], key: str) -> Choice:
    """Pick the best and the sparser points of a path; label each point's ``regime``."""
    best = min(range(len(points)), key=lambda i: points[i][key])
    good = [i for i in range(len(points)) if points[i][key] <= points[best][key] * TOLERANCE]
    sparsest = min(good, key=lambda i: (points[i]["nnz"], -points[i]["l1"]))
    one_se = -1
    if "loss_se" in points[best]:
        bound = points[best]["loss"] + points[best]["loss_se"]
        within = [i for i in range(len(points)) if points[i]["loss"] <= bound]
        one_se = min(within, key=lambda i: (points[i]["nnz"], -points[i]["l1"]))
    for i, point in enumerate(points):
        if point["nnz"] == 0:
            point["regime"] = "too large (all zero)"
        elif i in good:
            point["regime"] = "appropriate"
        else:
            point["regime"] = "too large" if i < best else "too small"
    return Choice(best, sparsest, one_se)
