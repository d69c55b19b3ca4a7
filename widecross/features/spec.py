"""FeatureSpec: an ordered set of features and how their ids become columns (exactly or hashed)."""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import scipy.sparse

from .. import _hashing as hk
from .._parallel import check_jobs
from .._validation import get_columns
from . import _fit, _serialize
from ._base import check_int
from ._plan import Plan
from ._sklearn import TransformerMixin
from .cross import FEATURE_TYPES, Feature, expand_interactions
from .keyrecord import KeyRecord
from .numeric import Numeric

MAX_BITS = 40
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


class FeatureSpec(TransformerMixin):
    """An ordered set of features and how they are indexed: exactly (``bits=None``) or hashed.

    ``features``: a sequence of features, or a mapping of group name -> features;
    ``interactions``: tuples of group names (a feature's name is a group of one) whose crosses
    are added after the features, one per combination of their members (VW's ``-q``).

    ``bits=None``: feature ``f`` owns columns ``[offsets[f], offsets[f] + size_f)``; every
    column is invertible by arithmetic (:meth:`decode`, :meth:`inverse`). Categoricals need a
    vocabulary, ``n_buckets``, or a vocabulary learned by :meth:`fit`. Indices are int32 when
    ``n_features <= 2**31 - 1``.

    ``bits=b`` (1..40): every feature is hashed into one space of ``2**b`` columns from a
    fixed 64-bit mixer of (feature id, bucket ids, seed); the feature id is the FNV-1a hash of the
    feature's ``name``, never its position, so adding a feature does not move the others.
    Hashed columns are invertible only through keys recorded from data (:meth:`record`).

    Every row gets one entry per feature (per token combination with :class:`Tokens`), of value
    1 or the product of its :class:`Numeric` values; in a hashed spec two entries of one row
    landing in the same column give one entry with the sum.

    The spec is a scikit-learn transformer: :meth:`fit` learns vocabularies and scales,
    :meth:`transform` makes the CSR; it goes in a ``Pipeline`` or ``ColumnTransformer``.

    >>> spec = FeatureSpec([Bucketize("x", 0, 10, 1), Categorical("c", 8)], bits=None)
    >>> X = spec.transform({"x": [0.5, 9.5], "c": ["a", "b"]})
    >>> X.shape, X.indices.dtype, X.indices.tolist()
    ((2, 18), dtype('int32'), [0, 12, 9, 15])
    >>> feature, buckets = spec.decode(X.indices)
    >>> feature.tolist(), buckets[:, 0].tolist()
    ([0, 1, 0, 1], [0, 2, 9, 5])
    """

    def __init__(self, features: Sequence[Feature] | Mapping[str, Sequence[Feature]], bits: int | None = None,
                 seed: int = 0, *, interactions: Iterable[Sequence[str]] | None = None) -> None:
        self._params = {"features": features, "bits": bits, "seed": seed, "interactions": interactions}
        if isinstance(features, FEATURE_TYPES):
            raise TypeError("features must be a sequence of features; wrap a single feature in a list")
        groups = _groups(features)
        base = tuple(f for members in groups.values() for f in members) if isinstance(features, Mapping) else tuple(features)
        if not base:
            raise ValueError("a FeatureSpec needs at least one feature")
        for f in base:
            if not isinstance(f, FEATURE_TYPES):
                raise TypeError(f"features must be Bucketize, Categorical or Cross (or Numeric, Tokens), got {type(f).__name__}")
        for f in base:
            groups.setdefault(f.name, (f,))
        self.groups: dict[str, tuple[Feature, ...]] = groups
        crosses = expand_interactions(groups, interactions or ())
        self.interactions = tuple(tuple(pair) for pair in interactions or ())
        self._definition = base + tuple(crosses)
        names = [f.name for f in self._definition]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"feature names must be unique (they seed the hash); repeated: {duplicates}")
        if bits is not None:
            bits = check_int(bits, "bits", 1, MAX_BITS)
        self.bits: int | None = bits
        self.seed: int = check_int(seed, "seed", 0, 2**64 - 1)
        if bits is None:
            unbounded = [f.name for f in self._definition if f.size is None and not _will_be_bounded(f)]
            if unbounded:
                raise ValueError(
                    f"exact indexing (bits=None) needs a bounded number of ids; give these Categoricals "
                    f"n_buckets= or vocabulary= (or min_count= to learn the vocabulary in fit), or hash the "
                    f"spec with bits=: {unbounded}"
                )
        self._set_features(self._definition)

    def _set_features(self, features: tuple[Feature, ...]) -> None:
        """Install (fitted or definition) features; the plan exists once nothing is left to learn."""
        self.features: tuple[Feature, ...] = features
        self.columns: tuple[str, ...] = tuple(dict.fromkeys(c for f in features for c in f.columns))
        self._plan: Plan | None = None
        self._offsets: tuple[int, ...] | None = None
        self._n_features: int | None = None if self.bits is None else 1 << self.bits
        if self._unfitted():
            return
        if self.bits is None:
            offsets = [0]
            for f in features:
                offsets.append(offsets[-1] + int(f.size))  # Python ints: no overflow
            if offsets[-1] > _INT64_MAX:
                raise ValueError(f"exact indexing needs {offsets[-1]} columns, more than int64 indices hold; hash with bits=")
            self._offsets, self._n_features = tuple(offsets), offsets[-1]
        self._plan = Plan(features, self._offsets, self.bits, self.seed)
        self._packable = [f.size is not None and f.size <= _INT64_MAX for f in features]

    def _unfitted(self) -> list[str]:
        """Names of the components that cannot featurize before :meth:`fit`."""
        out = []
        for f in self.features:
            for c in f.components:
                needs_vocabulary = self.bits is None and c.size is None  # hashed specs hash unlearned values
                if (needs_vocabulary or isinstance(c, Numeric) and not c.fitted) and c.name not in out:
                    out.append(c.name)
        return out

    def _fitted_plan(self) -> Plan:
        if self._plan is None:
            raise ValueError(
                f"this FeatureSpec learns from data before it can featurize ({', '.join(map(repr, self._unfitted()))}): "
                "call spec.fit(data) first (or put it in a Pipeline)"
            )
        return self._plan

    # Public properties ------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        """Width of the output: ``2**bits`` (hashed) or the sum of the feature sizes (exact)."""
        if self._n_features is None:
            self._fitted_plan()
        return self._n_features  # type: ignore[return-value]

    @property
    def index_dtype(self) -> type:
        """Index dtype of :meth:`transform` output: int32 if ``n_features <= 2**31 - 1`` (and nnz fits)."""
        return np.int32 if self.n_features <= _INT32_MAX else np.int64

    @property
    def offsets(self) -> tuple[int, ...] | None:
        """Exact specs: first column of each feature, plus ``n_features`` at the end; None if hashed."""
        return self._offsets

    @property
    def learns(self) -> bool:
        """True when :meth:`fit` learns something (a vocabulary or a scale) for this spec."""
        return any(c.learnable for f in self._definition for c in f.components)

    @property
    def exact(self) -> bool:
        """True for exact indexing (``bits=None``): every column is invertible by :meth:`decode`."""
        return self.bits is None

    # Transform ----------------------------------------------------------------------------------
    def transform(self, data: Any, *, record: KeyRecord | None = None, n_jobs: int = 1) -> scipy.sparse.csr_matrix:
        """Columns -> canonical CSR of shape ``(n_rows, n_features)``, float32 values.

        ``data``: a mapping column -> 1-D array (dict, pandas or polars DataFrame, pyarrow
        Table/RecordBatch, NumPy structured array) holding at least :attr:`columns`. ``record``:
        a :class:`KeyRecord` of this spec to which the keys of these rows are added. ``n_jobs``:
        threads over fixed blocks of rows (-1: all cores); the same matrix for any number.

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

    def _transform(self, columns: dict[str, Any], n_rows: int, row0: int, chunk: int | None,
                   record: KeyRecord | None, n_jobs: int = 1) -> scipy.sparse.csr_matrix:
        plan = self._fitted_plan()
        inputs = plan.inputs(columns, n_rows, row0, chunk, keep=record is not None)
        X = plan.fill(inputs, self.n_features, row0, chunk, n_jobs)
        if record is not None:
            record._add(inputs, row0, chunk)
        return X

    # Learning ---------------------------------------------------------------------------------
    def fit(self, data: Any, y: Any = None) -> FeatureSpec:
        """Learn what the features learn from data; returns ``self``.

        Categoricals and Tokens without a vocabulary or ``n_buckets`` learn their vocabulary
        (values seen ``min_count`` times, the ``max_size`` most frequent; the rest share one
        out-of-vocabulary id), ``Numeric(scale="standard")`` its mean and standard deviation.
        Hashed categoricals whose observed values collide (share a bucket or a column) raise a
        ``UserWarning`` naming them. ``y`` is ignored. Refitting starts from the definition.

        >>> spec = FeatureSpec([Categorical("kind")], bits=20).fit({"kind": ["flat", "villa", "flat"]})
        >>> spec.features[0].vocabulary
        ('flat', 'villa')
        """
        return self.fit_chunks([data])

    def fit_chunks(self, chunks: Iterable[Any]) -> FeatureSpec:
        """:meth:`fit` over an iterable of tables (memory bounded by one chunk); returns ``self``."""
        self._set_features(_fit.fit_features(self, chunks))
        return self

    # Inverse map ----------------------------------------------------------------------------------
    def _feature_columns(self, f: int, keys: np.ndarray) -> np.ndarray:
        """Columns of bucket-id tuples ``keys`` (m, arity) of feature ``f``."""
        plan = self._fitted_plan()
        lo, hi = plan.feat_slots[f], plan.feat_slots[f + 1]
        if self.bits is None:
            local = np.zeros(keys.shape[0], dtype=np.int64)
            for j, radix in enumerate(plan.slot_radix[lo:hi]):
                local = local * radix + keys[:, j]
            return local + np.int64(plan.feat_base[f])
        out = np.empty(keys.shape[0], dtype=np.int64)
        hk.hash_keys(np.ascontiguousarray(keys, dtype=np.int64), plan.feat_base[f], 64 - self.bits, out)
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
        plan = self._fitted_plan()
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
        buckets = np.full((cols.size, plan.max_arity), -1, dtype=np.int64)
        for f in range(len(self.features)):
            rows = np.flatnonzero(feature == f)
            if not rows.size:
                continue
            rest = local[rows]
            lo, hi = plan.feat_slots[f], plan.feat_slots[f + 1]
            for j in range(hi - lo - 1, -1, -1):
                radix = plan.slot_radix[lo + j]
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
        return _serialize.spec_to_json(self)

    @classmethod
    def from_json(cls, text: str | bytes) -> FeatureSpec:
        """Rebuild a spec from :meth:`to_json` output (or a hand-written spec, see the JSON schema
        in ``docs/spec.md``); ``ValueError`` naming the first wrong field on anything else."""
        return _serialize.spec_from_json(text, cls)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, FeatureSpec) and self.bits == other.bits and self.seed == other.seed
                and self.features == other.features)

    def __hash__(self) -> int:
        return hash((self.bits, self.seed, self.features))

    def __repr__(self) -> str:
        lines = ",\n".join(f"    {f!r}" for f in self.features)
        width = f"{self._n_features:,}" if self._n_features is not None else "learned in fit"
        return f"FeatureSpec(bits={self.bits}, seed={self.seed}, n_features={width}, features=[\n{lines},\n])"


def _groups(features: Any) -> dict[str, tuple[Feature, ...]]:
    if not isinstance(features, Mapping):
        return {}
    out = {}
    for name, members in features.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"group names must be non-empty strings, got {name!r}")
        out[name] = (members,) if isinstance(members, FEATURE_TYPES) else tuple(members)
    return out


def _will_be_bounded(feature: Feature) -> bool:
    """True when fit bounds the ids: each unbounded component says it learns a vocabulary."""
    return all(c.size is not None or getattr(c, "min_count", None) is not None or getattr(c, "max_size", None) is not None
               for c in feature.components)
