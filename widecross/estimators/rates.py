"""``l1="auto"``'s step size: the multiple of the default rate with the lowest held-out loss.

The default rates are tuned on the geo crosses (5 active entries per row) and divided by the
rows' mean active entries (:func:`widecross.train.sgd.row_scale`), which makes them independent
of a row's size, but not of the data: one pass over 1M ad-click rows of 20 entries scores 0.2677
held-out at the normalized 0.075 and 0.2544 at 0.3, where another ad-click table of the same
size prefers the smaller rate (``benchmarks/bench_auto.py``). So ``l1="auto"`` chooses the rate
as it chooses l1, on the validation split: at the chosen l1, on the path's training rows, each
candidate is one cold fit with the estimator's own epochs and polish (what the refit will run),
scored on the path's held-out rows. The candidates are the default times ``FACTOR ** k``: the
default and its two neighbours first, then on in the direction that improves, at most
``MAX_STEPS`` factors away, while each step gains more than the path's ``TOLERANCE``. A
candidate replaces the default only when it beats it by more than that tolerance (0.2 %) and by
more than one standard error of the paired per-row difference: a smaller gain on the path's
rows need not carry to all of them. On 2M geo rows the path's 250k rows preferred twice the
default rate by 0.012 % (more than one standard error), and the refit with it scored 0.4622
held-out against 0.4617 at the default; so where the rate hardly matters the default, and with
it the fit of the releases before, stays.

``partial_fit`` has no held-out rows to choose on and keeps the normalized one-pass default:
see :mod:`widecross.estimators.base`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import numpy as np

from .._parallel import run_tasks
from ..losses import LOSSES
from .path import TOLERANCE, HeldOutRows, held_out_losses, mean_and_se

FACTOR = 2.0  # between neighbouring candidates
MAX_STEPS = 2  # the farthest candidate is the default times FACTOR ** +-MAX_STEPS


@dataclass(frozen=True)
class RateChoice:
    """The chosen rate, the default it started from, and every candidate tried (in order)."""

    rate: float
    default: float
    rates: np.ndarray
    losses: np.ndarray
    seconds: float  # CPU
    wall_seconds: float = 0.0


def pick(losses: list[np.ndarray], default: int, weight: np.ndarray | None = None) -> int:
    """The candidate of the lowest mean held-out loss (``losses``: per row, one array per
    candidate), if it beats candidate ``default`` by more than the path's tolerance and one
    standard error of the paired difference; else ``default``.

    >>> pick([np.array([0.5, 0.6]), np.array([0.3, 0.35])], default=0)
    1
    >>> pick([np.array([0.5, 0.6]), np.array([0.45, 0.65])], default=0)
    0
    >>> pick([np.array([0.5, 0.6]), np.array([0.4995, 0.5995])], default=0)  # 0.1 %: within tolerance
    0
    """
    means = [mean_and_se(rows, weight)[0] for rows in losses]
    best = int(np.argmin(means))
    if best == default or not np.isfinite(means[default]):
        return best
    gain, se = mean_and_se(losses[default] - losses[best], weight)
    return best if gain > max(se, (TOLERANCE - 1.0) * means[default]) else default


def choose_rate(make: Callable[[float], Any], default: float, X: Any, y: np.ndarray, sw: np.ndarray | None,
                X_held: Any, y_held: np.ndarray, held_weight: np.ndarray | None, n_jobs: int = 1) -> RateChoice:
    """Fit ``make(rate)`` (an unfitted estimator) on ``X, y`` for the candidate rates around
    ``default`` and pick one on the held-out rows (see the module docstring).

    ``n_jobs``: candidates fitted at once, each on its own thread (with ``make``'s n_jobs, which
    ``l1="auto"`` sets to 1: the candidates of one thread, whatever the threads, so the same
    rate). The first three at once, and where they leave a thread idle in their last round the
    next candidates too (``FACTOR ** 2`` first): the search asks for one of them in turn only if
    still gaining, and one not asked for is not counted; so the same candidates, losses and
    choice as one at a time."""
    start, wall = time.process_time(), time.perf_counter()
    fitted: dict[int, np.ndarray] = {}
    tried: dict[int, tuple[float, np.ndarray]] = {}

    def losses(k: int) -> np.ndarray:
        est = make(default * FACTOR ** k)
        try:
            est._path_fitter(X, y, sw)()  # a fit whose model is built only if read: scored by slot
            margin, _, model = HeldOutRows(X_held).score(est, est._jobs())
            return held_out_losses(model, LOSSES[est.loss], X_held, y_held, est._jobs(), margin)[0]
        except FloatingPointError:  # diverged at this rate: never the choice
            return np.full(len(y_held), np.inf)

    def fit(ks: list[int]) -> None:
        new = [k for k in ks if k not in fitted]
        fitted.update(zip(new, run_tasks([partial(losses, k) for k in new], n_jobs)))

    def score(k: int) -> float:
        if k not in tried:
            fit([k])
            tried[k] = (mean_and_se(fitted[k], held_weight)[0], fitted[k])
        return tried[k][0]

    first = [0, 1, -1]
    idle = -len(first) % n_jobs  # threads the first round leaves idle (none on one)
    fit(first + [MAX_STEPS, -MAX_STEPS][:idle])
    for k in first:
        score(k)
    direction = 1 if tried[1][0] < tried[-1][0] else -1
    k = direction
    while abs(k) < MAX_STEPS and tried[k][0] * TOLERANCE < tried[k - direction][0]:  # still gaining: on
        k += direction
        score(k)
    steps = sorted(tried)
    chosen = steps[pick([tried[s][1] for s in steps], steps.index(0), held_weight)]
    return RateChoice(default * FACTOR ** chosen, default, np.array([default * FACTOR ** s for s in steps]),
                      np.array([tried[s][0] for s in steps]), time.process_time() - start,
                      time.perf_counter() - wall)
