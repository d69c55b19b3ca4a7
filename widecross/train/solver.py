"""What a batch solver is: it turns rows and a model's weights into better weights.

A :class:`Solver` sees the whole objective (every row, the penalty, the loss) where an
:class:`~widecross.train.optimizer.Optimizer` sees one row at a time. It works on the weights of
the touched slots (a float64 array, one entry per slot, changed in place) and the intercept;
rows arrive as blocks (:class:`~widecross.train.rows.Rows`) from a callable that yields one full
pass each time it is called, so the same solver runs on rows in memory (one block) and on a data
set streamed from disk (many), and sums over the blocks in a fixed order: same bits either way.

The end-of-fit polish (:class:`~widecross.train.polish.Polish`) is one; a
:class:`~widecross.train.trainer.Trainer` runs any of them through :meth:`Trainer.solve`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..losses import Loss
from .penalty import Penalty
from .rows import Rows

Blocks = Callable[[], Iterable[Rows]]


@dataclass(frozen=True)
class Solution:
    """What a solver reports besides the weights it changed in place."""

    intercept: float
    passes: int  # passes over the rows (0: the solver did nothing)
    objective: float | None = None  # F(w, b) at the result, when measured


@dataclass
class ExactSolution:
    """What the exact solver (:mod:`.exact`) returns: weights per slot, intercept and how they were found.

    ``gap`` is the duality gap F - D >= F - F* (absolute), ``kkt`` the largest KKT violation
    over the slots, both at the returned point; ``working_sets`` the size of each outer
    iteration's working set; ``history`` (objective, kkt, nnz, CPU seconds) at the start of each
    outer iteration.
    """

    weights: np.ndarray
    intercept: float
    objective: float
    gap: float
    kkt: float
    converged: bool
    iterations: int = 0
    newton_steps: int = 0
    cd_sweeps: int = 0
    working_sets: list[int] = field(default_factory=list)
    cpu_seconds: float = 0.0
    history: list[tuple[float, float, int, float]] = field(default_factory=list)
    columns: np.ndarray | None = None  # the problem's ``columns``: the input column of each slot

    @property
    def nnz(self) -> int:
        return int(np.count_nonzero(self.weights))

    def coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """The nonzero weights as (input columns, values), columns ascending."""
        nz = np.flatnonzero(self.weights)
        return (nz if self.columns is None else self.columns[nz]), self.weights[nz].copy()

    @property
    def relative_gap(self) -> float:
        return self.gap / self.objective if self.objective > 0 else self.gap


class RowsPlan:
    """What a solver works out about its rows once and may keep for its next call on the same
    rows (an object is the same rows): its owner, a trainer, holds it and drops it with them.
    The threaded polish keeps its split of the rows by slot range here."""

    def __init__(self) -> None:
        self.polish_sums: Any = None  # a ``blocksums.PassSums``


class Solver(ABC):
    def applies(self, loss: Loss) -> bool:
        """False when the solver would leave any weights as they are (then it is not run)."""
        return True

    @abstractmethod
    def solve(self, blocks: Blocks, weights: np.ndarray, intercept: float, penalty: Penalty, loss: Loss,
              plan: RowsPlan | None = None) -> Solution:
        """Improve ``weights`` (per slot, in place) and ``intercept`` on the rows of ``blocks``;
        ``plan``: where to keep what a later call on the same rows can reuse (None: nowhere)."""


class opened:  # noqa: N801 (used as a function: ``with opened(items) as each``)
    """An iterator over ``items`` that is closed however the loop ends, so that a generator
    reading from disk (and its reader thread) stops at once on an error."""

    def __init__(self, items: Iterable) -> None:
        self.iterator = iter(items)

    def __enter__(self) -> Iterator:
        return self.iterator

    def __exit__(self, *exc: object) -> None:
        close = getattr(self.iterator, "close", None)
        if close is not None:
            close()
