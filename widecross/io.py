"""Reading Parquet and CSV data sets in bounded-memory chunks, and writing tables atomically.

A data set is a file, a directory of files, or a list of files (Parquet ``.parquet``/``.pq`` or
CSV ``.csv``/``.csv.gz``). Only the requested columns are read, one chunk at a time, so the memory
is set by the chunk size, not by the data set. Needs pyarrow (``pip install widecross[parquet]``).

>>> for chunk in iter_chunks("houses.parquet", ["lat", "lon", "label"]):  # doctest: +SKIP
...     print(len(chunk["lat"]))
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")

DataSource = "str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"


def _pyarrow() -> Any:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.csv  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "reading Parquet/CSV needs pyarrow: pip install 'widecross[parquet]'"
        ) from error
    return pyarrow


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise ValueError(f"{path}: unknown data file type (expected {', '.join(PARQUET_SUFFIXES + CSV_SUFFIXES)})")


def dataset_files(source: Any) -> list[Path]:
    """The files of a data set: one file, every data file in a directory (sorted), or a list."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(PARQUET_SUFFIXES + CSV_SUFFIXES)
            )
            if not files:
                raise FileNotFoundError(f"{path}: directory holds no .parquet or .csv files")
            return files
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        _kind(path)
        return [path]
    files = [Path(p) for p in source]
    if not files:
        raise ValueError("empty list of data files")
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        _kind(path)
    return files


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Prefix pyarrow's errors ("Empty CSV file", "Parquet magic bytes not found") with the file."""
    import pyarrow as pa

    try:
        yield
    except pa.ArrowException as error:
        if str(path) in str(error):
            raise
        kind = OSError if isinstance(error, OSError) else ValueError
        raise kind(f"{path}: {error}") from None


def column_names(path: Path) -> list[str]:
    """Column names of one data file, read from its header/metadata only."""
    pa = _pyarrow()
    with _naming(path):
        if _kind(path) == "parquet":
            return list(pa.parquet.ParquetFile(path).schema_arrow.names)
        with pa.csv.open_csv(path) as reader:
            return list(reader.schema.names)


def count_rows(source: Any) -> int | None:
    """Total rows when cheap to know (Parquet metadata); None when a CSV is involved."""
    pa = _pyarrow()
    total = 0
    for path in dataset_files(source):
        if _kind(path) != "parquet":
            return None
        with _naming(path):
            total += pa.parquet.ParquetFile(path).metadata.num_rows
    return total


def _to_numpy(column: Any) -> np.ndarray:
    """Arrow column -> NumPy; nulls in numeric columns become NaN (caught later by validation)."""
    import pyarrow as pa

    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        if column.null_count:
            return column.cast(pa.float64()).fill_null(float("nan")).to_numpy()
        return column.to_numpy()
    if pa.types.is_boolean(column.type) and not column.null_count:
        return column.to_numpy(zero_copy_only=False)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return column.to_numpy(zero_copy_only=False)


def _batches(path: Path, columns: Sequence[str], chunk_rows: int) -> Iterator[Any]:
    pa = _pyarrow()
    available = column_names(path)
    missing = [c for c in columns if c not in available]
    if missing:
        raise KeyError(f"{path}: missing column(s) {missing}; available: {available}")
    with _naming(path):
        if _kind(path) == "parquet":
            yield from pa.parquet.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=list(columns))
            return
        convert = pa.csv.ConvertOptions(include_columns=list(columns))
        with pa.csv.open_csv(path, convert_options=convert) as reader:
            yield from reader


def iter_chunks(source: Any, columns: Sequence[str], chunk_rows: int = 1_000_000) -> Iterator[dict[str, np.ndarray]]:
    """Yield dicts column -> 1-D array of at most ``chunk_rows`` rows, file after file.

    Raises ``KeyError`` naming the file and the available columns when one is missing.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    pending: list[dict[str, np.ndarray]] = []
    pending_rows = 0
    for path in dataset_files(source):
        for batch in _batches(path, columns, chunk_rows):
            if batch.num_rows == 0:
                continue
            # Convert per batch: files of one data set may infer different Arrow types (a CSV
            # column of whole numbers is int64 where the Parquet one is double); NumPy promotes.
            pending.append({name: _to_numpy(batch.column(name)) for name in columns})
            pending_rows += batch.num_rows
            while pending_rows >= chunk_rows:
                merged = _concat(pending, columns)
                yield {name: merged[name][:chunk_rows] for name in columns}
                pending_rows -= chunk_rows
                pending = [{name: merged[name][chunk_rows:] for name in columns}] if pending_rows else []
    if pending_rows:
        yield _concat(pending, columns)


def _concat(parts: list[dict[str, np.ndarray]], columns: Sequence[str]) -> dict[str, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([part[name] for part in parts]) for name in columns}


def read_columns(source: Any, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Read whole columns into memory (for data sets that fit)."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in columns}
    for chunk in iter_chunks(source, columns):
        for name in columns:
            parts[name].append(chunk[name])
    return {name: (np.concatenate(arrays) if arrays else np.empty(0)) for name, arrays in parts.items()}


def write_table(path: str | os.PathLike[str], columns: Mapping[str, np.ndarray]) -> Path:
    """Write columns to Parquet or CSV (by suffix) atomically: temp file, fsync, rename."""
    pa = _pyarrow()
    path = Path(path)
    kind = _kind(path)
    table = pa.table({name: np.asarray(values) for name, values in columns.items()})
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if kind == "parquet":
            pa.parquet.write_table(table, tmp)
        else:
            pa.csv.write_csv(table, tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


class TableWriter:
    """Append column chunks to one Parquet or CSV file; the file appears atomically on close.

    >>> with TableWriter("predictions.parquet") as out:  # doctest: +SKIP
    ...     out.write({"probability": p})
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.pa = _pyarrow()
        self.path = Path(path)
        self.kind = _kind(self.path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp{os.getpid()}")
        self._writer: Any = None
        self.rows = 0

    def __enter__(self) -> "TableWriter":
        return self

    def write(self, columns: Mapping[str, np.ndarray]) -> None:
        table = self.pa.table({name: np.asarray(values) for name, values in columns.items()})
        if self._writer is None:
            if self.kind == "parquet":
                self._writer = self.pa.parquet.ParquetWriter(self.tmp, table.schema)
            else:
                self._writer = self.pa.csv.CSVWriter(self.tmp, table.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
            if exc_type is None:
                if self._writer is None:
                    raise ValueError(f"{self.path}: nothing to write (zero chunks)")
                with open(self.tmp, "rb+") as handle:
                    os.fsync(handle.fileno())
                os.replace(self.tmp, self.path)
        finally:
            if self.tmp.exists():
                self.tmp.unlink()
