"""geo_spec: the multi-resolution latitude x longitude crosses and the finest marginals."""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import numpy as np

from .bucketize import Bucketize
from .cross import Cross, Feature
from .spec import FeatureSpec


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
    ``out_of_range`` applies to both (see :class:`Bucketize`): under ``"clip"`` a latitude past a
    pole goes to that pole's bucket, a longitude past either end to the one at -180/180.

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
