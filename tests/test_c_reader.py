"""The dependency-free C reader (c/) against Python's reader.

The reader is compiled once per session with the system C compiler (skipped, saying so, where
there is none): strictly (C99, -Wall -Wextra -Werror -pedantic) for ``wcpredict``, and with
AddressSanitizer + UBSan where the compiler links them for the fuzz driver
(tests/c/fuzz_driver.c). References: the committed test vectors (tests/data/c_*, made by
tests/data/make_c_vectors.py), ``FeatureSpec.transform`` for the featurizer (same column ids,
exactly) and ``wc.load(...).decision_function / predict_proba`` for predictions.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import widecross as wc
from widecross.export import ModelFormatError, loads

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
C_SOURCES = sorted((ROOT / "c").glob("*.c"))
LIBRARY_SOURCES = [p for p in C_SOURCES if p.name != "wcpredict.c"]
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
CC = os.environ.get("CC", "cc")
MAGIC = b"\x89WCM\r\n\x1a\n"


def _load_module(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


VECTORS = _load_module("make_c_vectors", DATA / "make_c_vectors.py")
INDEX = json.loads((DATA / "c_vectors.json").read_text())


# ---------------------------------------------------------------------- building
@pytest.fixture(scope="session")
def c_build(tmp_path_factory) -> dict[str, Any]:
    """wcpredict built strictly (C99, warnings as errors, -O2); the fuzz driver and a second
    wcpredict built with AddressSanitizer + UBSan where the compiler links them (else plainly,
    and ``sanitized`` says so). The two builds run side by side."""
    if shutil.which(CC) is None:
        pytest.skip(f"no C compiler: {CC!r} is not on PATH (set CC to build and test the C reader)")
    out = tmp_path_factory.mktemp("c_reader")
    probe = subprocess.run([CC, *SANITIZE, "-o", str(out / "probe"), "-x", "c", "-"], input="int main(void){return 0;}\n",
                           capture_output=True, text=True, timeout=120)
    sanitized = probe.returncode == 0 and subprocess.run([str(out / "probe")]).returncode == 0
    checked = [*STRICT, "-g", "-O0", *(SANITIZE if sanitized else [])]
    strict = subprocess.Popen([CC, *STRICT, "-O2", "-o", str(out / "wcpredict"), *map(str, C_SOURCES), "-lm"],
                              stderr=subprocess.PIPE, text=True)
    objects = subprocess.run([CC, *checked, "-c", *map(str, LIBRARY_SOURCES)], cwd=out, capture_output=True, text=True,
                             timeout=300)
    assert objects.returncode == 0 and not objects.stderr, objects.stderr
    library = [str(out / f"{p.stem}.o") for p in LIBRARY_SOURCES]
    for name, main in (("fuzz_driver", ROOT / "tests" / "c" / "fuzz_driver.c"), ("wcpredict_checked", ROOT / "c" / "wcpredict.c")):
        done = subprocess.run([CC, *checked, f"-I{ROOT / 'c'}", "-o", str(out / name), str(main), *library, "-lm"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and not done.stderr, done.stderr
    _, errors = strict.communicate(timeout=300)
    assert strict.returncode == 0 and not errors, f"the C reader does not compile cleanly:\n{errors}"
    return {"wcpredict": out / "wcpredict", "fuzz_driver": out / "fuzz_driver",
            "wcpredict_checked": out / "wcpredict_checked", "sanitized": sanitized}


def _env() -> dict[str, str]:
    return {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}


def run_c(binary: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *map(str, args)], input=stdin, capture_output=True, timeout=300, env=_env())


def predictions(c_build, model: Path, rows: Path | bytes, *options: str) -> np.ndarray:
    """(margin, prediction) per row from wcpredict --margin."""
    if isinstance(rows, bytes):
        done = run_c(c_build["wcpredict"], "--margin", *options, model, stdin=rows)
    else:
        done = run_c(c_build["wcpredict"], "--margin", *options, model, rows)
    assert done.returncode == 0, done.stderr.decode()
    header, _, body = done.stdout.decode().partition("\n")
    assert header in ("margin,probability", "margin,prediction")
    return np.array(body.replace(",", " ").split(), dtype=np.float64).reshape(-1, 2)


def active_columns(c_build, model: Path, rows: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The C featurizer's CSR (indptr, indices, data) from wcpredict --features."""
    done = run_c(c_build["wcpredict"], "--features", model, rows)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    counts = np.array([line.count(":") for line in lines])
    pairs = np.array(" ".join(lines).replace(":", " ").split(), dtype=np.float64).reshape(-1, 2)
    return np.concatenate([[0], np.cumsum(counts)]), pairs[:, 0].astype(np.int64), pairs[:, 1]


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


# ---------------------------------------------------------------------- fuzzing the loader
def _pack(blobs: list[bytes]) -> bytes:
    return b"".join(struct.pack("<I", len(b)) + b for b in blobs)


def _fnv(h: int, data: bytes) -> int:
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _column_flags(spec: Any) -> dict[str, int]:
    bits = {"numeric": 1, "categorical": 2, "text": 4}
    return {name: sum(bits[k] for k in kinds) for name, kinds in VECTORS.column_flags(spec).items()}


def _probe(model: wc.SparseModel, which: int) -> float | None:
    """The driver's probe rows (tests/c/fuzz_driver.c) scored by Python; None when rejected."""
    data = {}
    for name, flags in _column_flags(model.spec).items():
        if flags & 4:
            data[name] = np.array(["zz" if which else "a"], dtype=object)
        elif flags & 2:
            data[name] = np.array([123456 if which else 1])
        else:
            data[name] = np.array([1e9 if which else 0.25])
    try:
        return float(model.decision_function(data)[0])
    except (ValueError, TypeError):
        return None


def _python_summary(blob: bytes) -> list[str] | None:
    """What the driver prints for a model Python loads, or None when Python rejects the file."""
    try:
        with np.errstate(all="ignore"):  # a float16 weight overflowing float32 warns before it is refused
            m = loads(blob)
    except (ModelFormatError, OverflowError):  # OverflowError: an intercept beyond float (see the report)
        return None
    h = 0xCBF29CE484222325
    for column, value in zip(m.indices.astype(np.uint64), m.values):
        h = _fnv(_fnv(h, int(column).to_bytes(8, "little")), np.float32(value).tobytes())
    out = [str(m.nnz), str(m.n_features), repr(float(m.intercept)), f"{h:016x}", str(int(m.spec is not None))]
    if m.spec is None:
        return out + ["-"]
    flags = _column_flags(m.spec)
    out.append(",".join(f"{flags[c]}:{_fnv(0xCBF29CE484222325, c.encode('utf-8', 'surrogatepass')):016x}"
                        for c in m.spec.columns))
    return out + [("E" if p is None else repr(p)) for p in (_probe(m, 0), _probe(m, 1))]


def _same(c_fields: list[str], py_fields: list[str]) -> bool:
    if c_fields[:2] != py_fields[:2] or c_fields[3:6] != py_fields[3:6] or float(c_fields[2]) != float(py_fields[2]):
        return False
    for a, b in zip(c_fields[6:], py_fields[6:]):
        if a.startswith("E") != (b == "E") or (b != "E" and not math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)):
            return False
    return len(c_fields) == len(py_fields)


def run_driver(c_build, blobs: list[bytes], tmp_path: Path) -> list[list[str]]:
    (tmp_path / "pack.bin").write_bytes(_pack(blobs))
    done = run_c(c_build["fuzz_driver"], tmp_path / "pack.bin")
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()[-4000:]
    lines = done.stdout.decode().splitlines()
    assert len(lines) == len(blobs)
    return [line.split() for line in lines]


def test_fuzzed_files_load_in_c_exactly_when_they_load_in_python(c_build, tmp_path):
    """benchmarks/fuzz_load's seeded mutations (bit flips, truncation, splices, resealed edits
    with hostile metadata) of valid files: a clean status every time, no sanitizer report, and
    the same verdict and the same model as Python's reader."""
    from benchmarks import fuzz_load

    files = fuzz_load.corpus() + [(DATA / f["model"]).read_bytes() for f in INDEX["vectors"].values()]
    cases = [fuzz_load.make_case(seed, files) for seed in range(1, 1501)]
    blobs = [mutated for _, _, mutated in cases] + files
    results = run_driver(c_build, blobs, tmp_path)
    disagreements = []
    for (name, _, blob), fields in zip(cases + [("valid", b"", f) for f in files], results):
        expected = _python_summary(blob)
        status = int(fields[0])
        if expected is None:
            if status not in (3, 4, 5):
                disagreements.append((name, "C loads what Python rejects", fields[:6]))
        elif status != 0 or not _same(fields[1:], expected):
            disagreements.append((name, fields[:9], expected))
    assert not disagreements, disagreements[:5]
    assert sum(int(f[0]) == 0 for f in results) > len(files) + 20  # mutated files that still load


def _sections(blob: bytes) -> tuple[dict, bytes, bytes]:
    from benchmarks.fuzz_load import sections

    meta, index, values = sections(blob)
    return json.loads(meta), index, values


def _seal(meta: dict | bytes, index: bytes, values: bytes, version: int = 1) -> bytes:
    from benchmarks.fuzz_load import seal

    text = meta if isinstance(meta, bytes) else json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
    return seal([text, index, values], version=version)


def _meta_text(meta: dict, **raw: str) -> bytes:
    """Metadata JSON with some values replaced by raw JSON text (numbers json.dumps cannot write)."""
    text = json.dumps({**meta, **{k: f"@{k}@" for k in raw}}, sort_keys=True, separators=(",", ":"))
    for key, value in raw.items():
        text = text.replace(f'"@{key}@"', value)
    return text.encode()


def _bits(*fields: tuple[int, int]) -> bytes:
    """(value, n_bits) fields, least significant bit first, zero-padded to whole bytes."""
    bits = [(value >> j) & 1 for value, n in fields for j in range(n)]
    bits += [0] * (-len(bits) % 8)
    return bytes(sum(bit << j for j, bit in enumerate(bits[i : i + 8])) for i in range(0, len(bits), 8))


def _header(lengths: list[int], body: bytes) -> bytes:
    head = MAGIC + struct.pack("<II", 1, 3)
    for tag, length in zip((b"META", b"INDX", b"VALS"), lengths):
        head += tag + struct.pack("<QI", length % 2**64, 0)
    return head + struct.pack("<I", zlib.crc32(head)) + body


def forged_files() -> list[tuple[str, bytes, int, bool]]:
    """(what, bytes, the C status expected, whether Python loads it): files whose header and
    checksums are valid but whose claims are hostile, and the known differences from Python."""
    geo = (DATA / "c_geo_exact_float32.wcm").read_bytes()
    meta, index, values = _sections(geo)
    body = geo[68:]
    tiny = wc.SparseModel([5], [1.5], 0.0, 10, "squared")
    t_meta, t_index, t_values = _sections(wc.export.dumps(tiny))
    empty_values = zlib.compress(b"")
    cases = [
        ("empty", b"", 3, False), ("magic prefix", MAGIC[:5], 3, False), ("pickle", b"\x80\x04K\x01.", 3, False),
        ("newer version", _seal(meta, index, values, version=2), 4, False),
        ("lengths wrap around 2**64", _header([2**64 - 1, len(body) + 1, 0], body), 3, False),
        ("huge metadata length", _header([2**63, 2**63 + len(body), 0], body), 3, False),
        ("nnz 2**40", _seal({**meta, "nnz": 2**40}, index, values), 3, False),
        ("nnz 8 x index bytes", _seal({**meta, "nnz": 8 * len(index)}, index, values), 3, False),
        ("width 2**63 - 1, no weights", _seal({**t_meta, "n_features": 2**63 - 1, "nnz": 0}, b"", empty_values), 0, True),
        ("zlib bomb", _seal(t_meta, t_index, zlib.compress(bytes(1 << 20))), 3, False),
        ("zlib preset dictionary", _seal(t_meta, t_index, bytes([0x78, 0xBB]) + t_values[2:]), 3, False),
        ("zlib trailing byte", _seal(t_meta, t_index, t_values + b"\0"), 3, False),
        ("adler32 wrong", _seal(t_meta, t_index, t_values[:-1] + bytes([t_values[-1] ^ 1])), 3, False),
        ("float16 overflows float32",
         _seal({**t_meta, "value_encoding": "float16", "value_scale_exp": 113}, t_index, zlib.compress(b"\xff\x7b")), 3, False),
        ("q8 codebook longer than the section", _seal({**t_meta, "value_encoding": "q8", "codebook_size": 256}, t_index, b"\0" * 10), 3, False),
        ("q8 code outside the codebook",
         _seal({**t_meta, "value_encoding": "q8", "codebook_size": 1}, t_index, struct.pack("<f", 2.0) + zlib.compress(b"\x01")), 3, False),
        ("escaped gap past the width", _seal(t_meta, _bits((0, 6), (2**32 - 1, 32), (63, 6), (2**63 - 1, 63)), t_values),
         3, False),
        ("intercept beyond float", _seal(_meta_text(t_meta, intercept="1" + "0" * 400), t_index, t_values), 3, False),
        ("integer of 4301 digits", _seal(_meta_text(t_meta, metadata='{"a":' + "1" * 4301 + "}"), t_index, t_values),
         3, False),
        ("integer of 4300 digits", _seal(_meta_text(t_meta, metadata='{"a":' + "1" * 4300 + "}"), t_index, t_values),
         0, True),
        ("NaN in the metadata", _seal(_meta_text(t_meta, metadata='{"a":NaN}'), t_index, t_values), 3, False),
        ("a byte order mark", _seal(b"\xef\xbb\xbf" + _meta_text(t_meta), t_index, t_values), 3, False),
        ("duplicate keys: the last wins", _seal(_meta_text(t_meta)[:-1] + b',"intercept":2.5}', t_index, t_values), 0, True),
        ("metadata nested 500 deep", _seal({**t_meta, "metadata": {"a": json.loads("[" * 500 + "]" * 500)}}, t_index, t_values), 0, True),
        # Known differences (docs/format.md, "Readers"): Python is more lenient with input no writer produces.
        ("metadata nested 600 deep", _seal({**t_meta, "metadata": {"a": json.loads("[" * 600 + "]" * 600)}}, t_index, t_values), 3, True),
    ]
    spec = json.loads(json.dumps(meta["spec"]))
    hashed = {**spec, "bits": 22, "seed": 0}
    lone = json.dumps({**meta, "spec": {**spec, "features": [{**spec["features"][0], "name": "\ud800"}] + spec["features"][1:]}})
    lone_hashed = json.dumps({**meta, "n_features": 2**22, "nnz": 0, "spec": {**hashed, "features": [{**spec["features"][0], "name": "\ud800"}] + spec["features"][1:]}})
    vocab = {"type": "categorical", "column": "c", "name": "c", "n_buckets": None, "unknown": "error"}
    as_dict = {**meta, "n_features": meta["n_features"] + 1,
               "spec": {**spec, "features": spec["features"] + [{**vocab, "vocabulary": {"a": 1}}]}}
    unnamed = {**meta, "spec": {**spec, "features": [{**spec["features"][0], "name": None}] + spec["features"][1:]}}
    cases += [
        ("lone surrogate name, exact spec", _seal(lone.encode(), index, values), 0, True),
        ("lone surrogate name, hashed spec", _seal(lone_hashed.encode(), b"", empty_values), 3, False),
        ("spec version true", _seal({**meta, "spec": {**spec, "version": True}}, index, values), 0, True),
        ("a vocabulary given as an object", _seal(as_dict, index, values), 3, True),
        ("a feature name of null", _seal(unnamed, index, values), 3, True),
        ("buckets narrower than doubles", wc.export.dumps(narrow_buckets_model()), 3, True),
    ]
    return cases


def narrow_buckets_model() -> wc.SparseModel:
    """A uniform Bucketize whose n_buckets / (stop - start) overflows: Python accepts the spec but
    buckets values through an undefined float-to-integer conversion; the C reader refuses it."""
    from widecross.features import Bucketize, FeatureSpec

    spec = FeatureSpec([Bucketize("x", 0.0, 5e-324, n_buckets=2**62)])
    return wc.SparseModel([0], [1.0], 0.0, spec.n_features, "squared", spec=spec)


def test_forged_files_get_a_clean_error(c_build, tmp_path):
    cases = forged_files()
    results = run_driver(c_build, [blob for _, blob, _, _ in cases], tmp_path)
    for (what, blob, status, python_loads), fields in zip(cases, results):
        assert int(fields[0]) == status, (what, fields[:6])
        expected = _python_summary(blob)
        assert (expected is not None) == python_loads, what
        if status == 0:
            assert _same(fields[1:], expected), (what, fields, expected)


def test_loading_from_a_file_checks_as_much(c_build, tmp_path):
    """wc_load_file (through wcpredict with sanitizers): truncations at every section boundary."""
    blob = (DATA / "c_mixed_hashed_float32.wcm").read_bytes()
    _, index, values = _sections(blob)
    cuts = [1, 8, 15, 16, 67, 68, len(blob) - len(values) - len(index), len(blob) - len(values), len(blob) - 1]
    for cut in cuts:
        (tmp_path / "cut.wcm").write_bytes(blob[:cut])
        done = run_c(c_build["wcpredict_checked"], tmp_path / "cut.wcm", stdin=b"lat\n1\n")
        assert done.returncode == 1 and b"Sanitizer" not in done.stderr, (cut, done.stderr)
        assert b"truncated" in done.stderr or b"checksum" in done.stderr, (cut, done.stderr)
