"""Seeded workloads unlike the geo generator, as CSR matrices with labels (numpy and scipy only).

- :func:`ad_clicks`: an ad-click style table, 20 active entries per row: 16 categorical fields
  with Zipf-distributed values (vocabularies of 10 to 200,000), 3 pairwise crosses of them and
  one numeric column (a log-scaled count, real valued), hashed into ``2**bits`` columns; clicks
  from a logistic model of per-value effects (base rate about 0.2).
- :func:`regional`: a bounding box (the contiguous United States) with houses spread uniformly
  and a few point effects (three expensive cities as Gaussian bumps of the log-odds, a few km
  wide), plus one categorical (property type, 6 values); the geo crosses of widecross's
  ``geo_spec`` and the category one-hot, side by side.

The same ``(n, seed)`` gives the same rows; rows ``seed`` and ``seed + 1`` are independent draws
of the same world (``world_seed``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

AD_VOCABULARIES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000,
                   30, 300)
AD_CROSSES = ((0, 3), (1, 8), (4, 12))
ZIPF_EXPONENT = 1.1


def _zipf(rng: np.random.Generator, n: int, vocabulary: int) -> np.ndarray:
    """Values 0..vocabulary-1 with P(k) proportional to (k + 1) ** -ZIPF_EXPONENT."""
    p = np.arange(1, vocabulary + 1, dtype=np.float64) ** -ZIPF_EXPONENT
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").clip(0, vocabulary - 1)


def _mix(a: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a fixed integer hash (uint64 in, uint64 out)."""
    x = a.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def ad_clicks(n: int, seed: int = 0, bits: int = 22, world_seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """``n`` ad impressions as CSR (20 entries per row, see the module docstring) and 0/1 clicks.

    >>> X, y = ad_clicks(1000, seed=0, bits=16)
    >>> X.shape, int(X.getnnz(axis=1).max()) <= 20, bool(0.1 < y.mean() < 0.35)
    ((1000, 65536), True, True)
    """
    world = np.random.default_rng([world_seed, 7])
    effects = [world.normal(0.0, 0.6 if v < 1000 else 0.9, v) for v in AD_VOCABULARIES]
    cross_scale = 0.5
    rng = np.random.default_rng([seed, 11])
    values = np.stack([_zipf(rng, n, v) for v in AD_VOCABULARIES], axis=1)
    margin = np.full(n, -1.9)
    for field, effect in enumerate(effects):
        margin += effect[values[:, field]]
    keys = [values[:, f].astype(np.uint64) + np.uint64(f << 40) for f in range(len(AD_VOCABULARIES))]
    for k, (a, b) in enumerate(AD_CROSSES):
        pair = values[:, a].astype(np.uint64) * np.uint64(1 << 20) + values[:, b].astype(np.uint64)
        key = _mix(pair + np.uint64((100 + k) << 40))
        margin += cross_scale * (((key >> np.uint64(11)) % np.uint64(1000)).astype(np.float64) / 1000 * 2 - 1) * (
            values[:, a] < 20)
        keys.append(key)
    count = rng.lognormal(2.0, 1.2, n)  # e.g. the user's past impressions
    margin += 0.35 * (np.log1p(count) - 2.0)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-margin))).astype(np.float64)
    columns = np.stack([(_mix(k) >> np.uint64(64 - bits)).astype(np.int64) for k in keys], axis=1)
    numeric_column = (1 << bits) - 1  # its own column (the hashed ones may meet it: rarely)
    columns = np.concatenate([columns, np.full((n, 1), numeric_column)], axis=1)
    data = np.ones(columns.shape, dtype=np.float64)
    data[:, -1] = np.log1p(count) / 2.0
    X = sp.csr_matrix((data.ravel(), columns.ravel(), np.arange(0, columns.size + 1, columns.shape[1])),
                      shape=(n, 1 << bits))
    X.sum_duplicates()
    return X, y


US_BOX = ((25.0, 49.0), (-124.0, -67.0))
CITIES = ((40.75, -73.99, 2.2, 0.25), (37.77, -122.42, 2.5, 0.2), (25.79, -80.13, 1.6, 0.15))  # lat, lon, log-odds, deg
PROPERTY_TYPES = np.array([-0.8, -0.3, 0.0, 0.2, 0.6, 1.1])


def regional(n: int, seed: int = 0, bits: int | None = 22) -> tuple[sp.csr_matrix, np.ndarray]:
    """``n`` houses in the box (see the module docstring): geo crosses + property type, 0/1 labels.

    >>> X, y = regional(500, seed=0, bits=16)
    >>> X.shape[0], int(X.getnnz(axis=1).max()) <= 6, bool(0.1 < y.mean() < 0.6)
    (500, True, True)
    """
    import widecross as wc

    rng = np.random.default_rng([seed, 13])
    (lat0, lat1), (lon0, lon1) = US_BOX
    # half the houses spread over the box, half near the cities' neighbourhoods
    near = rng.random(n) < 0.5
    city = rng.integers(0, len(CITIES), n)
    lat = np.where(near, np.array([c[0] for c in CITIES])[city] + rng.normal(0, 0.4, n), rng.uniform(lat0, lat1, n))
    lon = np.where(near, np.array([c[1] for c in CITIES])[city] + rng.normal(0, 0.5, n), rng.uniform(lon0, lon1, n))
    lat, lon = np.clip(lat, lat0, lat1), np.clip(lon, lon0, lon1)
    kind = rng.integers(0, PROPERTY_TYPES.size, n)
    margin = -1.0 + 0.03 * (lat - 37.0) + PROPERTY_TYPES[kind]
    for c_lat, c_lon, effect, width in CITIES:
        distance2 = (lat - c_lat) ** 2 + ((lon - c_lon) * np.cos(np.radians(c_lat))) ** 2
        margin += effect * np.exp(-distance2 / (2 * width**2))
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-margin))).astype(np.float64)
    spec = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=bits)
    geo = spec.transform({"lat": lat, "lon": lon})
    one_hot = sp.csr_matrix((np.ones(n), kind, np.arange(n + 1)), shape=(n, PROPERTY_TYPES.size))
    return sp.hstack([geo, one_hot], format="csr"), y
