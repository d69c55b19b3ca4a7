"""Write the housing stream to Parquet or CSV in bounded memory, atomically.

Each chunk of ``chunk_rows`` rows is generated, written (one Parquet row group per chunk) and
dropped, so memory stays near one chunk whatever ``n``. The file appears under its final name
only when complete: it is written to a temporary name in the same directory, synced, then
renamed.
"""

from __future__ import annotations

import contextlib
import csv
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ._housing_kernel import PROPERTY_TYPES
from ._world import load_world
from .housing import COLUMNS, _check_int, _generate_checked, to_named

Progress = Callable[[int], None]


def _chunks(
    n: int, seed: int, world_seed: int, bad_fraction: float, chunk_rows: int
) -> Iterator[dict[str, np.ndarray]]:
    n = _check_int("n", n, 0, 1 << 62)
    chunk_rows = _check_int("chunk_rows", chunk_rows, 1, 1 << 40)
    for start in range(0, n, chunk_rows):
        yield _generate_checked(min(chunk_rows, n - start), seed, world_seed, bad_fraction, start)


@contextlib.contextmanager
def _atomic_file(path: Path, mode: str, **kwargs: Any) -> Iterator[Any]:
    """Open a temporary sibling of ``path``; on success sync and rename it over ``path``."""
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output directory does not exist: {path.parent}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _import_pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401  (registers the submodule)
    except ImportError:
        raise ImportError(
            "write_parquet needs pyarrow: pip install 'widecross[parquet]' (or write CSV instead)"
        ) from None
    return pyarrow


def write_parquet(
    path: str | os.PathLike[str],
    n: int,
    seed: int = 0,
    world_seed: int = 0,
    chunk_rows: int = 1_000_000,
    bad_fraction: float = 0.0,
    progress: Progress | None = None,
) -> Path:
    """Write rows [0, n) of ``generate_housing``'s stream to a Parquet file; return its path.

    One row group per chunk of ``chunk_rows`` rows (memory stays near one chunk). ``property_type``
    and ``country`` are dictionary-encoded strings; the other columns keep the dtypes of
    ``generate_housing``. ``progress``, if given, is called with the number of rows written so
    far after each chunk. Needs pyarrow (the ``parquet`` extra).

    >>> import tempfile, pyarrow.parquet as pq
    >>> with tempfile.TemporaryDirectory() as d:
    ...     pq.read_table(write_parquet(d + "/houses.parquet", 1000, chunk_rows=300)).num_rows
    1000
    """
    pa = _import_pyarrow()
    path = Path(path)
    type_names = pa.array(PROPERTY_TYPES, pa.string())
    country_names = pa.array(load_world().country_iso.tolist(), pa.string())
    schema = pa.schema(
        [
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("rooms", pa.int32()),
            ("area", pa.float64()),
            ("age", pa.int32()),
            ("property_type", pa.dictionary(pa.int8(), pa.string())),
            ("country", pa.dictionary(pa.int16(), pa.string())),
            ("price", pa.float64()),
            ("label", pa.int8()),
            ("is_bad", pa.bool_()),
        ]
    )
    assert schema.names == list(COLUMNS)
    written = 0
    with _atomic_file(path, "wb") as f:
        writer = pa.parquet.ParquetWriter(f, schema)
        try:
            for chunk in _chunks(n, seed, world_seed, bad_fraction, chunk_rows):
                arrays = []
                for name in schema.names:
                    if name == "property_type":
                        arrays.append(pa.DictionaryArray.from_arrays(chunk[name], type_names))
                    elif name == "country":
                        arrays.append(pa.DictionaryArray.from_arrays(chunk[name], country_names))
                    else:
                        arrays.append(pa.array(chunk[name]))
                table = pa.Table.from_arrays(arrays, schema=schema)
                writer.write_table(table, row_group_size=table.num_rows)
                written += table.num_rows
                if progress is not None:
                    progress(written)
        finally:
            writer.close()
    return path


def write_csv(
    path: str | os.PathLike[str],
    n: int,
    seed: int = 0,
    world_seed: int = 0,
    chunk_rows: int = 1_000_000,
    bad_fraction: float = 0.0,
    progress: Progress | None = None,
) -> Path:
    """Write rows [0, n) of ``generate_housing``'s stream as CSV with a header; return its path.

    Needs nothing beyond the standard library. Floats are written in Python's shortest
    round-trip form (``nan``, ``inf`` and ``-inf`` for corrupted coordinates), so reading them
    back with ``float`` gives the generated values exactly. Slower than Parquet (about a
    microsecond per value) and several times larger.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d, open(write_csv(d + "/houses.csv", 2)) as f:
    ...     f.readline().strip()
    'lat,lon,rooms,area,age,property_type,country,price,label,is_bad'
    """
    path = Path(path)
    written = 0
    with _atomic_file(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(list(COLUMNS))
        for chunk in _chunks(n, seed, world_seed, bad_fraction, chunk_rows):
            named = to_named(chunk)
            columns = [named[name].tolist() for name in COLUMNS]
            columns[-1] = np.where(named["is_bad"], "1", "0").tolist()  # 0/1, not True/False
            writer.writerows(zip(*columns))
            written += len(columns[0])
            if progress is not None:
                progress(written)
    return path
