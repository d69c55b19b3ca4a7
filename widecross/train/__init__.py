"""Training: from slot-indexed rows to the weights of the penalized mean loss.

    F(w, b) = sum_i s_i loss(y_i, x_i . w + b) / sum_i s_i + l1 ||w||_1 + l2 / 2 ||w||_2^2

The pieces, each in its own module (compiled kernels in the ``_``-prefixed ones):

- :mod:`~widecross.losses` (one level up, shared with the model): one record per loss;
- :mod:`.penalty` / ``_penalty``: the elastic-net penalty's prox and exact flow;
- :mod:`.rows`: :class:`Rows`, the one container of slot-indexed rows, and the gather kernel;
- :mod:`.slots`: the column -> slot map (state only for the columns seen);
- :mod:`.optimizer`, :mod:`.sgd`, :mod:`.ftrl`: stochastic optimizers over per-slot records;
- :mod:`.solver`, :mod:`.polish`: batch solvers over all rows (the end-of-fit polish);
- :mod:`.exact` / ``_newton``, ``_cd``: the exact L1 / elastic-net solver (``optimizer="cd"``);
- :mod:`.blocksums` / ``_rowsums``: the polish's sums and losses over row blocks on threads;
- :mod:`.shards` / ``_shard``, :mod:`.mixing`: stochastic epochs on threads (iterative
  parameter mixing of sparse shard updates);
- :mod:`.trainer`: :class:`Trainer`, the state of a run (slot map + records + scalars);
- :mod:`.epochs`: :class:`EpochRunner`, the one epoch loop (in memory or streamed);
- :mod:`.shuffle`: bounded shuffling of streamed rows;
- :mod:`.params`: an estimator's parameters resolved into :class:`FitParams`.
"""

from __future__ import annotations

from .epochs import EpochRunner
from .exact import Exact
from .ftrl import FTRL, FTRLParams
from .optimizer import Optimizer
from .optimizers import CHOICES, EXACT, OPTIMIZERS, optimizer_class, optimizer_from_record
from .params import DENSE_AUTO_MAX_WIDTH, LAYOUTS, FitParams, resolve
from .penalty import Penalty
from .polish import Polish
from .rows import Rows, Shuffle, visit_order
from .sgd import SGD, SGDParams
from .shuffle import ShuffleBuffer
from .slots import SlotMap
from .solver import Solution, Solver
from .trainer import NonFiniteError, Trainer

__all__ = [
    "CHOICES", "DENSE_AUTO_MAX_WIDTH", "EXACT", "EpochRunner", "Exact", "FTRL", "FTRLParams", "FitParams", "LAYOUTS", "NonFiniteError", "OPTIMIZERS",
    "Optimizer", "Penalty", "Polish", "Rows", "SGD", "SGDParams", "ShuffleBuffer", "SlotMap", "Solution", "Solver",
    "Trainer",
    "optimizer_class", "optimizer_from_record", "resolve", "visit_order", "Shuffle",
]
