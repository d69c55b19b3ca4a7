"""Data on disk: Parquet and CSV data sets read in bounded-memory chunks, tables written atomically.

A data set is a file, a directory of files, or a list of files (Parquet ``.parquet``/``.pq`` or
CSV ``.csv``/``.csv.gz``). Only the requested columns are read, one chunk at a time, so the memory
is set by the chunk size, not by the data set. Needs pyarrow (``pip install widecross[parquet]``).

- :mod:`~widecross.io.files`: which files, their kinds, names and row counts;
- :mod:`~widecross.io.read`: whole columns in chunks (:func:`iter_chunks`, :func:`read_columns`);
- :mod:`~widecross.io.dataset`: units and chunks that know their file and rows (streamed fits);
- :mod:`~widecross.io.write`: :func:`write_table`, :class:`TableWriter`.

>>> for chunk in iter_chunks("houses.parquet", ["lat", "lon", "label"]):  # doctest: +SKIP
...     print(len(chunk["lat"]))
"""

from __future__ import annotations

from .dataset import Chunk, DataSet, Unit, read_prepared, row_context
from .files import (
    CSV_SUFFIXES,
    DEFAULT_CHUNK_ROWS,
    PARQUET_SUFFIXES,
    DataSource,
    column_names,
    count_rows,
    dataset_files,
    is_source,
    source_name,
)
from .prefetch import prefetched
from .read import iter_chunks, read_columns
from .write import TableWriter, write_table

__all__ = [
    "CSV_SUFFIXES", "Chunk", "DEFAULT_CHUNK_ROWS", "DataSet", "DataSource", "PARQUET_SUFFIXES", "TableWriter", "Unit",
    "column_names", "count_rows", "dataset_files", "is_source", "iter_chunks", "prefetched", "read_columns",
    "read_prepared", "row_context", "source_name", "write_table",
]
