"""Which files a data set is, what kind each is, and what their metadata tells for free.

A data set is a file, a directory of files, or a list of files (Parquet ``.parquet``/``.pq`` or
CSV ``.csv``/``.csv.gz``/``.tsv``). Needs pyarrow (``pip install widecross[parquet]``); Parquet
metadata is read through ``pyarrow.dataset``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
# Rows read (and featurized, and scored) at a time when a data set is read in chunks.
DEFAULT_CHUNK_ROWS = 1_000_000

DataSource = "str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"


def pyarrow() -> Any:
    """The pyarrow module with its Parquet, CSV and dataset parts, or a clear ``ImportError``."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.csv  # noqa: F401
        import pyarrow.dataset  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError("reading Parquet/CSV needs pyarrow: pip install 'widecross[parquet]'") from error
    return pyarrow


@contextlib.contextmanager
def naming(*paths: Path) -> Iterator[None]:
    """Prefix pyarrow's errors ("Empty CSV file", "Parquet magic bytes not found") with the file
    they are about: the one of ``paths`` that they mention, else the first."""
    pa = pyarrow()
    try:
        yield
    except pa.ArrowException as error:
        text = str(error)
        path = next((p for p in paths if str(p) in text), paths[0])
        if text.startswith(f"{path}: "):
            raise
        kind = OSError if isinstance(error, OSError) else ValueError
        raise kind(f"{path}: {text}") from None


def kind(path: Path) -> str:
    """``"parquet"`` or ``"csv"`` by suffix; ``ValueError`` for anything else."""
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise ValueError(f"{path}: unknown data file type (expected {', '.join(PARQUET_SUFFIXES + CSV_SUFFIXES)})")


def is_source(X: Any) -> bool:
    """True when ``X`` names a data set on disk: a path, or a non-empty list of paths."""
    if isinstance(X, (str, os.PathLike)):
        return True
    if isinstance(X, (list, tuple)) and X:
        return all(isinstance(p, (str, os.PathLike)) for p in X)
    return False


def source_name(source: Any) -> str:
    """How messages name a data set: its path, or its first file and how many more."""
    if isinstance(source, (list, tuple)):
        return str(source[0]) if len(source) == 1 else f"{source[0]} (+{len(source) - 1} more files)"
    return str(source)


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
        kind(path)
        return [path]
    files = [Path(p) for p in source]
    if not files:
        raise ValueError("empty list of data files")
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        kind(path)
    return files


def column_names(path: Path) -> list[str]:
    """Column names of one data file, read from its header/metadata only."""
    pa = pyarrow()
    with naming(path):
        if kind(path) == "parquet":
            return list(pa.parquet.ParquetFile(path).schema_arrow.names)
        with pa.csv.open_csv(path) as reader:
            return list(reader.schema.names)


def parquet_dataset(files: list[Path]) -> Any:
    """A ``pyarrow.dataset`` over Parquet ``files``, in their order."""
    return pyarrow().dataset.dataset([str(p) for p in files], format="parquet")


def count_rows(source: Any) -> int | None:
    """Total rows when cheap to know (Parquet metadata); None when a CSV is involved."""
    files = dataset_files(source)
    if any(kind(path) != "parquet" for path in files):
        return None
    with naming(*files):
        return int(parquet_dataset(files).count_rows())


def row_groups(path: Path) -> list[tuple[int, int]]:
    """(index, rows) of each row group of one Parquet file, in file order (from its metadata)."""
    with naming(path):
        fragment = next(iter(parquet_dataset([path]).get_fragments()))
        groups = [part.row_groups[0] for part in fragment.split_by_row_group()]
    return [(int(group.id), int(group.num_rows)) for group in groups]
