"""The per-row housing kernel: location, attributes, price, label and corruption of one row.

Every value of row ``r`` is a function of (seed key, world key, r) alone, through counter-based
draws (see ``_rng``); the loop over rows carries no state. The world key fixes the price surface
(country, region, place and cell effects), the seed key fixes which houses are drawn, so two
samples with different seeds and one world seed are train/test splits of the same world.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._rng import bell, draw, hash2, row_key, unit, unit_open
from ._world import KM_PER_DEGREE, RURAL_SCALE_KM, is_land

PROPERTY_TYPES = ("apartment", "townhouse", "house", "farm")

# Draw numbers within a row. Location tries use 1 .. 2 * LAND_TRIES.
LAND_TRIES = 12
_D_SLOT = np.uint64(0)
_D_TYPE = np.uint64(40)
_D_ROOMS = np.uint64(41)
_D_AREA = np.uint64(42)
_D_AGE = np.uint64(43)
_D_NOISE = np.uint64(44)
_D_BAD = np.uint64(45)
_D_BAD_KIND = np.uint64(46)
_D_BAD_VALUE = np.uint64(47)

# Salts that keep the world's hashed effects apart (one per level).
_W_COUNTRY = np.uint64(0x1)
_W_REGION = np.uint64(0x2)
_W_PLACE = np.uint64(0x3)
_W_DEG = np.uint64(0x11)
_W_TEN = np.uint64(0x12)
_W_MIN = np.uint64(0x13)

_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_TWO_M32 = 1.0 / 4294967296.0
_TWO_PI = 2.0 * math.pi
_DEG = math.pi / 180.0

# Log-price model (natural log of USD). A typical house in a country at price level 0 (see
# _world.COUNTRY_OFFSET) costs about $150k; the United States comes out near $290k.
BASE_LOG_PRICE = 8.35
SD_COUNTRY = 0.15
SD_REGION = 0.20
SD_PLACE = 0.20
CITY_SIZE_SLOPE = 0.15  # per factor of 10 in population, relative to 10,000 people
DISTANCE_DECAY = 0.12  # per spread scale away from the centre
DISTANCE_CAP = 5.0  # scales; the decay stops there
RURAL_OFFSET = -0.40
SD_CELL_DEGREE = 0.20
SD_CELL_TEN = 0.20
SD_CELL_MINUTE = 0.30
AREA_ELASTICITY = 0.85
ROOM_EFFECT = 0.03
SD_NOISE = 0.25
TYPE_EFFECT = np.array([0.0, 0.05, 0.12, -0.30])
ROOMS_MIN = np.array([1, 2, 2, 3], dtype=np.int64)
ROOMS_EXTRA_MEAN = np.array([1.3, 1.5, 2.0, 2.5])
ROOMS_MAX = np.array([8, 10, 14, 16], dtype=np.int64)
AREA_PER_ROOM = np.array([24.0, 28.0, 32.0, 38.0])
SD_LOG_AREA = 0.20
AGE_MEAN = 28.0
AGE_MAX = 150


@numba.njit(cache=True, nogil=True)
def _cell_effect(world_key: np.uint64, salt: np.uint64, lat: float, lon: float, per_degree: float) -> float:
    """Hashed N(0,1)-like effect of the lat x lon cell of width 1/per_degree degrees."""
    n_rows = int(180.0 * per_degree)
    n_cols = int(360.0 * per_degree)
    row = int(np.floor((lat + 90.0) * per_degree))
    col = int(np.floor((lon + 180.0) * per_degree))
    if row >= n_rows:
        row = n_rows - 1
    if col >= n_cols:
        col -= n_cols
    cell = np.uint64(row * n_cols + col)
    return bell(hash2(world_key ^ salt, cell))


@numba.njit(cache=True, nogil=True)
def _wrap_lon(lon: float) -> float:
    lon = lon - 360.0 * np.floor((lon + 180.0) / 360.0)
    if lon >= 180.0:  # rounding can land exactly on +180
        lon -= 360.0
    return lon


@numba.njit(cache=True, nogil=True)
def generate_rows(
    seed_key: np.uint64,
    world_key: np.uint64,
    start: np.int64,
    bad_fraction: float,
    threshold: float,
    alias_prob: np.ndarray,
    alias_index: np.ndarray,
    place_f: np.ndarray,
    place_i: np.ndarray,
    country_offset: np.ndarray,
    land_bits: np.ndarray,
    out_lat: np.ndarray,
    out_lon: np.ndarray,
    out_rooms: np.ndarray,
    out_area: np.ndarray,
    out_age: np.ndarray,
    out_type: np.ndarray,
    out_country: np.ndarray,
    out_price: np.ndarray,
    out_label: np.ndarray,
    out_bad: np.ndarray,
    out_place: np.ndarray,
    out_rural: np.ndarray,
) -> None:
    """Fill rows [start, start + len(out_lat)) of the stream into the ``out_*`` arrays."""
    n_slots = alias_prob.shape[0]
    n_places = place_f.shape[0]
    for i in range(out_lat.shape[0]):
        rk = row_key(seed_key, np.uint64(start + i))

        # Where: an urban or rural slot of a place, drawn in proportion to population.
        x = unit(draw(rk, _D_SLOT)) * n_slots
        slot = min(int(x), n_slots - 1)  # guard against x rounding up to n_slots
        if x - slot >= alias_prob[slot]:
            slot = alias_index[slot]
        rural = slot >= n_places
        p = slot - n_places if rural else slot
        plat = place_f[p, 0]
        plon = place_f[p, 1]
        scale = RURAL_SCALE_KM if rural else place_f[p, 2]
        km_per_lon_degree = KM_PER_DEGREE * max(math.cos(plat * _DEG), 0.05)

        # Spread around the place; retry with further draws until the 1' cell holds land.
        lat = plat
        lon = plon
        dist = 0.0
        for t in range(LAND_TRIES):
            b = draw(rk, np.uint64(1 + 2 * t))
            u1 = (float(b >> _S32) + 1.0) * _TWO_M32
            u2 = (float(b & _LO32) + 1.0) * _TWO_M32
            r = -scale * math.log(u1 * u2)  # Gamma(2, scale): radial density ~ exp(-r / scale)
            theta = _TWO_PI * unit(draw(rk, np.uint64(2 + 2 * t)))
            y = plat + r * math.cos(theta) / KM_PER_DEGREE
            xlon = plon + r * math.sin(theta) / km_per_lon_degree
            if y > 90.0:  # over the pole: come down the other side
                y = 180.0 - y
                xlon += 180.0
            elif y < -90.0:
                y = -180.0 - y
                xlon += 180.0
            y = min(max(y, -90.0), 90.0)
            xlon = _wrap_lon(xlon)
            if is_land(land_bits, y, xlon):
                lat = y
                lon = xlon
                dist = r
                break
        # else: the place itself (on land by construction of the world).

        # What: type by urbanity, then rooms, area, age.
        country = place_i[p, 0]
        log_pop = place_f[p, 3]
        u = unit(draw(rk, _D_TYPE))
        if rural:
            p_apartment, p_townhouse, p_farm = 0.03, 0.07, 0.25
        else:
            urbanity = min(max((log_pop - 3.0) / 4.0, 0.0), 1.0)
            p_apartment, p_townhouse, p_farm = 0.10 + 0.65 * urbanity, 0.15, 0.02 * (1.0 - urbanity)
        if u < p_apartment:
            kind = 0
        elif u < p_apartment + p_townhouse:
            kind = 1
        elif u < 1.0 - p_farm:
            kind = 2
        else:
            kind = 3
        rooms = ROOMS_MIN[kind] + int(-math.log(unit_open(draw(rk, _D_ROOMS))) * ROOMS_EXTRA_MEAN[kind])
        rooms = min(rooms, ROOMS_MAX[kind])
        area = AREA_PER_ROOM[kind] * rooms * math.exp(SD_LOG_AREA * bell(draw(rk, _D_AREA)))
        area = np.floor(area * 10.0 + 0.5) / 10.0
        age = min(int(-math.log(unit_open(draw(rk, _D_AGE))) * AGE_MEAN), AGE_MAX)

        # Price: location effects at several scales + attributes + noise.
        lp = BASE_LOG_PRICE + country_offset[country]
        lp += SD_COUNTRY * bell(hash2(world_key ^ _W_COUNTRY, np.uint64(country)))
        lp += SD_REGION * bell(hash2(world_key ^ _W_REGION, np.uint64(place_i[p, 1])))
        place_effect = CITY_SIZE_SLOPE * (log_pop - 4.0) + SD_PLACE * bell(hash2(world_key ^ _W_PLACE, np.uint64(p)))
        if rural:
            lp += RURAL_OFFSET + 0.5 * place_effect
        else:
            lp += place_effect - DISTANCE_DECAY * min(dist / scale, DISTANCE_CAP)
        lp += SD_CELL_DEGREE * _cell_effect(world_key, _W_DEG, lat, lon, 1.0)
        lp += SD_CELL_TEN * _cell_effect(world_key, _W_TEN, lat, lon, 6.0)
        lp += SD_CELL_MINUTE * _cell_effect(world_key, _W_MIN, lat, lon, 60.0)
        lp += AREA_ELASTICITY * math.log(area) + ROOM_EFFECT * rooms + TYPE_EFFECT[kind]
        lp += -0.006 * age + 0.00003 * age * age  # older is cheaper, until it becomes historic
        lp += SD_NOISE * bell(draw(rk, _D_NOISE))
        price = math.exp(lp)

        # Corruption (after the price, so a bad row keeps a meaningful price and label).
        bad = unit(draw(rk, _D_BAD)) < bad_fraction
        if bad:
            how = draw(rk, _D_BAD_KIND)
            v = unit_open(draw(rk, _D_BAD_VALUE))
            sign = 1.0 if (how >> _S32) & np.uint64(1) == np.uint64(0) else -1.0
            k = how % np.uint64(6)
            if k == np.uint64(0):
                lat = np.nan
            elif k == np.uint64(1):
                lon = np.nan
            elif k == np.uint64(2):
                lat = sign * np.inf
            elif k == np.uint64(3):
                lon = sign * np.inf
            elif k == np.uint64(4):
                lat = sign * (90.001 + 89.999 * v)  # out of range, e.g. lat and lon swapped
            else:
                lon = sign * (180.001 + 179.999 * v)

        out_lat[i] = lat
        out_lon[i] = lon
        out_rooms[i] = rooms
        out_area[i] = area
        out_age[i] = age
        out_type[i] = kind
        out_country[i] = country
        out_price[i] = price
        out_label[i] = 1 if price > threshold else 0
        out_bad[i] = bad
        out_place[i] = p
        out_rural[i] = rural
