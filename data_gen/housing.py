"""Synthetic global housing: ``generate_housing`` and the label threshold."""

from __future__ import annotations

import functools
import operator
from typing import Any

import numpy as np

from . import _rng
from ._housing_kernel import PROPERTY_TYPES, generate_rows
from ._world import load_world

# Salts separating the user's sample stream, the world's effects and the calibration sample.
_SALT_SAMPLE = 0x5A4D_504C_4500_0001
_SALT_WORLD = 0x574F_524C_4400_0002
_SALT_CALIBRATION = 0x4341_4C49_4200_0003
CALIBRATION_ROWS = 1 << 16

# Columns of generate_housing, in order, with their dtypes ("U" = fixed-width NumPy strings).
COLUMNS: dict[str, str] = {
    "lat": "float64",
    "lon": "float64",
    "rooms": "int32",
    "area": "float64",
    "age": "int32",
    "property_type": "U9",
    "country": "U2",
    "price": "float64",
    "label": "int8",
    "is_bad": "bool",
}
_PROPERTY_TYPE_NAMES = np.array(PROPERTY_TYPES)


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if not low <= value < high:
        raise ValueError(f"{name} must be in [{low}, {high}), got {value}")
    return value


def _check_fraction(bad_fraction: Any) -> float:
    try:
        bad_fraction = float(bad_fraction)
    except (TypeError, ValueError):
        raise TypeError(f"bad_fraction must be a number, got {bad_fraction!r}") from None
    if not 0.0 <= bad_fraction <= 1.0:
        raise ValueError(f"bad_fraction must be in [0, 1], got {bad_fraction}")
    return bad_fraction


def _generate_codes(
    n: int, sample_key: np.uint64, world_key: np.uint64, bad_fraction: float, start: int, threshold: float
) -> dict[str, np.ndarray]:
    """Rows [start, start + n) with categoricals as integer codes (plus internal columns)."""
    world = load_world()
    out = {
        "lat": np.empty(n, np.float64),
        "lon": np.empty(n, np.float64),
        "rooms": np.empty(n, np.int32),
        "area": np.empty(n, np.float64),
        "age": np.empty(n, np.int32),
        "property_type": np.empty(n, np.int8),
        "country": np.empty(n, np.int16),
        "price": np.empty(n, np.float64),
        "label": np.empty(n, np.int8),
        "is_bad": np.empty(n, np.bool_),
        "place": np.empty(n, np.int32),  # internal: index of the anchor place
        "rural": np.empty(n, np.bool_),  # internal: drawn from the rural share
    }
    generate_rows(
        sample_key,
        world_key,
        np.int64(start),
        float(bad_fraction),
        float(threshold),
        world.alias_prob,
        world.alias_index,
        world.place_f,
        world.place_i,
        world.country_offset,
        world.land_bits,
        *out.values(),
    )
    return out


def _generate_checked(
    n: int, seed: int, world_seed: int, bad_fraction: float, start: int
) -> dict[str, np.ndarray]:
    """Validate the arguments and return coded rows (shared by the public generators)."""
    n = _check_int("n", n, 0, 1 << 62)
    seed = _check_int("seed", seed, 0, 1 << 64)
    world_seed = _check_int("world_seed", world_seed, 0, 1 << 64)
    start = _check_int("start", start, 0, (1 << 63) - n)
    bad_fraction = _check_fraction(bad_fraction)
    return _generate_codes(
        n,
        _rng.seed_key(seed, _SALT_SAMPLE),
        _rng.seed_key(world_seed, _SALT_WORLD),
        bad_fraction,
        start,
        label_threshold(world_seed),
    )


@functools.lru_cache(maxsize=32)
def label_threshold(world_seed: int = 0) -> float:
    """The price above which ``label`` is 1: the median price of the world ``world_seed``.

    It is the median of a fixed calibration sample of 65,536 houses drawn from that world (on a
    stream of its own, apart from every user seed), so it depends on the world alone, never on
    the sample's seed or chunking; every sample of the world has about half its labels at 1.

    >>> 1e4 < label_threshold(0) < 1e7
    True
    """
    world_seed = _check_int("world_seed", world_seed, 0, 1 << 64)
    rows = _generate_codes(
        CALIBRATION_ROWS,
        _rng.seed_key(world_seed, _SALT_CALIBRATION),
        _rng.seed_key(world_seed, _SALT_WORLD),
        0.0,
        0,
        np.inf,
    )
    return float(np.median(rows["price"]))


def generate_housing(
    n: int, seed: int = 0, world_seed: int = 0, bad_fraction: float = 0.0, start: int = 0
) -> dict[str, np.ndarray]:
    """Rows ``[start, start + n)`` of a seeded, infinite stream of houses around real places.

    Houses are drawn in proportion to population (GeoNames places, each country rescaled to its
    total, the uncounted rest as rural housing), spread around their place by city size, and kept
    on land by a 1' land mask. ``log(price)`` adds country, region, city and hashed 1 degree,
    10' and 1' cell effects (fixed by ``world_seed``), attribute effects and noise. Any chunking
    of the stream gives identical rows: ``generate_housing(10, start=5)`` equals rows 5..14 of
    ``generate_housing(15)``.

    Parameters
    ----------
    n : number of rows (>= 0).
    seed : which houses are drawn (0 <= seed < 2**64). Samples with different seeds and one
        ``world_seed`` are independent draws from the same world (a train/test split).
    world_seed : the price surface (country, region, place and cell effects).
    bad_fraction : share of rows whose coordinates are corrupted (NaN, +-inf, or out of range:
        |lat| > 90, |lon| > 180); ``is_bad`` flags exactly those rows. Prices and labels are
        those of the uncorrupted house.
    start : index of the first row in the stream.

    Returns
    -------
    dict of 1-D arrays of length n: ``lat``, ``lon`` (float64 degrees; lon in [-180, 180)),
    ``rooms`` (int32), ``area`` (float64, m^2), ``age`` (int32 years), ``property_type`` (str, one
    of ``PROPERTY_TYPES``), ``country`` (ISO 3166-1 alpha-2 str), ``price`` (float64, USD),
    ``label`` (int8, 1 when price > ``label_threshold(world_seed)``), ``is_bad`` (bool).

    Examples
    --------
    >>> rows = generate_housing(1000, seed=1)
    >>> sorted(rows) == sorted(COLUMNS)
    True
    >>> bool(np.array_equal(generate_housing(3, seed=1, start=997)["price"], rows["price"][997:]))
    True
    """
    return to_named(_generate_checked(n, seed, world_seed, bad_fraction, start))


def to_named(codes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Replace categorical codes by their names and drop internal columns."""
    out = {name: codes[name] for name in COLUMNS}
    out["property_type"] = _PROPERTY_TYPE_NAMES[codes["property_type"]]
    out["country"] = load_world().country_iso[codes["country"]]
    return out
