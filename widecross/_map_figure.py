"""The matplotlib figure of a weight map: one titled panel per cross, marginal strips at its edges."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._raster import colorize


def _title(layer: Any) -> str:
    positive = int((layer.weight > 0).sum())
    text = (f"{layer.name}: {layer.n_cells:,} nonzero cells ({positive:,} positive in red, "
            f"{layer.n_cells - positive:,} negative in blue)")
    if layer.left_out:
        text += f"; {layer.left_out:,} left out (hashed columns shared with another recorded key)"
    return text


def _strip_label(margin: Any) -> str:
    positive = int((margin.weight > 0).sum())
    text = f"{margin.name}: {margin.n_cells:,} nonzero ({positive:,} +)"
    return text + (f", {margin.left_out:,} left out" if margin.left_out else "")


def draw_panels(plt: Any, images: list[np.ndarray], layers: list[Any], box: tuple[float, float, float, float],
                lat_strip: np.ndarray | None, lon_strip: np.ndarray | None, margins: dict[str, Any]) -> Any:
    """A figure of the panels, each with the latitude marginal on its right and the longitude
    marginal below (the same strips under every panel: they belong to no single cross)."""
    lat0, lat1, lon0, lon1 = box
    rows, cols = images[0].shape[:2]
    # Layout in inches: a title, the panel, its longitude strip and tick labels, per panel.
    width, left, right, strip, gap = 12.0, 0.6, 0.45, 0.22, 0.06
    map_width = width - left - right - strip - gap
    map_height = map_width * rows / cols
    title, ticks, foot = 0.32, 0.3, 0.3
    block = title + map_height + gap + strip + ticks
    height = block * len(images) + foot
    figure = plt.figure(figsize=(width, height))
    extent = (lon0, lon1, lat0, lat1)
    lat_image = colorize(lat_strip[:, None], None) if lat_strip is not None else None
    lon_image = colorize(lon_strip[None, :], None) if lon_strip is not None else None

    def box_of(x: float, y_top: float, w: float, h: float) -> list[float]:
        return [x / width, 1 - (y_top + h) / height, w / width, h / height]

    for k, (image, layer) in enumerate(zip(images, layers)):
        top = k * block + title
        axis = figure.add_axes(box_of(left, top, map_width, map_height))
        axis.imshow(image, extent=extent, interpolation="nearest", aspect="auto")
        axis.set_title(_title(layer), fontsize=9)
        axis.tick_params(labelsize=7, labelbottom=lon_image is None)
        if lat_image is not None:
            side = figure.add_axes(box_of(left + map_width + gap, top, strip, map_height), sharey=axis)
            side.imshow(lat_image, extent=(0, 1, lat0, lat1), interpolation="nearest", aspect="auto")
            side.set_xticks([])
            side.tick_params(labelleft=False, left=False)
        if lon_image is not None:
            below = figure.add_axes(box_of(left, top + map_height + gap, map_width, strip), sharex=axis)
            below.imshow(lon_image, extent=(lon0, lon1, 0, 1), interpolation="nearest", aspect="auto")
            below.set_yticks([])
            below.tick_params(labelsize=7)
    notes = [_strip_label(m) for m in margins.values()]
    if notes:
        figure.text(left / width, 0.35 * foot / height, "marginal strips: " + "; ".join(notes)
                    + " (latitude on the right, longitude below)", fontsize=7)
    return figure
