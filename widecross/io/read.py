"""Reading whole columns of a data set in bounded-memory chunks.

Only the requested columns are read, one chunk at a time, so the memory is set by the chunk
size, not by the data set.

>>> for chunk in iter_chunks("houses.parquet", ["lat", "lon", "label"]):  # doctest: +SKIP
...     print(len(chunk["lat"]))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .files import DEFAULT_CHUNK_ROWS, column_names, dataset_files, kind, naming, pyarrow


def to_numpy(column: Any) -> np.ndarray:
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
    pa = pyarrow()
    available = column_names(path)
    missing = [c for c in columns if c not in available]
    if missing:
        raise KeyError(f"{path}: missing column(s) {missing}; available: {available}")
    with naming(path):
        if kind(path) == "parquet":
            yield from pa.parquet.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=list(columns))
            return
        convert = pa.csv.ConvertOptions(include_columns=list(columns))
        with pa.csv.open_csv(path, convert_options=convert) as reader:
            yield from reader


def iter_chunks(source: Any, columns: Sequence[str], chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[dict[str, np.ndarray]]:
    """Yield dicts column -> 1-D array of exactly ``chunk_rows`` rows (the last one fewer), file
    after file.

    Raises ``KeyError`` naming the file and the available columns when one is missing.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    batches = (batch for path in dataset_files(source) for batch in _batches(path, columns, chunk_rows))
    yield from rechunked(batches, columns, chunk_rows)


def rechunked(batches: Iterable[Any], columns: Sequence[str], chunk_rows: int) -> Iterator[dict[str, np.ndarray]]:
    """Arrow record batches of any sizes as NumPy chunks of exactly ``chunk_rows`` rows (the last
    one fewer): Arrow may cut what it reads into smaller batches than asked, and chunks (and
    with them a streamed model) must depend on ``chunk_rows`` only."""
    pending: list[dict[str, np.ndarray]] = []
    pending_rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        # Convert per batch: files of one data set may infer different Arrow types (a CSV
        # column of whole numbers is int64 where the Parquet one is double); NumPy promotes.
        pending.append({name: to_numpy(batch.column(name)) for name in columns})
        pending_rows += batch.num_rows
        while pending_rows >= chunk_rows:
            merged = concat(pending, columns)
            yield {name: merged[name][:chunk_rows] for name in columns}
            pending_rows -= chunk_rows
            pending = [{name: merged[name][chunk_rows:] for name in columns}] if pending_rows else []
    if pending_rows:
        yield concat(pending, columns)


def concat(parts: list[dict[str, np.ndarray]], columns: Sequence[str]) -> dict[str, np.ndarray]:
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
