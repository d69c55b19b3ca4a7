"""What a model accepts to score: raw columns (featurized by its spec) or a CSR matrix, checked.

The one place where :class:`~widecross.model.SparseModel` converts and checks its input before a
kernel reads it.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .._csr_check import checked_csr


def is_columns(X: Any) -> bool:
    """Raw columns: a mapping, a structured array, a DataFrame or a pyarrow Table / RecordBatch."""
    if type(X).__module__.startswith("scipy.sparse"):  # a dok_matrix is a dict, not columns
        return False
    if isinstance(X, Mapping):
        return True
    if isinstance(X, np.ndarray):
        return X.dtype.names is not None  # a structured array: named columns
    return hasattr(X, "column_names") and hasattr(X, "num_rows") or (
        hasattr(X, "columns") and (hasattr(X, "iloc") or hasattr(X, "get_column"))  # pandas, polars
    )


def _slice_column(value: Any, start: int, stop: int) -> Any:
    if hasattr(value, "iloc"):  # pandas Series: positional, whatever the index
        return value.iloc[start:stop]
    if hasattr(value, "slice") and hasattr(value, "null_count"):  # pyarrow Array / ChunkedArray
        return value.slice(start, stop - start)
    return value[start:stop]


def slice_columns(columns: dict[str, Any], start: int, stop: int) -> dict[str, Any]:
    """Rows ``start:stop`` of each column; views where the container allows (NumPy, Arrow)."""
    return {name: _slice_column(value, start, stop) for name, value in columns.items()}


def as_csr(X: Any) -> Any:
    """``X`` as a validated CSR matrix (see :mod:`widecross._csr_check`): indices in range, a
    valid row pointer and finite real values, checked before any kernel (SciPy's included)."""
    import scipy.sparse

    if scipy.sparse.issparse(X):
        return checked_csr(X, canonical=False)
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise TypeError(
            f"X must be a 2-D CSR matrix (or raw columns for a model with a spec), got {type(X).__name__} "
            f"with {arr.ndim} dimension(s)"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"X must hold real numbers (bool, integer or float), got dtype {arr.dtype}")
    return checked_csr(scipy.sparse.csr_matrix(arr), canonical=False)
