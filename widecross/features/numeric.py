"""Numeric: a real-valued column whose value goes into the matrix (alone, or multiplying a cross)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _components as kc
from .._validation import as_float64
from ._base import SingleColumn, check_finite, check_name, check_policy, chunk_words, float_from_json, fmt, row_words

_MISSING = ("error", "zero")


class Numeric(SingleColumn):
    """A real-valued column passed through as a feature value: ``(x - center) / scale``.

    Alone it is one column whose value is the (scaled) number, like VW's ``name:value``. In a
    :class:`Cross` it multiplies: ``Cross(Bucketize("lat", ...), Numeric("area"))`` gives every
    latitude band its own slope on ``area``. A zero value stores no entry.

    ``scale``: ``None`` (the value itself), a positive number (divide by it), or ``"standard"``:
    :meth:`FeatureSpec.fit` learns the mean (``center``) and the standard deviation (``scale``;
    1 when the column is constant). ``missing``: NaN (and None, Arrow nulls) is an error
    (``"error"``, the default, naming the column and first row) or reads as 0 (``"zero"``: no
    entry). Infinite values are always an error.

    >>> Numeric("area", scale=100.0).values([50.0, 0.0, 250.0]).tolist()
    [0.5, 0.0, 2.5]
    """

    _kind = "numeric"
    _kernel_kind = kc.VALUE

    def __init__(self, column: str, scale: float | str | None = None, *, center: float | None = None,
                 missing: str = "error", name: str | None = None) -> None:
        self.column = check_name(column, "Numeric column")
        self.missing = check_policy(missing, _MISSING, "missing")
        self.standardize = scale == "standard"
        if isinstance(scale, str) and not self.standardize:
            raise ValueError(f"scale must be a positive number, None or 'standard'; got {scale!r}")
        if self.standardize:
            self.scale: float | None = None
        else:
            self.scale = 1.0 if scale is None else check_finite(scale, "scale")
            if self.scale <= 0:
                raise ValueError(f"scale must be positive, got {self.scale!r}")
            if not math.isfinite(1.0 / self.scale):  # the kernels multiply by the reciprocal
                raise ValueError(f"scale {self.scale!r} is too small: 1 / scale overflows a double (scales below "
                                 f"about 5.6e-309 cannot be features' divisors)")
        self.center: float | None = None if center is None else check_finite(center, "center")
        if not self.standardize and self.center is None:
            self.center = 0.0
        self.name = check_name(column if name is None else name, "feature name")

    @property
    def learnable(self) -> bool:
        """True when :meth:`FeatureSpec.fit` learns the center and scale (``scale="standard"``)."""
        return self.standardize

    @property
    def fitted(self) -> bool:
        return self.scale is not None and self.center is not None

    @property
    def size(self) -> int:
        """One column: the id of a numeric component is always 0."""
        return 1

    def values(self, x: Any) -> np.ndarray:
        """The feature values (float64) of a 1-D column, NaN where ``missing="zero"`` reads 0."""
        if not self.fitted:
            raise ValueError(f"Numeric {self.name!r} standardizes with what fit learns: call FeatureSpec.fit first")
        values = (as_float64(x, self.column) - self.center) / self.scale
        return np.where(np.isnan(values), 0.0, values) if self.missing == "zero" else values

    def learned(self, mean: float, std: float) -> Numeric:
        """The fitted copy: ``center=mean``, ``scale=std`` (1 for a constant column)."""
        # a spread whose reciprocal overflows (subnormal) is a constant column in all but name
        usable = std > 0 and math.isfinite(std) and math.isfinite(1.0 / std)
        out = Numeric(self.column, std if usable else 1.0, center=mean,
                      missing=self.missing, name=self.name)
        out.standardize = True
        return out

    def _kernel_params(self, comp_f: np.ndarray, comp_i: np.ndarray, edges: list[float]) -> None:
        comp_i[kc.KIND] = kc.VALUE
        comp_i[kc.POLICY] = kc.MISSING_ZERO if self.missing == "zero" else kc.MISSING_ERROR
        comp_f[kc.START] = self.center
        comp_f[kc.SCALE] = 1.0 / self.scale

    def _reject_error(self, x: np.ndarray, first_in_block: int, row0: int, chunk: int | None) -> ValueError:
        scaled = (x - self.center) / self.scale
        rejected = ~np.isfinite(scaled) | (np.abs(scaled) > kc.FLOAT32_MAX)
        if self.missing == "zero":
            rejected &= ~np.isnan(x)
        rows = np.flatnonzero(rejected)
        first = int(rows[0]) if rows.size else first_in_block
        count = max(int(rows.size), 1)
        hint = ("pass missing='zero' to read NaN as 0" if math.isnan(x[first]) and self.missing == "error"
                else "infinite values, or values beyond float32 after scaling, cannot be features")
        return ValueError(
            f"column {self.column!r}: {count} NaN or infinite value{'s' if count > 1 else ''}{chunk_words(chunk)} "
            f"for numeric feature {self.name!r}; first at row {row_words(row0, first, chunk)} ({float(x[first])!r}); {hint}"
        )

    def describe(self, bucket_id: int, seen: Any = None) -> str:
        """``"area (value)"``, or with scaling ``"(area - 120) / 35 (value)"``."""
        text = self.column if self.center in (0.0, None) else f"({self.column} - {fmt(self.center)})"
        return f"{text} (value)" if self.scale in (1.0, None) else f"{text} / {fmt(self.scale)} (value)"

    def _to_json(self) -> dict[str, Any]:
        return {"type": "numeric", "column": self.column, "name": self.name, "scale": self.scale,
                "center": self.center, "standardize": self.standardize, "missing": self.missing}

    @classmethod
    def _from_json(cls, obj: dict[str, Any]) -> Numeric:
        scale, center = obj["scale"], obj["center"]
        out = cls(obj["column"], "standard" if scale is None else float_from_json(scale),
                  center=None if center is None else float_from_json(center), missing=obj["missing"], name=obj["name"])
        out.standardize = bool(obj["standardize"])
        return out

    def _key(self) -> tuple[Any, ...]:
        return ("numeric", self.column, self.name, self.scale, self.center, self.standardize, self.missing)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Numeric) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        scale = "'standard'" if self.standardize and not self.fitted else repr(self.scale)
        args = f"{self.column!r}, scale={scale}"
        if self.center not in (0.0, None):
            args += f", center={self.center!r}"
        if self.missing != "error":
            args += f", missing={self.missing!r}"
        return f"Numeric({args}, name={self.name!r})"

