"""Numba kernels that score CSR rows against a sparse weight vector without densifying it.

The model keeps its nonzero column ids sorted. To find a column quickly we add a small *radix
directory*: the top ``d`` bits of a column id select a bucket, and ``directory[b]`` is the first
stored position whose id falls in bucket ``b`` (``directory[b + 1]`` ends it). With about four ids
per bucket a look-up costs one directory read plus a binary search over a handful of entries, and
the directory costs about one byte per nonzero, whatever the model's width (2**24 or 2**40).
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

# Target number of stored ids per directory bucket: fewer buckets cost less memory, more cost
# fewer binary-search steps; 4 keeps the directory near one byte per nonzero (int32 entries).
_IDS_PER_BUCKET = 4


def build_directory(indices: np.ndarray, n_features: int) -> tuple[np.ndarray, int]:
    """Return ``(directory, shift)`` for sorted unique ``indices`` below ``n_features``.

    Bucket of column ``c`` is ``c >> shift``; its ids are ``indices[directory[b]:directory[b+1]]``.

    >>> d, s = build_directory(np.array([1, 5, 9], dtype=np.int32), 16)
    >>> int(d[5 >> s]) <= 1 < int(d[(5 >> s) + 1])
    True
    """
    nnz = int(indices.shape[0])
    width_bits = max(int(n_features - 1).bit_length(), 0)
    dir_bits = 0
    while (1 << (dir_bits + 1)) * _IDS_PER_BUCKET <= nnz and dir_bits < width_bits:
        dir_bits += 1
    shift = width_bits - dir_bits
    n_buckets = 1 << dir_bits
    pos_dtype = np.int32 if nnz < 2**31 else np.int64
    directory = np.empty(n_buckets + 1, dtype=pos_dtype)
    _fill_directory(indices, np.int64(shift), directory)
    return directory, shift


@jit
def _fill_directory(indices, shift, directory):
    # One pass over the sorted ids: bucket b starts at the first id whose top bits are >= b.
    n_buckets = directory.shape[0] - 1
    nnz = indices.shape[0]
    pos = 0
    for b in range(n_buckets + 1):
        while pos < nnz and (np.int64(indices[pos]) >> shift) < b:
            pos += 1
        directory[b] = pos


@jit(inline="always")
def _find(column, model_idx, directory, shift):
    """Position of ``column`` among the stored ids, or -1."""
    b = np.int64(column) >> shift
    lo = np.int64(directory[b])
    hi = np.int64(directory[b + 1])
    while lo < hi:
        mid = (lo + hi) >> 1
        v = np.int64(model_idx[mid])
        if v < column:
            lo = mid + 1
        elif v > column:
            hi = mid
        else:
            return mid
    return np.int64(-1)


@jit
def decision_csr(indptr, col, data, model_idx, model_val, directory, shift, n_features, intercept, out):
    """``out[i] = intercept + sum_k data[k] * w[col[k]]`` over row ``i`` of a CSR matrix.

    Returns -1 on success; ``p >= 0`` when ``col[p]`` is outside ``[0, n_features)``; ``-2 - i``
    when ``indptr`` is not a valid row pointer at row ``i`` (nothing is read out of bounds).
    """
    n_rows = out.shape[0]
    nnz_x = col.shape[0]
    if indptr.shape[0] != n_rows + 1 or indptr[0] != 0:
        return np.int64(-2)
    for i in range(n_rows):
        start = np.int64(indptr[i])
        stop = np.int64(indptr[i + 1])
        if stop < start or stop > nnz_x:
            return np.int64(-2 - i)
        acc = 0.0
        for k in range(start, stop):
            c = np.int64(col[k])
            if c < 0 or c >= n_features:
                return np.int64(k)
            m = _find(c, model_idx, directory, shift)
            if m >= 0:
                acc += np.float64(data[k]) * np.float64(model_val[m])
        out[i] = intercept + acc
    return np.int64(-1)


@jit
def decision_slots(indptr, slots, data, slot_values, intercept, out):
    """:func:`decision_csr`'s scores with each entry's weight read by slot, not searched by column:
    ``slots[k]`` indexes ``slot_values`` (float32; -1: a column without a slot, no weight). The
    same products added in the same order (an entry of weight 0, skipped there, adds nothing
    here either), so the same bits. The caller made ``slots`` (a slot map's look-up of the
    rows' columns, each < ``slot_values``' length) and checked ``indptr``.
    """
    for i in range(out.shape[0]):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            s = slots[k]
            if s >= 0:
                v = slot_values[s]
                if v != 0.0:
                    acc += np.float64(data[k]) * np.float64(v)
        out[i] = intercept + acc


@jit
def gather_weights(columns, model_idx, model_val, directory, shift, n_features, out):
    """``out[j] = w[columns[j]]`` (0 where the weight is zero); returns -1 or the first bad ``j``."""
    for j in range(columns.shape[0]):
        c = np.int64(columns[j])
        if c < 0 or c >= n_features:
            return np.int64(j)
        m = _find(c, model_idx, directory, shift)
        out[j] = model_val[m] if m >= 0 else 0.0
    return np.int64(-1)


@jit
def decision_csr_multi(indptr, col, data, model_idx, model_val, directory, shift, n_features, intercepts, out):
    """``out[i, k] = intercepts[k] + sum_p data[p] * W[col[p], k]``: K classes' scores of each CSR
    row, each active column looked up once for all K (``model_val`` is (n_stored, K)).

    Return codes as :func:`decision_csr`.
    """
    n_rows = out.shape[0]
    n_classes = out.shape[1]
    nnz_x = col.shape[0]
    if indptr.shape[0] != n_rows + 1 or indptr[0] != 0:
        return np.int64(-2)
    for i in range(n_rows):
        start = np.int64(indptr[i])
        stop = np.int64(indptr[i + 1])
        if stop < start or stop > nnz_x:
            return np.int64(-2 - i)
        for k in range(n_classes):
            out[i, k] = 0.0
        for p in range(start, stop):
            c = np.int64(col[p])
            if c < 0 or c >= n_features:
                return np.int64(p)
            m = _find(c, model_idx, directory, shift)
            if m >= 0:
                x = np.float64(data[p])
                for k in range(n_classes):
                    out[i, k] += x * np.float64(model_val[m, k])
        for k in range(n_classes):
            out[i, k] += intercepts[k]
    return np.int64(-1)
