"""Writing tables atomically: a temporary file, fsync, then a rename over the target."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .files import kind, pyarrow


def write_table(path: str | os.PathLike[str], columns: Mapping[str, np.ndarray]) -> Path:
    """Write columns to Parquet or CSV (by suffix) atomically: temp file, fsync, rename."""
    pa = pyarrow()
    path = Path(path)
    file_kind = kind(path)
    table = pa.table({name: np.asarray(values) for name, values in columns.items()})
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if file_kind == "parquet":
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
        self.pa = pyarrow()
        self.path = Path(path)
        self.kind = kind(self.path)
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
