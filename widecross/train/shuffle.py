"""Bounded shuffling of a stream of row blocks, for data sets read in chunks.

Visiting a data set's units (row groups, files) in a fresh order alone leaves the rows of a unit
together, so chunks pass through a *shuffle buffer* of ``capacity`` rows. Each arriving chunk
joins the rows kept from before, and all but ``capacity`` of them, drawn uniformly at random, are
trained on in random order; the rest wait for later chunks. At the end of the epoch the buffer is
emptied in random order. Every row is visited exactly once per epoch; all draws come from one
seeded generator, so the same data, chunking and seed give the same bits.
"""

from __future__ import annotations

import numpy as np

from .rows import Rows, stack_rows, take_rows


class ShuffleBuffer:
    """``push`` returns the rows to train on now, in random order (possibly none), and keeps at
    most ``capacity`` rows; ``drain`` returns the rest at the end of the epoch.

    >>> buf = ShuffleBuffer(2, np.random.default_rng(0))
    >>> block = lambda ys: Rows(np.arange(len(ys) + 1, dtype=np.int32), np.zeros(len(ys), np.int32),
    ...                         np.empty(0, np.float32), np.array(ys, np.float32), np.empty(0))
    >>> out = buf.push(block([0, 1, 2]))
    >>> sorted(buf.push(block([3])).y.tolist() + out.y.tolist() + buf.drain().y.tolist())
    [0.0, 1.0, 2.0, 3.0]
    """

    def __init__(self, capacity: int, rng: np.random.Generator) -> None:
        if capacity < 0:
            raise ValueError(f"buffer_rows must be >= 0, got {capacity}")
        self.capacity = int(capacity)
        self.rng = rng
        self.kept: Rows | None = None

    @property
    def n_rows(self) -> int:
        return 0 if self.kept is None else self.kept.n_rows

    def push(self, block: Rows) -> Rows | None:
        pool = block if self.kept is None else stack_rows(self.kept, block)
        n_out = pool.n_rows - self.capacity
        if n_out <= 0:  # still filling up
            self.kept = pool
            return None
        perm = self.rng.permutation(pool.n_rows)
        if self.capacity:
            # keep the waiting rows in their stacked order (a sequential copy): only which rows
            # wait is random. A mask finds them in O(pool), where sorting would cost O(pool log pool).
            waiting = np.zeros(pool.n_rows, dtype=np.bool_)
            waiting[perm[n_out:]] = True
            self.kept = take_rows(pool, np.flatnonzero(waiting))
        else:
            self.kept = None
        return take_rows(pool, perm[:n_out])

    def drain(self) -> Rows | None:
        if self.kept is None or self.kept.n_rows == 0:
            self.kept = None
            return None
        kept, self.kept = self.kept, None
        return take_rows(kept, self.rng.permutation(kept.n_rows))
