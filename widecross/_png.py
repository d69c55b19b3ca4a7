"""A minimal PNG writer (RGB or RGBA uint8 arrays), so weight maps need no plotting library."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def encode_png(pixels: np.ndarray) -> bytes:
    """Encode an (height, width, 3 or 4) uint8 array as PNG bytes; row 0 is the top of the image."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"expected a (height, width, 3|4) uint8 array, got {pixels.dtype} {pixels.shape}")
    height, width, channels = pixels.shape
    color_type = 2 if channels == 3 else 6
    # Filter type 0 (None) on every scanline: a leading zero byte per row.
    raw = np.zeros((height, 1 + width * channels), dtype=np.uint8)
    raw[:, 1:] = pixels.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"".join(
        [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)), _chunk(b"IEND", b"")]
    )


def write_png(path: str | os.PathLike, pixels: np.ndarray) -> Path:
    """Write ``pixels`` as a PNG file atomically (temp file then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(encode_png(pixels))
    os.replace(tmp, path)
    return path
