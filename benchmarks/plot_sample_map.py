"""Render a world map of a data_gen sample as a PNG, to see that houses sit where people live.

    python benchmarks/plot_sample_map.py --rows 1000000 --out map.png

Background: the 1' land mask, downsampled (grey = land share of each pixel, dark blue = sea).
Houses: number per pixel on a logarithmic colour ramp from dark red (one house) to pale yellow
(the densest pixel). Equirectangular projection, north up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import numpy as np  # noqa: E402

SEA = np.array([16, 26, 44], dtype=np.float64)
LAND = np.array([78, 82, 88], dtype=np.float64)
# Colour ramp for house density: dark red -> orange -> pale yellow.
RAMP = np.array([[120, 20, 10], [230, 90, 20], [255, 190, 60], [255, 250, 200]], dtype=np.float64)


def land_share(width: int) -> np.ndarray:
    """(width // 2, width) float: share of land 1' cells in each pixel, row 0 = south."""
    from data_gen._world import load_land_bits

    factor = 21_600 // width
    bits = load_land_bits()
    height = width // 2
    share = np.empty((height, width), dtype=np.float64)
    band = factor * max(1, 600 // factor)  # unpack a band of rows at a time (bounded memory)
    for row0 in range(0, 10_800, band):
        cells = np.unpackbits(bits[row0 : row0 + band], axis=1)
        rows = cells.shape[0] // factor
        blocks = cells.reshape(rows, factor, width, factor).sum(axis=(1, 3), dtype=np.int64)
        share[row0 // factor : row0 // factor + rows] = blocks / float(factor * factor)
    return share


def ramp(t: np.ndarray) -> np.ndarray:
    """Map t in [0, 1] to RGB along RAMP (piecewise linear)."""
    position = np.clip(t, 0.0, 1.0) * (len(RAMP) - 1)
    low = np.minimum(position.astype(np.int64), len(RAMP) - 2)
    frac = (position - low)[..., None]
    return RAMP[low] * (1.0 - frac) + RAMP[low + 1] * frac


def render(lat: np.ndarray, lon: np.ndarray, width: int) -> np.ndarray:
    """(height, width, 3) uint8 image, row 0 = north."""
    height = width // 2
    land = land_share(width)
    image = SEA + land[..., None] * (LAND - SEA)
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    row = np.minimum(((lat[ok] + 90.0) * (height / 180.0)).astype(np.int64), height - 1)
    col = ((lon[ok] + 180.0) * (width / 360.0)).astype(np.int64) % width
    counts = np.bincount(row * width + col, minlength=height * width).reshape(height, width)
    has = counts > 0
    if has.any():
        t = np.log1p(counts[has]) / np.log1p(counts.max())
        image[has] = ramp(0.15 + 0.85 * t)
    return np.clip(np.round(image[::-1]), 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="houses to draw (default 1,000,000)")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world-seed", type=int, default=0)
    parser.add_argument(
        "--width", type=int, default=1440, help="image width in pixels; 21600 must divide by it (default 1440)"
    )
    args = parser.parse_args(argv)
    if args.width < 2 or args.width % 2 or 21_600 % args.width:
        parser.error(f"--width must be even and divide 21600 (e.g. 360, 720, 1440, 2160), got {args.width}")

    import data_gen
    from widecross._png import write_png

    rows = data_gen.generate_housing(args.rows, seed=args.seed, world_seed=args.world_seed)
    image = render(rows["lat"], rows["lon"], args.width)
    path = write_png(args.out, image)
    print(f"wrote {path} ({args.width} x {args.width // 2} pixels, {args.rows:,} houses)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
