"""Pixels of weight maps: land background, cells and marginal strips rasterized over a region.

A region is ``(lat0, lat1, lon0, lon1)`` in degrees; a pixel is ``pixel_minutes`` arc-minutes
on each side (a fraction below 1 zooms in: a 1-degree city at 0.05' is 1,200 pixels wide).
Rows run north first, columns west first. Several cells on one pixel keep the weight of largest
magnitude, so a lone strong 1' cell stays visible in a globe panel.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np

OCEAN = np.array([248, 250, 253], dtype=np.float64)
LAND = np.array([225, 225, 222], dtype=np.float64)
COAST = np.array([150, 150, 150], dtype=np.float64)
POSITIVE = np.array([200, 20, 30], dtype=np.float64)
NEGATIVE = np.array([25, 70, 200], dtype=np.float64)
GLOBE = (-90.0, 90.0, -180.0, 180.0)


def grid_shape(region: tuple[float, float, float, float], pixel_minutes: float) -> tuple[int, int]:
    lat0, lat1, lon0, lon1 = region
    return max(1, round((lat1 - lat0) * 60 / pixel_minutes)), max(1, round((lon1 - lon0) * 60 / pixel_minutes))


def _land_bits() -> np.ndarray | None:
    """The 1' land mask, bit-packed along longitude, south first; None where it is not shipped."""
    try:
        source = resources.files("widecross").joinpath("data/land_minute.npz")
        with resources.as_file(source) as path, np.load(path, allow_pickle=False) as data:
            return data["bits"]
    except (FileNotFoundError, OSError, KeyError):
        return None


def land_mask(pixel_minutes: float, region: tuple[float, float, float, float] = GLOBE) -> np.ndarray | None:
    """(rows, cols) boolean land grid of ``region``, north first: a pixel is land when any 1'
    cell under it is; None if the mask is not available."""
    bits = _land_bits()
    if bits is None:
        return None
    lat0, lat1, lon0, lon1 = region
    rows, cols = grid_shape(region, pixel_minutes)
    step = pixel_minutes / 60.0
    # Minute rows (south first) below each pixel row's north edge, and minute columns from each
    # pixel column's west edge; a pixel smaller than a minute repeats the minute it lies in.
    top = np.clip(np.ceil((lat1 - np.arange(rows) * step + 90) * 60 - 1e-6), 1, 10800).astype(np.int64)
    bottom = int(np.clip(np.floor((lat0 + 90) * 60 + 1e-6), 0, 10799))
    west = np.clip(np.floor((lon0 + np.arange(cols) * step + 180) * 60 + 1e-6), 0, 21599).astype(np.int64)
    east = int(np.clip(np.ceil((lon1 + 180) * 60 - 1e-6), west[-1] + 1, 21600))
    out = np.empty((rows, cols), dtype=bool)
    band_rows = max(1, int(600 // max(pixel_minutes, 1)))  # unpack ~600 minute rows at a time, not 233 MB
    for r in range(0, rows, band_rows):
        r_end = min(rows, r + band_rows)
        high = int(top[r])
        low = int(top[r_end]) if r_end < rows else bottom
        low = min(low, high - 1)
        band = np.unpackbits(bits[low:high], axis=1)[::-1, :east]  # north first
        starts = np.clip(high - top[r:r_end], 0, band.shape[0] - 1)
        band = np.maximum.reduceat(band, starts, axis=0)
        out[r:r_end] = np.maximum.reduceat(band, west, axis=1).astype(bool)
    return out


def _pixel_ranges(low: np.ndarray, high: np.ndarray, origin: float, per_degree: float, size: int,
                  flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """First and past-the-last pixel of each span ``[low, high)`` along one axis (at least one)."""
    if flip:  # latitude: pixel rows count down from the north edge
        start = np.floor((origin - high) * per_degree + 1e-9).astype(np.int64)
        stop = np.ceil((origin - low) * per_degree - 1e-9).astype(np.int64)
    else:
        start = np.floor((low - origin) * per_degree + 1e-9).astype(np.int64)
        stop = np.ceil((high - origin) * per_degree - 1e-9).astype(np.int64)
    stop = np.maximum(stop, start + 1)
    return np.clip(start, 0, size - 1), np.clip(stop, 1, size)


def _keep_strongest(pixel: np.ndarray, value: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[pixel] = value`` keeping, per pixel, the value of largest magnitude."""
    order = np.lexsort((np.abs(value), pixel))
    pixel, value = pixel[order], value[order]
    last = np.r_[pixel[1:] != pixel[:-1], True] if pixel.size else np.zeros(0, dtype=bool)
    out[pixel[last]] = value[last]
    return out


def rasterize(layer: Any, pixel_minutes: float = 10, region: tuple[float, float, float, float] = GLOBE) -> np.ndarray:
    """(rows, cols) float64 grid, north first: per pixel the covering weight of largest magnitude."""
    lat0, lat1, lon0, lon1 = region
    rows, cols = grid_shape(region, pixel_minutes)
    grid = np.zeros(rows * cols)
    inside = (layer.lat_high > lat0) & (layer.lat_low < lat1) & (layer.lon_high > lon0) & (layer.lon_low < lon1)
    if not inside.any():
        return grid.reshape(rows, cols)
    per_degree = 60.0 / pixel_minutes
    r0, r1 = _pixel_ranges(layer.lat_low[inside], layer.lat_high[inside], lat1, per_degree, rows, flip=True)
    c0, c1 = _pixel_ranges(layer.lon_low[inside], layer.lon_high[inside], lon0, per_degree, cols, flip=False)
    heights, widths = r1 - r0, c1 - c0
    counts = heights * widths
    cell = np.repeat(np.arange(counts.size), counts)
    offset = np.arange(cell.size) - np.repeat(np.cumsum(counts) - counts, counts)
    pixel = (r0[cell] + offset // widths[cell]) * cols + c0[cell] + offset % widths[cell]
    return _keep_strongest(pixel, layer.weight[inside][cell], grid).reshape(rows, cols)


def rasterize_strip(margin: Any, pixel_minutes: float, region: tuple[float, float, float, float]) -> np.ndarray:
    """1-D grid of a marginal (latitude: one value per pixel row; longitude: per column)."""
    lat0, lat1, lon0, lon1 = region
    rows, cols = grid_shape(region, pixel_minutes)
    lat = margin.axis == "lat"
    origin, lo, hi, size = (lat1, lat0, lat1, rows) if lat else (lon0, lon0, lon1, cols)
    out = np.zeros(size)
    inside = (margin.high > lo) & (margin.low < hi)
    if not inside.any():
        return out
    start, stop = _pixel_ranges(margin.low[inside], margin.high[inside], origin, 60.0 / pixel_minutes, size, flip=lat)
    counts = stop - start
    cell = np.repeat(np.arange(counts.size), counts)
    pixel = start[cell] + np.arange(cell.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return _keep_strongest(pixel, margin.weight[inside][cell], out)


def colorize(grid: np.ndarray, land: np.ndarray | None, scale: float | None = None) -> np.ndarray:
    """RGB uint8 image: background land/ocean/coast, weights blended in by sign and magnitude."""
    image = np.empty(grid.shape + (3,))
    image[:] = OCEAN
    if land is not None:
        image[land] = LAND
        coast = land & ~(
            np.roll(land, 1, 0) & np.roll(land, -1, 0) & np.roll(land, 1, 1) & np.roll(land, -1, 1)
        )
        image[coast] = COAST
    magnitude = np.abs(grid)
    if scale is None:
        nonzero = magnitude[magnitude > 0]
        scale = float(np.quantile(nonzero, 0.98)) if nonzero.size else 1.0
    strength = np.sqrt(np.clip(magnitude / max(scale, 1e-300), 0.0, 1.0))[..., None]
    strength = np.where(magnitude[..., None] > 0, 0.25 + 0.75 * strength, 0.0)
    color = np.where(grid[..., None] > 0, POSITIVE, NEGATIVE)
    image = image * (1 - strength) + color * strength
    return np.round(image).astype(np.uint8)
