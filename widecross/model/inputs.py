"""What a model accepts to score: raw columns (featurized by its spec) or a CSR matrix, checked.

The one place where :class:`~widecross.model.SparseModel` converts and checks its input before a
kernel reads it.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np


def is_columns(X: Any) -> bool:
    """Raw columns: a mapping, a structured array, a DataFrame or a pyarrow Table / RecordBatch."""
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


def check_csr_values(csr: Any) -> None:
    """Real, finite feature values: NaN or inf would turn into NaN scores (or silently vanish
    where the weight is zero), and complex values would lose their imaginary part."""
    data = csr.data
    if data.dtype.kind not in "biuf":
        raise TypeError(f"X must hold real numbers (bool, integer or float), got dtype {data.dtype}")
    if data.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(data))
        if bad.size:
            k = int(bad[0])
            row = int(np.searchsorted(csr.indptr, k, side="right")) - 1
            raise ValueError(
                f"X holds {bad.size} non-finite value{'s' if bad.size > 1 else ''}; first at row {row}, "
                f"column {int(csr.indices[k])} ({data[k]})"
            )


def as_csr(X: Any) -> Any:
    import scipy.sparse

    if scipy.sparse.issparse(X):
        return X if X.format == "csr" else X.tocsr()
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise TypeError(
            f"X must be a 2-D CSR matrix (or raw columns for a model with a spec), got {type(X).__name__} "
            f"with {arr.ndim} dimension(s)"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"X must hold real numbers (bool, integer or float), got dtype {arr.dtype}")
    return scipy.sparse.csr_matrix(arr)
