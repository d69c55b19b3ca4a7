"""Weight maps: the nonzero weights of every latitude x longitude cross, drawn on the globe.

Each cross (1 degree, 10', 1', ...) becomes one equirectangular panel: land in light grey with
darker coastlines (from the 1' land mask shipped in ``widecross/data``), positive weights in red,
negative in blue, intensity by magnitude. Cells finer than a pixel are pooled by the weight of
largest magnitude, so a lone strong 1' cell stays visible. Exact specs map columns to cells by
arithmetic; hashed specs need the keys recorded from data (``spec.record(data)``), and a column
shared by several cells paints all of them.

>>> render_weight_map(model, "map.png")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._png import write_png

OCEAN = np.array([248, 250, 253], dtype=np.float64)
LAND = np.array([225, 225, 222], dtype=np.float64)
COAST = np.array([150, 150, 150], dtype=np.float64)
POSITIVE = np.array([200, 20, 30], dtype=np.float64)
NEGATIVE = np.array([25, 70, 200], dtype=np.float64)


@dataclass
class GeoLayer:
    """The weighted cells of one lat x lon cross: degree bounds and weight per nonzero."""

    name: str
    lat_low: np.ndarray
    lat_high: np.ndarray
    lon_low: np.ndarray
    lon_high: np.ndarray
    weight: np.ndarray

    @property
    def n_cells(self) -> int:
        return int(self.weight.size)


def _is_lat_lon_cross(feature: Any) -> bool:
    components = getattr(feature, "components", ())
    if len(components) != 2 or not all(getattr(c, "boundaries", 0) is None for c in components):
        return False
    lat, lon = components
    return (
        getattr(lat, "start", None) is not None
        and -90 <= lat.start and lat.stop <= 90
        and -180 <= lon.start and lon.stop <= 180
    )


def geo_layers(model: Any, keys: Any = None) -> list[GeoLayer]:
    """The lat x lon crosses of ``model.spec`` with the cells of its nonzero weights."""
    spec = model.spec
    if spec is None:
        raise ValueError("this model has no feature spec: nothing ties its columns to places")
    columns = np.asarray(model.indices, dtype=np.int64)
    values = np.asarray(model.values, dtype=np.float64)
    if spec.bits is None:
        feature, buckets = spec.decode(columns)
        weight = values
    else:
        if keys is None:
            raise ValueError(
                f"this model hashes into 2**{spec.bits} columns: drawing it needs the keys seen in "
                "data (pass data to record them)"
            )
        position, feature, buckets = keys.decode(columns)
        weight = values[position]
    layers = []
    for f, feat in enumerate(spec.features):
        if not _is_lat_lon_cross(feat):
            continue
        rows = feature == f
        lat_c, lon_c = feat.components
        lat_low, lat_high = lat_c.edges(buckets[rows, 0])
        lon_low, lon_high = lon_c.edges(buckets[rows, 1])
        layers.append(GeoLayer(feat.name, lat_low, lat_high, lon_low, lon_high, weight[rows]))
    if not layers:
        raise ValueError("the model's spec has no latitude x longitude cross to draw")
    return layers


def land_mask(pixel_minutes: int) -> np.ndarray | None:
    """(rows, cols) boolean land grid at ``pixel_minutes`` per pixel, north first; None if absent."""
    try:
        source = resources.files("widecross").joinpath("data/land_minute.npz")
        with resources.as_file(source) as path, np.load(path, allow_pickle=False) as data:
            bits = data["bits"]
    except (FileNotFoundError, OSError, KeyError):
        return None
    # Unpack a band of pixel rows at a time: the whole 1' grid unpacked is 233 MB.
    rows, cols = bits.shape[0] // pixel_minutes, bits.shape[1] * 8 // pixel_minutes
    band = max(1, 600 // pixel_minutes)
    out = np.empty((rows, cols), dtype=bool)
    for start in range(0, rows, band):
        stop = min(rows, start + band)
        block = np.unpackbits(bits[start * pixel_minutes : stop * pixel_minutes], axis=1)
        out[start:stop] = block.reshape(stop - start, pixel_minutes, cols, pixel_minutes).any(axis=(1, 3))
    return out[::-1]  # the file is south first; images are north first


def rasterize(layer: GeoLayer, pixel_minutes: int) -> np.ndarray:
    """(rows, cols) float64 grid, north first: per pixel the covering weight of largest magnitude."""
    rows, cols = 180 * 60 // pixel_minutes, 360 * 60 // pixel_minutes
    grid = np.zeros(rows * cols)
    if layer.n_cells == 0:
        return grid.reshape(rows, cols)
    per_degree = 60.0 / pixel_minutes
    # Pixel rectangles [r0, r1) x [c0, c1); a cell smaller than a pixel covers the one it starts in.
    r0 = np.floor((90.0 - layer.lat_high) * per_degree + 1e-9).astype(np.int64)
    r1 = np.maximum(np.ceil((90.0 - layer.lat_low) * per_degree - 1e-9).astype(np.int64), r0 + 1)
    c0 = np.floor((layer.lon_low + 180.0) * per_degree + 1e-9).astype(np.int64)
    c1 = np.maximum(np.ceil((layer.lon_high + 180.0) * per_degree - 1e-9).astype(np.int64), c0 + 1)
    r0, r1 = np.clip(r0, 0, rows - 1), np.clip(r1, 1, rows)
    c0, c1 = np.clip(c0, 0, cols - 1), np.clip(c1, 1, cols)
    heights, widths = r1 - r0, c1 - c0
    counts = heights * widths
    cell = np.repeat(np.arange(layer.n_cells), counts)
    offset = np.arange(cell.size) - np.repeat(np.cumsum(counts) - counts, counts)
    pixel = (r0[cell] + offset // widths[cell]) * cols + c0[cell] + offset % widths[cell]
    value = layer.weight[cell]
    # Keep, per pixel, the value of largest magnitude: sort by (pixel, |value|), take the last.
    order = np.lexsort((np.abs(value), pixel))
    pixel, value = pixel[order], value[order]
    last = np.r_[pixel[1:] != pixel[:-1], True]
    grid[pixel[last]] = value[last]
    return grid.reshape(rows, cols)


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


def render_weight_map(
    model: Any, path: str | os.PathLike[str], pixel_minutes: int = 10, keys: Any = None
) -> tuple[Path, list[GeoLayer]]:
    """Draw every lat x lon cross of ``model`` as a panel of one PNG; returns the path and layers.

    ``pixel_minutes`` sets the resolution (10 -> 2160 x 1080 pixels a panel). With matplotlib
    installed the panels get titles; without it the PNG is written directly, panels stacked from
    the coarsest cross down.
    """
    if 10800 % pixel_minutes or pixel_minutes < 1:
        raise ValueError(f"pixel_minutes must divide 10800 (180 degrees), got {pixel_minutes}")
    layers = geo_layers(model, keys)
    land = land_mask(pixel_minutes)
    images = [colorize(rasterize(layer, pixel_minutes), land) for layer in layers]
    path = Path(path)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        gap = np.full((8, images[0].shape[1], 3), 255, dtype=np.uint8)
        stacked = np.concatenate([part for image in images for part in (image, gap)][:-1])
        return write_png(path, stacked), layers
    aspect = images[0].shape[0] / images[0].shape[1]
    figure, axes = plt.subplots(len(images), 1, figsize=(12, 12 * aspect * len(images) + 0.5 * len(images)))
    for axis, image, layer in zip(np.atleast_1d(axes), images, layers):
        axis.imshow(image, extent=(-180, 180, -90, 90), interpolation="nearest")
        positive = int((layer.weight > 0).sum())
        axis.set_title(
            f"{layer.name}: {layer.n_cells:,} nonzero cells ({positive:,} positive in red, "
            f"{layer.n_cells - positive:,} negative in blue)",
            fontsize=10,
        )
        axis.set_xticks(range(-180, 181, 60))
        axis.set_yticks(range(-90, 91, 30))
        axis.tick_params(labelsize=7)
    figure.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, path)
    return path, layers
