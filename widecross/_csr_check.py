"""Sparse input, checked before any compiled kernel (ours or SciPy's) reads it: one entry point.

SciPy's sparse constructors check the lengths and dtypes of the index arrays, never their
contents, and its own conversions (``tocsr``, ``sum_duplicates``, ``has_canonical_format``) are
C++ loops that trust them: a column index past the width or a decreasing row pointer makes them,
and the trainers, read or write outside their arrays. :func:`checked_csr` reads the *native*
arrays of whatever it is given (CSR, CSC, COO, BSR, DIA, LIL or DOK; matrices or sparse arrays)
with compiled O(nnz) scans before SciPy converts anything, and returns a canonical CSR matrix
that every kernel may index without further checks:

- ``indptr`` starts at 0, never decreases and ends within ``indices``; entries past its end are
  dropped (SciPy's own convention); ``indices`` and ``indptr`` are int32 or int64;
- every column index lies in ``[0, n_columns)``: negative ones are an error, never wrapped;
- each row's column indices are strictly increasing (duplicates summed, as SciPy does);
- values are finite float32 or float64 (other real dtypes become float64).

Errors are ``ValueError`` naming the row (the column of a CSC matrix, the entry of a COO one)
and the bad value; a wrong type (float indices, complex or text values) is a ``TypeError``.

>>> import scipy.sparse as sp
>>> X = sp.csr_matrix(([1.0, 2.0], [3, 1], [0, 2]), shape=(1, 4))
>>> checked_csr(X).indices.tolist()
[1, 3]
>>> X.indices[0] = 7
>>> checked_csr(X)
Traceback (most recent call last):
...
ValueError: X: row 0: column index 7 is outside [0, 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ._csr_scan import (BAD_MAJOR, BAD_MINOR, BAD_START, DECREASING, OK, PAST_END, scan_compressed, scan_coordinates,
                        scan_rows)
from ._parallel import run_blocks

_INT64_MAX = np.iinfo(np.int64).max
_NO_VALUES = np.empty(0, dtype=np.float64)  # "structure only": the values are checked after conversion
# A CSR of at least this many entries is scanned in row blocks on the threads ``n_jobs`` asks for
PARALLEL_SCAN_ENTRIES = 1 << 18
SCAN_BLOCK_ROWS = 65_536


def checked_csr(X: Any, name: str = "X", canonical: bool = True, n_jobs: int = 1) -> sp.csr_matrix:
    """``X`` (any SciPy sparse matrix or array) as a validated canonical ``csr_matrix``.

    Never modifies ``X``; shares its arrays when it already is canonical CSR with native dtypes.
    See the module docstring for what is checked; ``name`` prefixes the error messages.
    ``canonical=False`` keeps unsorted or repeated column indices within a row (for scoring,
    where they are harmless and summing repeated float32 values first would round them).
    ``n_jobs``: threads that scan a large CSR's rows block by block (the same checks and errors).
    """
    if not sp.issparse(X):
        raise TypeError(f"{name} must be a scipy sparse matrix, got {type(X).__name__}")
    shape = _shape(X, name)
    if X.format == "csr":
        return _canonical(X.indptr, X.indices, X.data, shape, name, canonical, n_jobs)
    if X.format == "csc":  # rebuilt from the checked arrays, values in a dtype SciPy can add
        indptr, indices = _check_compressed(X, (shape[1], shape[0]), name, "column", "row")
        X = sp.csc_matrix((_real_values(X.data, name), indices, indptr), shape=shape)
    elif X.format in ("coo", "dok"):  # a DOK becomes COO in Python: nothing a C++ loop trusts
        coo = X if X.format == "coo" else X.tocoo()
        rows, columns = _check_coordinates(coo, shape, name)
        X = sp.coo_matrix((_real_values(coo.data, name), (rows, columns)), shape=shape)
    else:
        check = {"bsr": _check_blocks, "dia": _check_diagonals, "lil": _check_lists}.get(X.format)
        if check is None:
            raise TypeError(f"{name} is a sparse matrix of format {X.format!r}, which is not supported; convert it to CSR")
        check(X, shape, name)
        _real_dtype(X.dtype, name)  # before SciPy sums values it cannot add
    csr = X.tocsr()  # safe now: SciPy's conversion reads only what was checked
    return _canonical(csr.indptr, csr.indices, csr.data, shape, name, canonical)


# ---------------------------------------------------------------------- helpers
def _shape(X: Any, name: str) -> tuple[int, int]:
    shape = tuple(X.shape)
    if len(shape) != 2:
        raise ValueError(
            f"Expected 2D array, got {len(shape)}D sparse input ({name} of shape {shape}) instead"
        )
    for n in shape:
        if not isinstance(n, (int, np.integer)) or not 0 <= int(n) <= _INT64_MAX:
            raise ValueError(f"{name} has an impossible shape {shape}")
    return int(shape[0]), int(shape[1])


def _index_array(values: Any, name: str, what: str) -> np.ndarray:
    """A 1-D native int32/int64 view (or copy) of an index array."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}.{what} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}.{what} must hold integers, got dtype {arr.dtype}")
    if arr.dtype in (np.int32, np.int64) and arr.dtype.isnative:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > _INT64_MAX:
        position = int(np.argmax(arr))
        raise ValueError(f"{name}.{what}[{position}] = {int(arr[position])} is too large for an index")
    return arr.astype(np.int64)


def _real_dtype(dtype: Any, name: str) -> None:
    if np.dtype(dtype).kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers (bool, integer or float), got dtype {dtype}")


def _real_values(values: Any, name: str) -> np.ndarray:
    """A native float32/float64 array of the values; text, objects and complex numbers raise."""
    arr = np.asarray(values)
    _real_dtype(arr.dtype, name)
    if arr.dtype in (np.float32, np.float64) and arr.dtype.isnative:
        return np.ascontiguousarray(arr)
    return arr.astype(np.float64)


def _canonical(indptr: Any, indices: Any, data: Any, shape: tuple[int, int], name: str,
               canonical: bool = True, n_jobs: int = 1) -> sp.csr_matrix:
    n_rows, n_columns = shape
    indptr = _index_array(indptr, name, "indptr")
    indices = _index_array(indices, name, "indices")
    values = _real_values(data, name)
    if values.ndim != 1:
        raise ValueError(f"{name}.data must be 1-D, got shape {values.shape}")
    if indptr.shape[0] != n_rows + 1:
        raise ValueError(f"{name}.indptr has {indptr.shape[0]} entries; a matrix of {n_rows} rows needs {n_rows + 1}")
    if values.shape[0] != indices.shape[0]:
        raise ValueError(f"{name}.indices has {indices.shape[0]} entries but {name}.data has {values.shape[0]}")
    status, row, position, increasing = _scan(indptr, indices, values, n_columns, n_jobs)
    if status != OK:
        raise ValueError(_compressed_error(status, row, position, indptr, indices, values, n_columns, name, "row", "column"))
    nnz = int(indptr[-1])
    if nnz < indices.shape[0]:  # SciPy's convention: entries past indptr[-1] are not part of X
        indices, values = indices[:nnz], values[:nnz]
    csr = sp.csr_matrix((values, indices, indptr), shape=shape, copy=False)
    if increasing:
        csr.has_canonical_format = True
    if increasing or not canonical:
        return csr
    csr = sp.csr_matrix((values.copy(), indices.copy(), indptr.copy()), shape=shape)
    csr.sum_duplicates()  # safe on checked arrays; sorts the indices of each row
    if not np.isfinite(csr.data).all():  # two huge duplicates can sum to infinity
        return _canonical(csr.indptr, csr.indices, csr.data, shape, name)
    return csr


def _scan(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_columns: int,
          n_jobs: int) -> tuple[int, int, int, bool]:
    """``scan_compressed``, on row blocks on threads for a large CSR: the first block's problem,
    or OK and whether every block's rows increase."""
    if n_jobs <= 1 or indices.shape[0] < PARALLEL_SCAN_ENTRIES or int(indptr[0]) != 0:
        return scan_compressed(indptr, indices, values, np.int64(n_columns))
    blocks = run_blocks(lambda lo, hi: scan_rows(indptr, indices, values, np.int64(n_columns), lo, hi),
                        indptr.shape[0] - 1, n_jobs, SCAN_BLOCK_ROWS)
    for block in blocks:
        if block[0] != OK:
            return block
    return OK, -1, -1, all(block[3] for block in blocks)


def _compressed_error(status: int, major: int, position: int, indptr: np.ndarray, indices: np.ndarray,
                      values: np.ndarray, n_minor: int, name: str, major_name: str, minor_name: str) -> str:
    where = f"{name}: {major_name} {major}"
    if status == BAD_START:
        return f"{name}: indptr[0] is {int(indptr[0])}; a compressed sparse pointer array starts at 0"
    if status == DECREASING:
        return (f"{where}: indptr decreases from {int(indptr[major])} to {int(indptr[major + 1])} "
                f"(indptr[{major + 1}]); it must never decrease")
    if status == PAST_END:
        return (f"{where}: indptr[{major + 1}] = {int(indptr[major + 1])} points past the end of "
                f"{name}.indices ({indices.shape[0]} entries)")
    if status == BAD_MINOR:
        value = int(indices[position])
        hint = " (negative indices are not wrapped around)" if value < 0 else ""
        return f"{where}: {minor_name} index {value} is outside [0, {n_minor}){hint}"
    bad = int(np.count_nonzero(~np.isfinite(values[: int(indptr[-1])])))
    return (f"{name} holds {bad} non-finite value{'s' if bad > 1 else ''} (NaN or infinity); first at "
            f"{major_name} {major}, {minor_name} {int(indices[position])} ({values[position]})")


def _check_compressed(X: Any, shape: tuple[int, int], name: str, major_name: str, minor_name: str,
                      block: tuple[int, int] = (1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """The structure of a CSC (or, per block, BSR) matrix; values are checked after conversion."""
    indptr = _index_array(X.indptr, name, "indptr")
    indices = _index_array(X.indices, name, "indices")
    n_major, n_minor = shape[0] // block[0], shape[1] // block[1]
    if indptr.shape[0] != n_major + 1:
        raise ValueError(f"{name}.indptr has {indptr.shape[0]} entries; {n_major} {major_name}s need {n_major + 1}")
    if np.shape(X.data)[:1] != indices.shape:
        raise ValueError(f"{name}.indices has {indices.shape[0]} entries but {name}.data has {np.shape(X.data)[:1]}")
    status, major, position, _ = scan_compressed(indptr, indices, _NO_VALUES, np.int64(n_minor))
    if status != OK:
        raise ValueError(_compressed_error(status, major, position, indptr, indices, _NO_VALUES, n_minor, name,
                                           major_name, minor_name))
    return indptr, indices


def _check_blocks(X: Any, shape: tuple[int, int], name: str) -> None:
    rows, columns = (int(b) for b in X.blocksize)
    if rows < 1 or columns < 1 or shape[0] % rows or shape[1] % columns:
        raise ValueError(f"{name}: block size {X.blocksize} does not divide the shape {shape}")
    if np.ndim(X.data) != 3 or tuple(np.shape(X.data)[1:]) != (rows, columns):
        raise ValueError(f"{name}.data has shape {np.shape(X.data)}, expected (blocks, {rows}, {columns})")
    _check_compressed(X, shape, name, "block row", "block column", (rows, columns))


def _check_diagonals(X: Any, shape: tuple[int, int], name: str) -> None:
    offsets = _index_array(X.offsets, name, "offsets")
    data = np.asarray(X.data)
    if data.ndim != 2 or data.shape[0] != offsets.shape[0]:
        raise ValueError(f"{name}.data has shape {data.shape}, expected ({offsets.shape[0]}, length)")
    far = np.flatnonzero((offsets <= -max(shape[0], 1)) | (offsets >= max(shape[1], 1)))
    if far.size:  # such a diagonal is empty: its offset is corrupted (and would overflow)
        raise ValueError(f"{name}: diagonal offset {int(offsets[far[0]])} is outside the matrix of shape {shape}")


def _check_lists(X: Any, shape: tuple[int, int], name: str) -> None:
    rows, data = X.rows, X.data
    if len(rows) != shape[0] or len(data) != shape[0]:
        raise ValueError(f"{name}: {len(rows)} row lists for {shape[0]} rows")
    for i, (columns, values) in enumerate(zip(rows, data)):
        if len(columns) != len(values):  # SciPy would copy the values past the end of its array
            raise ValueError(f"{name}: row {i} has {len(columns)} column indices but {len(values)} values")
    # the column indices themselves are checked on the CSR that SciPy builds from these lists


def _check_coordinates(X: Any, shape: tuple[int, int], name: str) -> tuple[np.ndarray, np.ndarray]:
    rows = _index_array(X.row, name, "row")
    columns = _index_array(X.col, name, "col")
    if rows.shape != columns.shape or np.shape(X.data) != rows.shape:
        raise ValueError(
            f"{name}: row, col and data must have one entry each per value, got "
            f"{rows.shape[0]}, {columns.shape[0]} and {np.shape(X.data)}"
        )
    status, position = scan_coordinates(rows, columns, np.int64(shape[0]), np.int64(shape[1]))
    if status == BAD_MAJOR:
        raise ValueError(f"{name}: entry {position}: row index {int(rows[position])} is outside [0, {shape[0]})")
    if status == BAD_MINOR:
        raise ValueError(
            f"{name}: entry {position} (row {int(rows[position])}): column index {int(columns[position])} "
            f"is outside [0, {shape[1]})"
        )
    return rows, columns
