"""The fixed geography: populated places, their sampling table, and the 1' land mask.

Everything here depends only on the shipped data files, never on a seed, and is built once per
process (about half a second, mostly decompressing the land mask).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
PLACES_FILE = DATA_DIR / "places_cities1000.npz"
LAND_FILE = DATA_DIR / "land_minute.npz"

N_LAT_MINUTES = 10_800
N_LON_MINUTES = 21_600
KM_PER_DEGREE = 111.195  # mean Earth radius 6371.0 km * pi / 180

# Spread of houses around a place: a radial Gamma(2, scale) distance (the exponential density
# decay of Clark's urban model). scale = URBAN_SCALE_KM * (pop / 1000) ** URBAN_SCALE_EXPONENT
# gives ~1 km for towns of 1,000, ~6 km for a million, ~16 km for a 20-million megacity; the mean
# distance is twice the scale.
URBAN_SCALE_KM = 0.6
URBAN_SCALE_EXPONENT = 0.33
# Rural housing (the population the places list misses) spreads more widely around the country's
# places.
RURAL_SCALE_KM = 8.0
# How far (in 1' cells) an off-land place may be moved to the nearest land cell; places with no
# land that close get no houses.
SNAP_RADIUS_CELLS = 30

# Country price levels as log-price offsets (0 = a ~$150k typical house). Rough, rounded guesses
# at relative house-price levels, meant only to make the synthetic world plausible; countries
# not listed take their continent's level. Each world adds a random deviation on top.
CONTINENT_OFFSET = {"NA": 0.3, "EU": 0.3, "OC": 0.0, "AS": -0.5, "SA": -0.7, "AF": -1.2, "AN": 0.0}
COUNTRY_OFFSET = {
    "US": 0.9, "CA": 0.9, "MX": -0.5, "GB": 0.9, "IE": 0.8, "DE": 0.7, "FR": 0.5, "IT": 0.3,
    "ES": 0.3, "PT": 0.2, "NL": 0.8, "BE": 0.6, "CH": 1.3, "AT": 0.7, "SE": 0.6, "NO": 0.8,
    "DK": 0.7, "FI": 0.4, "PL": -0.1, "CZ": 0.1, "RO": -0.5, "GR": -0.1, "UA": -1.0, "RU": -0.6,
    "TR": -0.6, "IL": 0.9, "AE": 0.7, "SA": 0.2, "IR": -0.8, "JP": 0.5, "KR": 0.7, "TW": 0.6,
    "CN": 0.1, "HK": 1.6, "SG": 1.2, "IN": -1.1, "PK": -1.4, "BD": -1.3, "ID": -0.9, "PH": -0.9,
    "VN": -0.8, "TH": -0.6, "MY": -0.4, "AU": 1.1, "NZ": 0.9, "NG": -1.6, "ET": -2.0, "EG": -1.3,
    "ZA": -0.6, "KE": -1.4, "CD": -2.2, "BR": -0.6, "AR": -0.6, "CL": -0.2, "CO": -0.7, "PE": -0.7,
}


class World(NamedTuple):
    """Arrays the row kernel reads (all fixed, seed-independent)."""

    alias_prob: np.ndarray  # (2 * n_places,) float64: Vose alias table over urban + rural slots
    alias_index: np.ndarray  # (2 * n_places,) int64
    place_f: np.ndarray  # (n_places, 4) float64: lat, lon, urban spread scale (km), log10(pop)
    place_i: np.ndarray  # (n_places, 2) int64: country index, region index
    country_offset: np.ndarray  # (n_countries,) float64: continent price offset per country
    land_bits: np.ndarray  # (10800, 2700) uint8: packed 1' land mask, south first
    country_iso: np.ndarray  # (n_countries,) <U2
    region_key: np.ndarray  # (n_regions,) <U11
    urban_weight: np.ndarray  # (n_places,) float64: expected share of houses per slot type
    rural_weight: np.ndarray  # (n_places,) float64


@numba.njit(cache=True, nogil=True)
def is_land(land_bits: np.ndarray, lat: float, lon: float) -> bool:
    """Whether the 1' cell holding (lat, lon) has land; lat in [-90, 90], lon in [-180, 180)."""
    row = int(np.floor((lat + 90.0) * 60.0))
    col = int(np.floor((lon + 180.0) * 60.0))
    if row >= N_LAT_MINUTES:
        row = N_LAT_MINUTES - 1  # lat == 90 belongs to the last row
    elif row < 0:
        row = 0
    if col >= N_LON_MINUTES:
        col -= N_LON_MINUTES  # lon == 180 is the meridian -180
    elif col < 0:
        col = 0
    return ((land_bits[row, col >> 3] >> (7 - (col & 7))) & 1) == 1


@numba.njit(cache=True, nogil=True)
def _is_land_many(land_bits: np.ndarray, lat: np.ndarray, lon: np.ndarray, out: np.ndarray) -> None:
    for i in range(lat.shape[0]):
        out[i] = is_land(land_bits, lat[i], lon[i])


@numba.njit(cache=True, nogil=True)
def build_alias(weights: np.ndarray, prob: np.ndarray, alias: np.ndarray) -> None:
    """Vose's alias table: slot i is kept with probability prob[i], else replaced by alias[i].

    Sampling is then O(1) (one uniform, two reads) instead of a binary search over 317k slots.
    """
    m = weights.shape[0]
    total = 0.0
    for i in range(m):
        total += weights[i]
    scaled = np.empty(m)
    small = np.empty(m, dtype=np.int64)
    large = np.empty(m, dtype=np.int64)
    n_small = 0
    n_large = 0
    for i in range(m):
        scaled[i] = weights[i] * m / total
        alias[i] = i
        if scaled[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        g = large[n_large - 1]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        if scaled[g] < 1.0:
            n_large -= 1
            small[n_small] = g
            n_small += 1
    # Whatever remains is 1 up to rounding.
    for k in range(n_large):
        prob[large[k]] = 1.0
    for k in range(n_small):
        prob[small[k]] = 1.0


def land_mask_lookup(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Boolean array: whether each (lat, lon) lies in a 1' cell holding land.

    Coordinates must be finite and in range (lat in [-90, 90], lon in [-180, 180]).

    >>> bool(land_mask_lookup(np.array([48.8566]), np.array([2.3522]))[0])  # Paris
    True
    """
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    if lat.shape != lon.shape or lat.ndim != 1:
        raise ValueError(f"lat and lon must be 1-D arrays of equal length, got {lat.shape} and {lon.shape}")
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"coordinate out of range or not finite at row {row}: lat={lat[row]}, lon={lon[row]}")
    out = np.empty(lat.shape[0], dtype=np.bool_)
    _is_land_many(load_land_bits(), lat, lon, out)
    return out


@functools.lru_cache(maxsize=1)
def load_land_bits() -> np.ndarray:
    """The packed 1' land mask, (10800, 2700) uint8, row 0 = southernmost."""
    with np.load(LAND_FILE, allow_pickle=False) as f:
        bits = np.ascontiguousarray(f["bits"], dtype=np.uint8)
    if bits.shape != (N_LAT_MINUTES, N_LON_MINUTES // 8):
        raise ValueError(f"{LAND_FILE.name}: expected bits of shape (10800, 2700), got {bits.shape}")
    return bits


def _snap_to_land(lat: np.ndarray, lon: np.ndarray, land: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move places whose own 1' cell is sea to the nearest land cell centre within the radius.

    GeoNames puts a few hundred coastal places a little offshore at 1' resolution; snapping them
    keeps every fallback location (the place itself) on land. Returns lat, lon, usable.
    """
    lat = lat.copy()
    lon = lon.copy()
    usable = np.ones(lat.shape[0], dtype=bool)
    here = np.empty(lat.shape[0], dtype=np.bool_)
    _is_land_many(land, lat, lon, here)
    radius = SNAP_RADIUS_CELLS
    offsets = np.arange(-radius, radius + 1)
    d_row, d_col = np.meshgrid(offsets, offsets, indexing="ij")
    for p in np.flatnonzero(~here):
        row0 = min(int(np.floor((lat[p] + 90.0) * 60.0)), N_LAT_MINUTES - 1)
        col0 = int(np.floor((lon[p] + 180.0) * 60.0)) % N_LON_MINUTES
        rows = np.clip(row0 + d_row, 0, N_LAT_MINUTES - 1)
        cols = (col0 + d_col) % N_LON_MINUTES
        unpacked = (land[rows, cols >> 3] >> (7 - (cols & 7))) & 1
        if not unpacked.any():
            usable[p] = False
            continue
        # Squared distance on the local tangent plane (longitude shrinks with cos(latitude)).
        dist = d_row.astype(float) ** 2 + (d_col * np.cos(np.radians(lat[p]))) ** 2
        dist[unpacked == 0] = np.inf
        k = np.unravel_index(int(np.argmin(dist)), dist.shape)
        lat[p] = (rows[k] + 0.5) / 60.0 - 90.0
        lon[p] = (cols[k] + 0.5) / 60.0 - 180.0
    return lat, lon, usable


@functools.lru_cache(maxsize=1)
def load_world() -> World:
    """Load the places and land mask and build the sampling table (cached per process)."""
    with np.load(PLACES_FILE, allow_pickle=False) as f:
        lat = f["lat_e5"].astype(np.float64) / 1e5
        lon = f["lon_e5"].astype(np.float64) / 1e5
        pop = f["pop"].astype(np.float64)
        country = f["country"].astype(np.int64)
        region = f["region"].astype(np.int64)
        country_iso = f["country_iso"]
        country_pop = f["country_pop"].astype(np.float64)
        continent = f["country_continent"]
        region_key = f["region_key"]
    land = load_land_bits()
    lat, lon, usable = _snap_to_land(lat, lon, land)
    n_countries = country_iso.shape[0]

    # Rescale each country to its total population: the list over-counts some countries
    # (double counting) and misses most of others; the missing people become rural housing,
    # shared evenly among the country's places (a village-sized share each).
    counted = np.where(usable, pop, 0.0)
    listed = np.bincount(country, weights=counted, minlength=n_countries)
    n_usable = np.bincount(country, weights=usable.astype(float), minlength=n_countries)
    total = np.where(country_pop > 0, country_pop, listed)
    scale = np.where(listed > 0, np.minimum(1.0, total / np.maximum(listed, 1.0)), 0.0)
    rural_total = np.maximum(total - listed, 0.0)
    urban_weight = counted * scale[country]
    rural_weight = np.where(usable, rural_total[country] / np.maximum(n_usable[country], 1.0), 0.0)

    weights = np.concatenate([urban_weight, rural_weight])
    alias_prob = np.empty(weights.shape[0], dtype=np.float64)
    alias_index = np.empty(weights.shape[0], dtype=np.int64)
    build_alias(weights, alias_prob, alias_index)

    place_f = np.empty((lat.shape[0], 4), dtype=np.float64)
    place_f[:, 0] = lat
    place_f[:, 1] = lon
    place_f[:, 2] = URBAN_SCALE_KM * (np.maximum(pop, 1.0) / 1000.0) ** URBAN_SCALE_EXPONENT
    place_f[:, 3] = np.log10(np.maximum(pop, 1.0))
    place_i = np.stack([country, region], axis=1).astype(np.int64)
    country_offset = np.array(
        [COUNTRY_OFFSET.get(str(iso), CONTINENT_OFFSET.get(str(cont), 0.0)) for iso, cont in zip(country_iso, continent)],
        dtype=np.float64,
    )
    return World(
        alias_prob, alias_index, place_f, place_i, country_offset, land, country_iso, region_key,
        urban_weight, rural_weight,
    )
