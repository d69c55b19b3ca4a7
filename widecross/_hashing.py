"""Numba kernels of the feature transform: the 64-bit mixing hash, columns of id tuples, CSR rows.

What each component contributes to a row (bucket ids, values, tokens) is :mod:`widecross._components`.

The hash is part of the model format (a saved hashed model is only meaningful with the same
column placement), so every constant here is pinned by known-value tests; changing any of them
means a new spec format version.

- ``mix64`` is the splitmix64 finalizer (Stafford's "Mix13"), a bijection on 64-bit integers
  with full avalanche.
- Byte strings (feature names, categorical strings: see :mod:`widecross._strings`) are first
  reduced with 64-bit FNV-1a.
- A feature's column for bucket ids ``(b1, ..., bk)`` is, with ``h0`` its seeded base,
  ``h = mix64(... mix64(mix64(h0 ^ b1) ^ b2) ... ^ bk)`` and ``column = h >> (64 - bits)``
  (the top bits, the best mixed ones).

All arithmetic is on ``np.uint64`` values and constants: mixing ``uint64`` with a Python int
literal makes Numba promote to float64, which would silently ruin the hash.
"""

from __future__ import annotations

import numpy as np

from ._components import IDS, KIND, MULTI, SRC, VALUE, bucket_id, multi_entries, row_components, row_multi_count
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

# A hashed row is sorted by keys column << PACK_BITS | position (columns below 2**40).
PACK_BITS = 12
PACK_MASK = (1 << PACK_BITS) - 1


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
def int_keys(values, out):
    """Categorical keys of integers: ``mix64(uint64(v) ^ INT_TAG)`` (two's complement for v < 0)."""
    for i in range(values.shape[0]):
        out[i] = mix64(np.uint64(values[i]) ^ INT_TAG)


@jit
def bucket_block(values, ids, comp_f, comp_i, edges, out, bad):
    """Bucket ids of every single-valued component for a block of rows.

    ``values``: (n_numeric_columns, m) float64; ``ids``: (n_categorical, m) int64 precomputed
    categorical ids; ``out``: (n_components, m) int64 (numeric components get id 0, token
    components -1: they have no single id). ``bad[c]`` receives the first row of the block whose
    value component ``c`` rejects (callers initialise it to -1).
    """
    n_comps = comp_i.shape[0]
    m = out.shape[1]
    for c in range(n_comps):
        src = comp_i[c, SRC]
        kind = comp_i[c, KIND]
        if kind == IDS:
            for i in range(m):
                out[c, i] = ids[src, i]
            continue
        if kind == VALUE or kind == MULTI:
            for i in range(m):
                out[c, i] = 0 if kind == VALUE else -1
            continue
        for i in range(m):
            b = bucket_id(values[src, i], c, comp_f, comp_i, edges)
            if b < 0:
                if bad[c] < 0:
                    bad[c] = i
                b = 0
            out[c, i] = b


@jit(inline="always")
def _column(f, ids, plan):
    """Column of the id tuple ``ids`` of feature ``f``: ``feat_base[f] + mixed-radix(ids,
    slot_radix)`` (exact, increasing with ``f``), or the top bits of the chained ``mix64`` from
    ``feat_base[f]`` (hashed into ``2**(64 - shift)`` columns)."""
    feat_slots, slot_radix, feat_base, shift = plan[3], plan[5], plan[6], plan[8]
    lo, hi = feat_slots[f], feat_slots[f + 1]
    if shift == 0:
        local = np.int64(0)
        for s in range(lo, hi):
            local = local * slot_radix[s] + ids[s - lo]
        return np.int64(feat_base[f]) + local
    h = feat_base[f]
    for s in range(lo, hi):
        h = mix64(h ^ np.uint64(ids[s - lo]))
    return np.int64(h >> np.uint64(shift))


@jit
def _sort_pairs(cols, vals, n):
    """Sort ``cols[:n]`` ascending, carrying ``vals`` along (rows with many token entries).

    Shell sort (Ciura's gaps): quick for the hundreds of entries a token cross can give a row,
    and cheap to compile, unlike NumPy's sorts inside Numba."""
    for gap in (701, 301, 132, 57, 23, 10, 4, 1):
        for j in range(gap, n):
            col = cols[j]
            v = vals[j]
            k = j
            while k >= gap and cols[k - gap] > col:
                cols[k] = cols[k - gap]
                vals[k] = vals[k - gap]
                k -= gap
            cols[k] = col
            vals[k] = v


@jit(inline="always")
def _write_row(cols, vals, keys, n, by_key, indices, data, pos, signed):
    """Append a sorted row to the CSR (in the order of ``keys`` when ``by_key``), equal columns
    merged (values summed), and with ``signed`` values the sums that cancel to zero dropped."""
    first = pos
    for j in range(n):
        if by_key:
            col = keys[j] >> PACK_BITS
            v = vals[keys[j] & PACK_MASK] if signed else 1.0
        else:
            col = cols[j]
            v = vals[j] if signed else 1.0
        if pos > first and indices[pos - 1] == col:
            data[pos - 1] += v
        else:
            indices[pos] = col
            data[pos] = v
            pos += 1
    if not signed:
        return pos
    kept = first
    for j in range(first, pos):
        if data[j] != 0:
            indices[kept] = indices[j]
            data[kept] = data[j]
            kept += 1
    return kept


@jit(inline="always")
def _insert_key(keys, n, key):
    """Insert ``key`` into the sorted ``keys[:n]`` (rows hold a few dozen entries)."""
    j = n
    while j > 0 and keys[j - 1] > key:
        keys[j] = keys[j - 1]
        j -= 1
    keys[j] = key


@jit(inline="always")
def _exact_entries(plan, bucket, indices, data, pos):
    """Write a row without tokens or values of an exact spec: one entry of value 1 per feature,
    columns increasing with the feature (its range comes after the previous one's)."""
    feat_slots, slot_comp, slot_radix, feat_base = plan[3], plan[4], plan[5], plan[6]
    for f in range(feat_base.shape[0]):
        local = np.int64(0)
        for s in range(feat_slots[f], feat_slots[f + 1]):
            local = local * slot_radix[s] + bucket[slot_comp[s]]
        indices[pos] = np.int64(feat_base[f]) + local
        data[pos] = 1.0
        pos += 1
    return pos


@jit(inline="always")
def _hashed_entries(plan, bucket, cols):
    """Hashed columns of a row without tokens or values, one per feature, sorted as they come."""
    feat_slots, slot_comp, feat_base = plan[3], plan[4], plan[6]
    sh = np.uint64(plan[8])
    for f in range(feat_base.shape[0]):
        h = feat_base[f]
        for s in range(feat_slots[f], feat_slots[f + 1]):
            h = mix64(h ^ np.uint64(bucket[slot_comp[s]]))
        _insert_key(cols, f, np.int64(h >> sh))
    return feat_base.shape[0]


@jit(inline="always")
def _single_entries(plan, bucket, cvalue, cols, vals, has_values):
    """The entries of the features without token components, in feature order, into
    ``cols``/``vals``; returns their number."""
    feat_slots, slot_comp, slot_radix, feat_base, feat_multi = plan[3], plan[4], plan[5], plan[6], plan[7]
    exact = plan[8] == 0
    sh = np.uint64(plan[8])
    n = 0
    for f in range(feat_multi.shape[0]):
        if feat_multi[f]:
            continue
        v = 1.0
        local = np.int64(0)
        h = feat_base[f]
        for s in range(feat_slots[f], feat_slots[f + 1]):
            if has_values:
                v *= cvalue[slot_comp[s]]
            if exact:
                local = local * slot_radix[s] + bucket[slot_comp[s]]
            else:
                h = mix64(h ^ np.uint64(bucket[slot_comp[s]]))
        if v != 0.0:
            cols[n] = np.int64(feat_base[f]) + local if exact else np.int64(h >> sh)
            vals[n] = v
            n += 1
    return n


@jit(inline="always")
def _token_entries(row, plan, multi, bucket, cvalue, scratch, cols, vals, n):
    """Append the entries of the token features of input row ``row``; returns the new count."""
    feat_multi = plan[7]
    cursor, first, last, key_ids, key_vals = scratch
    for f in range(feat_multi.shape[0]):
        if not feat_multi[f]:
            continue
        k = multi_entries(f, row, plan, multi, bucket, cvalue, cursor, first, last, key_ids, key_vals)
        for e in range(k):
            if key_vals[e] != 0.0:
                cols[n] = _column(f, key_ids[e], plan)
                vals[n] = key_vals[e]
                n += 1
    return n


@jit(inline="always")
def _sorted_row(cols, vals, n, keys, packed):
    """Sort a row's entries: with ``packed`` (hashed columns below 2**40, under 4096 entries),
    by keys ``column << 12 | position`` (a few dozen int64 moved, values stay put); else the
    (column, value) pairs themselves. Returns whether the keys hold the order."""
    if packed:
        for j in range(n):
            _insert_key(keys, j, (cols[j] << PACK_BITS) | j)
        return True
    _sort_pairs(cols, vals, n)
    return False


@jit
def fill_plain_block(values, ids, plan, out, row_out, pos, bad):
    """:func:`fill_block` for specs without token or numeric components (geo specs): one entry of
    value 1 per feature, exact columns increasing with the feature, hashed ones sorted as they
    come. A kernel of its own: compiled (and optimized) apart from the general one."""
    comp_f, comp_i, edges = plan[0], plan[1], plan[2]
    indices, data, indptr = out
    n_comps = comp_i.shape[0]
    bucket = np.empty(n_comps, dtype=np.int64)
    cvalue = np.ones(n_comps, dtype=np.float64)
    cols = np.empty(plan[7].shape[0], dtype=np.int64)
    if plan[8] == 0:
        for i in range(values.shape[1]):
            row_components(i, values, ids, comp_f, comp_i, edges, bucket, cvalue, bad)
            pos = _exact_entries(plan, bucket, indices, data, pos)
            indptr[row_out + i + 1] = pos
        return pos
    for i in range(values.shape[1]):
        row_components(i, values, ids, comp_f, comp_i, edges, bucket, cvalue, bad)
        pos = _write_row(cols, cvalue, cols, _hashed_entries(plan, bucket, cols), False, indices, data, pos, False)
        indptr[row_out + i + 1] = pos
    return pos


@jit
def fill_block(values, ids, multi, plan, out, row_out, pos, bad):
    """Write the CSR rows ``row_out .. row_out + m - 1`` for one block of input rows.

    ``plan`` = ``(comp_f, comp_i, edges, feat_slots, slot_comp, slot_radix, feat_base, feat_multi,
    shift)``: feature ``f`` crosses the components ``slot_comp[feat_slots[f]:feat_slots[f + 1]]``,
    its column is :func:`_column` of their ids. Token components (``multi`` = ``(row_ptr
    (n_token_components, n_rows + 1), token ids)``, rows counted from the start of the call) give
    one entry per token combination; an entry's value is the product of its numeric components'
    values (1 without any), zeros left out; each row is sorted, equal columns merged (summed).
    ``out`` = ``(indices, data, indptr)``. Returns the new number of stored entries; rejected
    values are reported through ``bad`` as in :func:`bucket_block`.
    """
    comp_f, comp_i, edges, feat_multi = plan[0], plan[1], plan[2], plan[7]
    indices, data, indptr = out
    exact = plan[8] == 0
    n_comps = comp_i.shape[0]
    width = max(plan[4].shape[0], 1)
    has_values = False
    any_multi = False
    for c in range(n_comps):
        has_values = has_values or comp_i[c, KIND] == VALUE
        any_multi = any_multi or comp_i[c, KIND] == MULTI
    bucket = np.empty(n_comps, dtype=np.int64)
    cvalue = np.ones(n_comps, dtype=np.float64)
    most = 0  # the most token entries of one row of the block: scratch sized once
    if any_multi:
        for i in range(values.shape[1]):
            most = max(most, row_multi_count(row_out + i, plan, multi))
    size = feat_multi.shape[0] + most
    cols = np.empty(size, dtype=np.int64)
    vals = np.ones(size, dtype=np.float64)
    keys = np.empty(size, dtype=np.int64)
    scratch = (np.empty(width, np.int64), np.empty(width, np.int64), np.empty(width, np.int64),
               np.empty((most, width), np.int64), np.empty(most, np.float64))
    packed = not exact and plan[8] >= 64 - 40 and size < (1 << PACK_BITS)
    for i in range(values.shape[1]):
        row_components(i, values, ids, comp_f, comp_i, edges, bucket, cvalue, bad)
        n = _single_entries(plan, bucket, cvalue, cols, vals, has_values)
        if any_multi:
            n = _token_entries(row_out + i, plan, multi, bucket, cvalue, scratch, cols, vals, n)
        by_key = False
        if not exact or any_multi:  # exact single entries already increase with the feature
            by_key = _sorted_row(cols, vals, n, keys, packed)
        pos = _write_row(cols, vals, keys, n, by_key, indices, data, pos, has_values or any_multi)
        indptr[row_out + i + 1] = pos
    return pos


@jit
def count_entries(plan, multi, n_rows):
    """Upper bound of the stored entries of ``n_rows`` rows (before merging and zeros)."""
    total = n_rows * np.int64(plan[7].shape[0] - plan[7].sum())
    for row in range(n_rows):
        total += row_multi_count(row, plan, multi)
    return total


@jit
def emit_keys(values, ids, multi, plan, row0, key_feat, key_ids, pos, bad):
    """The keys (feature, id tuple) of one block of rows, one per entry ``fill_block`` would
    make (before merging): ``key_feat[k]`` and ``key_ids[k, :arity]``; returns the new count.
    ``row0``: the block's first row, counted from the start of the call (for token rows)."""
    comp_f, comp_i, edges, feat_multi = plan[0], plan[1], plan[2], plan[7]
    n_comps = comp_i.shape[0]
    n_slots = max(plan[4].shape[0], 1)
    bucket = np.empty(n_comps, dtype=np.int64)
    cvalue = np.empty(n_comps, dtype=np.float64)
    cursor = np.empty(n_slots, dtype=np.int64)
    first = np.empty(n_slots, dtype=np.int64)
    last = np.empty(n_slots, dtype=np.int64)
    vals = np.empty(key_ids.shape[0], dtype=np.float64)
    for i in range(values.shape[1]):
        row_components(i, values, ids, comp_f, comp_i, edges, bucket, cvalue, bad)
        for f in range(feat_multi.shape[0]):
            lo, hi = plan[3][f], plan[3][f + 1]
            if feat_multi[f] == 0:
                for s in range(lo, hi):
                    key_ids[pos, s - lo] = bucket[plan[4][s]]
                key_feat[pos] = f
                pos += 1
                continue
            n = multi_entries(f, row0 + i, plan, multi, bucket, cvalue, cursor, first, last,
                               key_ids[pos:], vals[pos:])
            for k in range(n):
                key_feat[pos + k] = f
            pos += n
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
