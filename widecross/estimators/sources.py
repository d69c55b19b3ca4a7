"""Where ``fit`` gets its rows: from memory, or streamed from a data set on disk.

A source turns what the user passed into slot-indexed row blocks for the one epoch loop
(:class:`~widecross.train.epochs.EpochRunner`) and the batch solver: each epoch's blocks with
their visiting order, and the blocks of one full pass for the solver. Both sources give the same
model bit for bit when they see the same rows in the same order.

Streaming (``fit("houses/", y="label")``) never holds the data set: each epoch visits the units
(row groups, CSV files) in a fresh seeded order, reads and featurizes them in chunks of
``chunk_rows`` rows in a reader thread one chunk ahead of training, and passes the rows through a
bounded shuffle buffer (:mod:`widecross.train.shuffle`); the solver's passes stream too. Memory is
set by the chunk size, the buffer and the model, not by the data set.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NamedTuple

import numpy as np
import scipy.sparse as sp

from ..io import DataSet, is_source, prefetched, read_prepared, source_name
from ..io.dataset import Chunk, prepared
from ..train import EpochRunner, FitParams, Rows, Shuffle, ShuffleBuffer, Trainer, visit_order
from ..train.epochs import Block
from ..train.trainer import NonFiniteError
from .inputs import as_features, as_sample_weight, as_target, split_holdout

if TYPE_CHECKING:  # pragma: no cover
    from .base import WideEstimator


# Rows read (at most) to learn the rows' mean size from a data set on disk
SIZE_ROWS = 65_536
SAMPLE_SEED = 0x15  # the units a sample of a data set on disk reads, in a fixed order


class Sample(NamedTuple):
    """Rows in memory (featurized CSR, encoded target, sample weights or an empty array)."""

    X: sp.csr_matrix
    y: np.ndarray
    sw: np.ndarray


class MemorySource:
    """Rows given in memory: one block per epoch, in a fresh seeded order (or as given)."""

    measures_objective = True  # one more pass over rows in memory is cheap: report F(w, b)

    def __init__(self, est: WideEstimator, X: Any, y: Any, sample_weight: Any) -> None:
        self.X, self.width = as_features(X, est.spec, type(est).__name__, fitting=True, n_jobs=est._jobs())
        n = self.X.shape[0]
        self.y, self.labels = est._encode(as_target(y, n, type(est).__name__), fitting=True)
        self.sw = est._weigh_classes(self.y, as_sample_weight(sample_weight, n), self.labels, whole=True)
        self.name = "X"
        self.n_rows = n
        self.validation: Rows | None = None
        self.validation_losses: list[float] = []
        self.keep = False  # keep X and the rows after attach (for attaching again)
        self.rows: Rows | None = None
        self.trainer: Trainer | None = None
        self.mapped_slots = -1

    def sample(self, max_rows: int) -> Sample:
        """The rows (all of them: they are in memory already)."""
        return Sample(self.X, self.y, self.sw)

    def attach(self, trainer: Trainer, rng: np.random.Generator, params: FitParams, runner: EpochRunner) -> None:
        """Map the rows to the trainer's slots (holding out the validation rows of early stopping).

        A source that ``keep``s its rows hands the same rows again to the trainer it mapped them
        for (its slots unchanged since: a path's points continue one trainer in place)."""
        again = (self.keep and self.rows is not None and trainer is self.trainer and not params.early_stopping
                 and trainer.n_slots == self.mapped_slots)
        self.trainer, self.rng, self.params, self.runner = trainer, rng, params, runner
        self.validation, self.validation_losses = None, []
        if again:
            return
        X, y, sw = self.X, self.y, self.sw
        held_out = None
        if params.early_stopping:
            train, held = split_holdout(X.shape[0], params.validation_fraction, rng)
            held_out = X[held], y[held], sw[held] if sw.size else sw
            X, y, sw = X[train], y[train], sw[train] if sw.size else sw
        self.rows = trainer.rows(X, y, sw)
        # all the rows, mapped to slots [0, n): what a later attach may hand again
        self.mapped_slots = trainer.n_slots if held_out is None else -1
        if held_out is not None:  # after the training rows: their columns have slots now
            self.validation = trainer.lookup(*held_out)
            self.best, self.stale = math.inf, 0
        if not self.keep:
            del self.X, X  # the rows keep what training needs; drop the column ids (8 bytes per entry)

    def epoch(self, epoch: int) -> Iterable[Block]:
        if not self.params.shuffle:
            return [(self.rows, None)]
        if epoch and self.trainer.n_jobs > 1:
            # on threads, after the first epoch (whose order deals the rows to the shards), each
            # shard shuffles its own rows on its thread: no order of all the rows drawn here
            return [(self.rows, Shuffle(int(self.rng.integers(2**63)), self.rows.n_rows))]
        return [(self.rows, visit_order(self.rng, self.rows.n_rows, True))]

    def stop(self, epoch: int) -> bool:
        """Early stopping: True once the held-out loss has not improved by ``tol`` for
        ``n_iter_no_change`` epochs."""
        if self.validation is None:
            return False
        try:
            loss = self.trainer.mean_loss(self.validation)
        except NonFiniteError:
            loss = math.nan
        if not math.isfinite(loss):
            raise self.runner.diverged(f"epoch {epoch + 1} of fit")
        self.validation_losses.append(loss)
        if loss < self.best - self.params.tol:
            self.best, self.stale = loss, 0
            return False
        self.stale += 1
        return self.stale >= self.params.n_iter_no_change

    def solver_blocks(self, epochs_run: int, last_loss: float) -> Iterable[Rows]:
        return (self.rows,)


class StreamSource:
    """A data set on disk read in chunks (see the module docstring)."""

    measures_objective = False  # it would cost one more pass over the data set

    def __init__(self, est: WideEstimator, source: Any, target: Any, sample_weight: Any, classes: Any,
                 chunk_rows: int, buffer_rows: int) -> None:
        owner = type(est).__name__
        if est.spec is None:
            raise TypeError(
                f"{owner} needs a spec to fit on a data set on disk: the spec names the columns to read and featurize"
            )
        if est.early_stopping:
            raise ValueError(
                f"{owner}: early_stopping is not available when fitting on a data set on disk; "
                "keep a validation file apart and evaluate the fitted model on it"
            )
        self.est, self.chunk_rows, self.buffer_rows = est, chunk_rows, buffer_rows
        self.data = DataSet(source, est.spec.columns, target, sample_weight)
        self.name = source_name(source)
        self.labels = None
        if est._kind == "classifier":
            if classes is None:
                classes = self.data.distinct(target, chunk_rows)
                if classes.dtype.kind == "f":
                    classes = classes[np.isfinite(classes)]  # such rows fail later, naming their row
            _, self.labels = est._encode(np.asarray(classes), fitting=True, classes=classes)
        elif classes is not None:
            raise ValueError("classes is only meaningful for WideClassifier")
        self.width = int(est.spec.n_features)
        self.validation_losses = None
        self.n_rows = self.data.n_rows  # None for CSV: unknown without a pass

    def sample(self, max_rows: int) -> Sample:
        """About ``max_rows`` rows, at most one chunk's (memory stays set by the chunk size),
        from units in a fixed random order; all the rows when there are fewer (then ``n_rows``
        is known)."""
        max_rows = min(max_rows, self.chunk_rows)
        order = np.random.default_rng(SAMPLE_SEED).permutation(len(self.data.units))
        parts, n = [], 0
        reader = prepared(self.data, order, max_rows, self._columns)
        try:
            for chunk in reader:
                parts.append(chunk.columns)
                n += chunk.n_rows
                if n >= max_rows:
                    break
            else:
                self.n_rows = n
        finally:
            reader.close()
        X = sp.vstack([p[0] for p in parts], format="csr")
        sw = np.concatenate([p[2] for p in parts])
        return Sample(X, np.concatenate([p[1] for p in parts]), sw if sw.size == n else np.empty(0, dtype=np.float64))

    def attach(self, trainer: Trainer, rng: np.random.Generator, params: FitParams, runner: EpochRunner) -> None:
        self.trainer, self.rng, self.params, self.runner = trainer, rng, params, runner

    def _columns(self, chunk: Chunk) -> tuple[Any, np.ndarray, np.ndarray]:
        # runs in the reader thread: reads the estimator's spec only
        est, data, columns = self.est, self.data, chunk.columns
        X, _ = as_features({c: columns[c] for c in data.features}, est.spec, type(est).__name__, fitting=True,
                           n_jobs=est._jobs())
        y, _ = est._encode(as_target(columns[data.target], X.shape[0], type(est).__name__), fitting=True,
                           classes=self.labels)
        sw = np.empty(0, dtype=np.float64)
        if data.weight is not None:
            sw = as_sample_weight(columns[data.weight], X.shape[0], whole=False)
        return X, y, est._weigh_classes(y, sw, self.labels, whole=False)

    def _training_rows(self, chunk: Chunk) -> Rows:
        # the reader thread alone inserts into the slot map; the records grow in the trainer's thread
        return self.trainer.rows(*self._columns(chunk), grow=False)

    def _scoring_rows(self, chunk: Chunk) -> Rows:
        rows = self.trainer.lookup(*self._columns(chunk))  # read-only: safe beside the solver
        if rows.slots.size and rows.slots.min() < 0:
            raise ValueError("the data set changed during fit (columns unseen in the epochs)")
        return rows

    def epoch(self, epoch: int) -> Iterator[Block]:
        """The rows to train on, block after block, in the reader thread: each chunk is read,
        turned into rows and passed through the shuffle buffer; the consumer only trains. The
        buffer draws from the generator in that thread alone, one chunk after another, so the
        draws, hence the model, do not depend on the timing of the threads."""
        units = len(self.data.units)
        order = self.rng.permutation(units) if self.params.shuffle else np.arange(units)
        buffer = ShuffleBuffer(self.buffer_rows, self.rng) if self.params.shuffle else None

        def produce() -> Iterator[Block]:
            for chunk in prepared(self.data, order, self.chunk_rows, self._training_rows):
                rows = chunk.columns if buffer is None else buffer.push(chunk.columns)
                del chunk
                if rows is not None:
                    yield rows, None  # in the order the buffer drew them
            rows = buffer.drain() if buffer is not None else None
            if rows is not None:
                yield rows, None

        return prefetched(produce())

    def stop(self, epoch: int) -> bool:
        return False

    def solver_blocks(self, epochs_run: int, last_loss: float) -> Iterator[Rows]:
        """One pass for the solver; its rows count as progress of an extra epoch each pass."""
        self.passes = getattr(self, "passes", 0) + 1
        progress = self.runner.progress
        for chunk in read_prepared(self.data, None, self.chunk_rows, self._scoring_rows):
            n_rows, rows = chunk.n_rows, chunk.columns
            del chunk  # keep only the rows alive while the solver adds them
            yield rows
            if progress is not None:  # the rows were added once we are back here
                progress(epochs_run + self.passes - 1, n_rows, last_loss)


def make_source(est: WideEstimator, X: Any, y: Any, sample_weight: Any, classes: Any, chunk_rows: Any,
                buffer_rows: Any) -> MemorySource | StreamSource:
    """The source of ``fit``'s arguments: a data set on disk when ``X`` names one."""
    if is_source(X):
        from ..io import DEFAULT_CHUNK_ROWS

        chunk_rows = _count("chunk_rows", DEFAULT_CHUNK_ROWS if chunk_rows is None else chunk_rows, 1)
        buffer_rows = _count("buffer_rows", chunk_rows if buffer_rows is None else buffer_rows, 0)
        return StreamSource(est, X, y, sample_weight, classes, chunk_rows, buffer_rows)
    for key, value in (("classes", classes), ("chunk_rows", chunk_rows), ("buffer_rows", buffer_rows)):
        if value is not None:
            raise TypeError(f"{key} applies to fitting on a data set on disk (X a path or a list of paths)")
    return MemorySource(est, X, y, sample_weight)


def _count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)
