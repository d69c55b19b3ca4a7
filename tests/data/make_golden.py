"""Regenerate the golden model files that pin model file format version 1.

Run ``python tests/data/make_golden.py`` only when the format changes on purpose (and bump
``widecross.export.FORMAT_VERSION``, keeping a reader for the old version). The test suite loads
these files, checks every decoded number against :func:`golden_models`, and saves the same
models again expecting the very same bytes.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LIBRARY_VERSION = "0.1.0"  # recorded in the files; the test re-saves with this version string


def golden_models() -> dict[str, tuple[object, str]]:
    """name -> (SparseModel, value encoding). Built from explicit formulas: no randomness."""
    from widecross.model import SparseModel

    i = np.arange(48)
    # Clustered ids (runs of neighbours) and spread ones, as in a geo model at 2**24.
    idx = np.unique(np.concatenate([3 + i[:16], 5_000 + 7 * i[:16], (i[:16] + 1) * 1_000_003]))
    k = np.arange(idx.size)
    # Weights over nine binades, both signs, a few tiny ones (float16 keeps them nonzero).
    values = ((-1.0) ** k * (1 + (k % 5) / 8) * 2.0 ** -(k % 9)).astype(np.float32)
    values[[7, 30]] = [3e-9, -1e-8]
    meta = {"l1": 1e-6, "epochs": 5, "optimizer": "sgd", "note": "golden model, format v1"}
    base = dict(intercept=-0.375, n_features=2**24, loss="logistic", classes=["cheap", "dear"], metadata=meta)
    models = {enc: (SparseModel(idx, values, **base), enc) for enc in ("float32", "float16", "q8")}
    # More distinct weights than q8 levels, so the codebook comes from Lloyd's iterations.
    j = np.arange(600)
    many = (((j * 7919) % 1001 - 500) / 256.0).astype(np.float32)
    many[many == 0] = 1 / 1024
    models["q8_lloyd"] = (SparseModel(j * 97 + 11, many, 0.0, 2**16, "logistic", metadata={}), "q8")
    # 2**40 columns: int64 ids and escaped (huge) gaps; a regression loss without classes.
    wide_idx = np.array([0, 1, 2**33, 2**33 + 64, 2**39, 2**40 - 1], dtype=np.int64)
    wide_val = np.array([0.5, -0.25, 1.5, 1e-3, -7.0, 2.0], dtype=np.float32)
    models["wide_float32"] = (SparseModel(wide_idx, wide_val, 1.25, 2**40, "squared", metadata={}), "float32")
    return models


def path_of(name: str) -> Path:
    return HERE / f"golden_v1_{name}.wcm"


def main() -> int:
    from widecross import export
    from widecross.model import file_format

    file_format._library_version = lambda: LIBRARY_VERSION  # pin what the files record
    for name, (model, encoding) in golden_models().items():
        export.save(model, path_of(name), values=encoding)
        print(f"wrote {path_of(name).name}: {path_of(name).stat().st_size} bytes")
    facts = {"library_version": LIBRARY_VERSION, "zlib_runtime_version": zlib.ZLIB_RUNTIME_VERSION}
    (HERE / "golden_v1.json").write_text(json.dumps(facts, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
