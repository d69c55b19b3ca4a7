"""``l1="auto"``: the l1 of the lowest held-out loss along a warm-started path, for all the rows.

The path (:func:`.path.fit_path`, the one the ``path`` command runs) starts at ``l1_max``, the
smallest l1 whose optimum has no weight at all, and steps down by ``STEP`` per point, each fit
warm-started from the previous one; it stops ``PATIENCE`` points after the lowest held-out loss
(or at ``l1_max * MIN_RATIO``). The held-out rows are ``validation_fraction`` of the rows, or
each of ``cv`` folds in turn (then the path runs once per fold, on the same grid, and the mean
loss per point decides), drawn from a generator derived from ``random_state``: the same seed
(and, from two threads and ``PATH_TWIN_MIN_ROWS`` path rows, ``n_jobs``) gives the same choice,
and the final fit draws the same row orders as a fit with that l1 (and rate) given.

Cost. The path trains on at most ``PATH_ROWS`` rows (a seeded subsample: the held-out rows are
cheap, they are only scored; from a data set on disk, at most one chunk of rows is sampled), one
epoch and the estimator's polish passes per point; the rate is then chosen at the chosen l1 with
a few cold fits on the same rows (:mod:`.rates`). The refit is one default fit, the rest a
bounded extra.

Rows. The best l1 falls with the rows: the best of a fine grid of default fits (factor 1.47,
the parabola's vertex) went on the geo crosses 4.79e-6, 2.66e-6, 1.37e-6, 6.89e-7 at 250k, 500k,
1M, 2M rows (``rows ** -0.93``, steepening to -1.0), on the ad-click rows 3.68e-6, 8.17e-7 at
200k, 1M (-0.93), on the regional rows 3.08e-5, 1.08e-5, 6.05e-6 at 200k, 800k, 2M (-0.71, where
the held-out loss is flat around its best). So the l1 chosen on ``n_path`` training rows is
refit on all ``n`` rows as ``l1 * (n_path / n) ** ROWS_EXPONENT`` with 0.9: the workloads whose
loss is sharp around the best l1 fall about that fast, and on the flat one a too small l1
costs little. The chosen l1 is not the grid's best point but the vertex of the parabola through
it and its neighbours (in log l1): the grid's factor 2.15 would otherwise put it up to 1.47x off.

Which point: the lowest held-out loss, not the sparsest point within one standard error of it.
The refit sees more rows than the path did, so the best l1 for it is smaller still; the
one-standard-error rule moves the other way (larger l1, sparser), and it cost held-out loss in
``benchmarks/bench_auto.py`` (both rules are measured there). ``l1_path_`` keeps every point,
the standard errors and what the sparser rule would have picked.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..losses import get_loss
from ..train import SlotMap
from ..train.optimizers import EXACT
from ..train.params import STREAM_L1, default_epochs
from .inputs import generator, split_holdout
from .path import choose, fit_path
from .rates import RateChoice, choose_rate

PATH_ROWS = 250_000  # the path trains on at most this many rows
STEP = 10 ** (-1 / 3)  # three points per decade of l1
MIN_RATIO = 1e-6  # the path ends at l1_max * MIN_RATIO ...
PATIENCE = 2  # ... or this many points after the lowest held-out loss
PATH_EPOCHS = 1  # per point, warm-started (the first point too: at l1_max it is all zero)
# From PATH_SHARD_MIN_JOBS threads and PATH_SHARD_MIN_ROWS path rows the points' epochs run on
# the shards (then the path, and the l1 it picks, are those of that n_jobs: deterministic, a few
# % off one thread's l1, the same held-out loss: 1M generated rows, exact width, 1.323e-6 on one
# thread, 1.291e-6 / 1.264e-6 / 1.229e-6 on 2 / 4 / 16 shards, held-out log-loss within 0.0002).
# Below, two chains or one thread (PATH_TWIN_JOBS). On two cores the shards gained
# nothing (the default fit of 1M rows, medians of 7 alternated runs: 2.849 / 2.812 s exact,
# 3.044 / 3.077 s at 2^22; the copies in and out and the mixes take what the second thread
# gives), nor on fewer path rows (72k: 0.330 s against 0.316 on one thread, 108k 0.535 / 0.521).
# From four threads the path's one-thread epochs become most of its time: its schedule on K
# threads (tasks timed one by one, ``bench_threads.py``) gave 0.86 -> 0.60 s at 4 and 0.76 ->
# 0.37 s at 16 on 1M rows.
PATH_SHARD_MIN_JOBS = 4
PATH_SHARD_MIN_ROWS = 150_000
# From two threads (below PATH_SHARD_MIN_JOBS) and PATH_TWIN_MIN_ROWS path rows, two chains walk
# the path side by side, each point warm-started from its own chain's last, two grid steps back
# (``path.fit_path``'s ``twin``); each such point polishes PATH_TWIN_POLISH_EXTRA more passes, which
# brings it as near its optimum as one chain's: the vertex (the l1 chosen) on generated rows (exact
# width) moved -0.7 / +0.2 / +0.4 % at 200k / 1M / 2M rows (6 passes: -10 / -9 / -9 %; 8: +8 %),
# and the path took 0.54 / 0.90 / 0.99 s against one thread's 0.87 / 1.35 / 1.31 s. Slower
# converging rows need more: 1M ad-click rows of 20 entries (``benchmarks.workloads.ad_clicks``)
# chose l1 -23 % (+0.0006 held-out log-loss; 2 more passes: -5 %, +0.0004; one thread's own l1
# there is below that workload's best), where 2 more passes put the geo rows' l1 +8 %. Below 100k
# path rows (20k: -11 % with the extra pass) the path costs under 0.3 s: one chain. Not for K
# classes (3 one-vs-rest columns of 120k / 500k rows: l1 -17 / -12 %), the exact optimizer (no
# epochs to make up for) nor losses the polish leaves (hinge, Poisson): one chain, as measured.
PATH_TWIN_JOBS = (2, PATH_SHARD_MIN_JOBS)
PATH_TWIN_MIN_ROWS = 100_000
PATH_TWIN_POLISH_EXTRA = 1
# polish passes per point (at most the estimator's): with fewer, the points sit short of their
# optimum, overfit less than the final fit will, and the path picks too small an l1 (2 passes
# chose l1 2-3x below the best of a grid on 20k-200k geo rows, +1.7-2.6 % held-out loss; 6: none)
PATH_POLISH = 6
# No signal: where the best point's held-out gain over the best constant is at most this many of
# its standard errors (row by row differences), the fit is the constant: an l1 of NO_SIGNAL_L1
# times the path's first (all zero), which the polish makes exact (``Polish``). Labels drawn
# independently of 200k generated houses' places scored held-out 0.60863 at the best point
# (11 nonzeros) against the constant's 0.60849; the best of a path of noisy points beats the
# constant by chance, so one standard error would not do. Below NO_SIGNAL_MIN_ROWS held-out rows
# the standard error is itself too uncertain to call a gain noise (20 held-out rows of a strong
# linear signal, scikit-learn's estimator checks: gain 0.40 of the constant's 0.50, standard
# error 0.24), and the best point stands.
NO_SIGNAL_SE = 2.0
NO_SIGNAL_L1 = 2.0
NO_SIGNAL_MIN_ROWS = 1000
NO_SIGNAL_LOSSES = ("logistic", "squared")
ROWS_EXPONENT = 0.9  # see "Rows" above
SEED_TAG = 0x15
# fewer rows hold out too few to choose on: then l1 is the one partial_fit starts with
MIN_ROWS = 50  # the path's generator is derived from random_state and this tag


@dataclass
class Selection:
    """The outcome of ``select_l1``: the l1 for all the rows and the path that chose it."""

    l1: float
    path: dict[str, Any]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    rate: float | None = None  # the rate (SGD) or alpha (FTRL) chosen with l1; None: the default



def path_generator(random_state: Any) -> np.random.Generator:
    """The path's own generator: the fit's row orders stay those of a fit with the l1 given."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0:
        return np.random.default_rng(np.random.SeedSequence([int(random_state), SEED_TAG]))
    return generator(random_state)  # a Generator is used as given; errors name random_state


def l1_max(X: sp.csr_matrix, y: np.ndarray, sw: np.ndarray | None, loss_name: str) -> float:
    """The smallest l1 at which the optimum has no nonzero weight: ``max_j |dF/dw_j|`` at w = 0
    and the best intercept alone (the canonical links: the mean of y; hinge: margin 0).

    >>> X = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]))
    >>> l1_max(X, np.array([1.0, 1.0, 0.0, 0.0]), np.empty(0), "squared")
    0.25
    """
    s = np.ones(X.shape[0]) if sw is None or sw.size == 0 else np.asarray(sw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if get_loss(loss_name).name == "hinge":
        residual = -(2.0 * y - 1.0)  # the subgradient at margin 0, where every row is inside the hinge
    else:
        residual = np.average(y, weights=s) - y
    if X.nnz == 0:
        return 0.0
    # summed per touched column: X.T @ r would be a dense vector of the width (235.7M for the exact cross).
    # The columns' compact ids come from a slot map (a hash table: ~10x faster than np.unique's sort);
    # bincount adds each column's entries in entry order whatever the ids, so the sums are the same bits.
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    column = SlotMap().map(X.indices)
    gradient = np.bincount(column, weights=X.data * (s * residual)[rows]) / s.sum()
    return float(np.max(np.abs(gradient)))


def _folds(n: int, fraction: float, cv: int | None, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    if cv is None:
        return [split_holdout(n, fraction, rng)]
    if n < 2 * cv:
        raise ValueError(f"cv={cv} folds need at least {2 * cv} rows, got {n}")
    parts = np.array_split(rng.permutation(n), cv)
    return [(np.sort(np.concatenate(parts[:k] + parts[k + 1:])), np.sort(parts[k])) for k in range(cv)]


def _take(a: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
    return a[rows] if a.size else None


def select_l1(est: Any, X: sp.csr_matrix, y: np.ndarray, sw: np.ndarray, rate: float, n_total: int | None = None,
              verbose: bool = False, tune_rate: bool = True) -> Selection:
    """Choose l1 for ``est`` (an unfitted estimator's parameters) on rows ``X, y`` (encoded, e.g.
    0/1) with sample weights ``sw`` (empty: none), its rate ``rate`` resolved; ``n_total``: the
    rows the final fit will see (default ``X.shape[0]``). ``tune_rate``: also choose the rate
    at the chosen l1 (:mod:`.rates`; only where the estimator leaves it to the default and
    trains it by SGD or FTRL), returned as ``Selection.rate`` for the final fit."""
    start = time.process_time()
    n = X.shape[0]
    n_total = n if n_total is None else n_total
    rng = path_generator(est.random_state)
    if n < MIN_ROWS:
        return Selection(STREAM_L1, _empty_path(rate), time.process_time() - start, {"reason": "too few rows"})
    folds = _folds(n, est.validation_fraction, est.cv, rng)
    if est._kind == "classifier" and any(np.unique(y[train]).size < 2 for train, _ in folds):
        return Selection(STREAM_L1, _empty_path(rate), time.process_time() - start, {"reason": "one class"})
    fold_points, n_path, path_start = [], 0, time.perf_counter()
    grid, first_fold = None, None
    for train, held in folds:
        if train.size > PATH_ROWS:
            train = np.sort(rng.choice(train, PATH_ROWS, replace=False))
        n_path = train.size
        Xt, yt, st = X[train], y[train], _take(sw, train)
        if first_fold is None:  # the rate is chosen on the first fold's rows
            first_fold = (Xt, yt, st, X[held], y[held], _take(sw, held))
        if grid is None:  # one grid for every fold: the first fold's l1_max
            # K classes: the largest of the one-vs-rest thresholds (the softmax's gradient at the
            # intercepts alone has the same per-class form)
            classes = np.unique(y) if est._kind == "classifier" else ()
            top = (max(l1_max(Xt, (yt == k).astype(np.float64), st, est.loss) for k in classes) if len(classes) > 2
                   else l1_max(Xt, yt, st, est.loss))
            if not top > 0:
                return Selection(0.0, _empty_path(rate), time.process_time() - start, {"reason": "no feature varies"})
            count = int(math.floor(math.log(MIN_RATIO) / math.log(STEP))) + 1
            grid = top * STEP ** np.arange(count)
        first = not fold_points  # later folds run the first one's points, no more
        walker, twin = _walkers(est, rate, Xt.shape[0], len(classes) <= 2)
        points = fit_path(walker, grid, Xt, yt, X[held], y[held],
                          sample_weight=st, held_weight=_take(sw, held), stop=_patience if first else None,
                          epochs=PATH_EPOCHS, on_fit=_printer(verbose), figures=False, twin=twin)
        grid = grid[: len(points)]
        fold_points.append(points)
    path_wall = time.perf_counter() - path_start
    points = _average(fold_points)
    choice = choose(points, "loss")
    l1s, losses = np.array([p["l1"] for p in points]), np.array([p["loss"] for p in points])
    chosen_l1 = vertex(l1s, losses, choice.best)
    scale = (n_path / n_total) ** ROWS_EXPONENT if n_total > n_path else 1.0
    # only where the refit can end at the constant: the polish zeroes the weights and sets the
    # intercept (Poisson has no polish: its refit at a large l1 kept 741 weights and scored worse)
    constant = get_loss(est.loss).name in NO_SIGNAL_LOSSES and no_signal(points, choice.best,
                                                                         sum(h.size for _, h in folds))
    if constant:
        chosen_l1, scale = NO_SIGNAL_L1 * float(l1s[0]), 1.0
    path = _path_record(points, choice, chosen_l1, constant, scale, n_path, folds)
    path["path_wall_seconds"] = path_wall
    steps = _tune_rate(est, rate, chosen_l1, first_fold) if tune_rate and not constant else None
    path.update(_rate_record(rate, steps))
    return Selection(chosen_l1 * scale, path, time.process_time() - start,
                     rate=None if steps is None else steps.rate)


def _path_record(points: list[dict[str, Any]], choice: Any, chosen_l1: float, constant: bool, scale: float,
                 n_path: int, folds: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """``l1_path_`` less its rate part: every point, the choice and how it was made."""
    l1s, losses = np.array([p["l1"] for p in points]), np.array([p["loss"] for p in points])
    return {
        "l1": l1s,
        "held_out_loss": losses,
        "held_out_loss_se": np.array([p["loss_se"] for p in points]),
        "nnz": np.array([p["nnz"] for p in points], dtype=np.int64),
        "seconds": np.array([p["cpu_seconds"] for p in points]),
        "wall_seconds": np.array([p["seconds"] for p in points]),
        "best": choice.best,
        "one_se": choice.one_se,
        "chosen": 0 if constant else choice.best,
        "chosen_l1": chosen_l1,
        "rule": "no signal: the constant" if constant else "best held-out loss",
        "held_out_gain": np.array([p.get("gain", np.nan) for p in points]),
        "held_out_gain_se": np.array([p.get("gain_se", np.nan) for p in points]),
        "rows_scale": scale,
        "path_rows": int(n_path),
        "held_out_rows": int(sum(h.size for _, h in folds)),
        "folds": len(folds),
    }


def no_signal(points: list[dict[str, Any]], best: int, held_out_rows: int) -> bool:
    """Whether the path's best point beats the best constant by no more than ``NO_SIGNAL_SE``
    standard errors of the held-out difference, on at least ``NO_SIGNAL_MIN_ROWS`` held-out rows
    (the path's first l1, l1_max, has the constant for its optimum; its fit may keep a few
    weights that a longer one would zero).

    >>> points = [{"nnz": 3, "gain": 0.0, "gain_se": 1e-4}, {"nnz": 41, "gain": 2.1e-5, "gain_se": 1.1e-4}]
    >>> no_signal(points, 1, 20_000), no_signal(points, 1, 500)
    (True, False)
    """
    point = points[best]
    return (held_out_rows >= NO_SIGNAL_MIN_ROWS and "gain" in point
            and point["gain"] <= NO_SIGNAL_SE * point["gain_se"])


def vertex(l1: np.ndarray, loss: np.ndarray, best: int) -> float:
    """The l1 of the least held-out loss between the path's points: the vertex of the parabola
    in log l1 through the best point and its two neighbours (the grid is geometric, so they are
    equally spaced there, and the vertex lies within half a step of the best point); the best
    point itself at either end of the path.

    >>> vertex(np.array([1e-4, 1e-5, 1e-6]), np.array([0.5, 0.4, 0.5]), 1)
    1e-05
    >>> round(vertex(np.array([1e-4, 1e-5, 1e-6]), np.array([0.6, 0.4, 0.5]), 1) / 1e-5, 4)
    0.6813
    """
    if not 0 < best < len(loss) - 1 or not np.all(np.isfinite(loss[best - 1: best + 2])):
        return float(l1[best])
    before, at, after = loss[best - 1: best + 2]
    curvature = before - 2.0 * at + after
    offset = 0.5 * (before - after) / curvature if curvature > 0 else 0.0
    return float(l1[best] * (l1[best + 1] / l1[best]) ** offset)


def _tune_rate(est: Any, rate: float, l1: float, fold: tuple[Any, ...]) -> RateChoice | None:
    """The rate chosen at ``l1`` on the path's rows (None where the rate is not left to the
    default, or the exact solver trains: its SGD epoch barely matters)."""
    if est._rate_given() or est.optimizer == EXACT:
        return None
    epochs = default_epochs(est.optimizer) if est.epochs is None else est.epochs
    # each candidate on one thread, up to n_jobs of them at once: at a given l1, the candidates
    # and the rate of n_jobs=1 on any n_jobs (at 250k rows three one-thread fits side by side
    # take about the time of three on two threads each, and at more threads all run at once)
    return choose_rate(lambda r: _copy(est, r, l1=l1, epochs=epochs, polish=est.polish, n_jobs=1), rate, *fold,
                       n_jobs=est._jobs())


def _rate_record(default: float, steps: RateChoice | None) -> dict[str, Any]:
    """The rate part of ``l1_path_``: the rate chosen, the default, and every candidate tried."""
    if steps is None:
        return {"rate": default, "rate_default": default, "rate_candidates": np.zeros(0),
                "rate_held_out_loss": np.zeros(0), "rate_seconds": 0.0, "rate_wall_seconds": 0.0}
    return {"rate": steps.rate, "rate_default": steps.default, "rate_candidates": steps.rates,
            "rate_held_out_loss": steps.losses, "rate_seconds": steps.seconds,
            "rate_wall_seconds": steps.wall_seconds}


def _copy(est: Any, rate: float, l1: float = 1.0, epochs: int = PATH_EPOCHS, polish: int = PATH_POLISH,
          n_jobs: int | None = None, cap: bool = True) -> Any:
    """A copy of ``est``'s parameters for the path (its defaults) or for a rate candidate: no
    spec (it reads the featurized rows), the rate given (the path takes the full fit's: its
    one-epoch warm starts would otherwise take one pass's); ``n_jobs``: the copy's threads, if
    not the estimator's; ``cap``: ``polish`` at most the estimator's."""
    params = {k: v for k, v in est.get_params().items() if k != "spec"}
    seed = params["random_state"]
    params.update(l1=l1, epochs=epochs, polish=min(polish, params["polish"]) if cap else polish, verbose=0,
                  early_stopping=False, warm_start=False, cv=None,
                  random_state=seed if isinstance(seed, (int, np.integer)) else 0)
    if n_jobs is not None:
        params["n_jobs"] = n_jobs
    params["alpha" if params["optimizer"] == "ftrl" else "learning_rate"] = rate
    copy = type(est)(None, **params)
    copy._measures_objective = False  # scored on held-out rows: its objective would be one more pass, unread
    return copy


def _walkers(est: Any, rate: float, n_rows: int, one_output: bool) -> tuple[Any, Any]:
    """The path's estimator, and its twin where two chains walk it (else None); ``one_output``:
    not K classes."""
    # A point is one epoch on at most PATH_ROWS rows. On threads the rows are dealt to the shards
    # once for the whole path (one trainer continued in place keeps their plan): on enough threads
    # and rows the points' epochs run on the shards (PATH_SHARD_MIN_JOBS); on two or three, two
    # one-thread chains walk the path (PATH_TWIN_JOBS); else one chain, its epochs on one thread.
    # One chain's polish and scoring keep the threads, with the same bits as on one.
    jobs, polish = est._jobs(), min(PATH_POLISH, est.polish)
    if (PATH_TWIN_JOBS[0] <= jobs < PATH_TWIN_JOBS[1] and n_rows >= PATH_TWIN_MIN_ROWS and polish > 0
            and one_output and est.optimizer != EXACT and get_loss(est.loss).curvature_bound > 0.0):
        polish += PATH_TWIN_POLISH_EXTRA
        walker, twin = (_copy(est, rate, polish=polish, n_jobs=1, cap=False) for _ in range(2))
        return walker, twin
    walker = _copy(est, rate)
    walker._epochs_on_threads = jobs >= PATH_SHARD_MIN_JOBS and n_rows >= PATH_SHARD_MIN_ROWS
    return walker, None


def _patience(points: list[dict[str, Any]]) -> bool:
    best = min(range(len(points)), key=lambda i: points[i]["loss"])
    return len(points) - 1 - best >= PATIENCE


def _average(fold_points: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per l1, the mean over the folds of the held-out loss and nonzeros (one fold: as is)."""
    if len(fold_points) == 1:
        return fold_points[0]
    length = min(len(points) for points in fold_points)
    out = []
    for i in range(length):
        group = [points[i] for points in fold_points]
        se = math.sqrt(sum(p["loss_se"] ** 2 for p in group)) / len(group)
        out.append({"l1": group[0]["l1"], "loss": float(np.mean([p["loss"] for p in group])), "loss_se": se,
                    "nnz": int(round(np.mean([p["nnz"] for p in group]))),
                    "seconds": float(sum(p["seconds"] for p in group)),
                    "cpu_seconds": float(sum(p["cpu_seconds"] for p in group))})
        if all("gain" in p for p in group):
            out[-1]["gain"] = float(np.mean([p["gain"] for p in group]))
            out[-1]["gain_se"] = math.sqrt(sum(p["gain_se"] ** 2 for p in group)) / len(group)
    return out


def _printer(verbose: bool) -> Any:
    if not verbose:
        return None
    import sys

    return lambda p: print(f"l1 {p['l1']:.3g}: held-out loss {p['loss']:.5f}, {p['nnz']:,} nonzeros", file=sys.stderr)


def _empty_path(rate: float) -> dict[str, Any]:
    return {"l1": np.zeros(0), "held_out_loss": np.zeros(0), "held_out_loss_se": np.zeros(0),
            "held_out_gain": np.zeros(0), "held_out_gain_se": np.zeros(0),
            "nnz": np.zeros(0, dtype=np.int64), "seconds": np.zeros(0), "wall_seconds": np.zeros(0),
            "path_wall_seconds": 0.0, "best": -1, "one_se": -1, "chosen": -1, "chosen_l1": 0.0,
            "rule": "best held-out loss", "rows_scale": 1.0, "path_rows": 0, "held_out_rows": 0, "folds": 0,
            **_rate_record(rate, None)}


def summary(path: dict[str, Any], l1: float) -> str:
    """One line about an automatic choice of l1, for the command line and ``verbose``."""
    if path["chosen"] < 0:
        return f"l1 auto: {l1:.3g} (no path: too few rows, one class or no feature that varies)"
    i = path["chosen"]
    if path["rule"].startswith("no signal"):
        b = path["best"]
        return (f"l1 auto: {l1:.3g}, no feature kept: the best of {len(path['l1'])} values ({path['l1'][b]:.3g}) "
                f"beat the constant by {path['held_out_gain'][b]:.2g} held-out loss, within {NO_SIGNAL_SE:g} "
                f"standard errors ({path['held_out_gain_se'][b]:.2g}) on {path['held_out_rows']:,} rows")
    rows = f", x {path['rows_scale']:.3f} for all the rows" if path["rows_scale"] != 1.0 else ""
    rate = f"; rate {path['rate']:.3g} of {path['rate_candidates'].size} tried" if path["rate_candidates"].size else ""
    seconds = float(np.sum(path["seconds"])) + path["rate_seconds"]
    return (f"l1 auto: {l1:.3g} ({path['chosen_l1']:.3g} next to {path['l1'][i]:.3g} of {len(path['l1'])} values from "
            f"{path['l1'][0]:.3g}, held-out loss {path['held_out_loss'][i]:.4f} on {path['held_out_rows']:,} rows, "
            f"{path['nnz'][i]:,} nonzeros{rows}{rate}; {seconds:.1f} CPU-s)")
