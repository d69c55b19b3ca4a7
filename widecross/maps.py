"""Weight maps: the nonzero weights of every latitude x longitude cross, drawn on the globe or a region.

Each cross (1 degree, 10', 1', ...) becomes one equirectangular panel: land in light grey with
darker coastlines (from the 1' land mask shipped in ``widecross/data``), positive weights in red,
negative in blue, intensity by magnitude. The marginal buckets of the crosses' latitude and
longitude columns (the 1' marginals of ``geo_spec``) are drawn as strips along each panel's
right (latitude) and bottom (longitude) edges. ``region=(lat0, lat1, lon0, lon1)`` zooms in,
with pixels small enough that the region fills the panel (a 1-degree city is 1,200 pixels wide).

Exact specs map columns to cells by arithmetic. Hashed specs need the keys recorded from data
(``spec.record(data)``); a column that recorded keys share (a hash collision, or a cell of
another feature) cannot be told apart, so only the cells whose column no other observed key
shares are drawn, and the number left out is reported (``left_out``). That number depends on
the data recorded: more data, more keys, more shared columns.

>>> render_weight_map(model, "map.png", region=(48.6, 49.1, 2.0, 2.7))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._png import write_png
from ._raster import COAST, GLOBE, LAND, NEGATIVE, OCEAN, POSITIVE, colorize, grid_shape, land_mask, rasterize, rasterize_strip

__all__ = ["COAST", "GeoLayer", "LAND", "MarginLayer", "NEGATIVE", "OCEAN", "POSITIVE", "colorize", "geo_layers", "land_mask", "margin_layers", "parse_region",
           "rasterize", "render_weight_map"]

# A zoomed region is drawn this many pixels wide (fewer if that would make it too tall).
REGION_WIDTH_PX, REGION_HEIGHT_PX = 1600, 1000


@dataclass
class GeoLayer:
    """The weighted cells of one lat x lon cross: degree bounds and weight per nonzero.

    ``left_out``: nonzero cells of a hashed model not drawn, their column being shared."""

    name: str
    lat_low: np.ndarray
    lat_high: np.ndarray
    lon_low: np.ndarray
    lon_high: np.ndarray
    weight: np.ndarray
    left_out: int = 0

    @property
    def n_cells(self) -> int:
        return int(self.weight.size)


@dataclass
class MarginLayer:
    """The weighted buckets of one marginal (``axis`` "lat" or "lon"): bounds and weights."""

    name: str
    axis: str
    low: np.ndarray
    high: np.ndarray
    weight: np.ndarray
    left_out: int = 0

    @property
    def n_cells(self) -> int:
        return int(self.weight.size)


def parse_region(text: str | Sequence[float]) -> tuple[float, float, float, float]:
    """``"lat0,lat1,lon0,lon1"`` (or a 4-sequence) as a checked region; ``ValueError`` otherwise.

    >>> parse_region("24.5,49.5,-125,-66.9")
    (24.5, 49.5, -125.0, -66.9)
    """
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        lat0, lat1, lon0, lon1 = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"a region is lat0,lat1,lon0,lon1 in degrees (south, north, west, east), got {text!r}") from None
    if not (-90 <= lat0 < lat1 <= 90 and -180 <= lon0 < lon1 <= 180) or not all(map(math.isfinite, (lat0, lat1, lon0, lon1))):
        raise ValueError(f"a region needs -90 <= lat0 < lat1 <= 90 and -180 <= lon0 < lon1 <= 180, got {text!r}")
    return lat0, lat1, lon0, lon1


def _lat_lon(feature: Any) -> bool:
    components = getattr(feature, "components", ())
    if len(components) != 2 or not all(getattr(c, "boundaries", 0) is None for c in components):
        return False
    lat, lon = components
    return (
        getattr(lat, "start", None) is not None and getattr(lon, "start", None) is not None
        and -90 <= lat.start and lat.stop <= 90
        and -180 <= lon.start and lon.stop <= 180
    )


def _decoded(model: Any, keys: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(feature, buckets, weight, shared)`` of the model's nonzero weights; ``shared`` marks the
    keys of hashed columns that other recorded keys share (exact specs: none)."""
    spec = model.spec
    if spec is None:
        raise ValueError("this model has no feature spec: nothing ties its columns to places")
    columns = np.asarray(model.indices, dtype=np.int64)
    values = np.asarray(model.values, dtype=np.float64)
    if spec.bits is None:
        feature, buckets = spec.decode(columns)
        return feature, buckets, values, np.zeros(values.size, dtype=bool)
    if keys is None:
        raise ValueError(
            f"this model hashes into 2**{spec.bits} columns: drawing it needs the keys seen in "
            "data (pass data to record them)"
        )
    position, feature, buckets = keys.decode(columns)
    shared = np.bincount(position, minlength=columns.size)[position] > 1
    return feature, buckets, values[position], shared


def geo_layers(model: Any, keys: Any = None) -> list[GeoLayer]:
    """The lat x lon crosses of ``model.spec`` with the cells of its nonzero weights."""
    feature, buckets, weight, shared = _decoded(model, keys)
    layers = []
    for f, feat in enumerate(model.spec.features):
        if not _lat_lon(feat):
            continue
        mine = feature == f
        rows = mine & ~shared
        lat_c, lon_c = feat.components
        lat_low, lat_high = lat_c.edges(buckets[rows, 0])
        lon_low, lon_high = lon_c.edges(buckets[rows, 1])
        layers.append(GeoLayer(feat.name, lat_low, lat_high, lon_low, lon_high, weight[rows], int((mine & shared).sum())))
    if not layers:
        raise ValueError("the model's spec has no latitude x longitude cross to draw")
    return layers


def margin_layers(model: Any, keys: Any = None) -> list[MarginLayer]:
    """The nonzero buckets of the spec's own bucketizers of the crosses' latitude and longitude
    columns (the marginals), in spec order."""
    spec = model.spec
    crosses = [f for f in spec.features if _lat_lon(f)]
    axes = {c.components[0].column: "lat" for c in crosses} | {c.components[1].column: "lon" for c in crosses}
    feature, buckets, weight, shared = _decoded(model, keys)
    out = []
    for f, feat in enumerate(spec.features):
        column = getattr(feat, "column", None)
        if column not in axes or getattr(feat, "boundaries", 0) is not None or not hasattr(feat, "edges"):
            continue
        mine = feature == f
        rows = mine & ~shared & (buckets[:, 0] < feat.n_buckets)  # the out-of-range bucket has no place
        low, high = feat.edges(buckets[rows, 0])
        out.append(MarginLayer(feat.name, axes[column], low, high, weight[rows], int((mine & shared).sum())))
    return out


def _pixel_minutes(pixel_minutes: float | None, region: tuple[float, float, float, float] | None) -> float:
    if region is None:
        if pixel_minutes is None:
            return 10
        if pixel_minutes < 1 or 10800 % pixel_minutes:
            raise ValueError(f"pixel_minutes must divide 10800 (180 degrees), got {pixel_minutes}")
        return pixel_minutes
    if pixel_minutes is not None:
        if not pixel_minutes > 0:
            raise ValueError(f"pixel_minutes must be positive, got {pixel_minutes}")
        return pixel_minutes
    lat0, lat1, lon0, lon1 = region
    return max((lon1 - lon0) * 60 / REGION_WIDTH_PX, (lat1 - lat0) * 60 / REGION_HEIGHT_PX)


def render_weight_map(
    model: Any, path: str | os.PathLike[str], pixel_minutes: float | None = None, keys: Any = None,
    region: Sequence[float] | str | None = None,
) -> tuple[Path, list[GeoLayer]]:
    """Draw every lat x lon cross of ``model`` as a panel of one PNG; returns the path and layers.

    ``region``: ``(lat0, lat1, lon0, lon1)`` to draw (default the globe). ``pixel_minutes``:
    arc-minutes per pixel (default 10 for the globe, 2160 x 1080 pixels a panel; for a region,
    what makes it about 1,600 pixels wide). Marginal strips along the panels' edges. With
    matplotlib the panels get titles and axes; without it the PNG is written directly.
    """
    box = GLOBE if region is None else parse_region(region)
    pixel_minutes = _pixel_minutes(pixel_minutes, None if region is None else box)
    layers = geo_layers(model, keys)
    margins = margin_layers(model, keys)
    land = land_mask(pixel_minutes, box)
    images = [colorize(rasterize(layer, pixel_minutes, box), land) for layer in layers]
    strips = {m.axis: m for m in margins}
    lat_strip = rasterize_strip(strips["lat"], pixel_minutes, box) if "lat" in strips else None
    lon_strip = rasterize_strip(strips["lon"], pixel_minutes, box) if "lon" in strips else None
    path = Path(path)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return write_png(path, _stack(images, lat_strip, lon_strip)), layers
    from ._map_figure import draw_panels

    figure = draw_panels(plt, images, layers, box, lat_strip, lon_strip, strips)
    tmp = path.with_name(path.name + ".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, path)
    return path, layers


def _stack(images: list[np.ndarray], lat_strip: np.ndarray | None, lon_strip: np.ndarray | None) -> np.ndarray:
    """Panels one below the other, each with its strips (12 pixels) right and below."""
    width = 12
    parts = []
    for image in images:
        rows, cols = image.shape[:2]
        right = colorize(np.repeat(lat_strip[:, None], width, axis=1), None) if lat_strip is not None else None
        below = colorize(np.repeat(lon_strip[None, :], width, axis=0), None) if lon_strip is not None else None
        panel = np.full((rows + width + 2, cols + width + 2, 3), 255, dtype=np.uint8)
        panel[:rows, :cols] = image
        if right is not None:
            panel[:rows, cols + 2:] = right
        if below is not None:
            panel[rows + 2:, :cols] = below
        parts += [panel, np.full((8, cols + width + 2, 3), 255, dtype=np.uint8)]
    return np.concatenate(parts[:-1])


def region_shape(region: Sequence[float] | str, pixel_minutes: float | None = None) -> tuple[int, int]:
    """Pixels (rows, cols) of one panel of ``region`` at ``pixel_minutes`` (default: fitted)."""
    box = parse_region(region)
    return grid_shape(box, _pixel_minutes(pixel_minutes, box))
