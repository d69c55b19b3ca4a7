"""The one epoch loop, for rows in memory and for rows streamed from disk alike.

An epoch is a sequence of *blocks*: ``(rows, order)`` pairs, each trained in its order. Rows in
memory are one block in a fresh random order; a streamed data set is many blocks, already
gathered in visiting order by the reader. :class:`EpochRunner` trains the blocks, keeps the
running mean of the progressive loss, reports progress, checks that training stayed finite and
turns a divergence into an error that names the step size and suggests a smaller one.
"""

from __future__ import annotations

import math
import sys
from typing import Callable, Iterable

from .rows import Rows, Shuffle, visits
from .solver import opened
from .trainer import NonFiniteError, Trainer

Block = tuple[Rows, "np.ndarray | Shuffle | None"]  # rows, and the order to visit them in (None: as stored)
Progress = Callable[[int, int, float], None]  # (epoch, rows just trained, running mean loss)


def diverged(owner: str, trainer: Trainer, where: str) -> FloatingPointError:
    """The error of a fit whose weights became NaN or infinite, naming the step size."""
    rate, hint = trainer.optimizer.rate_text()
    return FloatingPointError(
        f"{owner}: training diverged in {where}: the weights became NaN or infinite "
        f"with {rate}. Use a smaller rate, e.g. {hint}, or rescale the features / target."
    )


class EpochRunner:
    """Trains epochs of blocks on ``trainer``; ``owner`` names the estimator in messages."""

    def __init__(self, trainer: Trainer, owner: str, progress: Progress | None = None, verbose: bool = False,
                 source: str = "the data") -> None:
        self.trainer = trainer
        self.owner = owner
        self.progress = progress
        self.verbose = verbose
        self.source = source

    def diverged(self, where: str) -> FloatingPointError:
        return diverged(self.owner, self.trainer, where)

    def run(self, epochs: int, blocks: Callable[[int], Iterable[Block]],
            stop: Callable[[int], bool] | None = None) -> list[float]:
        """Up to ``epochs`` epochs of ``blocks(epoch)``; ``stop(epoch)`` may end them early.

        Returns the mean progressive training loss of each epoch run.
        """
        losses: list[float] = []
        for epoch in range(epochs):
            losses.append(self.run_epoch(blocks(epoch), epoch, f"epoch {epoch + 1} of fit"))
            if self.verbose:
                print(f"{self.owner}: epoch {epoch + 1}, mean training loss {losses[-1]:.6g}", file=sys.stderr)
            if stop is not None and stop(epoch):
                break
        return losses

    def run_epoch(self, blocks: Iterable[Block], epoch: int, where: str) -> float:
        """Train one epoch's blocks; returns its mean progressive loss (``where`` names it in errors)."""
        loss_sum = weight_sum = 0.0
        n_rows = 0
        with opened(blocks) as each:
            for rows, order in each:
                self.trainer.grow()  # for the columns a reader has mapped so far
                try:
                    self.trainer.epoch(rows, order)
                except NonFiniteError:
                    raise self.diverged(where) from None
                part, weight = self.trainer.last_sums()
                loss_sum += part
                weight_sum += weight
                n = visits(rows, order)
                n_rows += n
                if self.progress is not None:
                    self.progress(epoch, n, loss_sum / weight_sum if weight_sum > 0 else 0.0)
        if n_rows == 0:
            raise ValueError(f"{self.source}: no rows")
        if weight_sum <= 0:
            raise ValueError("sample_weight sums to zero: nothing to learn from")
        loss = loss_sum / weight_sum
        if not math.isfinite(loss):
            raise self.diverged(where)
        return loss
