"""Regenerate the test vectors of the model file format and its featurizer (docs/format.md).

    python tests/data/make_c_vectors.py

Each vector is a model file ``c_<name>.wcm`` written by widecross, the raw rows it is scored on
(``c_geo_rows.csv`` or ``c_mixed_rows.csv``, with a header naming the columns) and
``c_<name>_expected.csv``: the margin and the prediction Python's reader makes of every row
(``%.17g``). The vectors cover exact and hashed specs, the float32 / float16 / q8 value codecs,
numeric and categorical columns (vocabularies of strings, of integers and of both, hash buckets,
the unbounded hash), every out-of-range and unknown-value policy, crosses of two and three
components, longitude wrap, and the logistic, squared and poisson losses.

Everything is built from integer formulas (no random generator whose stream could change), so
the same widecross writes the same bytes: ``tests/c/test_c_reader.py`` regenerates the vectors and
compares. ``c_vectors.json`` lists them with the zlib that deflated them (another zlib build may
deflate differently; the decoded contents must still match).
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
LIBRARY_VERSION = "0.1.0"  # recorded in the files, pinned so that a release does not change them
MASK64 = (1 << 64) - 1

CITIES = [  # (lat, lon) of places spread over both hemispheres and both sides of the date line
    (48.8566, 2.3522), (-12.0464, -77.0428), (35.6762, 139.6503), (-33.8688, 151.2093),
    (64.1466, -21.9426), (-1.2921, 36.8219), (21.3069, -157.8583), (61.2181, -149.9003),
    (-18.1248, 178.4501), (-13.8506, -171.7513), (-54.8019, -68.303), (78.2232, 15.6267),
]
CITY_NAMES = ["Paris", "Lima", "Zürich", "São Paulo", "Washington, D.C.", 'The "Big" Apple']
PROPERTY_TYPES = ["flat", "house", "villa", "cabin", "loft"]


def unit(i: int, salt: int) -> float:
    """A reproducible number in [0, 1) from (i, salt): splitmix64 in Python integers."""
    z = (i * 0x9E3779B97F4A7C15 + salt * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return ((z ^ (z >> 31)) >> 11) / 2.0**53


def wrap_lon(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


# ---------------------------------------------------------------------- specs
def geo_specs() -> dict[str, Any]:
    import widecross as wc

    return {"exact": wc.geo_spec(bits=None), "hashed": wc.geo_spec(bits=20, seed=7)}


def mixed_spec(hashed: bool) -> Any:
    """Numeric and categorical columns under every policy; the hashed variant adds unbounded ids."""
    from widecross.features import Bucketize, Categorical, Cross, FeatureSpec

    lat = Bucketize("lat", -90, 90, n_buckets=36, out_of_range="clip", name="lat 5deg")
    lon = Bucketize("lon", -180, 180, n_buckets=72, wrap=True, out_of_range="clip", name="lon 5deg")
    price = Bucketize("price", boundaries=[-math.inf, 0, 1e5, 2.5e5, 5e5, 1e6, math.inf], out_of_range="bucket",
                      name="price band")
    area = Bucketize("area", boundaries=[10, 50, 100, 200, 400], out_of_range="bucket", name="area band")
    hour = Bucketize("hour", boundaries=[0, 6, 12, 18, 24], wrap=True, out_of_range="clip", name="hour of day")
    city = Categorical("city", vocabulary=CITY_NAMES, unknown="bucket", name="city")
    rooms = Categorical("rooms", vocabulary=[1, 2, 3, 4, 5, "studio"], unknown="bucket", name="rooms")
    kind = Categorical("property_type", n_buckets=13, unknown="bucket", name="type %13")
    features = [Cross(lat, lon, name="lat x lon 5deg"), price, area, hour, city, rooms, kind,
                Cross(city, rooms, name="city x rooms"), Cross(kind, price, lat, name="type x price x lat")]
    if hashed:
        features += [Categorical("property_type", unknown="bucket", name="type hash"),
                     Cross(Categorical("city", unknown="bucket", name="city hash"), lat, name="city hash x lat")]
    return FeatureSpec(features, bits=24 if hashed else None, seed=11 if hashed else 0)


# ---------------------------------------------------------------------- rows
def geo_rows() -> list[dict[str, Any]]:
    """Edge values first (poles, the date line, -0.0, bucket edges), then places and spread points."""
    edges = [(-90.0, -180.0), (90.0, 180.0), (90.0, -180.0), (-90.0, 180.0), (0.0, -0.0), (-0.0, 0.0),
             (48.85, 2.35), (-31.0, -31.0), (float(np.nextafter(-31.0, -math.inf)), 179.99999999999997),
             (89.99999999999999, -179.99999999999997), (-89.99999999999999, 0.016666666666666666),
             (12.5, -0.16666666666666666), (45.0, 90.0), (-7.105427357601002e-15, 7e-15), (1e-300, -1e-300)]
    rows = [{"lat": a, "lon": b} for a, b in edges]
    for i in range(120):
        lat, lon = CITIES[i % len(CITIES)]
        rows.append({"lat": lat + (unit(i, 1) - 0.5) * 0.6, "lon": wrap_lon(lon + (unit(i, 2) - 0.5) * 0.6)})
    for i in range(60):
        rows.append({"lat": unit(i, 3) * 180 - 90, "lon": unit(i, 4) * 360 - 180})
    for i, row in enumerate(rows):
        row["id"] = i
    return rows


def mixed_rows() -> list[dict[str, Any]]:
    """Rows with missing values, unknown categories, out-of-range numbers and awkward text."""
    rows = []
    cities = CITY_NAMES + ["Oslo", "", "paris", "Zu\u0308rich"]  # unknown, missing, case, decomposed ü
    rooms: list[Any] = [1, 2, 3, 4, 5, "studio", 7, -1, "", "3.5"]
    for i in range(160):
        lat, lon = CITIES[i % len(CITIES)]
        row = {
            "lat": lat + (unit(i, 5) - 0.5) * 20,
            "lon": wrap_lon(lon + (unit(i, 6) - 0.5) * 20),
            "price": round(unit(i, 7) * 1.2e6 - 5e4, 2),
            "area": round(5 + unit(i, 8) * 450, 1),
            "hour": round(unit(i, 9) * 24, 3),
            "city": cities[int(unit(i, 10) * len(cities))],
            "rooms": rooms[int(unit(i, 11) * len(rooms))],
            "property_type": PROPERTY_TYPES[int(unit(i, 12) * len(PROPERTY_TYPES))] if unit(i, 13) < 0.9 else "",
        }
        rows.append(row)
    specials = [
        {"lat": 95.0, "lon": 200.0, "price": "", "area": "", "hour": 24.0},  # clip above, NaN to the extra bucket
        {"lat": -95.0, "lon": -181.0, "price": "inf", "area": 9.99, "hour": -1.0},  # clip below, wrap clips to 0
        {"lat": 90.0, "lon": 180.0, "price": "-inf", "area": 400.0, "hour": 0.0},  # closed last bucket, wrap
        {"lat": -90.0, "lon": -180.0, "price": 0.0, "area": 10.0, "hour": 6.0},
        {"lat": 0.0, "lon": 0.0, "price": 1e5, "area": 1e300, "hour": 23.999},  # a huge area: the extra bucket
    ]
    for i, row in enumerate(specials):
        row.update(city=CITY_NAMES[i % len(CITY_NAMES)], rooms=["studio", 5, "", 1, 2][i], property_type="flat")
        rows.append(row)
    return rows


def write_rows(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([repr(float(v)) if isinstance(v, float) else v for v in (row[c] for c in columns)])
    return out.getvalue().encode("utf-8")


# ---------------------------------------------------------------------- the reading rule of c/README.md
def column_flags(spec: Any) -> dict[str, set[str]]:
    """For each column: "numeric" (a Bucketize reads it), "categorical", and "text" when every
    Categorical reading it has a vocabulary of strings only."""
    from widecross.features import Bucketize

    flags: dict[str, set[str]] = {}
    not_text: set[str] = set()
    for feature in spec.features:
        for c in feature.components:
            kinds = flags.setdefault(c.column, set())
            if isinstance(c, Bucketize):
                kinds.add("numeric")
            else:
                kinds.add("categorical")
                if c.vocabulary is None or not all(isinstance(v, str) for v in c.vocabulary):
                    not_text.add(c.column)
    for name, kinds in flags.items():
        if "categorical" in kinds and name not in not_text:
            kinds.add("text")
    return flags


def read_field(text: str, kinds: set[str]) -> Any:
    """One CSV field as wcpredict reads it: empty -> missing; categorical columns: an integer
    literal -> int, else text (always text for "text" columns); numeric columns: a float."""
    if text == "":
        return None
    if "categorical" in kinds:
        if "text" not in kinds:
            body = text[1:] if text[:1] in "+-" else text
            if body.isascii() and body.isdigit() and -(2**63) <= int(text) < 2**63:
                return int(text)
            if "numeric" in kinds:
                try:
                    return float(text)
                except ValueError:
                    pass
        return text
    return float(text)


def read_columns(csv_bytes: bytes, spec: Any) -> dict[str, np.ndarray]:
    """The spec's columns of a rows file, typed by :func:`read_field` (missing: None or NaN)."""
    flags = column_flags(spec)
    reader = csv.reader(io.StringIO(csv_bytes.decode("utf-8")))
    header = next(reader)
    records = list(reader)
    columns: dict[str, np.ndarray] = {}
    for name in spec.columns:
        j = header.index(name)
        values = [read_field(r[j], flags[name]) for r in records]
        if flags[name] == {"numeric"}:
            columns[name] = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        else:
            columns[name] = np.array(values, dtype=object)
    return columns


# ---------------------------------------------------------------------- models
def weights_for(spec: Any, train: dict[str, Any], salt: int, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Nonzero weights on the columns the training rows touch, from a formula (``levels`` values)."""
    X = spec.transform(train)
    ids = np.unique(X.indices.astype(np.int64))
    k = np.array([int(unit(int(i) % 1_000_003, salt) * levels) for i in ids])
    values = ((k - levels // 2) + 0.5) / (levels / 4)  # never zero, both signs
    return ids, values.astype(np.float32)


def geo_train() -> dict[str, np.ndarray]:
    lat, lon = [], []
    for i in range(600):
        a, b = CITIES[i % len(CITIES)]
        lat.append(a + (unit(i, 21) - 0.5) * 0.8)
        lon.append(wrap_lon(b + (unit(i, 22) - 0.5) * 0.8))
    return {"lat": np.array(lat), "lon": np.array(lon)}


def vectors() -> dict[str, dict[str, Any]]:
    """name -> facts and the model: the model files, their encodings and rows files."""
    from widecross.model import SparseModel

    geo = geo_specs()
    out: dict[str, dict[str, Any]] = {}
    for name, spec, encoding, loss, classes, intercept in [
        ("geo_exact_float32", geo["exact"], "float32", "logistic", ["cheap", "dear"], -0.25),
        ("geo_hashed_float16", geo["hashed"], "float16", "logistic", None, 0.125),
    ]:
        ids, values = weights_for(spec, geo_train(), salt=len(out) + 1, levels=4001)
        model = SparseModel(ids, values, intercept, spec.n_features, loss, spec=spec, classes=classes,
                            metadata={"note": "test vector of the model file format"})
        out[name] = {"model": model, "encoding": encoding, "rows": "geo"}
    train_csv = write_rows(mixed_rows(), MIXED_COLUMNS)
    for name, hashed, encoding, loss, intercept in [
        ("mixed_exact_q8", False, "q8", "squared", 12.5),
        ("mixed_hashed_float32", True, "float32", "poisson", -1.0),
    ]:
        spec = mixed_spec(hashed)
        ids, values = weights_for(spec, read_columns(train_csv, spec), salt=len(out) + 1, levels=200)
        values = values / 8 if loss == "poisson" else values
        model = SparseModel(ids, values, intercept, spec.n_features, loss, spec=spec,
                            metadata={"note": "test vector of the model file format"})
        out[name] = {"model": model, "encoding": encoding, "rows": "mixed"}
    return out


GEO_COLUMNS = ["id", "lon", "lat"]  # the spec reads lat, lon: order and extra columns do not matter
MIXED_COLUMNS = ["lat", "lon", "price", "area", "hour", "city", "rooms", "property_type"]


def rows_bytes(kind: str) -> bytes:
    return write_rows(geo_rows(), GEO_COLUMNS) if kind == "geo" else write_rows(mixed_rows(), MIXED_COLUMNS)


def expected_bytes(model: Any, csv_bytes: bytes) -> bytes:
    """Python's margin and prediction for every row: P(class 1) of a logistic model, else predict."""
    columns = read_columns(csv_bytes, model.spec)
    margin = model.decision_function(columns)
    prediction = model.predict_proba(columns)[:, 1] if model.loss == "logistic" else model.predict(columns)
    lines = ["margin,prediction"] + [f"{m:.17g},{p:.17g}" for m, p in zip(margin, prediction)]
    return ("\n".join(lines) + "\n").encode()


def build(directory: Path) -> dict[str, Any]:
    """Write every vector into ``directory``; return the index written to ``c_vectors.json``."""
    from widecross import export
    from widecross.model import file_format

    pinned = file_format._library_version
    file_format._library_version = lambda: LIBRARY_VERSION
    try:
        index: dict[str, Any] = {"library_version": LIBRARY_VERSION, "zlib_runtime_version": zlib.ZLIB_RUNTIME_VERSION,
                                 "vectors": {}}
        for kind in ("geo", "mixed"):
            (directory / f"c_{kind}_rows.csv").write_bytes(rows_bytes(kind))
        for name, v in vectors().items():
            model = v["model"]
            model_path = directory / f"c_{name}.wcm"
            export.save(model, model_path, values=v["encoding"])
            loaded = export.load(model_path)  # the expected predictions are the file's, lossy codecs included
            rows = (directory / f"c_{v['rows']}_rows.csv").read_bytes()
            (directory / f"c_{name}_expected.csv").write_bytes(expected_bytes(loaded, rows))
            index["vectors"][name] = {
                "model": model_path.name, "rows": f"c_{v['rows']}_rows.csv", "expected": f"c_{name}_expected.csv",
                "encoding": v["encoding"], "loss": model.loss, "exact": model.spec.exact, "nnz": model.nnz,
                "n_features": model.n_features,
            }
    finally:
        file_format._library_version = pinned
    (directory / "c_vectors.json").write_text(json.dumps(index, indent=2) + "\n")
    return index


def main() -> int:
    index = build(HERE)
    for name, facts in index["vectors"].items():
        print(f"{facts['model']}: {facts['nnz']} nonzeros, {(HERE / facts['model']).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
