"""Out-of-core training data: a Parquet (or CSV) data set read in chunks, with bounded shuffling.

``fit(source, y="label")`` never holds the data set. It is cut into *units* that can be read on
their own (a Parquet row group, or a whole CSV file); each epoch visits the units in a fresh
seeded order, reads each in chunks of ``chunk_rows`` rows, featurizes a chunk, maps its columns
to state slots and trains on it, then drops it. A reader thread does all but the training, a
chunk ahead (the kernels and Arrow release the GIL), so at most three chunks are in flight.

Shuffling within bounds: unit order alone leaves the rows of a unit together, so chunks pass
through a *shuffle buffer* of ``buffer_rows`` rows. Each arriving chunk joins the rows kept
from before, and all but ``buffer_rows`` of them, drawn uniformly at random, are trained on in
random order; the rest wait for later chunks. At the end of the epoch the buffer is emptied in
random order. Every row is visited exactly once per epoch; all draws come from the estimator's
seeded generator, so the same data, chunking and seed give the same bits.

Memory: the chunk being read, the one being featurized, the buffer and the model, whatever the
size of the data set.

>>> data = DataSet("houses/", ["lat", "lon"], target="label")  # doctest: +SKIP
>>> for chunk in data.chunks(range(len(data.units)), chunk_rows=100_000):  # doctest: +SKIP
...     print(chunk.path, chunk.first_row, len(chunk.columns["label"]))
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from . import io
from ._jit import jit


def is_source(X: Any) -> bool:
    """True when ``X`` names a data set on disk: a path, or a non-empty list of paths."""
    if isinstance(X, (str, os.PathLike)):
        return True
    if isinstance(X, (list, tuple)) and X:
        return all(isinstance(p, (str, os.PathLike)) for p in X)
    return False


@dataclass(frozen=True)
class Unit:
    """A piece of the data set read on its own: one Parquet row group, or one whole CSV file."""

    path: Path
    row_group: int  # -1: the whole file
    first_row: int  # row of the file where the unit starts
    n_rows: int | None  # None when unknown until read (CSV)


@dataclass
class Chunk:
    """Rows ``[first_row, first_row + n_rows)`` of ``path``: raw columns, or what ``prepare`` made of them."""

    path: Path
    first_row: int
    n_rows: int
    columns: Any


class DataSet:
    """A data set on disk: its files, units and the columns to read.

    ``source``: a file, a directory, or a list of files (see :func:`widecross.io.dataset_files`).
    Missing columns raise ``KeyError`` naming the file and the columns it has, before anything
    is trained.
    """

    def __init__(self, source: Any, columns: Sequence[str], target: str | None = None, weight: str | None = None) -> None:
        for name, value in (("y", target), ("sample_weight", weight)):
            if value is not None and not isinstance(value, str):
                raise TypeError(
                    f"when fitting on a data set on disk, {name} must name a column of it, got {type(value).__name__}"
                )
        self.files = io.dataset_files(source)
        self.features = list(columns)
        self.target = target
        self.weight = weight
        self.columns = list(dict.fromkeys([*self.features, *(c for c in (target, weight) if c is not None)]))
        for path in self.files:
            available = io.column_names(path)
            missing = [c for c in self.columns if c not in available]
            if missing:
                raise KeyError(f"{path}: missing column(s) {missing}; available: {available}")
        self.units = _units(self.files)

    @property
    def n_rows(self) -> int | None:
        """Rows of the data set when the metadata tells (Parquet only), else None."""
        counts = [u.n_rows for u in self.units]
        return None if any(c is None for c in counts) else int(sum(counts))

    def chunks(self, order: Iterable[int], chunk_rows: int, columns: Sequence[str] | None = None) -> Iterator[Chunk]:
        """Chunks of at most ``chunk_rows`` rows of the units in ``order``, each unit in its own order."""
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        names = self.columns if columns is None else list(columns)
        for index in order:
            yield from _unit_chunks(self.units[int(index)], names, chunk_rows)

    def distinct(self, column: str, chunk_rows: int, limit: int = 3) -> np.ndarray:
        """Sorted distinct values of one column (reading only it), stopping once ``limit`` are found."""
        found = np.empty(0)
        for chunk in self.chunks(range(len(self.units)), chunk_rows, [column]):
            values = chunk.columns[column]
            found = np.union1d(found, _distinct(values)) if found.size else _distinct(values)
            if found.size >= limit:
                break
        return found


def _units(files: Sequence[Path]) -> list[Unit]:
    pa = io._pyarrow()
    units: list[Unit] = []
    for path in files:
        if io._kind(path) != "parquet":
            units.append(Unit(path, -1, 0, None))
            continue
        meta = pa.parquet.ParquetFile(path).metadata
        first = 0
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if n:
                units.append(Unit(path, g, first, n))
            first += n
    return units


def _unit_chunks(unit: Unit, columns: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
    if unit.row_group < 0:  # a CSV file: read front to back
        first = 0
        for part in io.iter_chunks(unit.path, columns, chunk_rows):
            n = len(part[columns[0]])
            yield Chunk(unit.path, first, n, part)
            first += n
        return
    pa = io._pyarrow()
    reader = pa.parquet.ParquetFile(unit.path)
    pending: list[dict[str, np.ndarray]] = []
    pending_rows = 0
    first = unit.first_row
    # Arrow may cut a row group into smaller batches than asked: re-cut to exactly chunk_rows
    # rows, so that the chunking (and with it the model) depends on chunk_rows only.
    for batch in reader.iter_batches(batch_size=chunk_rows, row_groups=[unit.row_group], columns=list(columns)):
        if batch.num_rows == 0:
            continue
        pending.append({name: io._to_numpy(batch.column(name)) for name in columns})
        pending_rows += batch.num_rows
        while pending_rows >= chunk_rows:
            merged = io._concat(pending, columns)
            yield Chunk(unit.path, first, chunk_rows, {name: merged[name][:chunk_rows] for name in columns})
            first += chunk_rows
            pending_rows -= chunk_rows
            pending = [{name: merged[name][chunk_rows:] for name in columns}] if pending_rows else []
    if pending_rows:
        yield Chunk(unit.path, first, pending_rows, io._concat(pending, columns))


def _distinct(values: np.ndarray) -> np.ndarray:
    # Labels are usually small integers: counting is O(n), sorting is not.
    if values.dtype.kind in "iub" and values.size:
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < 1 << 16:
            counts = np.bincount((values.astype(np.int64) - lo))
            return (np.flatnonzero(counts) + lo).astype(values.dtype)
    return np.unique(values)


def row_context(chunk: Chunk, error: Exception) -> Exception:
    """The same kind of error, its message prefixed with the file and the chunk's rows in it."""
    span = f"rows {chunk.first_row:,}-{chunk.first_row + chunk.n_rows - 1:,}"
    detail = f" (row numbers below count from row {chunk.first_row:,})" if chunk.first_row else ""
    message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return type(error)(f"{chunk.path}: {span}{detail}: {message}")


def prefetched(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead of the consumer.

    Exceptions of the producer are raised in the consumer, in order. When the consumer stops
    early (an error, or ``close``), the producer is told to stop and is waited for, so that no
    work outlives the call.
    """
    channel: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as error:  # handed to the consumer, who raises it
            put(("error", error))

    thread = threading.Thread(target=work, name="widecross-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = channel.get()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item
            del item  # drop our reference before waiting for the next one
    finally:
        stop.set()
        thread.join()


# -- the shuffle buffer ------------------------------------------------------------------------
@jit
def gather_pointers(indptr_a, indptr_b, rows, out_indptr):
    """Row pointers of rows ``rows`` of the stacked CSRs a then b (b's rows follow a's)."""
    n_a = indptr_a.shape[0] - 1
    out_indptr[0] = 0
    for i in range(rows.shape[0]):
        r = rows[i]
        if r < n_a:
            length = indptr_a[r + 1] - indptr_a[r]
        else:
            length = indptr_b[r - n_a + 1] - indptr_b[r - n_a]
        out_indptr[i + 1] = out_indptr[i] + length


@jit
def gather_entries(indptr_a, values_a, indptr_b, values_b, rows, out_indptr, out_values):
    """Entries (slots or values) of rows ``rows`` of the stacked CSRs, at ``out_indptr``."""
    n_a = indptr_a.shape[0] - 1
    for i in range(rows.shape[0]):
        r = rows[i]
        q = out_indptr[i]
        if r < n_a:
            for p in range(indptr_a[r], indptr_a[r + 1]):
                out_values[q] = values_a[p]
                q += 1
        else:
            rb = r - n_a
            for p in range(indptr_b[rb], indptr_b[rb + 1]):
                out_values[q] = values_b[p]
                q += 1


@dataclass
class Rows:
    """Slot-indexed rows: CSR pointers, slots, values (empty: all ones), labels, sample weights (empty: ones)."""

    indptr: np.ndarray
    slots: np.ndarray
    data: np.ndarray
    y: np.ndarray
    sw: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.indptr.shape[0] - 1


def gather(a: Rows, b: Rows, rows: np.ndarray) -> Rows:
    """Rows ``rows`` of ``a`` stacked over ``b``, in that order, as one contiguous ``Rows``."""
    nnz_max = a.slots.shape[0] + b.slots.shape[0]
    pointer_dtype = np.int32 if nnz_max < 2**31 else np.int64
    indptr = np.empty(rows.shape[0] + 1, dtype=pointer_dtype)
    gather_pointers(a.indptr, b.indptr, rows, indptr)
    slots = np.empty(int(indptr[-1]), dtype=np.int32)
    gather_entries(a.indptr, a.slots, b.indptr, b.slots, rows, indptr, slots)
    if a.data.shape[0] or b.data.shape[0]:
        # one side may be all ones (stored as empty): materialize its ones to stack them
        da = a.data if a.data.shape[0] or not a.slots.shape[0] else np.ones(a.slots.shape[0], dtype=b.data.dtype)
        db = b.data if b.data.shape[0] or not b.slots.shape[0] else np.ones(b.slots.shape[0], dtype=a.data.dtype)
        dtype = np.result_type(da.dtype, db.dtype)
        data = np.empty(slots.shape[0], dtype=dtype)
        gather_entries(a.indptr, da.astype(dtype, copy=False), b.indptr, db.astype(dtype, copy=False), rows, indptr, data)
    else:
        data = a.data
    y = np.concatenate([a.y, b.y])[rows]
    if a.sw.shape[0] or b.sw.shape[0]:
        sw = np.concatenate([a.sw if a.sw.shape[0] else np.ones(a.n_rows), b.sw if b.sw.shape[0] else np.ones(b.n_rows)])[rows]
    else:
        sw = a.sw
    return Rows(indptr, slots, data, y, sw)


class ShuffleBuffer:
    """Bounded shuffling of a stream of row blocks (see the module docstring).

    ``push`` returns the rows to train on now, in random order (possibly none), and keeps at
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
        kept = self.kept if self.kept is not None else _empty_like(block)
        pool = kept.n_rows + block.n_rows
        n_out = pool - self.capacity
        if n_out <= 0:  # still filling up
            self.kept = gather(kept, block, np.arange(pool))
            return None
        perm = self.rng.permutation(pool)
        if self.capacity:
            # keep the waiting rows in their stacked order (a sequential copy): only which rows
            # wait is random. A mask finds them in O(pool), where sorting would cost O(pool log pool).
            waiting = np.zeros(pool, dtype=np.bool_)
            waiting[perm[n_out:]] = True
            self.kept = gather(kept, block, np.flatnonzero(waiting))
        else:
            self.kept = None
        return gather(kept, block, perm[:n_out])

    def drain(self) -> Rows | None:
        if self.kept is None or self.kept.n_rows == 0:
            self.kept = None
            return None
        kept, self.kept = self.kept, None
        return gather(kept, _empty_like(kept), self.rng.permutation(kept.n_rows))


def _empty_like(rows: Rows) -> Rows:
    return Rows(
        np.zeros(1, dtype=rows.indptr.dtype), np.empty(0, dtype=np.int32), np.empty(0, dtype=rows.data.dtype),
        np.empty(0, dtype=rows.y.dtype), np.empty(0, dtype=rows.sw.dtype),
    )


def _prepared(data: DataSet, order: Iterable[int], chunk_rows: int, prepare: Callable[[Chunk], Any]) -> Iterator[Chunk]:
    for chunk in data.chunks(order, chunk_rows):
        try:
            prepared = prepare(chunk)
        except (ValueError, TypeError, KeyError) as error:
            raise row_context(chunk, error) from None
        yield Chunk(chunk.path, chunk.first_row, chunk.n_rows, prepared)


def read_prepared(data: DataSet, order: Iterable[int], chunk_rows: int, prepare: Callable[[Chunk], Any]) -> Iterator[Chunk]:
    """``data``'s chunks in unit ``order`` with ``prepare`` applied in the reader thread.

    Errors of ``prepare`` (ValueError, TypeError, KeyError) come back naming the file and rows.
    """
    return prefetched(_prepared(data, order, chunk_rows, prepare))


def training_rows(data: DataSet, order: Iterable[int], chunk_rows: int, prepare: Callable[[Chunk], Rows],
                  buffer: ShuffleBuffer | None) -> Iterator[Rows]:
    """The rows to train on, block after block, for one epoch over the units in ``order``.

    In the reader thread, each chunk is read, turned into slot-indexed ``Rows`` by ``prepare``
    and passed through ``buffer`` (None: trained as it comes); the consumer only trains. The
    buffer draws from its generator in that thread alone, one chunk after another, so the
    order of the draws, hence the model, does not depend on the timing of the threads.
    """

    def produce() -> Iterator[Rows]:
        for chunk in _prepared(data, order, chunk_rows, prepare):
            out = chunk.columns if buffer is None else buffer.push(chunk.columns)
            del chunk
            if out is not None:
                yield out
        if buffer is not None:
            out = buffer.drain()
            if out is not None:
                yield out

    return prefetched(produce())
