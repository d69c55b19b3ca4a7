"""Feature definitions: Bucketize (numeric buckets), Categorical (value ids) and Cross.

Each definition knows its input column(s), how many ids it has (``size``), its canonical
``name`` (whose hash seeds its hashed columns), how to describe an id for people, and its JSON
form. Turning whole tables into CSR is :class:`widecross.features.FeatureSpec`'s job.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Sequence, Union

import numpy as np

from . import _hashing as hk
from ._validation import as_float64, categorical_codes

_INT64_MAX = 2**63 - 1
_OUT_OF_RANGE = ("error", "clip", "bucket")
_UNKNOWN = ("error", "bucket")


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


class _SingleColumn:
    """The feature interface shared by the one-column features (Bucketize, Categorical)."""

    column: str

    @property
    def components(self) -> tuple[Any, ...]:
        """The single-column features this feature crosses: ``(self,)``."""
        return (self,)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    @property
    def arity(self) -> int:
        return 1


class Bucketize(_SingleColumn):
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
        x = as_float64(values, self.column)
        comp_f, comp_i = self._plan(0, 0)
        edges = np.array(self.boundaries if self.boundaries is not None else [0.0], dtype=np.float64)
        out = np.empty((1, x.shape[0]), dtype=np.int64)
        bad = np.full(1, -1, dtype=np.int64)
        hk.bucket_block(x.reshape(1, -1), np.empty((0, x.shape[0]), dtype=np.int64), comp_f[None], comp_i[None],
                        edges, out, bad)
        if bad[0] >= 0:
            raise self._range_error(x, int(bad[0]), 0, None)
        return out[0]

    def _plan(self, source: int, edge_lo: int) -> tuple[np.ndarray, np.ndarray]:
        """This component's row of the kernels' plan (float and integer parameters, see ``hk``):
        its values in numeric input ``source``, its boundaries (if any) at ``edge_lo``."""
        comp_f = np.zeros(3, dtype=np.float64)
        comp_i = np.zeros(6, dtype=np.int64)
        comp_i[hk.KIND] = hk.UNIFORM if self.boundaries is None else hk.EDGES
        comp_i[hk.SRC] = source
        comp_i[hk.NB] = self.n_buckets
        comp_i[hk.WRAP] = self.wrap
        comp_i[hk.POLICY] = _OUT_OF_RANGE.index(self.out_of_range)
        comp_f[hk.START], comp_f[hk.STOP] = self.start, self.stop
        if self.boundaries is None:
            comp_f[hk.SCALE] = self.n_buckets / (self.stop - self.start)
        else:
            comp_i[hk.EDGE_LO] = edge_lo
        return comp_f, comp_i

    def _range_error(self, x: np.ndarray, first_bad: int, row0: int, chunk: int | None) -> ValueError:
        """The error for values ``x`` that the policy rejects (``first_bad``: one such row)."""
        if self.out_of_range == "clip":
            rows = np.flatnonzero(np.isnan(x))
            what = "NaN value"
            hint = "clipping cannot place NaN; use out_of_range='bucket' to give them their own bucket"
        else:
            rows = np.flatnonzero(~((x >= self.start) & (x <= self.stop)))
            what = f"value outside [{_fmt(self.start)}, {_fmt(self.stop)}] (or NaN/inf)"
            hint = "pass out_of_range='clip' or 'bucket' to accept them"
        first = int(rows[0]) if rows.size else first_bad
        count = max(int(rows.size), 1)
        what = what.replace("value", "values" if count > 1 else "value", 1)
        return ValueError(
            f"column {self.column!r}: {count} {what}{_chunk_words(chunk)} for feature {self.name!r}; "
            f"first at row {_row_words(row0, first, chunk)} ({float(x[first])!r}); {hint}"
        )

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
        """Smallest double in each uniform bucket ``ids`` (> 0 for all but bucket 0 = ``start``).

        The nominal edge ``start + b * width`` usually is it; where the rule disagrees, bisect
        on the ordered integer codes of doubles (at most 64 steps). Doubles are dense near
        zero, so the first double of a bucket can be astronomically many ulps from the nominal
        edge (everything in (-7e-15, 0) rounds onto 90 in ``x + 90``): stepping by ulps won't do.
        """
        unique, inverse = np.unique(ids, return_inverse=True)
        width = (self.stop - self.start) / self.n_buckets
        nominal = np.clip(self.start + unique * width, self.start, self.stop)
        below = np.maximum(np.nextafter(nominal, -np.inf), self.start)
        exact = (unique == 0) | ((self.bucket(nominal) == unique) & (self.bucket(below) == unique - 1))
        first = np.where(unique == 0, self.start, nominal)
        todo = np.flatnonzero(~exact)
        if todo.size:
            b = unique[todo]
            lo = _ordered(np.maximum(nominal[todo] - width / 2, self.start))  # bucket(lo) < b
            hi = _ordered(np.minimum(nominal[todo] + width / 2, self.stop))  # bucket(hi) >= b
            while True:
                step = hi - lo > 1
                if not step.any():
                    break
                mid = lo + (hi - lo) // 2
                reached = self.bucket(_from_ordered(mid)) >= b
                hi = np.where(step & reached, mid, hi)
                lo = np.where(step & ~reached, mid, lo)
            first[todo] = _from_ordered(hi)
        return first[inverse]

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


class Categorical(_SingleColumn):
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
