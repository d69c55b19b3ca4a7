"""Rows of a CSR matrix in Vowpal Wabbit's text format, with integer feature names.

VW reads an integer feature name in the unnamed namespace as the column itself (no hashing, then
masked to ``-b`` bits), so ``write_vw(X, y, path)`` gives VW exactly the columns widecross and
scikit-learn see. The formatter is a compiled kernel: a Python loop would cost VW ~10x its own
parse time, which would be our overhead, not VW's.

>>> import numpy as np, scipy.sparse as sp
>>> X = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]], dtype=np.float32))
>>> vw_bytes(X, np.array([1, 0])).decode()
'1 | 0 2:2\\n-1 |\\n'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from widecross._jit import jit

_SPACE, _COLON, _NEWLINE, _BAR, _MINUS, _ZERO = 32, 58, 10, 124, 45, 48


@jit
def _put_int(out: np.ndarray, pos: int, value: int) -> int:
    """Decimal digits of ``value >= 0`` at ``out[pos:]``; returns the position after them."""
    digits = 1
    rest = value // 10
    while rest > 0:
        digits += 1
        rest //= 10
    for k in range(digits - 1, -1, -1):
        out[pos + k] = _ZERO + value % 10
        value //= 10
    return pos + digits


@jit
def _format_rows(indptr, indices, values, labels, out) -> int:
    """Write every row as ``label | col[:value] ...`` (``label`` an integer: -1 / 1 for a binary
    task, the class 1..K for ``--oaa``); returns the bytes written.

    ``out`` must hold the worst case (see ``_bound``). Values are whole numbers (collisions of a
    hashed spec add 1s), written only when they differ from 1.
    """
    pos = 0
    for r in range(indptr.size - 1):
        label = labels[r]
        if label < 0:
            out[pos] = _MINUS
            pos += 1
            label = -label
        pos = _put_int(out, pos, label)
        out[pos] = _SPACE
        out[pos + 1] = _BAR
        pos += 2
        for k in range(indptr[r], indptr[r + 1]):
            out[pos] = _SPACE
            pos = _put_int(out, pos + 1, indices[k])
            v = values[k]
            if v != 1.0:
                out[pos] = _COLON
                pos = _put_int(out, pos + 1, int(v))
        out[pos] = _NEWLINE
        pos += 1
    return pos


def _check(X: sp.csr_matrix, y: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    X = sp.csr_matrix(X)
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y has shape {y.shape}, expected ({X.shape[0]},) to match the rows of X")
    if X.nnz and (X.data.min() < 1 or not np.array_equal(X.data, np.round(X.data))):
        raise ValueError("write_vw writes whole positive feature values only (the geo specs make 1s and 2s)")
    return X, y


def vw_bytes(X: sp.csr_matrix, y: np.ndarray, classes: bool = False) -> bytes:
    """The VW text of rows ``X`` with labels ``y`` (truthy -> 1, else -1; with ``classes``, the
    class codes 0..K-1 written as VW's 1..K)."""
    X, y = _check(X, y)
    labels = y.astype(np.int64) + 1 if classes else np.where(y.astype(bool), 1, -1).astype(np.int64)
    # <= 20 digits per index, ":" and 20 per value, the space; 24 bytes of label and newline.
    out = np.empty(24 * X.shape[0] + 42 * X.nnz, dtype=np.uint8)
    n = _format_rows(X.indptr.astype(np.int64), X.indices.astype(np.int64), X.data.astype(np.float64), labels, out)
    return out[:n].tobytes()


def write_vw(X: sp.csr_matrix, y: np.ndarray, path: str | Path, chunk_rows: int = 500_000,
             classes: bool = False) -> Path:
    """Write ``X``, ``y`` as a VW text file at ``path`` (in chunks: bounded extra memory)."""
    path = Path(path)
    X, y = _check(X, y)
    with open(path, "wb") as f:
        for start in range(0, X.shape[0], chunk_rows):
            f.write(vw_bytes(X[start : start + chunk_rows], y[start : start + chunk_rows], classes))
    return path
