"""Slow, obviously-correct references for widecross.features, in plain Python and NumPy.

Written from the documented definitions (bucket formula, hash chain, exact layout), one value
at a time with Python integers and floats, sharing no code with the Numba kernels. Only the
features' public attributes (start, stop, n_buckets, boundaries, wrap, policies, names) are read.
"""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Any, Sequence

import numpy as np
import scipy.sparse

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
INT_TAG = 0x9E3779B97F4A7C15
STR_TAG = 0xC2B2AE3D27D4EB4F
MISSING_TAG = 0x165667B19E3779F9


class Rejected(Exception):
    """A value the feature's policy refuses (the real code raises ValueError)."""


def mix64(z: int) -> int:
    """splitmix64 finalizer on Python ints."""
    z &= MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & MASK
    return h


def value_key(value: Any) -> int:
    """Unsigned 64-bit key of a categorical value."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        return mix64(fnv1a64(value.encode("utf-8")) ^ STR_TAG)
    return mix64((int(value) & MASK) ^ INT_TAG)


def signed(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


def bucketize_id(feature: Any, x: float) -> int:
    """Bucket id of one value, straight from the formula and the policy."""
    x = float(x)
    start, stop, n = feature.start, feature.stop, feature.n_buckets
    if math.isnan(x) or x < start or x > stop:
        if feature.out_of_range == "bucket":
            return n
        if feature.out_of_range == "clip" and not math.isnan(x):
            return 0 if (feature.wrap or x < start) else n - 1
        raise Rejected(x)
    if feature.boundaries is None:
        b = math.floor((x - start) * (n / (stop - start)))
    else:
        b = bisect.bisect_right(list(feature.boundaries), x) - 1
    b = min(b, n - 1)
    if feature.wrap and x == stop:
        b = 0
    return b


def _plain(value: Any) -> Any:
    """NumPy scalars as the Python values they hold."""
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, (np.integer, np.bool_)):
        return int(value)
    return value


def categorical_id(feature: Any, value: Any) -> int:
    value = _plain(value)
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if feature.vocabulary is not None:
        vocab = list(feature.vocabulary)
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        matches = [i for i, v in enumerate(vocab) if not missing and type(v) is type(value) and v == value]
        if matches:
            return matches[0]
        if feature.unknown == "bucket":
            return len(vocab)
        raise Rejected(value)
    if missing:
        if feature.unknown != "bucket":
            raise Rejected(value)
        return feature.n_buckets if feature.n_buckets is not None else signed(mix64(MISSING_TAG))
    key = value_key(value)
    return key % feature.n_buckets if feature.n_buckets is not None else signed(key)


def component_id(component: Any, value: Any) -> int:
    if type(component).__name__ == "Bucketize":
        return bucketize_id(component, value)
    return categorical_id(component, value)


def numeric_value(feature: Any, x: Any) -> float:
    """The value of a Numeric: ``(x - center) / scale``; NaN/None -> 0 under missing="zero"."""
    missing = x is None or (isinstance(x, float) and math.isnan(x))
    if missing:
        if feature.missing == "zero":
            return 0.0
        raise Rejected(x)
    x = float(x)
    if math.isinf(x):
        raise Rejected(x)
    return (x - feature.center) / feature.scale


def tokens_of(feature: Any, value: Any) -> list[Any]:
    """The tokens of one row: a list as it is (missing items dropped), or text split on ``sep``."""
    if value is None:
        return []
    if feature.sep is not None:
        return [t for t in str(value).split(feature.sep) if t != ""]
    return [_plain(t) for t in value if t is not None]


def token_ids(feature: Any, value: Any) -> list[int]:
    ids = []
    for token in tokens_of(feature, value):
        if feature.vocabulary is not None and not any(type(v) is type(token) and v == token for v in feature.vocabulary):
            if feature.unknown == "ignore":
                continue
            if feature.unknown == "error":
                raise Rejected(token)
        ids.append(categorical_id(feature, token))
    return ids


def component_entries(component: Any, value: Any) -> list[tuple[int, float]]:
    """The (id, value) entries one component contributes to a row."""
    kind = type(component).__name__
    if kind == "Numeric":
        return [(0, numeric_value(component, value))]
    if kind == "Tokens":
        return [(i, 1.0) for i in token_ids(component, value)]
    return [(component_id(component, value), 1.0)]


def component_size(component: Any) -> int:
    kind = type(component).__name__
    if kind == "Bucketize":
        return component.n_buckets + (component.out_of_range == "bucket")
    if kind == "Numeric":
        return 1
    base = len(component.vocabulary) if component.vocabulary is not None else component.n_buckets
    return base + (component.unknown == "bucket")


def components(feature: Any) -> list[Any]:
    return list(feature.components) if type(feature).__name__ == "Cross" else [feature]


def feature_size(feature: Any) -> int:
    return math.prod(component_size(c) for c in components(feature))


def hashed_column(name: str, ids: Sequence[int], bits: int, seed: int) -> int:
    h = mix64(fnv1a64(name.encode("utf-8")) ^ mix64(seed + GOLDEN))
    for b in ids:
        h = mix64(h ^ (int(b) & MASK))
    return h >> (64 - bits)


def exact_column(features: Sequence[Any], f: int, ids: Sequence[int]) -> int:
    offset = sum(feature_size(g) for g in features[:f])
    local = 0
    for c, b in zip(components(features[f]), ids):
        local = local * component_size(c) + b
    return offset + local


def row_columns(features: Sequence[Any], bits: int | None, seed: int, row: dict[str, Any]) -> dict[int, float]:
    """Column -> value of one row: per feature, every combination of its components' entries
    (one each, several for tokens), valued by the product of their values; zero values are
    left out, equal columns (hashed collisions, repeated tokens) summed, zero sums dropped."""
    out: dict[int, float] = {}
    for f, feature in enumerate(features):
        per_component = [component_entries(c, row[c.column]) for c in components(feature)]
        for combo in itertools.product(*per_component):
            ids = [i for i, _ in combo]
            value = math.prod(v for _, v in combo)
            if value == 0:
                continue
            col = exact_column(features, f, ids) if bits is None else hashed_column(feature.name, ids, bits, seed)
            out[col] = out.get(col, 0.0) + value
    return {c: v for c, v in out.items() if v != 0}


def transform(features: Sequence[Any], bits: int | None, seed: int, data: dict[str, Sequence[Any]]) -> scipy.sparse.csr_matrix:
    """Reference transform (dense-free, row by row) as a canonical CSR."""
    names = list(data)
    n = len(data[names[0]]) if names else 0
    width = sum(feature_size(f) for f in features) if bits is None else 1 << bits
    rows, cols, vals = [], [], []
    for i in range(n):
        row = {name: data[name][i] for name in names}
        for col, value in sorted(row_columns(features, bits, seed, row).items()):
            rows.append(i)
            cols.append(col)
            vals.append(value)
    return scipy.sparse.csr_matrix((np.array(vals, dtype=np.float32), (rows, cols)), shape=(n, width), dtype=np.float32)


def expected_distinct(u: int, m: int) -> float:
    """Expected number of occupied columns when u distinct keys hash uniformly into m columns."""
    return m * (1.0 - math.exp(-u / m))
