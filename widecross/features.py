"""Features: bucketized numeric columns, hashed categoricals and their crosses, as SciPy CSR.

A :class:`FeatureSpec` turns columns (a dict of arrays, a pandas DataFrame, a pyarrow Table)
into a canonical ``scipy.sparse.csr_matrix`` with one entry of value 1 per feature per row.

- :class:`Bucketize` maps a numeric column to buckets: uniform ``[start, stop]`` in equal widths
  (``wrap=True`` for a periodic column such as longitude) or explicit ``boundaries``.
- :class:`Categorical` maps strings or integers to ids: a vocabulary, a hash modulo
  ``n_buckets``, or (hashed specs only) the full 64-bit hash of the value.
- :class:`Cross` crosses two or more of those: one id per combination of their ids.
- ``FeatureSpec(features, bits=None)`` indexes exactly: feature ``f`` owns the column range
  ``[offsets[f], offsets[f] + size_f)`` and a cross's ids are laid out row-major (first component
  most significant), so every column is invertible by arithmetic (:meth:`FeatureSpec.decode`).
  ``FeatureSpec(features, bits=b)`` hashes every feature into one space of ``2**b`` columns;
  the columns are then invertible only through the keys seen in data
  (:meth:`FeatureSpec.record`, :class:`KeyRecord`).

>>> import numpy as np
>>> spec = geo_spec(bits=None)
>>> X = spec.transform({"lat": np.array([48.8566]), "lon": np.array([2.3522])})
>>> X.shape, X.nnz
((1, 235710000), 5)
>>> spec.inverse(int(X.indices[2]))
["lat x lon 1': lat [48.85, 48.86666667) x lon [2.35, 2.366666667)"]
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import scipy.sparse

from . import _hashing as hk
from ._feature_defs import (
    Bucketize,
    Categorical,
    Component,
    Cross,
    Feature,
    _check_int,
    _feature_from_json,
    value_keys,  # noqa: F401  (re-exported: the categorical value hash)
)
from ._keyrecord import KeyRecord
from ._parallel import BLOCK_ROWS, check_jobs, row_blocks, run_blocks
from ._validation import as_float64, as_numeric, get_columns

__all__ = ["Bucketize", "Categorical", "Cross", "FeatureSpec", "KeyRecord", "geo_spec"]

FORMAT = "widecross.FeatureSpec"
FORMAT_VERSION = 1
MAX_BITS = 40
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
# Rows per kernel call: the stacked input block stays in cache and call overhead stays negligible.
_BLOCK_ROWS = 8192


class FeatureSpec:
    """An ordered set of features and how they are indexed: exactly (``bits=None``) or hashed.

    ``bits=None``: feature ``f`` owns columns ``[offsets[f], offsets[f] + size_f)``; every
    column is invertible by arithmetic (:meth:`decode`, :meth:`inverse`). Categoricals need a
    vocabulary or ``n_buckets``. Indices are int32 when ``n_features <= 2**31 - 1``.

    ``bits=b`` (1..40): every feature is hashed into one space of ``2**b`` columns from a
    fixed 64-bit mixer of (feature id, bucket ids, seed); the feature id is the FNV-1a hash of the
    feature's ``name``, never its position, so adding a feature does not move the others.
    Hashed columns are invertible only through keys recorded from data (:meth:`record`).

    Every row gets one entry of value 1 per feature; in a hashed spec two features of one row
    landing in the same column give one entry of value 2.

    >>> spec = FeatureSpec([Bucketize("x", 0, 10, 1), Categorical("c", 8)], bits=None)
    >>> X = spec.transform({"x": [0.5, 9.5], "c": ["a", "b"]})
    >>> X.shape, X.indices.dtype, X.indices.tolist()
    ((2, 18), dtype('int32'), [0, 12, 9, 15])
    >>> feature, buckets = spec.decode(X.indices)
    >>> feature.tolist(), buckets[:, 0].tolist()
    ([0, 1, 0, 1], [0, 2, 9, 5])
    """

    def __init__(self, features: Sequence[Feature], bits: int | None = None, seed: int = 0) -> None:
        if isinstance(features, (Bucketize, Categorical, Cross)):
            raise TypeError("features must be a sequence of features; wrap a single feature in a list")
        features = tuple(features)
        if not features:
            raise ValueError("a FeatureSpec needs at least one feature")
        for f in features:
            if not isinstance(f, (Bucketize, Categorical, Cross)):
                raise TypeError(f"features must be Bucketize, Categorical or Cross, got {type(f).__name__}")
        names = [f.name for f in features]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"feature names must be unique (they seed the hash); repeated: {duplicates}")
        if bits is not None:
            bits = _check_int(bits, "bits", 1, MAX_BITS)
        self.bits: int | None = bits
        self.seed: int = _check_int(seed, "seed", 0, 2**64 - 1)
        self.features: tuple[Feature, ...] = features
        self.columns: tuple[str, ...] = tuple(dict.fromkeys(c for f in features for c in f.columns))
        if bits is None:
            unbounded = [f.name for f in features if f.size is None]
            if unbounded:
                raise ValueError(
                    f"exact indexing (bits=None) needs a bounded number of ids; give these Categoricals "
                    f"n_buckets= or vocabulary=, or hash the spec with bits=: {unbounded}"
                )
            offsets = [0]
            for f in features:
                offsets.append(offsets[-1] + int(f.size))  # type: ignore[arg-type]  (Python ints: no overflow)
            total = offsets[-1]
            if total > _INT64_MAX:
                raise ValueError(f"exact indexing needs {total} columns, more than int64 indices hold; hash with bits=")
            self._offsets: tuple[int, ...] | None = tuple(offsets)
            self.n_features: int = total
        else:
            self._offsets = None
            self.n_features = 1 << bits
        self._build_plan()

    # Plan: the arrays the kernels read --------------------------------------------------------
    def _build_plan(self) -> None:
        components: list[Component] = []
        for f in self.features:
            for c in f.components:
                if c not in components:  # shared components (e.g. lat 1') are bucketed once per row
                    components.append(c)
        self._components = components
        self._numeric = list(dict.fromkeys(c.column for c in components if isinstance(c, Bucketize)))
        self._categorical = [c for c in components if isinstance(c, Categorical)]
        n = len(components)
        comp_f = np.zeros((n, 3), dtype=np.float64)
        comp_i = np.zeros((n, 6), dtype=np.int64)
        edges: list[float] = []
        for i, c in enumerate(components):
            if isinstance(c, Bucketize):
                comp_f[i], comp_i[i] = c._plan(self._numeric.index(c.column), len(edges))
                edges.extend(c.boundaries or ())
            else:
                comp_i[i, hk.KIND] = hk.IDS
                comp_i[i, hk.SRC] = self._categorical.index(c)
        self._comp_f, self._comp_i = comp_f, comp_i
        self._edges = np.array(edges if edges else [0.0], dtype=np.float64)
        slots = [0]
        slot_comp: list[int] = []
        slot_radix: list[int] = []
        for f in self.features:
            for c in f.components:
                slot_comp.append(components.index(c))
                slot_radix.append(c.size if c.size is not None else 0)
            slots.append(len(slot_comp))
        self._feat_slots = np.array(slots, dtype=np.int64)
        self._slot_comp = np.array(slot_comp, dtype=np.int64)
        self._slot_radix = np.array(slot_radix, dtype=np.int64)
        if self.bits is None:
            self._feat_base = np.array(self._offsets[:-1], dtype=np.uint64)
            self._shift = 0
        else:
            self._feat_base = np.array([hk.feature_base(f.name, self.seed) for f in self.features], dtype=np.uint64)
            self._shift = 64 - self.bits
        self._max_arity = max(len(f.components) for f in self.features)
        # Features whose id tuples pack into one int64 (bounded ids): KeyRecord stores codes.
        self._packable = [f.size is not None and f.size <= _INT64_MAX for f in self.features]

    # Public properties ------------------------------------------------------------------------
    @property
    def index_dtype(self) -> type:
        """Index dtype of :meth:`transform` output: int32 if ``n_features <= 2**31 - 1`` (and nnz fits)."""
        return np.int32 if self.n_features <= _INT32_MAX else np.int64

    @property
    def offsets(self) -> tuple[int, ...] | None:
        """Exact specs: first column of each feature, plus ``n_features`` at the end; None if hashed."""
        return self._offsets

    @property
    def exact(self) -> bool:
        """True for exact indexing (``bits=None``): every column is invertible by :meth:`decode`."""
        return self.bits is None

    # Transform ----------------------------------------------------------------------------------
    def transform(self, data: Any, *, record: KeyRecord | None = None, n_jobs: int = 1) -> scipy.sparse.csr_matrix:
        """Columns -> canonical CSR of shape ``(n_rows, n_features)``, float32 values.

        ``data``: a mapping column -> 1-D array (dict, pandas DataFrame, pyarrow Table/RecordBatch,
        NumPy structured array) holding at least :attr:`columns`. ``record``: a :class:`KeyRecord`
        of this spec to which the keys of these rows are added (for inverting hashed columns).
        ``n_jobs``: threads over blocks of rows (-1: all cores); the same matrix for any number.

        Raises ``KeyError`` (missing column, listing the available ones), ``TypeError``
        (non-numeric column for a Bucketize), ``ValueError`` (columns of different lengths;
        out-of-range, NaN or infinite values under ``out_of_range="error"``, naming the column,
        the count and the first bad row).

        >>> X = geo_spec(bits=24).transform({"lat": [51.5, -33.9], "lon": [-0.1, 151.2]})
        >>> X.shape, X.nnz, X.indices.dtype, X.data.dtype
        ((2, 16777216), 10, dtype('int32'), dtype('float32'))
        """
        columns, n_rows = get_columns(data, self.columns)
        self._check_record(record)
        return self._transform(columns, n_rows, 0, None, record, check_jobs(n_jobs, "transform"))

    def _check_record(self, record: KeyRecord | None) -> None:
        if record is not None and (not isinstance(record, KeyRecord) or record.spec != self):
            raise ValueError("record must be a KeyRecord of this spec: KeyRecord(spec) or spec.record(data)")

    def transform_chunks(self, chunks: Iterable[Any], *, record: KeyRecord | None = None) -> Iterator[scipy.sparse.csr_matrix]:
        """Transform an iterable of tables one at a time (memory bounded by one chunk).

        Error messages give the row number counted over all chunks so far and within the chunk.

        >>> spec = geo_spec(bits=20)
        >>> [X.shape[0] for X in spec.transform_chunks([{"lat": [0.0], "lon": [0.0]}] * 2)]
        [1, 1]
        """
        self._check_record(record)
        row0 = 0
        for index, chunk in enumerate(chunks):
            columns, n_rows = get_columns(chunk, self.columns)
            yield self._transform(columns, n_rows, row0, index, record)
            row0 += n_rows

    def _inputs(self, columns: dict[str, Any], row0: int, chunk: int | None) -> tuple[list[np.ndarray], list[np.ndarray], list[tuple[list[Any], np.ndarray]]]:
        numeric = [as_numeric(columns[name], name) for name in self._numeric]
        cat_ids: list[np.ndarray] = []
        cat_values: list[tuple[list[Any], np.ndarray]] = []
        for c in self._categorical:
            ids, uniques, unique_ids = c._ids(columns[c.column], row0, chunk)
            cat_ids.append(ids)
            cat_values.append((uniques, unique_ids))
        return numeric, cat_ids, cat_values

    def _transform(self, columns: dict[str, Any], n_rows: int, row0: int, chunk: int | None,
                   record: KeyRecord | None, n_jobs: int = 1) -> scipy.sparse.csr_matrix:
        numeric, cat_ids, cat_values = self._inputs(columns, row0, chunk)
        k = len(self.features)
        nnz_max = n_rows * k
        index_dtype = np.int32 if self.n_features <= _INT32_MAX and nnz_max <= _INT32_MAX else np.int64
        indices = np.empty(nnz_max, dtype=index_dtype)
        data = np.empty(nnz_max, dtype=np.float32)
        indptr = np.empty(n_rows + 1, dtype=index_dtype)
        indptr[0] = 0
        if n_jobs > 1 and n_rows > BLOCK_ROWS:
            pos = self._fill_blocks(numeric, cat_ids, n_rows, k, indices, data, indptr, row0, chunk, n_jobs)
        else:
            pos, failed = self._fill(numeric, cat_ids, 0, n_rows, 0, indices, data, indptr)
            if failed is not None:
                raise self._range_error(failed[0], numeric, failed[1], row0, chunk)
        if record is not None:
            record._add(numeric, cat_ids, cat_values, n_rows, row0, chunk)
        if pos < nnz_max:  # hashed rows whose features shared a column: drop the unused tail
            indices, data = indices[:pos], data[:pos]
        X = scipy.sparse.csr_matrix((data, indices, indptr), shape=(n_rows, self.n_features), copy=False)
        if X.indices.dtype != index_dtype:  # SciPy shrinks index dtypes of empty matrices
            X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
        X.has_canonical_format = True
        return X

    def _fill(self, numeric: list[np.ndarray], cat_ids: list[np.ndarray], start: int, stop: int, pos: int,
              indices: np.ndarray, data: np.ndarray, indptr: np.ndarray) -> tuple[int, tuple[np.ndarray, int] | None]:
        """CSR rows ``start..stop-1`` from entry ``pos`` on; returns the entries' end and, on a
        rejected value, (the kernel's report, the start of its block) after that block."""
        bad = np.full(len(self._components), -1, dtype=np.int64)
        for s in range(start, stop, _BLOCK_ROWS):
            e = min(stop, s + _BLOCK_ROWS)
            values, ids = self._stack(numeric, cat_ids, s, e)
            pos = hk.fill_block(values, ids, self._comp_f, self._comp_i, self._edges, self._feat_slots,
                                self._slot_comp, self._slot_radix, self._feat_base, self._shift,
                                indices, data, indptr, s, pos, bad)
            if (bad >= 0).any():
                return pos, (bad, s)
        return pos, None

    def _fill_blocks(self, numeric: list[np.ndarray], cat_ids: list[np.ndarray], n_rows: int, k: int,
                     indices: np.ndarray, data: np.ndarray, indptr: np.ndarray, row0: int, chunk: int | None,
                     n_jobs: int) -> int:
        """``_fill`` over fixed row blocks on threads, each writing from its rows' first possible
        entry (``k`` per row); then the blocks are closed up in order (hashed rows may merge
        entries): the same arrays as one ``_fill``, and the first error in row order."""
        done = run_blocks(lambda s, e: self._fill(numeric, cat_ids, s, e, s * k, indices, data, indptr),
                          n_rows, n_jobs)
        for _, failed in done:
            if failed is not None:
                raise self._range_error(failed[0], numeric, failed[1], row0, chunk)
        pos = 0
        for (start, stop), (end, _) in zip(row_blocks(n_rows), done):
            first = start * k
            if first != pos:  # move the block's entries down to close the gap
                indices[pos : pos + end - first] = indices[first:end]
                data[pos : pos + end - first] = data[first:end]
                indptr[start + 1 : stop + 1] -= first - pos
            pos += end - first
        return pos

    def _stack(self, numeric: list[np.ndarray], cat_ids: list[np.ndarray], s: int, e: int) -> tuple[np.ndarray, np.ndarray]:
        values = np.empty((len(numeric), e - s), dtype=np.float64)
        for j, column in enumerate(numeric):
            values[j] = column[s:e]
        ids = np.empty((len(cat_ids), e - s), dtype=np.int64)
        for j, column in enumerate(cat_ids):
            ids[j] = column[s:e]
        return values, ids

    def _range_error(self, bad: np.ndarray, numeric: list[np.ndarray], block_start: int, row0: int,
                     chunk: int | None) -> ValueError:
        c = int(np.flatnonzero(bad >= 0)[0])
        comp = self._components[c]
        assert isinstance(comp, Bucketize)
        x = as_float64(numeric[self._numeric.index(comp.column)], comp.column)
        return comp._range_error(x, block_start + int(bad[c]), row0, chunk)

    def _component_buckets(self, data: Any, row0: int = 0, chunk: int | None = None) -> np.ndarray:
        """Bucket ids (n_components, n_rows) of every component (allocates that array)."""
        columns, n_rows = get_columns(data, self.columns)
        numeric, cat_ids, _ = self._inputs(columns, row0, chunk)
        return self._buckets_from(numeric, cat_ids, n_rows, row0, chunk)

    def _buckets_from(self, numeric: list[np.ndarray], cat_ids: list[np.ndarray], n_rows: int, row0: int,
                      chunk: int | None) -> np.ndarray:
        out = np.empty((len(self._components), n_rows), dtype=np.int64)
        bad = np.full(len(self._components), -1, dtype=np.int64)
        for s in range(0, n_rows, _BLOCK_ROWS):
            e = min(n_rows, s + _BLOCK_ROWS)
            values, ids = self._stack(numeric, cat_ids, s, e)
            block = np.empty((len(self._components), e - s), dtype=np.int64)
            hk.bucket_block(values, ids, self._comp_f, self._comp_i, self._edges, block, bad)
            if (bad >= 0).any():
                raise self._range_error(bad, numeric, s, row0, chunk)
            out[:, s:e] = block
        return out

    # Inverse map ----------------------------------------------------------------------------------
    def _feature_columns(self, f: int, keys: np.ndarray) -> np.ndarray:
        """Columns of bucket-id tuples ``keys`` (m, arity) of feature ``f``."""
        lo, hi = self._feat_slots[f], self._feat_slots[f + 1]
        if self.bits is None:
            local = np.zeros(keys.shape[0], dtype=np.int64)
            for j, radix in enumerate(self._slot_radix[lo:hi]):
                local = local * radix + keys[:, j]
            return local + np.int64(self._feat_base[f])
        out = np.empty(keys.shape[0], dtype=np.int64)
        hk.hash_keys(np.ascontiguousarray(keys, dtype=np.int64), self._feat_base[f], self._shift, out)
        return out

    def decode(self, columns: Any) -> tuple[np.ndarray, np.ndarray]:
        """Exact specs: ``(feature_idx[n], bucket_ids[n, max_arity])`` of column indices.

        ``bucket_ids[i, j]`` is the id of component ``j`` of feature ``feature_idx[i]``
        (see :meth:`Bucketize.edges` for its value range), padded with -1 beyond the feature's
        arity. Vectorized: a million columns take well under a second. Hashed specs raise
        ``ValueError``: use ``spec.record(data).decode(columns)``.

        >>> spec = geo_spec(resolutions=(60,), bits=None)
        >>> spec.decode([0, 64799, 64800])
        (array([0, 0, 1]), array([[  0,   0],
               [179, 359],
               [  0,  -1]]))
        """
        if self.bits is not None:
            raise ValueError(
                f"this spec hashes into 2**{self.bits} columns: a column is not invertible by arithmetic; "
                "record the keys seen in data with keys = spec.record(data) and use keys.decode(columns)"
            )
        cols = np.atleast_1d(np.asarray(columns))
        if cols.ndim != 1 or (cols.size and cols.dtype.kind not in "iu"):
            raise TypeError(f"columns must be a 1-D array of integers, got dtype {cols.dtype} shape {cols.shape}")
        cols = cols.astype(np.int64, copy=False)
        outside = (cols < 0) | (cols >= self.n_features)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise ValueError(f"column index {int(cols[i])} (position {i}) is outside [0, {self.n_features})")
        offsets = np.array(self._offsets, dtype=np.int64)
        feature = np.searchsorted(offsets, cols, side="right") - 1
        local = cols - offsets[feature]
        buckets = np.full((cols.size, self._max_arity), -1, dtype=np.int64)
        for f in range(len(self.features)):
            rows = np.flatnonzero(feature == f)
            if not rows.size:
                continue
            rest = local[rows]
            lo, hi = self._feat_slots[f], self._feat_slots[f + 1]
            for j in range(hi - lo - 1, -1, -1):
                radix = self._slot_radix[lo + j]
                buckets[rows, j] = rest % radix
                rest = rest // radix
        return feature, buckets

    def record(self, data: Any) -> KeyRecord:
        """Collect the distinct keys (feature, bucket ids) of ``data`` and their columns.

        This is how hashed columns are inverted (it works for exact specs too). Add more data
        with ``keys.update(more)`` or ``spec.transform(chunk, record=keys)``.

        >>> spec = geo_spec(bits=20)
        >>> keys = spec.record({"lat": [48.8566], "lon": [2.3522]})
        >>> X = spec.transform({"lat": [48.8566], "lon": [2.3522]})
        >>> len(keys), spec.inverse(int(X.indices[0]), keys)
        (5, ["lat x lon 1': lat [48.85, 48.86666667) x lon [2.35, 2.366666667)"])
        """
        return KeyRecord(self).update(data)

    def describe_key(self, feature_idx: int, bucket_ids: Sequence[int], keys: KeyRecord | None = None) -> str:
        """A readable description of one key, e.g. ``"lat x lon 1': lat [12.5, 12.51666667) x lon [...)"``."""
        feature = self.features[feature_idx]
        parts = []
        for c, b in zip(feature.components, bucket_ids):
            seen = keys._seen(c, int(b)) if keys is not None else None
            parts.append(c.describe(int(b), seen))
        return f"{feature.name}: {' x '.join(parts)}"

    def inverse(self, column: int, keys: KeyRecord | None = None) -> list[str]:
        """Readable description(s) of what one column stands for.

        Exact specs: one description. Hashed specs need ``keys`` (from :meth:`record`) and give
        one description per key seen that lands in the column (empty if none was seen).

        >>> geo_spec(bits=None).inverse(64800 + 2160 * 540 + 1080)
        ["lat x lon 10': lat [0, 0.1666666667) x lon [0, 0.1666666667)"]
        """
        if isinstance(column, (bool, np.bool_)) or not isinstance(column, numbers.Integral):
            raise TypeError(f"column must be an integer, got {column!r}")
        column = int(column)
        if not 0 <= column < self.n_features:
            raise ValueError(f"column index {column} is outside [0, {self.n_features})")
        if self.bits is None:
            feature, buckets = self.decode([column])
            f = int(feature[0])
            return [self.describe_key(f, buckets[0][: len(self.features[f].components)], keys)]
        if keys is None:
            raise ValueError(
                "hashed columns can only be inverted through keys seen in data: "
                "keys = spec.record(data); spec.inverse(column, keys)"
            )
        _, feature, buckets = keys.decode([column])
        return [
            self.describe_key(int(f), b[: len(self.features[int(f)].components)], keys)
            for f, b in zip(feature, buckets)
        ]

    # Serialization --------------------------------------------------------------------------------
    def to_json(self) -> str:
        """Stable JSON (sorted keys, format version); ``FeatureSpec.from_json`` restores an equal spec.

        >>> spec = geo_spec(bits=24, seed=7)
        >>> FeatureSpec.from_json(spec.to_json()) == spec
        True
        """
        obj = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "bits": self.bits,
            "seed": self.seed,
            "features": [f._to_json() for f in self.features],
        }
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> FeatureSpec:
        """Rebuild a spec from :meth:`to_json` output; ``ValueError`` on anything else."""
        try:
            obj = json.loads(text)
        except (TypeError, ValueError) as error:
            raise ValueError(f"feature spec is not valid JSON: {error}") from error
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise ValueError(f"not a widecross feature spec (format field {obj.get('format') if isinstance(obj, dict) else None!r})")
        if obj.get("version") != FORMAT_VERSION:
            raise ValueError(f"feature spec format version {obj.get('version')!r} is not supported (this is {FORMAT_VERSION})")
        try:
            return cls([_feature_from_json(f) for f in obj["features"]], bits=obj["bits"], seed=obj["seed"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"malformed feature spec: {error!r}") from error

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, FeatureSpec) and self.bits == other.bits and self.seed == other.seed
                and self.features == other.features)

    def __hash__(self) -> int:
        return hash((self.bits, self.seed, self.features))

    def __repr__(self) -> str:
        lines = ",\n".join(f"    {f!r}" for f in self.features)
        return (f"FeatureSpec(bits={self.bits}, seed={self.seed}, n_features={self.n_features:,}, features=[\n"
                f"{lines},\n])")


def geo_spec(
    lat: str = "lat",
    lon: str = "lon",
    resolutions: Sequence[float] = (60, 10, 1),
    bits: int | None = None,
    seed: int = 0,
    *,
    out_of_range: str = "error",
) -> FeatureSpec:
    """Multi-resolution latitude x longitude crosses plus the marginal buckets.

    For each resolution ``r`` (arc-minutes, in the given order) a feature
    ``Cross(lat bucket, lon bucket)`` named ``"{lat} x {lon} {r}'"``, then the marginal
    latitude and longitude buckets **at the finest resolution only** (``"{lat} {r}'"``,
    ``"{lon} {r}'"``). Latitude covers [-90, 90] (90 in the last bucket), longitude
    [-180, 180] with ``wrap=True`` (180 is -180). ``r`` must divide 180 degrees.

    With ``bits=None`` everything is indexed exactly: for (60, 10, 1), 64,800 + 2,332,800 +
    233,280,000 + 10,800 + 21,600 = 235,710,000 columns, int32 indices; nothing of that width
    is ever allocated.

    >>> geo_spec().n_features
    235710000
    """
    if isinstance(resolutions, (int, float)):
        resolutions = (resolutions,)
    resolutions = tuple(resolutions)
    if not resolutions:
        raise ValueError("resolutions must name at least one resolution in arc-minutes")
    features: list[Feature] = []
    buckets: dict[float, tuple[Bucketize, Bucketize]] = {}
    for r in resolutions:
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real) or not math.isfinite(r) or r <= 0:
            raise ValueError(f"resolutions must be positive numbers of arc-minutes, got {r!r}")
        ratio = 180 * 60 / r
        n = round(ratio)
        if n < 1 or abs(ratio - n) > 1e-9 * ratio:
            raise ValueError(f"resolution {r!r}' does not divide 180 degrees into whole buckets ({ratio:.6g})")
        tag = f"{r:g}'"
        b_lat = Bucketize(lat, -90.0, 90.0, n_buckets=n, out_of_range=out_of_range, name=f"{lat} {tag}")
        b_lon = Bucketize(lon, -180.0, 180.0, n_buckets=2 * n, wrap=True, out_of_range=out_of_range,
                          name=f"{lon} {tag}")
        buckets[r] = (b_lat, b_lon)
        features.append(Cross(b_lat, b_lon, name=f"{lat} x {lon} {tag}"))
    finest = min(resolutions)
    features.extend(buckets[finest])
    return FeatureSpec(features, bits=bits, seed=seed)
