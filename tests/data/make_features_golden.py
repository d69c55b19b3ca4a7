"""Regenerate the golden featurization cases that pin feature spec format version 1.

Each case is a spec's JSON, raw column values and the CSR the spec makes of them. A model file
carries its spec, so these columns are what a saved model reads: the file was written once from
the featurizer of format version 1 and must never change. Run
``python tests/data/make_features_golden.py`` only for a deliberate format change (and then as a
new file next to this one, keeping the old cases).

Column values are JSON: numbers, strings, ``null``; the strings ``"nan"``, ``"inf"`` and
``"-inf"`` stand for those floats in numeric columns (``"column_types"`` says which columns are
numeric, string, integer or mixed object columns).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "features_golden_v1.json"


def _numeric_json(values: np.ndarray) -> list:
    out = []
    for v in values.tolist():
        out.append(("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")) if not math.isfinite(v) else v)
    return out


def numeric_from_json(values: list) -> np.ndarray:
    return np.array([float(v) if isinstance(v, str) else v for v in values], dtype=np.float64)


def columns_from_json(case: dict) -> dict[str, np.ndarray]:
    """The raw columns of a case as the arrays the featurizer was given."""
    out = {}
    for name, kind in case["column_types"].items():
        values = case["columns"][name]
        if kind == "float":
            out[name] = numeric_from_json(values)
        elif kind == "int":
            out[name] = np.array(values, dtype=np.int64)
        else:  # "str" (with nulls) and "object" (strings and integers mixed)
            out[name] = np.array(values, dtype=object)
    return out


def _geo_points(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    lat = rng.uniform(-90, 90, n)
    lon = rng.uniform(-180, 180, n)
    # Poles, the antimeridian, -0.0 and bucket edges: where conventions show.
    lat[:6] = [90.0, -90.0, -0.0, 0.0, 48.8566, 1 / 60]
    lon[:6] = [180.0, -180.0, -0.0, 179.99999999, 2.3522, -1 / 60]
    return {"lat": lat, "lon": lon}


def cases() -> list[dict]:
    from widecross.features import Bucketize, Categorical, Cross, FeatureSpec, geo_spec

    rng = np.random.default_rng(20261204)
    geo = _geo_points(rng, 40)
    cities = ["oslo", "lima", "", "東京", "São Paulo", "a,b", "7"]
    n = 30
    mixed_cols = {
        "x": rng.uniform(-2.0, 12.0, n),
        "y": rng.uniform(0.0, 5.0, n),
        "city": np.array([cities[i] for i in rng.integers(0, len(cities), n)], dtype=object),
        "code": rng.integers(-5, 40, n).astype(np.int64),
    }
    mixed_cols["z"] = rng.uniform(-1.5, 11.0, n)
    mixed_cols["x"][:4] = [-np.inf, -3.0, 12.0, 1e9]  # out of range: clipped
    mixed_cols["z"][:4] = [np.nan, np.inf, -1.0, 10.0]  # NaN, inf and the ends: the extra bucket / edges
    lenient_cols = dict(mixed_cols)
    lenient_cols["city"] = mixed_cols["city"].copy()
    lenient_cols["city"][[3, 8]] = None  # missing values -> the unknown bucket
    lenient_cols["city"][5] = "not in the vocabulary"
    object_cols = {"tag": np.array(["7", 7, "x", -1, 2**40, "", "x", 7], dtype=object)}

    x_clip = Bucketize("x", -2.0, 12.0, 0.5, out_of_range="clip")
    x_bucket = Bucketize("z", boundaries=[-1.0, 0.0, 0.5, 2.0, 10.0], out_of_range="bucket")
    x_open = Bucketize("z", boundaries=[-np.inf, 0.0, 3.0, np.inf], out_of_range="bucket")
    y_wrap = Bucketize("y", 0.0, 5.0, n_buckets=7, wrap=True)
    city_hash = Categorical("city", unknown="bucket")
    city_mod = Categorical("city", 13, unknown="bucket")
    city_vocab = Categorical("city", vocabulary=["lima", "oslo", "", "東京", "São Paulo", "a,b", "7"], unknown="bucket")
    code_vocab = Categorical("code", vocabulary=[3, -5, 17, 39, 0], unknown="bucket")
    code_mod = Categorical("code", 11)
    bounded = [x_clip, x_bucket, x_open, y_wrap, city_mod, city_vocab, code_vocab, code_mod,
               Cross(city_vocab, x_clip), Cross(code_mod, y_wrap, city_mod, name="code x y x city"),
               Cross(x_bucket, y_wrap)]
    hashed_only = [city_hash, Cross(city_hash, code_mod), Cross(city_hash, Categorical("code", unknown="bucket"))]

    specs = [
        ("geo exact", geo_spec(bits=None), geo),
        ("geo 2^24", geo_spec(bits=24), geo),
        ("geo 2^20 seed 7 clip", geo_spec(lat="lat", lon="lon", resolutions=(30, 5, 0.5), bits=20, seed=7,
                                         out_of_range="clip"), geo),
        ("mixed exact", FeatureSpec(bounded, bits=None), lenient_cols),
        ("mixed 2^18", FeatureSpec(bounded + hashed_only, bits=18, seed=3), lenient_cols),
        ("mixed 2^40", FeatureSpec(bounded + hashed_only, bits=40, seed=2**64 - 1), lenient_cols),
        ("mixed 2^6 collisions", FeatureSpec(bounded + hashed_only, bits=6), lenient_cols),
        ("object column 2^30", FeatureSpec([Categorical("tag"), Categorical("tag", 5, name="tag5")], bits=30),
         object_cols),
    ]
    out = []
    for label, spec, cols in specs:
        used = {c: cols[c] for c in spec.columns}
        X = spec.transform(used)
        types, jcols = {}, {}
        for name, values in used.items():
            if values.dtype.kind == "f":
                types[name], jcols[name] = "float", _numeric_json(values)
            elif values.dtype.kind in "iu":
                types[name], jcols[name] = "int", values.tolist()
            else:
                kinds = {type(v).__name__ for v in values if v is not None}
                types[name] = "str" if kinds <= {"str"} else "object"
                jcols[name] = list(values)
        out.append({
            "label": label,
            "spec": spec.to_json(),
            "n_features": int(spec.n_features),
            "column_types": types,
            "columns": jcols,
            "indptr": X.indptr.tolist(),
            "indices": X.indices.tolist(),
            "data": X.data.tolist(),
        })
    return out


def main() -> int:
    sys.path.insert(0, str(HERE.parents[1]))
    payload = {
        "about": "feature spec format v1: spec JSON + raw columns -> CSR; written once, never regenerated",
        "cases": cases(),
    }
    OUT.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT.name}: {len(payload['cases'])} cases, {OUT.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
