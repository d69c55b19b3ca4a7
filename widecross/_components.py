"""Numba kernels of what each component of a feature contributes to a row.

A component is one single-column feature inside a feature (a cross has several): a bucketized
number (uniform widths or explicit edges, with its out-of-range policy), precomputed ids (a
categorical), a numeric value (id 0; the value multiplies the entry) or several ids per row
(tokens). Its parameters are one row of ``comp_i`` (integers) and ``comp_f`` (floats), indexed
by the constants below; :mod:`widecross._hashing` turns the ids into columns and rows.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# Columns of the per-component integer parameters (``comp_i``) and float parameters (``comp_f``).
KIND, SRC, NB, WRAP, POLICY, EDGE_LO = range(6)
START, STOP, SCALE = range(3)
# Component kinds: uniform buckets, buckets between edges, precomputed ids (categoricals), a
# numeric value (id 0, the value multiplies the entry), several ids per row (tokens).
UNIFORM, EDGES, IDS, VALUE, MULTI = range(5)
# Out-of-range policies of buckets; a numeric component's missing-value policy.
ERROR, CLIP, BUCKET = 0, 1, 2
MISSING_ERROR, MISSING_ZERO = 0, 1
FLOAT32_MAX = float(np.finfo(np.float32).max)


@jit(inline="always")
def bucket_id(x, c, comp_f, comp_i, edges):
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


@jit(inline="always")
def _value(x, c, comp_f, comp_i):
    """Value of numeric component ``c`` for input ``x``: ``(x - center) * inv_scale``; NaN if rejected."""
    if x != x:
        if comp_i[c, POLICY] == MISSING_ZERO:
            return 0.0
        return x
    v = (x - comp_f[c, START]) * comp_f[c, SCALE]
    if abs(v) > FLOAT32_MAX:  # infinite input, or beyond what the float32 matrix holds
        return np.nan
    return v


@jit(inline="always")
def row_components(i, values, ids, comp_f, comp_i, edges, bucket, cvalue, bad):
    """Id and value of every single-valued component for block row ``i``; rejects go to ``bad``."""
    for c in range(comp_i.shape[0]):
        src = comp_i[c, SRC]
        kind = comp_i[c, KIND]
        if kind == IDS:
            bucket[c] = ids[src, i]
        elif kind == VALUE:
            bucket[c] = 0
            v = _value(values[src, i], c, comp_f, comp_i)
            if v != v:
                if bad[c] < 0:
                    bad[c] = i
                v = 0.0
            cvalue[c] = v
        elif kind == MULTI:
            bucket[c] = -1
        else:
            b = bucket_id(values[src, i], c, comp_f, comp_i, edges)
            if b < 0:
                if bad[c] < 0:
                    bad[c] = i
                b = 0
            bucket[c] = b


@jit(inline="always")
def multi_entries(f, row, plan, multi, bucket, cvalue, cursor, first, last, key_ids, key_vals):
    """Every id tuple of feature ``f`` in input row ``row`` and its value (the product of the
    component values) into ``key_ids[k, :arity]``, ``key_vals[k]``; returns their number: one
    per combination of the tokens of its token components (an odometer, last component fastest)."""
    comp_i = plan[1]
    feat_slots, slot_comp = plan[3], plan[4]
    multi_ptr, multi_ids = multi
    lo, hi = feat_slots[f], feat_slots[f + 1]
    for s in range(lo, hi):
        c = slot_comp[s]
        if comp_i[c, KIND] == MULTI:
            src = comp_i[c, SRC]
            first[s] = multi_ptr[src, row]
            last[s] = multi_ptr[src, row + 1]
            if first[s] == last[s]:
                return 0
            cursor[s] = first[s]
    n = 0
    while True:
        v = 1.0
        for s in range(lo, hi):
            c = slot_comp[s]
            if comp_i[c, KIND] == MULTI:
                key_ids[n, s - lo] = multi_ids[cursor[s]]
            else:
                key_ids[n, s - lo] = bucket[c]
                v *= cvalue[c]
        key_vals[n] = v
        n += 1
        s = hi - 1
        while s >= lo:
            if comp_i[slot_comp[s], KIND] == MULTI:
                cursor[s] += 1
                if cursor[s] < last[s]:
                    break
                cursor[s] = first[s]
            s -= 1
        if s < lo:
            return n


@jit(inline="always")
def count_row(f, row, plan, multi):
    """Entries of feature ``f`` in input row ``row``: the product of its token counts."""
    comp_i, feat_slots, slot_comp = plan[1], plan[3], plan[4]
    multi_ptr = multi[0]
    count = np.int64(1)
    for s in range(feat_slots[f], feat_slots[f + 1]):
        c = slot_comp[s]
        if comp_i[c, KIND] == MULTI:
            src = comp_i[c, SRC]
            count *= multi_ptr[src, row + 1] - multi_ptr[src, row]
    return count


@jit(inline="always")
def row_multi_count(row, plan, multi):
    """Entries of the token features of input row ``row``."""
    need = np.int64(0)
    for f in range(plan[7].shape[0]):
        if plan[7][f]:
            need += count_row(f, row, plan, multi)
    return need


