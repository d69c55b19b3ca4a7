"""Turning user tables into validated 1-D NumPy columns, with errors that name what is wrong.

Accepted tables: any mapping of column name -> 1-D array-like (``dict``), pandas or polars
DataFrames, pyarrow ``Table``/``RecordBatch`` and NumPy structured arrays. Nothing here imports
pandas or pyarrow: they are recognised by their attributes, so this module costs nothing when
they are absent.

The feature transform and the estimators share these helpers, so every entry point reports a
missing column, a wrong type or a length mismatch in the same words.

>>> cols, n = get_columns({"lat": [1.0, 2.0], "lon": [3, 4]}, ["lat", "lon"])
>>> n, as_numeric(cols["lon"], "lon").dtype.kind
(2, 'i')
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, Sequence

import numpy as np

__all__ = [
    "table_columns",
    "get_columns",
    "as_numeric",
    "as_float64",
    "categorical_codes",
]


def _is_arrow(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "pyarrow"


def table_columns(data: Any) -> list[str]:
    """The column names of a supported table, in the table's order.

    Raises ``TypeError`` for anything that is not a table (a bare array, a list, ``None``).
    """
    if isinstance(data, Mapping):
        return [str(k) for k in data.keys()]
    if hasattr(data, "column_names") and hasattr(data, "column"):  # pyarrow Table / RecordBatch
        return list(data.column_names)
    if isinstance(data, np.ndarray) and data.dtype.names is not None:
        return list(data.dtype.names)
    if hasattr(data, "columns") and hasattr(data, "__getitem__") and not isinstance(data, np.ndarray):
        return [str(c) for c in data.columns]  # pandas / polars DataFrame
    raise TypeError(
        "expected a table: a mapping of column name -> 1-D array (dict), a pandas/polars DataFrame, "
        f"a pyarrow Table/RecordBatch or a NumPy structured array; got {type(data).__name__}"
    )


def _column(data: Any, name: str) -> Any:
    if hasattr(data, "column_names") and hasattr(data, "column") and not isinstance(data, Mapping):
        return data.column(name)
    return data[name]


def _length(values: Any, name: str) -> int:
    shape = getattr(values, "shape", None)
    if shape is not None:
        if len(shape) != 1:
            raise ValueError(f"column {name!r} must be 1-D, got shape {tuple(shape)}")
        return int(shape[0])
    if _is_arrow(values):
        return len(values)
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"column {name!r} must be a 1-D array-like, got {type(values).__name__}")
    if isinstance(values, (list, tuple)) and all(isinstance(v, (list, tuple, type(None))) for v in values):
        return len(values)  # one list per row (token lists): what each row holds is the column kind's to judge
    array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"column {name!r} must be 1-D, got shape {array.shape}")
    return int(array.shape[0])


def get_columns(data: Any, names: Sequence[str]) -> tuple[dict[str, Any], int]:
    """Pick ``names`` out of a table; return ``({name: raw column}, n_rows)``.

    The columns are returned as they are stored (no copy, no conversion). Raises ``KeyError``
    listing the available columns when one is missing, ``ValueError`` naming every length when
    the columns differ in length or are not 1-D.

    >>> get_columns({"a": [1, 2]}, ["a"])[1]
    2
    """
    available = table_columns(data)
    missing = [name for name in names if name not in available]
    if missing:
        raise KeyError(
            f"column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} not found; "
            f"available columns: {available}"
        )
    columns = {name: _column(data, name) for name in names}
    lengths = {name: _length(values, name) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"columns have different lengths: {detail}")
    n_rows = next(iter(lengths.values())) if lengths else 0
    return columns, n_rows


def _arrow_to_numpy(values: Any, name: str, numeric: bool) -> np.ndarray:
    import pyarrow as pa

    kind = values.type
    if pa.types.is_dictionary(kind):
        values = values.cast(kind.value_type)
        kind = values.type
    if numeric:
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise TypeError(f"column {name!r} must be numeric (integer or floating point), got Arrow type {kind}")
        if values.null_count:
            # Nulls become NaN, which the bucketizer then reports with its row index.
            return values.cast(pa.float64()).fill_null(float("nan")).to_numpy()
    return np.asarray(values.to_numpy(zero_copy_only=False) if hasattr(values, "to_numpy") else values)


def _to_numpy(values: Any, name: str, numeric: bool) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    if _is_arrow(values):
        return _arrow_to_numpy(values, name, numeric)
    to_numpy = getattr(values, "to_numpy", None)
    if to_numpy is not None:  # pandas / polars Series
        return np.asarray(to_numpy())
    return np.asarray(values)


def _is_missing(value: Any) -> bool:
    """None, a float NaN, or pandas' NA (recognised by name: pandas is not imported)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType"


def as_numeric(values: Any, name: str) -> np.ndarray:
    """A 1-D integer or floating point NumPy array (no copy when the input already is one).

    Object arrays holding only numbers and missing values (``None``, pandas' ``NA``) become
    float64 with NaN for the missing ones.
    Anything else (strings, booleans, dates, complex numbers) raises ``TypeError`` naming the
    column and its dtype.

    >>> as_numeric([1, None, 2.5], "x")
    array([1. , nan, 2.5])
    """
    array = _to_numpy(values, name, numeric=True)
    if array.ndim != 1:
        raise ValueError(f"column {name!r} must be 1-D, got shape {array.shape}")
    kind = array.dtype.kind
    if kind in "iuf":
        return array
    if kind == "O":
        out = np.empty(array.shape[0], dtype=np.float64)
        for i, value in enumerate(array):
            if _is_missing(value):
                out[i] = math.nan
            elif isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
                out[i] = float(value)
            else:
                raise TypeError(
                    f"column {name!r} must be numeric; row {i} holds {type(value).__name__} {value!r}"
                )
        return out
    raise TypeError(f"column {name!r} must be numeric (integer or floating point), got dtype {array.dtype}")


def as_float64(values: Any, name: str) -> np.ndarray:
    """:func:`as_numeric` converted to float64 (no copy when it already is float64).

    >>> as_float64(np.arange(3), "x").dtype
    dtype('float64')
    """
    return np.asarray(as_numeric(values, name), dtype=np.float64)




def categorical_codes(values: Any, name: str) -> tuple[list[Any], np.ndarray]:
    """Factorize a categorical column: ``(uniques, codes)`` with ``codes[i]`` indexing ``uniques``.

    Values may be strings, bytes (decoded as UTF-8) or integers (booleans count as 0 and 1);
    missing values (``None``, NaN, Arrow nulls) get code -1. Uniques are Python ``str`` or
    ``int``. Floating point values and other types raise ``TypeError`` naming the column (and,
    for object arrays, the first offending row).

    >>> categorical_codes(["b", "a", None, "b"], "city")
    (['b', 'a'], array([ 0,  1, -1,  0]))
    """
    if _is_arrow(values):
        return _arrow_codes(values, name)
    array = _to_numpy(values, name, numeric=False)
    if array.dtype.kind in "US" and isinstance(values, (list, tuple)) and not _numpy_keeps_text(values, array.dtype.kind):
        # NumPy turns a list mixing strings with other values into strings (7 would become "7",
        # another category, and NaN "nan", not missing) and drops trailing NULs ("a\0" would
        # become "a"). Look at each value.
        array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise ValueError(f"column {name!r} must be 1-D, got shape {array.shape}")
    if array.shape[0] == 0:  # zero rows: NumPy calls an empty list float64, but there is no value to reject
        return [], np.empty(0, dtype=np.int64)
    kind = array.dtype.kind
    if kind in "iub":
        uniques, codes = np.unique(array, return_inverse=True)
        return [int(u) for u in uniques], codes.astype(np.int64, copy=False)
    if kind in "US":
        uniques, codes = np.unique(array, return_inverse=True)
        if kind == "S":
            return [_decode(u, name) for u in uniques], codes.astype(np.int64, copy=False)
        return [str(u) for u in uniques], codes.astype(np.int64, copy=False)
    if kind == "f":
        raise TypeError(
            f"categorical column {name!r} holds floating point values (dtype {array.dtype}); "
            "cast it to integers or strings first"
        )
    if kind != "O":
        raise TypeError(f"categorical column {name!r} must hold strings or integers, got dtype {array.dtype}")
    lookup: dict[Any, int] = {}
    uniques_list: list[Any] = []
    codes_out = np.empty(array.shape[0], dtype=np.int64)
    for i, value in enumerate(array):
        if _is_missing(value):
            codes_out[i] = -1
            continue
        if isinstance(value, (str, np.str_)):
            key: Any = str(value)
        elif isinstance(value, (bytes, np.bytes_)):
            key = _decode(value, name)
        elif isinstance(value, numbers.Integral):
            key = int(value)
        else:
            raise TypeError(
                f"categorical column {name!r} must hold strings or integers; row {i} holds "
                f"{type(value).__name__} {value!r}"
            )
        code = lookup.get(key)
        if code is None:
            code = lookup[key] = len(uniques_list)
            uniques_list.append(key)
        codes_out[i] = code
    return uniques_list, codes_out


def _numpy_keeps_text(values: Sequence[Any], kind: str) -> bool:
    """True when a fixed-width NumPy string array holds exactly these values."""
    text, nul = ((str, np.str_), "\0") if kind == "U" else ((bytes, np.bytes_), b"\0")
    return all(isinstance(v, text) and not v.endswith(nul) for v in values)


def _decode(value: bytes, name: str) -> str:
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"categorical column {name!r}: bytes value {value!r} is not UTF-8") from error


def _arrow_codes(values: Any, name: str) -> tuple[list[Any], np.ndarray]:
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = values.type.value_type if pa.types.is_dictionary(values.type) else values.type
    if not (pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_boolean(kind)):
        raise TypeError(f"categorical column {name!r} must hold strings or integers, got Arrow type {kind}")
    encoded = values if pa.types.is_dictionary(values.type) else values.dictionary_encode()
    codes = encoded.indices.cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)
    uniques = [
        _decode(u, name) if isinstance(u, bytes) else (int(u) if isinstance(u, (bool, int)) else u)
        for u in encoded.dictionary.to_pylist()
    ]
    return uniques, np.asarray(codes, dtype=np.int64)
