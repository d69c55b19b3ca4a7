"""Bucketize: a numeric column cut into uniform buckets or between explicit boundaries."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import _components as kc
from .. import _hashing as hk
from .._validation import as_float64
from ._base import (
    SingleColumn,
    check_finite,
    check_int,
    check_name,
    check_policy,
    chunk_words,
    float_from_json,
    float_json,
    fmt,
    row_words,
)

_INT64_MAX = 2**63 - 1
OUT_OF_RANGE = ("error", "clip", "bucket")
# Uniform bucket ids are floor() of a float64: past 2**53 not every integer is a double.
MAX_UNIFORM_BUCKETS = 2**53


def _ordered(x: np.ndarray) -> np.ndarray:
    """int64 codes of doubles that sort like the doubles (both zeros map to 0)."""
    bits = np.asarray(x, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, -(bits & np.int64(_INT64_MAX)), bits)


def _from_ordered(code: np.ndarray) -> np.ndarray:
    bits = np.where(code < 0, (-code) | np.int64(-_INT64_MAX - 1), code)
    return bits.astype(np.int64).view(np.float64)


class Bucketize(SingleColumn):
    """Bucket a numeric column: uniform widths over ``[start, stop]`` or explicit boundaries.

    Uniform: ``Bucketize(column, start, stop, width)`` (or ``n_buckets=`` instead of ``width``)
    gives ``n_buckets = round((stop - start) / width)`` buckets and bucket id
    ``floor((x - start) * (n_buckets / (stop - start)))``, so 1/60-degree latitude buckets are
    exactly ``floor((lat + 90) * 60)``. ``x == stop`` falls in the last bucket, or with
    ``wrap=True`` (a periodic column: longitude 180 is -180) in bucket 0; -0.0 is 0.0.
    The formula is evaluated in float64 (and any id past the end, from rounding just below
    ``stop``, is the last bucket): that evaluation is the definition, and :meth:`edges` returns
    the exact double range of every bucket under it. So ``stop - start`` and
    ``n_buckets / (stop - start)`` must be finite doubles and ``n_buckets`` at most 2**53
    (``ValueError`` otherwise).

    Boundaries: ``Bucketize(column, boundaries=[b0, b1, ..., bn])`` gives ``n`` buckets
    ``[b_i, b_{i+1})``, the last one closed (``bn`` itself is in it, or in bucket 0 with
    ``wrap``). ``b0`` may be ``-inf`` and ``bn`` ``inf`` for open-ended buckets.

    Values outside the range, NaN and infinities follow ``out_of_range``:

    - ``"error"`` (default): ``ValueError`` naming the column, the count and the first bad row;
    - ``"clip"``: below ``start`` -> bucket 0, above ``stop`` -> last bucket; with ``wrap`` both
      sides -> bucket 0, the seam, since ``start`` and ``stop`` are one point. Clipping suits
      values a little past the range: convert values of another convention first (longitude in
      [0, 360): ``(lon + 180) % 360 - 180``), or everything past 180 lands in bucket 0. NaN is
      still an error, since it has no side to clip to;
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
        self.column = check_name(column, "Bucketize column")
        self.out_of_range = check_policy(out_of_range, OUT_OF_RANGE, "out_of_range")
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
            self.start, self.stop = check_finite(start, "start"), check_finite(stop, "stop")
            if not self.start < self.stop:
                raise ValueError(f"start must be below stop, got start={self.start!r}, stop={self.stop!r}")
            if (width is None) == (n_buckets is None):
                raise TypeError("give exactly one of width and n_buckets")
            if n_buckets is not None:
                self.n_buckets = check_int(n_buckets, "n_buckets", 1, 2**62)
            else:
                width = check_finite(width, "width")
                if width <= 0:
                    raise ValueError(f"width must be positive, got {width!r}")
                ratio = (self.stop - self.start) / width
                n = round(ratio)
                if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
                    raise ValueError(
                        f"width {width!r} does not divide [{self.start!r}, {self.stop!r}] into a whole number "
                        f"of buckets ({ratio:.6g}); pick another width or pass n_buckets="
                    )
                self.n_buckets = check_int(n, "n_buckets", 1, 2**62)
            self._check_uniform_arithmetic()
        if name is None:
            if self.boundaries is None:
                name = f"{self.column}[{self.start!r},{self.stop!r}]/{self.n_buckets}"
            else:
                name = f"{self.column}{{{','.join(repr(e) for e in self.boundaries)}}}"
        self.name = check_name(name, "feature name")

    def _check_uniform_arithmetic(self) -> None:
        """Refuse uniform buckets whose float64 bucket formula cannot hold: a span or scale past
        the doubles (in-range values would bucket through an undefined float-to-integer
        conversion) or more buckets than float64 ids tell apart (past 2**53 only even ids occur)."""
        span = self.stop - self.start
        if not math.isfinite(span):
            raise ValueError(f"stop - start overflows a double ([{self.start!r}, {self.stop!r}] spans {span!r}); "
                             "use a narrower range or boundaries=")
        if self.n_buckets > MAX_UNIFORM_BUCKETS:
            raise ValueError(f"n_buckets must be at most 2**53 = {MAX_UNIFORM_BUCKETS:,} for uniform buckets "
                             f"(their ids are computed in float64), got {self.n_buckets:,}")
        if not math.isfinite(self.n_buckets / span) or not span / self.n_buckets > 0:
            raise ValueError(f"n_buckets / (stop - start) overflows: {self.n_buckets:,} buckets over "
                             f"[{self.start!r}, {self.stop!r}] are narrower than doubles; use fewer buckets")

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
        comp_f, comp_i = np.zeros((1, 3)), np.zeros((1, 6), dtype=np.int64)
        edges: list[float] = []
        self._kernel_params(comp_f[0], comp_i[0], edges)
        edge_table = np.array(edges if edges else [0.0])
        out = np.empty((1, x.size), dtype=np.int64)
        bad = np.full(1, -1, dtype=np.int64)
        hk.bucket_block(x.reshape(1, -1), np.empty((0, x.size), dtype=np.int64), comp_f, comp_i, edge_table, out, bad)
        if bad[0] >= 0:
            raise self._reject_error(x, int(bad[0]), 0, None)
        return out[0]

    def _kernel_params(self, comp_f: np.ndarray, comp_i: np.ndarray, edges: list[float]) -> None:
        comp_i[kc.KIND] = kc.UNIFORM if self.boundaries is None else kc.EDGES
        comp_i[kc.NB] = self.n_buckets
        comp_i[kc.WRAP] = self.wrap
        comp_i[kc.POLICY] = OUT_OF_RANGE.index(self.out_of_range)
        comp_f[kc.START], comp_f[kc.STOP] = self.start, self.stop
        if self.boundaries is None:
            comp_f[kc.SCALE] = self.n_buckets / (self.stop - self.start)
        else:
            comp_i[kc.EDGE_LO] = len(edges)
            edges.extend(self.boundaries)

    def _reject_error(self, x: np.ndarray, first_in_block: int, row0: int, chunk: int | None) -> ValueError:
        """The error for the values of ``x`` (float64) that ``out_of_range`` rejects."""
        if self.out_of_range == "clip":
            rows = np.flatnonzero(np.isnan(x))
            what = "NaN value"
            hint = "clipping cannot place NaN; use out_of_range='bucket' to give them their own bucket"
        else:
            rows = np.flatnonzero(~((x >= self.start) & (x <= self.stop)))
            what = f"value outside [{fmt(self.start)}, {fmt(self.stop)}] (or NaN/inf)"
            hint = "pass out_of_range='clip' or 'bucket' to accept them"
        first = int(rows[0]) if rows.size else first_in_block
        count = max(int(rows.size), 1)
        what = what.replace("value", f"value{'s' if count > 1 else ''}", 1)
        return ValueError(
            f"column {self.column!r}: {count} {what}{chunk_words(chunk)} for feature {self.name!r}; "
            f"first at row {row_words(row0, first, chunk)} ({float(x[first])!r}); {hint}"
        )

    def edges(self, bucket_ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """Value range ``[low, high)`` of each bucket id (float64 arrays; NaN for the extra bucket).

        The ranges are exact for doubles: for ``x`` in ``[start, stop]``, ``bucket(x) == b`` if and
        only if ``low[b] <= x < high[b]`` (the last bucket also holds ``stop``, unless ``wrap``;
        ``"clip"`` adds the values past either end to the first or last bucket). The
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
        return f"{self.column} {left}{fmt(low)}, {fmt(high)}{']' if closed else ')'}"

    def _to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "bucketize",
            "column": self.column,
            "name": self.name,
            "wrap": self.wrap,
            "out_of_range": self.out_of_range,
        }
        if self.boundaries is not None:
            out["boundaries"] = [float_json(e) for e in self.boundaries]
        else:
            out.update(start=self.start, stop=self.stop, n_buckets=self.n_buckets)
        return out

    @classmethod
    def _from_json(cls, obj: dict[str, Any]) -> Bucketize:
        common = dict(wrap=obj["wrap"], out_of_range=obj["out_of_range"], name=obj["name"])
        if "boundaries" in obj:
            return cls(obj["column"], boundaries=[float_from_json(e) for e in obj["boundaries"]], **common)
        return cls(obj["column"], float_from_json(obj["start"]), float_from_json(obj["stop"]),
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
