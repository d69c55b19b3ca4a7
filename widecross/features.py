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
from typing import Any, Iterable, Iterator, Sequence, Union

import numpy as np
import scipy.sparse

from . import _hashing as hk
from ._validation import as_float64, as_numeric, categorical_codes, get_columns

__all__ = ["Bucketize", "Categorical", "Cross", "FeatureSpec", "KeyRecord", "geo_spec"]

FORMAT = "widecross.FeatureSpec"
FORMAT_VERSION = 1
MAX_BITS = 40
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
_OUT_OF_RANGE = ("error", "clip", "bucket")
_UNKNOWN = ("error", "bucket")
# Rows per kernel call: the stacked input block stays in cache and call overhead stays negligible.
_BLOCK_ROWS = 8192


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _check_int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{what} must be in [{low}, {high}], got {value}")
    return value


def _check_policy(value: Any, choices: Sequence[str], what: str) -> str:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")
    return str(value)


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def _float_json(x: float) -> Any:
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _float_from_json(x: Any) -> float:
    if x in ("inf", "-inf"):
        return float(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"expected a number, got {x!r}")
    return float(x)


def _ordered(x: np.ndarray) -> np.ndarray:
    """int64 codes of doubles that sort like the doubles (both zeros map to 0)."""
    bits = np.asarray(x, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, -(bits & np.int64(_INT64_MAX)), bits)


def _from_ordered(code: np.ndarray) -> np.ndarray:
    bits = np.where(code < 0, (-code) | np.int64(-_INT64_MAX - 1), code)
    return bits.astype(np.int64).view(np.float64)


class Bucketize:
    """Bucket a numeric column: uniform widths over ``[start, stop]`` or explicit boundaries.

    Uniform: ``Bucketize(column, start, stop, width)`` (or ``n_buckets=`` instead of ``width``)
    gives ``n_buckets = round((stop - start) / width)`` buckets and bucket id
    ``floor((x - start) * (n_buckets / (stop - start)))``, so 1/60-degree latitude buckets are
    exactly ``floor((lat + 90) * 60)``. ``x == stop`` falls in the last bucket, or with
    ``wrap=True`` (a periodic column: longitude 180 is -180) in bucket 0; -0.0 is 0.0.
    The formula is evaluated in float64 (and any id past the end, from rounding just below
    ``stop``, is the last bucket): that evaluation is the definition, and :meth:`edges` returns
    the exact double range of every bucket under it.

    Boundaries: ``Bucketize(column, boundaries=[b0, b1, ..., bn])`` gives ``n`` buckets
    ``[b_i, b_{i+1})``, the last one closed (``bn`` itself is in it, or in bucket 0 with
    ``wrap``). ``b0`` may be ``-inf`` and ``bn`` ``inf`` for open-ended buckets.

    Values outside the range, NaN and infinities follow ``out_of_range``:

    - ``"error"`` (default): ``ValueError`` naming the column, the count and the first bad row;
    - ``"clip"``: below ``start`` -> bucket 0, above ``stop`` -> last bucket (bucket 0 with
      ``wrap``); NaN is still an error, since it has no side to clip to;
    - ``"bucket"``: all of them (NaN included) go to one extra bucket, id ``n_buckets``.

    ``name`` (default ``"column[start,stop]/n"`` or ``"column{b0,...,bn}"``) identifies the
    feature: its hash seeds the feature's hashed columns, so keep it when a model must stay
    readable.

    >>> lat = Bucketize("lat", -90, 90, 1 / 60)
    >>> lat.n_buckets, lat.bucket([-90.0, 0.0, 90.0]).tolist()
    (10800, [0, 5400, 10799])
    >>> Bucketize("lon", -180, 180, 1, wrap=True).bucket([180.0, -180.0, 179.5]).tolist()
    [0, 0, 359]
    """

    def __init__(
        self,
        column: str,
        start: float | None = None,
        stop: float | None = None,
        width: float | None = None,
        *,
        n_buckets: int | None = None,
        boundaries: Sequence[float] | None = None,
        wrap: bool = False,
        out_of_range: str = "error",
        name: str | None = None,
    ) -> None:
        self.column = _check_name(column, "Bucketize column")
        self.out_of_range = _check_policy(out_of_range, _OUT_OF_RANGE, "out_of_range")
        if not isinstance(wrap, (bool, np.bool_)):
            raise TypeError(f"wrap must be True or False, got {wrap!r}")
        self.wrap = bool(wrap)
        if boundaries is not None:
            if start is not None or stop is not None or width is not None or n_buckets is not None:
                raise ValueError("give either boundaries or start/stop/width (or n_buckets), not both")
            edges = np.asarray(boundaries, dtype=np.float64)
            if edges.ndim != 1 or edges.size < 2:
                raise ValueError(f"boundaries must be a 1-D sequence of at least 2 values, got {boundaries!r}")
            if np.isnan(edges).any() or not (np.diff(edges) > 0).all():
                raise ValueError(f"boundaries must be strictly increasing and not NaN, got {edges.tolist()}")
            if np.isinf(edges[1:-1]).any() or edges[0] == math.inf or edges[-1] == -math.inf:
                raise ValueError("only the first boundary may be -inf and only the last +inf")
            if self.wrap and not np.isfinite(edges[[0, -1]]).all():
                raise ValueError("a periodic (wrap=True) column needs finite first and last boundaries")
            self.boundaries: tuple[float, ...] | None = tuple(float(e) for e in edges)
            self.start, self.stop = self.boundaries[0], self.boundaries[-1]
            self.n_buckets = len(self.boundaries) - 1
        else:
            if start is None or stop is None:
                raise TypeError("Bucketize needs start and stop (and width or n_buckets), or boundaries=")
            self.boundaries = None
            self.start, self.stop = self._finite(start, "start"), self._finite(stop, "stop")
            if not self.start < self.stop:
                raise ValueError(f"start must be below stop, got start={self.start!r}, stop={self.stop!r}")
            if (width is None) == (n_buckets is None):
                raise TypeError("give exactly one of width and n_buckets")
            if n_buckets is not None:
                self.n_buckets = _check_int(n_buckets, "n_buckets", 1, 2**62)
            else:
                width = self._finite(width, "width")
                if width <= 0:
                    raise ValueError(f"width must be positive, got {width!r}")
                ratio = (self.stop - self.start) / width
                n = round(ratio)
                if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
                    raise ValueError(
                        f"width {width!r} does not divide [{self.start!r}, {self.stop!r}] into a whole number "
                        f"of buckets ({ratio:.6g}); pick another width or pass n_buckets="
                    )
                self.n_buckets = _check_int(n, "n_buckets", 1, 2**62)
        if name is None:
            if self.boundaries is None:
                name = f"{self.column}[{self.start!r},{self.stop!r}]/{self.n_buckets}"
            else:
                name = f"{self.column}{{{','.join(repr(e) for e in self.boundaries)}}}"
        self.name = _check_name(name, "feature name")

    @staticmethod
    def _finite(value: Any, what: str) -> float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{what} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{what} must be finite, got {value!r}")
        return value

    # Shared feature interface -------------------------------------------------------------
    @property
    def components(self) -> tuple[Bucketize]:
        """The single-column features this feature crosses: ``(self,)``."""
        return (self,)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    @property
    def arity(self) -> int:
        return 1

    @property
    def size(self) -> int:
        """Number of distinct ids: ``n_buckets``, plus one with ``out_of_range="bucket"``."""
        return self.n_buckets + (self.out_of_range == "bucket")

    @property
    def width(self) -> float | None:
        """Bucket width of a uniform bucketizer (None with explicit boundaries)."""
        return None if self.boundaries is not None else (self.stop - self.start) / self.n_buckets

    def bucket(self, values: Any) -> np.ndarray:
        """Bucket ids (int64) of a 1-D array of values, applying ``out_of_range``.

        >>> Bucketize("x", boundaries=[0, 1, 10]).bucket([0, 0.5, 1, 10]).tolist()
        [0, 0, 1, 1]
        """
        spec = self.__dict__.get("_spec")
        if spec is None:
            spec = self.__dict__["_spec"] = FeatureSpec([self])
        return spec._component_buckets({self.column: values})[0]

    def edges(self, bucket_ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """Value range ``[low, high)`` of each bucket id (float64 arrays; NaN for the extra bucket).

        The ranges are exact for doubles: ``bucket(x) == b`` if and only if
        ``low[b] <= x < high[b]`` (the last bucket also holds ``stop``, unless ``wrap``). The
        bucket formula is evaluated in float64, so a nominal boundary that is not a double, or
        a value whose offset ``x - start`` rounds onto a boundary, moves the edge by an ulp or
        two (the double just below -31 is in the bucket of -31 when ``start = -90``, because
        ``x + 90`` rounds to 59); ``low`` is the first double of the bucket, not the nominal edge.

        >>> Bucketize("x", 0, 10, 1).edges([0, 9])
        (array([0., 9.]), array([ 1., 10.]))
        >>> float(Bucketize("lat", -90, 90, 1 / 60).edges([5400])[0][0])  # -7.1e-15 + 90 rounds to 90
        -7.105427357601002e-15
        """
        ids = np.asarray(bucket_ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            outside = ids[(ids < 0) | (ids >= self.size)]
            raise ValueError(f"bucket ids of {self.name!r} must be in [0, {self.size}), got {outside[:3].tolist()}")
        regular = np.minimum(ids, self.n_buckets - 1)
        if self.boundaries is not None:
            table = np.asarray(self.boundaries)
            low, high = table[regular], table[regular + 1]
        else:
            low = self._first_values(regular)
            high = np.where(regular == self.n_buckets - 1, self.stop,
                            self._first_values(np.minimum(regular + 1, self.n_buckets - 1)))
        extra = ids >= self.n_buckets
        return np.where(extra, np.nan, low), np.where(extra, np.nan, high)

    def _first_values(self, ids: np.ndarray) -> np.ndarray:
        """Smallest double in each uniform bucket, by bisection over the ordered doubles.

        Doubles are dense near zero, so the first double of a bucket can be astronomically many
        ulps from the nominal edge (everything in (-7e-15, 0) rounds onto 90 in ``x + 90``);
        bisecting on their ordered integer codes takes at most 64 steps.
        """
        width = (self.stop - self.start) / self.n_buckets
        nominal = self.start + ids * width
        lo = _ordered(np.maximum(nominal - width / 2, self.start))  # bucket(lo) < ids (ids > 0)
        hi = _ordered(np.minimum(nominal + width / 2, self.stop))  # bucket(hi) >= ids
        active = ids > 0
        while True:
            gap = hi - lo
            step = active & (gap > 1)
            if not step.any():
                break
            mid = lo + gap // 2
            reached = self.bucket(_from_ordered(mid)) >= ids
            hi = np.where(step & reached, mid, hi)
            lo = np.where(step & ~reached, mid, lo)
        return np.where(active, _from_ordered(hi), self.start)

    def describe(self, bucket_id: int, seen: Any = None) -> str:
        """A readable range for one bucket id, e.g. ``"lat [12.5, 12.51666667)"``.

        Shows the nominal edges (``start + b * width``, 10 significant digits); :meth:`edges`
        gives the exact double ranges.
        """
        if bucket_id >= self.n_buckets:
            return f"{self.column} out of range or NaN"
        if self.boundaries is not None:
            low, high = self.boundaries[bucket_id], self.boundaries[bucket_id + 1]
        else:
            span = self.stop - self.start
            low, high = (self.start + b * span / self.n_buckets for b in (bucket_id, bucket_id + 1))
            # Snap rounding noise such as -1.4e-14 for a nominal 0.
            low, high = (0.0 if abs(v) < 1e-12 * span else v for v in (low, high))
        left = "(" if low == -math.inf else "["
        closed = bucket_id == self.n_buckets - 1 and not self.wrap and math.isfinite(high)
        return f"{self.column} {left}{_fmt(low)}, {_fmt(high)}{']' if closed else ')'}"

    def _to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "bucketize",
            "column": self.column,
            "name": self.name,
            "wrap": self.wrap,
            "out_of_range": self.out_of_range,
        }
        if self.boundaries is not None:
            out["boundaries"] = [_float_json(e) for e in self.boundaries]
        else:
            out.update(start=self.start, stop=self.stop, n_buckets=self.n_buckets)
        return out

    @classmethod
    def _from_json(cls, obj: dict[str, Any]) -> Bucketize:
        common = dict(wrap=obj["wrap"], out_of_range=obj["out_of_range"], name=obj["name"])
        if "boundaries" in obj:
            return cls(obj["column"], boundaries=[_float_from_json(e) for e in obj["boundaries"]], **common)
        return cls(obj["column"], _float_from_json(obj["start"]), _float_from_json(obj["stop"]),
                   n_buckets=obj["n_buckets"], **common)

    def _key(self) -> tuple[Any, ...]:
        return ("bucketize", self.column, self.name, self.start, self.stop, self.n_buckets,
                self.boundaries, self.wrap, self.out_of_range)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bucketize) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        if self.boundaries is not None:
            args = f"{self.column!r}, boundaries={list(self.boundaries)!r}"
        else:
            args = f"{self.column!r}, {self.start!r}, {self.stop!r}, n_buckets={self.n_buckets}"
        if self.wrap:
            args += ", wrap=True"
        if self.out_of_range != "error":
            args += f", out_of_range={self.out_of_range!r}"
        return f"Bucketize({args}, name={self.name!r})"


class Categorical:
    """Ids for a column of strings or integers.

    - ``Categorical(column, vocabulary=[...])``: id = position in the vocabulary;
    - ``Categorical(column, n_buckets)``: id = value hash modulo ``n_buckets`` (collisions
      possible, no vocabulary needed);
    - ``Categorical(column)``: id = the full 64-bit value hash; only in hashed specs
      (``bits=int``), since exact indexing needs a bounded number of ids.

    The value hash is ``mix64(fnv1a64(utf8(s)) ^ STR_TAG)`` for strings (bytes are decoded as
    UTF-8) and ``mix64(uint64(v) ^ INT_TAG)`` for integers, independent of the spec's seed, so
    ``"7"`` and ``7`` are different categories. Floating point columns are rejected (cast them).

    Missing values (None, NaN, Arrow nulls) and values outside the vocabulary follow
    ``unknown``: ``"error"`` (``ValueError`` naming the column, count and first row) or
    ``"bucket"`` (one extra id: ``n_buckets`` or ``len(vocabulary)``).

    >>> Categorical("city", vocabulary=["Oslo", "Lima"]).ids(["Lima", "Oslo"]).tolist()
    [1, 0]
    """

    def __init__(
        self,
        column: str,
        n_buckets: int | None = None,
        *,
        vocabulary: Sequence[str | int] | None = None,
        unknown: str = "error",
        name: str | None = None,
    ) -> None:
        self.column = _check_name(column, "Categorical column")
        self.unknown = _check_policy(unknown, _UNKNOWN, "unknown")
        if n_buckets is not None and vocabulary is not None:
            raise ValueError("give n_buckets or vocabulary, not both")
        self.n_buckets = None if n_buckets is None else _check_int(n_buckets, "n_buckets", 1, 2**62)
        self.vocabulary: tuple[str | int, ...] | None = None
        if vocabulary is not None:
            if isinstance(vocabulary, (str, bytes)):
                raise TypeError("vocabulary must be a sequence of values, not a single string")
            values: list[str | int] = []
            for v in vocabulary:
                if isinstance(v, (bytes, np.bytes_)):
                    v = bytes(v).decode("utf-8")
                if isinstance(v, (str, np.str_)):
                    values.append(str(v))
                elif isinstance(v, numbers.Integral):
                    values.append(int(v))
                else:
                    raise TypeError(f"vocabulary values must be strings or integers, got {v!r}")
            if not values:
                raise ValueError("vocabulary must not be empty")
            index = {(type(v), v): i for i, v in enumerate(values)}
            if len(index) != len(values):
                raise ValueError("vocabulary values must be distinct")
            self.vocabulary = tuple(values)
            self._index = {v: i for i, v in enumerate(values) if isinstance(v, str)}
            self._int_index = {v: i for i, v in enumerate(values) if isinstance(v, int)}
        if name is None:
            if self.vocabulary is not None:
                digest = hk.fnv1a64(json.dumps(list(self.vocabulary)).encode("utf-8"))
                name = f"{self.column}{{{len(self.vocabulary)} values #{digest:016x}}}"
            elif self.n_buckets is not None:
                name = f"{self.column}%{self.n_buckets}"
            else:
                name = self.column
        self.name = _check_name(name, "feature name")

    @property
    def components(self) -> tuple[Categorical]:
        return (self,)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    @property
    def arity(self) -> int:
        return 1

    @property
    def size(self) -> int | None:
        """Number of distinct ids, or None for the unbounded 64-bit hash."""
        extra = self.unknown == "bucket"
        if self.vocabulary is not None:
            return len(self.vocabulary) + extra
        if self.n_buckets is not None:
            return self.n_buckets + extra
        return None

    def _missing_id(self) -> int:
        if self.vocabulary is not None:
            return len(self.vocabulary)
        if self.n_buckets is not None:
            return self.n_buckets
        return int(np.uint64(hk.mix(int(hk.MISSING_TAG))).view(np.int64))

    def value_ids(self, uniques: Sequence[str | int]) -> np.ndarray:
        """Ids of distinct values (int64; -1 for values outside the vocabulary)."""
        if self.vocabulary is not None:
            return np.array(
                [(self._index if isinstance(u, str) else self._int_index).get(u, -1) for u in uniques],
                dtype=np.int64,
            )
        keys = value_keys(uniques)
        if self.n_buckets is not None:
            return (keys % np.uint64(self.n_buckets)).astype(np.int64)
        return keys.view(np.int64)

    def ids(self, values: Any) -> np.ndarray:
        """Ids (int64) of a 1-D column of values, applying ``unknown``."""
        return self._ids(values, 0, None)[0]

    def _ids(self, values: Any, row0: int, chunk: int | None) -> tuple[np.ndarray, list[Any], np.ndarray]:
        uniques, codes = categorical_codes(values, self.column)
        unique_ids = self.value_ids(uniques)
        if unique_ids.size:
            ids = np.where(codes >= 0, unique_ids[np.maximum(codes, 0)], -1)
        else:
            ids = np.full(codes.shape, -1, dtype=np.int64)
        bad = codes < 0 if self.vocabulary is None else ids < 0
        if bad.any():
            if self.unknown == "bucket":
                ids[bad] = self._missing_id()
            else:
                rows = np.flatnonzero(bad)
                first = int(rows[0])
                value = None if codes[first] < 0 else uniques[codes[first]]
                what = "missing" if self.vocabulary is None else "missing or out-of-vocabulary"
                raise ValueError(
                    f"column {self.column!r}: {rows.size} {what} value{'s' if rows.size > 1 else ''}"
                    f"{_chunk_words(chunk)}; first at row {_row_words(row0, first, chunk)} ({value!r}); "
                    "pass unknown='bucket' to give them their own id"
                )
        return ids, uniques, unique_ids

    def describe(self, bucket_id: int, seen: Any = None) -> str:
        """A readable description of one id (with the values seen, when known)."""
        if self.vocabulary is not None:
            if bucket_id >= len(self.vocabulary):
                return f"{self.column} missing or unknown"
            return f"{self.column} = {self.vocabulary[bucket_id]!r}"
        if bucket_id == self._missing_id() and self.unknown == "bucket":
            text = f"{self.column} missing"
        elif self.n_buckets is not None:
            text = f"{self.column} bucket {bucket_id} of {self.n_buckets}"
        else:
            text = f"{self.column} hash {bucket_id % (1 << 64):#018x}"
        if seen:
            shown = sorted(seen, key=repr)
            text += f" (seen: {', '.join(repr(v) for v in shown[:5])}{', ...' if len(shown) > 5 else ''})"
        return text

    def _to_json(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "column": self.column,
            "name": self.name,
            "n_buckets": self.n_buckets,
            "vocabulary": None if self.vocabulary is None else list(self.vocabulary),
            "unknown": self.unknown,
        }

    @classmethod
    def _from_json(cls, obj: dict[str, Any]) -> Categorical:
        return cls(obj["column"], obj["n_buckets"], vocabulary=obj["vocabulary"], unknown=obj["unknown"],
                   name=obj["name"])

    def _key(self) -> tuple[Any, ...]:
        vocab = None if self.vocabulary is None else tuple((type(v).__name__, v) for v in self.vocabulary)
        return ("categorical", self.column, self.name, self.n_buckets, vocab, self.unknown)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Categorical) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        args = repr(self.column)
        if self.n_buckets is not None:
            args += f", n_buckets={self.n_buckets}"
        if self.vocabulary is not None:
            args += f", vocabulary={list(self.vocabulary)!r}"
        if self.unknown != "error":
            args += f", unknown={self.unknown!r}"
        return f"Categorical({args}, name={self.name!r})"


def value_keys(values: Sequence[str | int]) -> np.ndarray:
    """64-bit category keys (uint64) of strings and integers; see :class:`Categorical`."""
    keys = np.empty(len(values), dtype=np.uint64)
    is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if is_str.any():
        encoded = [v.encode("utf-8") for v, s in zip(values, is_str) if s]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        buffer = np.frombuffer(b"".join(encoded), dtype=np.uint8) if offsets[-1] else np.zeros(1, np.uint8)
        out = np.empty(len(encoded), dtype=np.uint64)
        hk.string_keys(buffer, offsets, out)
        keys[is_str] = out
    if not is_str.all():
        ints = np.array([int(v) % (1 << 64) for v, s in zip(values, is_str) if not s], dtype=np.uint64)
        out = np.empty(ints.size, dtype=np.uint64)
        hk.int_keys(ints, out)
        keys[~is_str] = out
    return keys


Component = Union[Bucketize, Categorical]


class Cross:
    """The cross of two or more Bucketize/Categorical features: one id per combination.

    Nested crosses are flattened. The exact id of ids ``(b1, ..., bk)`` is row-major,
    ``(...(b1 * size2 + b2) * size3 + ...) + bk``; the default name joins the components'
    names with ``" x "``.

    >>> c = Cross(Bucketize("lat", -90, 90, 1), Bucketize("lon", -180, 180, 1, wrap=True))
    >>> c.arity, c.size
    (2, 64800)
    """

    def __init__(self, *features: Bucketize | Categorical | Cross, name: str | None = None) -> None:
        components: list[Component] = []
        for feature in features:
            if isinstance(feature, Cross):
                components.extend(feature.components)
            elif isinstance(feature, (Bucketize, Categorical)):
                components.append(feature)
            else:
                raise TypeError(f"Cross takes Bucketize, Categorical or Cross features, got {type(feature).__name__}")
        if len(components) < 2:
            raise ValueError(f"a Cross needs at least 2 features, got {len(components)}")
        self._components = tuple(components)
        self.name = _check_name(name if name is not None else " x ".join(c.name for c in components), "feature name")

    @property
    def components(self) -> tuple[Component, ...]:
        return self._components

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.column for c in self._components))

    @property
    def arity(self) -> int:
        return len(self._components)

    @property
    def size(self) -> int | None:
        """Number of cells (product of the component sizes), or None if one is unbounded."""
        total = 1
        for c in self._components:
            if c.size is None:
                return None
            total *= c.size
        return total

    def _to_json(self) -> dict[str, Any]:
        return {"type": "cross", "name": self.name, "features": [c._to_json() for c in self._components]}

    @classmethod
    def _from_json(cls, obj: dict[str, Any]) -> Cross:
        return cls(*(_feature_from_json(f) for f in obj["features"]), name=obj["name"])

    def _key(self) -> tuple[Any, ...]:
        return ("cross", self.name, tuple(c._key() for c in self._components))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cross) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Cross({', '.join(repr(c) for c in self._components)}, name={self.name!r})"


Feature = Union[Bucketize, Categorical, Cross]


def _feature_from_json(obj: Any) -> Feature:
    if not isinstance(obj, dict) or obj.get("type") not in ("bucketize", "categorical", "cross"):
        raise ValueError(f"not a feature description: {obj!r}")
    kind = obj["type"]
    if kind == "bucketize":
        return Bucketize._from_json(obj)
    if kind == "categorical":
        return Categorical._from_json(obj)
    return Cross._from_json(obj)


def _chunk_words(chunk: int | None) -> str:
    return "" if chunk is None else f" in chunk {chunk}"


def _row_words(row0: int, row: int, chunk: int | None) -> str:
    return f"{row0 + row}" if chunk is None else f"{row0 + row} (row {row} of chunk {chunk})"


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
            sizes = [int(f.size) for f in features]  # type: ignore[arg-type]
            self._offsets = np.concatenate([[0], np.cumsum(sizes, dtype=object)]).astype(object)
            total = int(self._offsets[-1])
            if total > _INT64_MAX:
                raise ValueError(f"exact indexing needs {total} columns, more than int64 indices hold; hash with bits=")
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
                comp_i[i, hk.KIND] = hk.UNIFORM if c.boundaries is None else hk.EDGES
                comp_i[i, hk.SRC] = self._numeric.index(c.column)
                comp_i[i, hk.NB] = c.n_buckets
                comp_i[i, hk.WRAP] = c.wrap
                comp_i[i, hk.POLICY] = _OUT_OF_RANGE.index(c.out_of_range)
                comp_f[i, hk.START], comp_f[i, hk.STOP] = c.start, c.stop
                if c.boundaries is None:
                    comp_f[i, hk.SCALE] = c.n_buckets / (c.stop - c.start)
                else:
                    comp_i[i, hk.EDGE_LO] = len(edges)
                    edges.extend(c.boundaries)
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
            self._feat_base = np.array([int(o) for o in self._offsets[:-1]], dtype=np.uint64)
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
        return None if self._offsets is None else tuple(int(o) for o in self._offsets)

    @property
    def exact(self) -> bool:
        return self.bits is None

    # Transform ----------------------------------------------------------------------------------
    def transform(self, data: Any, *, record: KeyRecord | None = None) -> scipy.sparse.csr_matrix:
        """Columns -> canonical CSR of shape ``(n_rows, n_features)``, float32 values.

        ``data``: a mapping column -> 1-D array (dict, pandas DataFrame, pyarrow Table/RecordBatch,
        NumPy structured array) holding at least :attr:`columns`. ``record``: a :class:`KeyRecord`
        of this spec to which the keys of these rows are added (for inverting hashed columns).

        Raises ``KeyError`` (missing column, listing the available ones), ``TypeError``
        (non-numeric column for a Bucketize), ``ValueError`` (columns of different lengths;
        out-of-range, NaN or infinite values under ``out_of_range="error"``, naming the column,
        the count and the first bad row).
        """
        columns, n_rows = get_columns(data, self.columns)
        return self._transform(columns, n_rows, 0, None, record)

    def transform_chunks(self, chunks: Iterable[Any], *, record: KeyRecord | None = None) -> Iterator[scipy.sparse.csr_matrix]:
        """Transform an iterable of tables one at a time (memory bounded by one chunk).

        Error messages give the row number counted over all chunks so far and within the chunk.

        >>> spec = geo_spec(bits=20)
        >>> [X.shape[0] for X in spec.transform_chunks([{"lat": [0.0], "lon": [0.0]}] * 2)]
        [1, 1]
        """
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
                   record: KeyRecord | None) -> scipy.sparse.csr_matrix:
        numeric, cat_ids, cat_values = self._inputs(columns, row0, chunk)
        k = len(self.features)
        nnz_max = n_rows * k
        index_dtype = np.int32 if self.n_features <= _INT32_MAX and nnz_max <= _INT32_MAX else np.int64
        indices = np.empty(nnz_max, dtype=index_dtype)
        data = np.empty(nnz_max, dtype=np.float32)
        indptr = np.empty(n_rows + 1, dtype=index_dtype)
        indptr[0] = 0
        bad = np.full(len(self._components), -1, dtype=np.int64)
        pos = 0
        for s in range(0, n_rows, _BLOCK_ROWS):
            e = min(n_rows, s + _BLOCK_ROWS)
            values, ids = self._stack(numeric, cat_ids, s, e)
            pos = hk.fill_block(values, ids, self._comp_f, self._comp_i, self._edges, self._feat_slots,
                                self._slot_comp, self._slot_radix, self._feat_base, self._shift,
                                indices, data, indptr, s, pos, bad)
            if (bad >= 0).any():
                raise self._range_error(bad, numeric, s, row0, chunk)
        if record is not None:
            record._add(numeric, cat_ids, cat_values, n_rows, row0, chunk)
        if pos < nnz_max:  # hashed rows whose features shared a column: drop the unused tail
            indices, data = indices[:pos], data[:pos]
        X = scipy.sparse.csr_matrix((data, indices, indptr), shape=(n_rows, self.n_features), copy=False)
        if X.indices.dtype != index_dtype:  # SciPy shrinks index dtypes of empty matrices
            X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
        X.has_canonical_format = True
        return X

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
        if comp.out_of_range == "clip":
            rows = np.flatnonzero(np.isnan(x))
            what = "NaN value"
            hint = "clipping cannot place NaN; use out_of_range='bucket' to give them their own bucket"
        else:
            rows = np.flatnonzero(~((x >= comp.start) & (x <= comp.stop)))
            what = f"value outside [{_fmt(comp.start)}, {_fmt(comp.stop)}] (or NaN/inf)"
            hint = "pass out_of_range='clip' or 'bucket' to accept them"
        first = int(rows[0]) if rows.size else block_start + int(bad[c])
        count = max(int(rows.size), 1)
        plural = "s" if count > 1 else ""
        what = what.replace("value", f"value{plural}", 1)
        return ValueError(
            f"column {comp.column!r}: {count} {what}{_chunk_words(chunk)} for feature {comp.name!r}; "
            f"first at row {_row_words(row0, first, chunk)} ({float(x[first])!r}); {hint}"
        )

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
        offsets = np.array([int(o) for o in self._offsets], dtype=np.int64)
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
        """Stable JSON (sorted keys, format version); ``FeatureSpec.from_json`` restores an equal spec."""
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


class KeyRecord:
    """The distinct keys (feature, bucket ids) seen in data and the column each maps to.

    Built by :meth:`FeatureSpec.record`; grows with :meth:`update` or
    ``spec.transform(chunk, record=keys)``. Memory grows with the distinct keys, not the rows.
    For categorical components it also keeps the raw values seen per id, for readable output.

    Properties ``columns`` (sorted int64), ``feature`` (int64) and ``buckets``
    (int64, ``(n_keys, max_arity)``, -1 padded) are parallel arrays.
    """

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        # Per feature: sorted distinct keys, packed into one int64 (mixed radix) when the
        # feature's ids are bounded, else (m, arity) rows of bucket ids.
        self._keys: list[np.ndarray] = [
            np.empty(0, dtype=np.int64) if spec._packable[f] else np.empty((0, f_arity), dtype=np.int64)
            for f, f_arity in enumerate(f.arity for f in spec.features)
        ]
        self._values: dict[int, dict[int, set[Any]]] = {}
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(sum(k.shape[0] for k in self._keys))

    @property
    def columns(self) -> np.ndarray:
        return self._materialize()[0]

    @property
    def feature(self) -> np.ndarray:
        return self._materialize()[1]

    @property
    def buckets(self) -> np.ndarray:
        return self._materialize()[2]

    def update(self, data: Any) -> KeyRecord:
        """Add the keys of ``data`` (a table with the spec's columns); returns ``self``."""
        columns, n_rows = get_columns(data, self.spec.columns)
        numeric, cat_ids, cat_values = self.spec._inputs(columns, 0, None)
        self._add(numeric, cat_ids, cat_values, n_rows, 0, None)
        return self

    def _add(self, numeric: list[np.ndarray], cat_ids: list[np.ndarray], cat_values: list[tuple[list[Any], np.ndarray]],
             n_rows: int, row0: int, chunk: int | None) -> None:
        spec = self.spec
        buckets = spec._buckets_from(numeric, cat_ids, n_rows, row0, chunk)
        for f in range(len(spec.features)):
            lo, hi = spec._feat_slots[f], spec._feat_slots[f + 1]
            ids = buckets[spec._slot_comp[lo:hi]]
            if spec._packable[f]:
                code = np.zeros(n_rows, dtype=np.int64)
                for j, radix in enumerate(spec._slot_radix[lo:hi]):
                    code = code * radix + ids[j]
                self._keys[f] = np.union1d(self._keys[f], code)
            else:
                self._keys[f] = np.unique(np.concatenate([self._keys[f], ids.T]), axis=0)
        self._table = None
        for c, (uniques, unique_ids) in zip(spec._categorical, cat_values):
            seen = self._values.setdefault(spec._components.index(c), {})
            for value, i in zip(uniques, unique_ids.tolist()):
                if c.vocabulary is None or i >= 0:  # -1: outside the vocabulary
                    seen.setdefault(i, set()).add(value)

    def _materialize(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._table is None:
            spec = self.spec
            cols, feats, blocks = [], [], []
            for f, keys in enumerate(self._keys):
                lo, hi = spec._feat_slots[f], spec._feat_slots[f + 1]
                if spec._packable[f]:
                    tuples = np.empty((keys.size, hi - lo), dtype=np.int64)
                    rest = keys
                    for j in range(hi - lo - 1, -1, -1):
                        radix = spec._slot_radix[lo + j]
                        tuples[:, j] = rest % radix
                        rest = rest // radix
                else:
                    tuples = keys
                block = np.full((tuples.shape[0], spec._max_arity), -1, dtype=np.int64)
                block[:, : hi - lo] = tuples
                cols.append(spec._feature_columns(f, tuples))
                feats.append(np.full(tuples.shape[0], f, dtype=np.int64))
                blocks.append(block)
            columns, feature, buckets = np.concatenate(cols), np.concatenate(feats), np.concatenate(blocks)
            order = np.lexsort((feature, columns))
            self._table = (columns[order], feature[order], buckets[order])
        return self._table

    def _seen(self, component: Component, bucket_id: int) -> set[Any] | None:
        if not isinstance(component, Categorical):
            return None
        return self._values.get(self.spec._components.index(component), {}).get(bucket_id)

    def decode(self, columns: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(position, feature_idx, bucket_ids)`` of every recorded key in the given columns.

        ``position[i]`` indexes ``columns``; a column with several keys (a hash collision)
        appears several times, a column with none not at all.
        """
        table_columns, table_feature, table_buckets = self._materialize()
        query = np.atleast_1d(np.asarray(columns)).astype(np.int64, copy=False)
        lo = np.searchsorted(table_columns, query, side="left")
        hi = np.searchsorted(table_columns, query, side="right")
        counts = hi - lo
        position = np.repeat(np.arange(query.size), counts)
        starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        index = np.arange(position.size) + starts
        return position, table_feature[index], table_buckets[index]


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
