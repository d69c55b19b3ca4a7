"""Numba kernels of the feature transform: bucket ids, the 64-bit mixing hash, CSR filling.

The hash is part of the model format (a saved hashed model is only meaningful with the same
column placement), so every constant here is pinned by known-value tests; changing any of them
means a new spec format version.

- ``mix64`` is the splitmix64 finalizer (Stafford's "Mix13"), a bijection on 64-bit integers
  with full avalanche.
- Byte strings (feature names, categorical strings) are first reduced with 64-bit FNV-1a.
- A feature's column for bucket ids ``(b1, ..., bk)`` is, with ``h0`` its seeded base,
  ``h = mix64(... mix64(mix64(h0 ^ b1) ^ b2) ... ^ bk)`` and ``column = h >> (64 - bits)``
  (the top bits, the best mixed ones).

All arithmetic is on ``np.uint64`` values and constants: mixing ``uint64`` with a Python int
literal makes Numba promote to float64, which would silently ruin the hash.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# splitmix64 constants.
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)

# 64-bit FNV-1a.
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)

# Domain tags so that the integer 7, the string "7" and a missing value hash apart.
INT_TAG = np.uint64(0x9E3779B97F4A7C15)
STR_TAG = np.uint64(0xC2B2AE3D27D4EB4F)
MISSING_TAG = np.uint64(0x165667B19E3779F9)

# Columns of the per-component integer parameters (``comp_i``) and float parameters (``comp_f``).
KIND, SRC, NB, WRAP, POLICY, EDGE_LO = range(6)
START, STOP, SCALE = range(3)
# Component kinds.
UNIFORM, EDGES, IDS = 0, 1, 2
# Out-of-range policies.
ERROR, CLIP, BUCKET = 0, 1, 2


@jit
def mix64(z: np.uint64) -> np.uint64:
    """splitmix64 finalizer; ``mix64(np.uint64(0x9E3779B97F4A7C15)) == 0xE220A8397B1DCDAF``."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def fnv1a64_many(buffer, offsets, out):
    """FNV-1a 64 of each byte string ``buffer[offsets[i]:offsets[i + 1]]`` into ``out[i]``."""
    for i in range(offsets.shape[0] - 1):
        h = FNV_OFFSET
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(buffer[j])) * FNV_PRIME
        out[i] = h


@jit
def string_keys(buffer, offsets, out):
    """Categorical keys of UTF-8 strings: ``mix64(fnv1a64(bytes) ^ STR_TAG)``."""
    fnv1a64_many(buffer, offsets, out)
    for i in range(out.shape[0]):
        out[i] = mix64(out[i] ^ STR_TAG)


@jit
def int_keys(values, out):
    """Categorical keys of integers: ``mix64(uint64(v) ^ INT_TAG)`` (two's complement for v < 0)."""
    for i in range(values.shape[0]):
        out[i] = mix64(np.uint64(values[i]) ^ INT_TAG)


@jit(inline="always")
def _bucket(x, c, comp_f, comp_i, edges):
    """Bucket id of value ``x`` for numeric component ``c``; -1 for a value the policy rejects."""
    start = comp_f[c, START]
    stop = comp_f[c, STOP]
    n = comp_i[c, NB]
    wrap = comp_i[c, WRAP] != 0
    if x >= start and x <= stop:  # NaN fails both comparisons
        if comp_i[c, KIND] == UNIFORM:
            # (x - start) * (n / (stop - start)): for 1/60-degree buckets the scale is exactly 60.
            b = np.int64(np.floor((x - start) * comp_f[c, SCALE]))
            if b >= n:  # x == stop, or x a hair below stop rounding up
                b = n - 1
        else:
            # Largest j with edges[j] <= x among the n left edges.
            lo = np.int64(0)
            hi = n
            base = comp_i[c, EDGE_LO]
            while hi - lo > 1:
                mid = (lo + hi) >> 1
                if edges[base + mid] <= x:
                    lo = mid
                else:
                    hi = mid
            b = lo
        if wrap and x == stop:  # periodic: stop is the same point as start
            b = 0
        return b
    policy = comp_i[c, POLICY]
    if policy == CLIP and x == x:
        if wrap or x < start:
            return np.int64(0)
        return n - 1
    if policy == BUCKET:
        return n
    return np.int64(-1)


@jit
def bucket_block(values, ids, comp_f, comp_i, edges, out, bad):
    """Bucket ids of every component for a block of rows.

    ``values``: (n_numeric_columns, m) float64; ``ids``: (n_categorical, m) int64 precomputed
    categorical ids; ``out``: (n_components, m) int64. ``bad[c]`` receives the first row of the
    block whose value component ``c`` rejects (callers initialise it to -1).
    """
    n_comps = comp_i.shape[0]
    m = out.shape[1]
    for c in range(n_comps):
        src = comp_i[c, SRC]
        if comp_i[c, KIND] == IDS:
            for i in range(m):
                out[c, i] = ids[src, i]
            continue
        for i in range(m):
            b = _bucket(values[src, i], c, comp_f, comp_i, edges)
            if b < 0:
                if bad[c] < 0:
                    bad[c] = i
                b = 0
            out[c, i] = b


@jit
def fill_block(values, ids, comp_f, comp_i, edges, feat_slots, slot_comp, slot_radix, feat_base, shift,
               indices, data, indptr, row_out, pos, bad):
    """Write the CSR rows ``row_out .. row_out + m - 1`` for one block of input rows.

    Features are described by slots: feature ``f`` crosses the components
    ``slot_comp[feat_slots[f]:feat_slots[f + 1]]``. With ``shift == 0`` (exact indexing) its
    column is ``feat_base[f] + mixed-radix(bucket ids, slot_radix)``, already increasing with
    ``f``; otherwise (hashing into ``2**(64 - shift)`` columns) it is the top bits of the chained
    ``mix64`` starting from ``feat_base[f]``, and each row's few columns are insertion-sorted and
    equal columns merged (their values summed) so that the CSR is canonical.
    Returns the new number of stored entries. Rejected values are reported through ``bad`` as in
    :func:`bucket_block`.
    """
    n_comps = comp_i.shape[0]
    n_feats = feat_base.shape[0]
    m = values.shape[1]
    buckets = np.empty(n_comps, dtype=np.int64)
    cols = np.empty(n_feats, dtype=np.int64)
    sh = np.uint64(shift)
    one = np.float32(1.0)
    for i in range(m):
        for c in range(n_comps):
            src = comp_i[c, SRC]
            if comp_i[c, KIND] == IDS:
                buckets[c] = ids[src, i]
            else:
                b = _bucket(values[src, i], c, comp_f, comp_i, edges)
                if b < 0:
                    if bad[c] < 0:
                        bad[c] = i
                    b = 0
                buckets[c] = b
        if shift == 0:
            for f in range(n_feats):
                local = np.int64(0)
                for s in range(feat_slots[f], feat_slots[f + 1]):
                    local = local * slot_radix[s] + buckets[slot_comp[s]]
                indices[pos] = np.int64(feat_base[f]) + local
                data[pos] = one
                pos += 1
        else:
            for f in range(n_feats):
                h = feat_base[f]
                for s in range(feat_slots[f], feat_slots[f + 1]):
                    h = mix64(h ^ np.uint64(buckets[slot_comp[s]]))
                col = np.int64(h >> sh)
                # Insertion sort: rows hold a handful of features.
                j = f
                while j > 0 and cols[j - 1] > col:
                    cols[j] = cols[j - 1]
                    j -= 1
                cols[j] = col
            first = pos
            for f in range(n_feats):
                col = cols[f]
                if pos > first and indices[pos - 1] == col:
                    data[pos - 1] += one
                else:
                    indices[pos] = col
                    data[pos] = one
                    pos += 1
        indptr[row_out + i + 1] = pos
    return pos


@jit
def hash_keys(keys, base, shift, out):
    """Hashed columns of bucket-id tuples ``keys`` (m, arity) of one feature with seeded ``base``."""
    sh = np.uint64(shift)
    for i in range(keys.shape[0]):
        h = base
        for j in range(keys.shape[1]):
            h = mix64(h ^ np.uint64(keys[i, j]))
        out[i] = np.int64(h >> sh)


def fnv1a64(data: bytes) -> int:
    """64-bit FNV-1a of a byte string, as a Python int.

    >>> hex(fnv1a64(b"a"))
    '0xaf63dc4c8601ec8c'
    """
    out = np.empty(1, dtype=np.uint64)
    fnv1a64_many(np.frombuffer(data, dtype=np.uint8), np.array([0, len(data)], dtype=np.int64), out)
    return int(out[0])


def mix(value: int) -> int:
    """:func:`mix64` of a Python int taken modulo 2**64, as a Python int."""
    return int(mix64(np.uint64(value % (1 << 64))))


def feature_base(name: str, seed: int) -> int:
    """Seeded hash base of a feature: ``mix64(fnv1a64(utf8(name)) ^ mix64(seed + GOLDEN))``.

    Derived from the feature's name, never its position, so adding or reordering features does
    not move the columns of the others.
    """
    return mix(fnv1a64(name.encode("utf-8")) ^ mix(seed + int(GOLDEN)))
