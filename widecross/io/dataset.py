"""A data set on disk read in chunks: its *units*, their chunks, and errors that name file and rows.

A unit is a piece that can be read on its own: one Parquet row group (found through
``pyarrow.dataset``'s fragments split by row group), or one whole CSV file. A streamed fit
visits the units in a fresh seeded order each epoch and reads each in chunks of exactly
``chunk_rows`` rows; a chunk knows its file and first row there, so that an error in it can say
where it happened.

>>> data = DataSet("houses/", ["lat", "lon"], target="label")  # doctest: +SKIP
>>> for chunk in data.chunks(range(len(data.units)), chunk_rows=100_000):  # doctest: +SKIP
...     print(chunk.path, chunk.first_row, len(chunk.columns["label"]))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .files import column_names, dataset_files, kind, naming, pyarrow, row_groups
from .prefetch import prefetched
from .read import iter_chunks, rechunked


@dataclass(frozen=True)
class Unit:
    """A piece of the data set read on its own: one Parquet row group, or one whole CSV file."""

    path: Path
    row_group: int  # -1: the whole file
    first_row: int  # row of the file where the unit starts
    n_rows: int | None  # None when unknown until read (CSV)


@dataclass
class Chunk:
    """Rows ``[first_row, first_row + n_rows)`` of ``path``: raw columns, or what was made of them."""

    path: Path
    first_row: int
    n_rows: int
    columns: Any


class DataSet:
    """A data set on disk: its files, units and the columns to read.

    ``source``: a file, a directory, or a list of files (see :func:`widecross.io.dataset_files`).
    Missing columns raise ``KeyError`` naming the file and the columns it has, before anything
    is read.
    """

    def __init__(self, source: Any, columns: Sequence[str], target: str | None = None, weight: str | None = None) -> None:
        for name, value in (("y", target), ("sample_weight", weight)):
            if value is not None and not isinstance(value, str):
                raise TypeError(
                    f"when fitting on a data set on disk, {name} must name a column of it, got {type(value).__name__}"
                )
        self.source = source
        self.files = dataset_files(source)
        self.features = list(columns)
        self.target = target
        self.weight = weight
        self.columns = list(dict.fromkeys([*self.features, *(c for c in (target, weight) if c is not None)]))
        for path in self.files:
            available = column_names(path)
            missing = [c for c in self.columns if c not in available]
            if missing:
                raise KeyError(f"{path}: missing column(s) {missing}; available: {available}")
        self.units = _units(self.files)

    @property
    def n_rows(self) -> int | None:
        """Rows of the data set when the metadata tells (Parquet only), else None."""
        counts = [u.n_rows for u in self.units]
        return None if any(c is None for c in counts) else int(sum(counts))

    def chunks(self, order: Iterable[int] | None = None, chunk_rows: int = 1_000_000,
               columns: Sequence[str] | None = None) -> Iterator[Chunk]:
        """Chunks of at most ``chunk_rows`` rows of the units in ``order`` (default: file order)."""
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        names = self.columns if columns is None else list(columns)
        for index in range(len(self.units)) if order is None else order:
            yield from _unit_chunks(self.units[int(index)], names, chunk_rows)

    def distinct(self, column: str, chunk_rows: int, limit: int = 3) -> np.ndarray:
        """Sorted distinct values of one column (reading only it), stopping once ``limit`` are found."""
        found = np.empty(0)
        for chunk in self.chunks(None, chunk_rows, [column]):
            values = chunk.columns[column]
            found = np.union1d(found, _distinct(values)) if found.size else _distinct(values)
            if found.size >= limit:
                break
        return found


def _units(files: Sequence[Path]) -> list[Unit]:
    units: list[Unit] = []
    for path in files:
        if kind(path) != "parquet":
            units.append(Unit(path, -1, 0, None))
            continue
        first = 0
        for group, n in row_groups(path):
            if n:
                units.append(Unit(path, group, first, n))
            first += n
    return units


def _unit_chunks(unit: Unit, columns: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
    if unit.row_group < 0:
        parts = iter_chunks(unit.path, columns, chunk_rows)  # a CSV file: front to back
    else:
        parts = rechunked(_row_group_batches(unit, columns, chunk_rows), columns, chunk_rows)
    first = unit.first_row
    for part in parts:
        n = len(part[columns[0]])
        yield Chunk(unit.path, first, n, part)
        first += n


def _row_group_batches(unit: Unit, columns: Sequence[str], chunk_rows: int) -> Iterator[Any]:
    with naming(unit.path):
        reader = pyarrow().parquet.ParquetFile(unit.path)
        yield from reader.iter_batches(batch_size=chunk_rows, row_groups=[unit.row_group], columns=list(columns))


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


def prepared(data: DataSet, order: Iterable[int] | None, chunk_rows: int, prepare: Callable[[Chunk], Any],
             columns: Sequence[str] | None = None) -> Iterator[Chunk]:
    """``data``'s chunks with ``prepare`` applied to their columns; the data errors of ``prepare``
    (ValueError, TypeError, KeyError) come back naming the file and rows."""
    for chunk in data.chunks(order, chunk_rows, columns):
        try:
            result = prepare(chunk)
        except (ValueError, TypeError, KeyError) as error:
            raise row_context(chunk, error) from None
        yield Chunk(chunk.path, chunk.first_row, chunk.n_rows, result)


def read_prepared(data: DataSet, order: Iterable[int] | None, chunk_rows: int,
                  prepare: Callable[[Chunk], Any]) -> Iterator[Chunk]:
    """:func:`prepared`, in a reader thread one chunk ahead of the consumer."""
    return prefetched(prepared(data, order, chunk_rows, prepare))
