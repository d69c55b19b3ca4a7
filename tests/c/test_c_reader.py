"""The dependency-free C reader (c/) against Python's reader: the committed test vectors
(tests/data/c_*, made by tests/data/make_c_vectors.py), 100k random rows of exact and hashed
specs in every value codec, categorical columns, and wcpredict's CSV handling and errors.
References: ``FeatureSpec.transform`` for the featurizer (the same column ids, exactly) and
``wc.load(...).decision_function / predict_proba`` for predictions."""

from __future__ import annotations

import itertools
import json
import math
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from c_harness import DATA, INDEX, ROOT, VECTORS, active_columns, predictions, run_c

import widecross as wc
from widecross.export import loads


# ---------------------------------------------------------------------- the committed vectors
@pytest.mark.parametrize("name", sorted(INDEX["vectors"]))
def test_vectors_match_python(c_build, name):
    facts = INDEX["vectors"][name]
    expected = np.loadtxt(DATA / facts["expected"], delimiter=",", skiprows=1, ndmin=2)
    got = predictions(c_build, DATA / facts["model"], DATA / facts["rows"])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(INDEX["vectors"]))
def test_vector_featurization_matches_transform(c_build, name):
    facts = INDEX["vectors"][name]
    model = wc.load(DATA / facts["model"])
    X = model.spec.transform(VECTORS.read_columns((DATA / facts["rows"]).read_bytes(), model.spec))
    indptr, indices, data = active_columns(c_build, DATA / facts["model"], DATA / facts["rows"])
    assert np.array_equal(indptr, X.indptr) and np.array_equal(indices, X.indices) and np.array_equal(data, X.data)


def test_regenerating_the_vectors_gives_the_same_bytes(tmp_path):
    index = VECTORS.build(tmp_path)
    names = sorted(p.name for p in DATA.glob("c_*"))
    assert names == sorted(p.name for p in tmp_path.glob("c_*"))
    same_zlib = index["zlib_runtime_version"] == INDEX["zlib_runtime_version"]
    for name in names:
        fresh, committed = (tmp_path / name).read_bytes(), (DATA / name).read_bytes()
        if name.endswith(".wcm") and not same_zlib and fresh != committed:
            # another zlib build may deflate differently: the decoded model must still be the same
            a, b = loads(fresh), loads(committed)
            assert np.array_equal(a.indices, b.indices) and np.array_equal(a.values, b.values), name
            assert a.spec == b.spec and a.intercept == b.intercept
            continue
        assert fresh == committed, f"{name} changed: rerun tests/data/make_c_vectors.py only if the format changed"


# ---------------------------------------------------------------------- 100k random rows
def random_geo_rows(n: int, seed: int) -> dict[str, np.ndarray]:
    """Uniform points with a tenth on bucket edges (k/60 degrees), poles, the date line and -0.0."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-90, 90, n)
    lon = rng.uniform(-180, 180, n)
    edge = rng.random(n) < 0.1
    lat[edge] = rng.integers(0, 10801, edge.sum()) / 60 - 90
    lon[edge] = rng.integers(0, 21601, edge.sum()) / 60 - 180
    lat[:6] = [-90.0, 90.0, -0.0, 0.0, 89.99999999999999, -90.0]
    lon[:6] = [-180.0, 180.0, -0.0, 179.99999999999997, -180.0, 180.0]
    return {"lat": lat, "lon": lon}


def write_numeric_csv(path: Path, columns: dict[str, np.ndarray]) -> Path:
    """Shortest round-trip decimals (repr), which the C reader's strtod reads back exactly."""
    names = list(columns)
    lines = [",".join(names)] + [",".join(map(repr, values)) for values in zip(*(columns[c].tolist() for c in names))]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def geo_rows_100k(tmp_path_factory) -> tuple[dict[str, np.ndarray], Path]:
    rows = random_geo_rows(100_000, seed=20)
    return rows, write_numeric_csv(tmp_path_factory.mktemp("rows") / "rows.csv", rows)


def random_model(spec: Any, rows: dict[str, np.ndarray], seed: int) -> wc.SparseModel:
    """Weights on the columns of a fifth of the rows (the others mostly meet zeros) and elsewhere."""
    rng = np.random.default_rng(seed)
    X = spec.transform({k: v[: v.shape[0] // 5] for k, v in rows.items()})
    ids = np.unique(np.concatenate([X.indices.astype(np.int64), rng.integers(0, spec.n_features, 1000)]))
    return wc.SparseModel(ids, rng.laplace(0, 0.5, ids.size) + 0.01, 0.3, spec.n_features, "logistic", spec=spec)


@pytest.mark.parametrize("encoding", ["float32", "float16", "q8"])
@pytest.mark.parametrize("indexing", ["exact", "hashed"])
def test_100k_random_rows_match_python(c_build, geo_rows_100k, tmp_path, indexing, encoding):
    rows, csv_path = geo_rows_100k
    spec = wc.geo_spec(bits=None if indexing == "exact" else 22, seed=3)
    path = random_model(spec, rows, seed=len(indexing) + len(encoding)).save(tmp_path / "m.wcm", values=encoding)
    python = wc.load(path)
    got = predictions(c_build, path, csv_path)
    np.testing.assert_allclose(got[:, 0], python.decision_function(rows), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[:, 1], python.predict_proba(rows)[:, 1], rtol=0, atol=1e-6)


@pytest.mark.parametrize("indexing", ["exact", "hashed"])
def test_100k_random_rows_featurize_like_transform(c_build, geo_rows_100k, tmp_path, indexing):
    rows, csv_path = geo_rows_100k
    spec = wc.geo_spec(bits=None if indexing == "exact" else 12)  # 2**12 columns: rows share some
    path = wc.SparseModel([0], [1.0], 0.0, spec.n_features, "logistic", spec=spec).save(tmp_path / "m.wcm")
    X = spec.transform(rows)
    indptr, indices, data = active_columns(c_build, path, csv_path)
    assert np.array_equal(indptr, X.indptr) and np.array_equal(indices, X.indices) and np.array_equal(data, X.data)
    assert indexing == "exact" or data.max() > 1  # merged hashed columns were exercised


def test_random_mixed_rows_match_python(c_build, tmp_path):
    """Categorical columns (text, integers, missing, unknown) on 20k rows, exact and hashed."""
    rng = np.random.default_rng(5)
    n = 20_000
    cities = np.array(VECTORS.CITY_NAMES + ["Oslo", "", "x,y"], dtype=object)
    rooms = np.array([1, 2, 3, 4, 5, "studio", 9, ""], dtype=object)
    table = {"lat": rng.uniform(-100, 100, n), "lon": rng.uniform(-200, 200, n),
             "price": rng.uniform(-1e5, 2e6, n), "area": rng.uniform(0, 500, n), "hour": rng.uniform(-2, 26, n),
             "city": cities[rng.integers(0, cities.size, n)], "rooms": rooms[rng.integers(0, rooms.size, n)],
             "property_type": np.array(VECTORS.PROPERTY_TYPES + [""], dtype=object)[rng.integers(0, 6, n)]}
    table["price"][rng.random(n) < 0.05] = np.nan
    raw = [{k: ("" if isinstance(v[i], float) and math.isnan(v[i]) else v[i]) for k, v in table.items()} for i in range(n)]
    csv_bytes = VECTORS.write_rows(raw, VECTORS.MIXED_COLUMNS)
    (tmp_path / "rows.csv").write_bytes(csv_bytes)
    for hashed, encoding in ((False, "q8"), (True, "float16")):
        spec = VECTORS.mixed_spec(hashed)
        columns = VECTORS.read_columns(csv_bytes, spec)
        X = spec.transform(columns)
        ids = np.unique(X.indices[: X.indices.size // 2])
        model = wc.SparseModel(ids, rng.normal(0, 0.5, ids.size), 1.0, spec.n_features, "squared", spec=spec)
        path = model.save(tmp_path / "m.wcm", values=encoding)
        got = predictions(c_build, path, tmp_path / "rows.csv")
        np.testing.assert_allclose(got[:, 0], wc.load(path).decision_function(columns), rtol=1e-6, atol=1e-6)
        indptr, indices, data = active_columns(c_build, path, tmp_path / "rows.csv")
        assert np.array_equal(indptr, X.indptr) and np.array_equal(indices, X.indices)


# ---------------------------------------------------------------------- the CSV side of wcpredict
GEO = DATA / "c_geo_exact_float32.wcm"


def test_csv_dialects_read_the_same_rows(c_build):
    plain = b"lat,lon\n48.8566,2.3522\n-12.0464,-77.0428\n"
    reference = predictions(c_build, GEO, plain)
    variants = [
        b"\xef\xbb\xbflat,lon\r\n48.8566,2.3522\r\n\r\n-12.0464,-77.0428",  # BOM, CRLF, blank line, no final newline
        b'"lat","lon","note"\n"48.8566",2.3522,"a, ""quoted""\ntwo-line note"\n-12.0464,-77.0428,\n',
        b"lon,lat\n2.3522,48.8566\n-77.0428,-12.0464\n",  # column order comes from the header
        b"lat,lon\n 48.8566 , 2.3522\n-12.0464,-77.0428\n",  # blanks around numbers
    ]
    for rows in variants:
        np.testing.assert_array_equal(predictions(c_build, GEO, rows), reference)
    tsv = b"lat\tlon\n48.8566\t2.3522\n-12.0464\t-77.0428\n"
    np.testing.assert_array_equal(predictions(c_build, GEO, tsv, "--delimiter", "tab"), reference)


@pytest.mark.parametrize("rows, words", [
    (b"lat,lon\n10,20\n91,20\n", ["row 1 (line 3)", "column 'lat'", "91", "out_of_range"]),
    (b"lat,lon\n10,abc\n", ["row 0", "column 'lon'", "not a number"]),
    (b"lat,lon\n10,\n", ["row 0", "column 'lon'", "NaN"]),
    (b"lat\n10\n", ["lacks column", "'lon'"]),
    (b"lat,lon,lat\n1,2,3\n", ["names column 'lat' twice"]),
    (b"lat,lon\n1,2,3\n", ["row 0", "3 fields where the header has 2"]),
    (b'lat,lon\n"1,2\n', ["quoted field is not closed"]),
    (b"", ["no header line"]),
])
def test_bad_rows_fail_with_a_message_naming_the_problem(c_build, rows, words):
    done = run_c(c_build["wcpredict_checked"], GEO, stdin=rows)
    message = done.stderr.decode()
    assert done.returncode == 1 and message.startswith("wcpredict: ") and message.count("\n") == 1, message
    for word in words:
        assert word in message, (word, message)


def test_categorical_errors_match_python(c_build, tmp_path):
    from widecross.features import Categorical, FeatureSpec

    spec = FeatureSpec([Categorical("city", vocabulary=["Oslo", "Lima"]), Categorical("code", 5)])
    path = wc.SparseModel([0, 2], [1.0, 2.0], 0.0, spec.n_features, "squared", spec=spec).save(tmp_path / "m.wcm")
    model = wc.load(path)
    ok = predictions(c_build, path, b"city,code\nLima,3\nOslo,x\n")
    python = model.decision_function({"city": ["Lima", "Oslo"], "code": np.array([3, "x"], dtype=object)})
    assert ok[:, 0].tolist() == python.tolist()
    bad = [(b"city,code\nParis,1\n", {"city": ["Paris"], "code": [1]}, "out-of-vocabulary"),
           (b"city,code\nLima,\n", {"city": ["Lima"], "code": [None]}, "missing value"),
           (b"city,code\n\xff,1\n", {"city": [b"\xff"], "code": [1]}, "not UTF-8")]
    for rows, columns, word in bad:
        done = run_c(c_build["wcpredict_checked"], path, stdin=rows)
        assert done.returncode == 1 and word in done.stderr.decode(errors="replace"), done.stderr
        with pytest.raises(ValueError):
            model.decision_function({k: np.array(v, dtype=object) for k, v in columns.items()})


def test_command_line_errors(c_build, tmp_path):
    nospec = wc.SparseModel([1], [1.0], 0.0, 10, "logistic").save(tmp_path / "nospec.wcm")
    (tmp_path / "empty.wcm").write_bytes(b"")
    (tmp_path / "short.wcm").write_bytes(GEO.read_bytes()[:-1])
    cases = [((), 2, "model file is missing"), (("--bogus", GEO), 2, "unknown option"),
             (("--delimiter", "ab", GEO), 2, "one character"), ((tmp_path / "none.wcm",), 1, "cannot open"),
             ((tmp_path,), 1, tmp_path.name), ((tmp_path / "empty.wcm",), 1, "empty"),
             ((tmp_path / "short.wcm",), 1, "truncated"), ((nospec,), 1, "no feature spec")]
    for args, status, word in cases:
        done = run_c(c_build["wcpredict_checked"], *args, stdin=b"lat,lon\n1,2\n")
        assert done.returncode == status and word in done.stderr.decode(), (args, done.stderr)
        assert b"Sanitizer" not in done.stderr
    info = run_c(c_build["wcpredict"], "--info", GEO)
    assert info.returncode == 0 and b"columns: lat(numeric) lon(numeric)" in info.stdout


def test_the_example_file_in_the_format_document(c_build, tmp_path):
    """docs/format.md spells out a complete file byte by byte: both readers read it, and what
    widecross writes for that model has the same sections (deflate output aside)."""
    from benchmarks.fuzz_load import sections

    text = (ROOT / "docs" / "format.md").read_text()
    block = text.split("A complete file, for orientation", 1)[1].split("```", 2)[1]
    head, json_text, tail = b"", "", b""
    for line in block.strip().splitlines():
        if line.startswith(("{", '"')):
            json_text += line
            continue
        hex_bytes = bytes(int(t, 16) for t in itertools.takewhile(lambda t: re.fullmatch("[0-9A-F]{2}", t), line.split()))
        if json_text:
            tail += hex_bytes
        else:
            head += hex_bytes
    blob = head + json_text.encode() + tail
    loaded = loads(blob)
    assert loaded.indices.tolist() == [3, 4, 100] and loaded.values.tolist() == [0.5, -1.5, 2.0]
    assert (loaded.intercept, loaded.n_features, loaded.loss) == (0.25, 128, "squared")
    fresh = wc.export.dumps(wc.SparseModel([3, 4, 100], [0.5, -1.5, 2.0], 0.25, 128, "squared"))
    (meta_a, index_a, values_a), (meta_b, index_b, values_b) = sections(fresh), sections(blob)
    assert index_a == index_b and zlib.decompress(values_a) == zlib.decompress(values_b)
    assert json.loads(meta_a) == {**json.loads(meta_b), "library_version": wc.__version__}
    (tmp_path / "example.wcm").write_bytes(blob)
    done = run_c(c_build["wcpredict"], "--info", tmp_path / "example.wcm")
    assert done.returncode == 0 and b"nnz: 3" in done.stdout and b"intercept: 0.25" in done.stdout, done.stderr


# ---------------------------------------------------------------------- specs of later kinds
def _later_kinds() -> dict[str, Any]:
    from widecross.features import Categorical, FeatureSpec, Numeric, Tokens

    city = Categorical("city", vocabulary=["Oslo", "Lima"], unknown="bucket", name="city")
    return {
        "numeric": FeatureSpec([city, Numeric("area", 10.0)]),
        "tokens": FeatureSpec([Categorical("city", 4), Tokens("tags", 8, sep=",")], bits=12),
        "learned": FeatureSpec([Categorical("city", min_count=1), Categorical("code", 3)], bits=None,
                               interactions=[("city", "code%3")]).fit({"city": ["Oslo", "Lima"], "code": [1, 2]}),
    }


def _with_spec_version(path: Path, version: int) -> bytes:
    from benchmarks.fuzz_load import canonical, seal, sections

    meta, index, values = sections(path.read_bytes())
    obj = json.loads(meta)
    obj["spec"]["version"] = version
    return seal([canonical(obj), index, values])


def test_specs_of_later_kinds_are_refused_not_misread(c_build, tmp_path):
    """The C reader computes format version 1 specs (bucketize, categorical, their crosses): a
    version 2 spec (numeric, tokens, a learned vocabulary, crosses naming their components) and a
    later kind under version 1 (as early writers put them) are refused with a clear error, one
    line, exit code 1, while Python reads the same files."""
    rows = b"city,code,area,tags\nOslo,1,50,\"a,b\"\n"
    for name, spec in _later_kinds().items():
        path = wc.SparseModel([0], [1.0], 0.0, spec.n_features, "logistic", spec=spec).save(tmp_path / f"{name}.wcm")
        assert wc.load(path).spec == spec and json.loads(spec.to_json())["version"] == 2
        done = run_c(c_build["wcpredict_checked"], path, stdin=rows)
        message = done.stderr.decode()
        assert done.returncode == 1 and message.count("\n") == 1, message
        assert "feature spec format version 2 is not supported" in message and "numeric and tokens" in message
        if name == "learned":
            continue  # under version 1 a learned vocabulary is a vocabulary: below
        as_v1 = tmp_path / f"{name}_v1.wcm"
        as_v1.write_bytes(_with_spec_version(path, 1))
        assert wc.load(as_v1).spec == spec
        done = run_c(c_build["wcpredict_checked"], as_v1, stdin=rows)
        message = done.stderr.decode()
        assert done.returncode == 1 and f"feature type '{name}' is not supported" in message, message


def test_a_cross_naming_its_components_is_refused_under_version_1(c_build, tmp_path):
    spec = _later_kinds()["learned"]
    path = wc.SparseModel([0], [1.0], 0.0, spec.n_features, "logistic", spec=spec).save(tmp_path / "ref.wcm")
    (tmp_path / "ref_v1.wcm").write_bytes(_with_spec_version(path, 1))
    assert "ref" in json.dumps(json.loads(spec.to_json())["features"])
    done = run_c(c_build["wcpredict_checked"], tmp_path / "ref_v1.wcm", stdin=b"city,code\nOslo,1\n")
    assert done.returncode == 1 and "feature type 'ref' is not supported" in done.stderr.decode(), done.stderr


def test_a_learned_vocabulary_in_full_reads_as_the_vocabulary_it_is(c_build, tmp_path):
    """A version 1 file whose categorical kept its min_count (and crosses repeat it): the C reader
    computes it, with Python's numbers."""
    from benchmarks.fuzz_load import canonical, seal, sections

    spec = _later_kinds()["learned"]
    path = wc.SparseModel(np.arange(spec.n_features), np.linspace(-1, 1, spec.n_features), 0.1, spec.n_features,
                          "logistic", spec=spec).save(tmp_path / "learned.wcm")
    meta, index, values = sections(path.read_bytes())
    obj = json.loads(meta)
    defined = {f["name"]: f for f in obj["spec"]["features"] if f["type"] != "cross"}
    for feature in obj["spec"]["features"]:
        if feature["type"] == "cross":
            feature["features"] = [defined[c["name"]] if c["type"] == "ref" else c for c in feature["features"]]
    obj["spec"]["version"] = 1
    (tmp_path / "inline.wcm").write_bytes(seal([canonical(obj), index, values]))
    model = wc.load(tmp_path / "inline.wcm")
    assert model.spec == spec
    got = predictions(c_build, tmp_path / "inline.wcm", b"city,code\nOslo,1\nLima,2\nRome,1\n")
    expected = model.decision_function({"city": ["Oslo", "Lima", "Rome"], "code": [1, 2, 1]})
    np.testing.assert_allclose(got[:, 0], expected, rtol=1e-6, atol=1e-6)
