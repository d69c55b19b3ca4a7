"""The bytes of a training checkpoint: the container of model files around optimizer state.

A checkpoint holds what continuing a training run needs and a model file leaves out: the
optimizer's per-slot records (weights or FTRL's ``z``, clocks, AdaGrad / curvature sums, ``n``)
for the columns touched, its scalars (step counts, clocks, intercept state) and, in the JSON
metadata, the estimator's parameters, fitted attributes and random generator state. Layout::

    magic "\\x89WCK\\r\\n\\x1a\\n", version 1, the section table (tag, length, CRC32) and its CRC32,
    META  JSON (UTF-8): whatever the caller stores, plus the arrays' shapes
    COLS  int64 little-endian: the column id of each stored record
    RECS  float64 little-endian, (n_stored, record_width) row-major
    SCAL  float64 little-endian: the optimizer's scalars

It is read with the model reader's checks (magic, version, table CRC, sizes that add up to the
file's exactly, each section's CRC) and then the arrays' sizes must equal what META announces,
so nothing is allocated from an unchecked claim; nothing is unpickled. The deployable model file
stays weights-only: a checkpoint is a different magic, which the model reader names when handed one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import file_format
from .file_format import ModelFormatError

MAGIC = b"\x89WCK\r\n\x1a\n"
VERSION = 1
SECTIONS = (b"META", b"COLS", b"RECS", b"SCAL")
_ARRAYS = (("columns", "<i8", 1), ("records", "<f8", 2), ("scalars", "<f8", 1))


def save(path: str | os.PathLike[str], meta: dict[str, Any], columns: np.ndarray, records: np.ndarray,
         scalars: np.ndarray) -> Path:
    """Write a checkpoint atomically (temporary file, fsync, rename)."""
    arrays = {"columns": columns, "records": records, "scalars": scalars}
    shapes = {name: list(arrays[name].shape) for name, _, _ in _ARRAYS}
    body = json.dumps({**meta, "arrays": shapes}, sort_keys=True, separators=(",", ":"), allow_nan=False)
    sections = [body.encode("utf-8")]
    sections += [np.ascontiguousarray(arrays[name], dtype=dtype).tobytes() for name, dtype, _ in _ARRAYS]
    return file_format.write_atomic(path, file_format.frame(MAGIC, VERSION, SECTIONS, sections))


def load(path: str | os.PathLike[str]) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """(meta, columns, records, scalars) of a checkpoint; ``ModelFormatError`` if it is bad."""
    name = str(path)

    def fail(message: str) -> ModelFormatError:
        return ModelFormatError(f"{name}: {message}")

    f, size = file_format.open_regular(path)
    with f:
        if f.read(len(file_format.MAGIC)) == file_format.MAGIC:
            raise fail("this is a widecross model file (weights only), not a training checkpoint")
        f.seek(0)
        _, entries = file_format.read_header(f, size, fail, MAGIC, {VERSION: SECTIONS})
        (_, meta_len, meta_crc), *array_entries = entries
        meta = _meta(file_format.read_section(f, meta_len, meta_crc, "META", fail), fail)
        out = []
        for (spec_name, dtype, ndim), (tag, length, crc) in zip(_ARRAYS, array_entries):
            shape = meta["arrays"][spec_name]
            if len(shape) != ndim or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
                raise fail(f"the {spec_name} array has an impossible shape {shape!r}")
            if int(np.prod(shape, dtype=object)) * 8 != length:
                raise fail(f"the {tag.decode()} section holds {length} bytes, not the {shape} array the metadata "
                           "announces")
            data = file_format.read_section(f, length, crc, tag.decode(), fail)
            out.append(np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype[1:], copy=True))
    columns, records, scalars = out
    if records.shape[0] != columns.shape[0]:
        raise fail(f"{records.shape[0]} records for {columns.shape[0]} columns")
    if not (np.isfinite(records).all() and np.isfinite(scalars).all()):
        raise fail("the optimizer state holds NaN or infinity")
    return meta, columns, records, scalars


def _meta(data: memoryview, fail: Any) -> dict[str, Any]:
    try:
        meta = json.loads(bytes(data).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise fail(f"the metadata is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("arrays"), dict) or \
            not all(isinstance(meta["arrays"].get(n), list) for n, _, _ in _ARRAYS):
        raise fail("the metadata is not a checkpoint's (no array shapes)")
    return meta
