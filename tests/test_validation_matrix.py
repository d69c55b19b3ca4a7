"""Input-validation matrix: every bad input to the public API gets a specific exception type and a
one-line message naming the argument, the column and the row where they apply.

Entry points: ``FeatureSpec.transform`` / ``transform_chunks``, the feature constructors (absurd
hyperparameters), ``SparseModel`` (construction and every ``predict*``), ``load``, each CLI
command, and the estimators' ``fit`` / ``partial_fit`` / ``predict*`` (when the trainer module is
present). Inputs that are odd but valid (zero rows, other dtypes, the edges of the ranges) must
be accepted and give finite predictions.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import stat
import struct
import threading
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc
from widecross.export import ModelFormatError, dumps, loads
from widecross.features import Bucketize, Categorical, Cross, FeatureSpec, geo_spec
from widecross.model import SparseModel


SPEC = geo_spec(bits=20)
CAT_SPEC = FeatureSpec([Bucketize("x", 0, 10, 1), Categorical("city", vocabulary=["Oslo", "Lima"]), Categorical("kind", 8)],
                       bits=None)


def geo(lat: Any, lon: Any) -> dict[str, Any]:
    return {"lat": lat, "lon": lon}


def make_model(spec: FeatureSpec = SPEC, loss: str = "logistic") -> SparseModel:
    rng = np.random.default_rng(0)
    idx = np.unique(rng.integers(0, spec.n_features, 400))
    return SparseModel(idx, rng.laplace(0, 0.5, idx.size) + 0.01, 0.1, spec.n_features, loss, spec=spec)


MODEL = make_model()
SQUARED = make_model(loss="squared")


def csr(data: Any, cols: Any, indptr: Any, width: int = SPEC.n_features) -> sp.csr_matrix:
    return sp.csr_matrix((np.asarray(data), np.asarray(cols), np.asarray(indptr)), shape=(len(indptr) - 1, width))


def check_raises(call: Callable[[], Any], error: type[BaseException], *fragments: str) -> BaseException:
    """``call()`` raises exactly ``error`` (or a subclass) with every fragment in a one-line message."""
    with pytest.raises(error) as info:
        call()
    message = info.value.args[0] if isinstance(info.value, KeyError) and info.value.args else str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "\n" not in message.strip(), message
    return info.value


# ---------------------------------------------------------------------- FeatureSpec.transform
TRANSFORM_CASES = [
    # id, data, error, fragments (argument / column / row)
    ("nan lat", geo([1.0, np.nan, 2.0], [0.0, 0.0, 0.0]), ValueError, ["column 'lat'", "row 1", "nan"]),
    ("+inf lat", geo([1.0, 2.0, np.inf], [0.0, 0.0, 0.0]), ValueError, ["column 'lat'", "row 2", "inf"]),
    ("-inf lon", geo([1.0, 2.0, 3.0], [0.0, -np.inf, 0.0]), ValueError, ["column 'lon'", "row 1", "-inf"]),
    ("lat above 90", geo([90.0, 90.000001], [0.0, 0.0]), ValueError, ["column 'lat'", "row 1", "[-90, 90]"]),
    ("lat below -90", geo([-91.0], [0.0]), ValueError, ["column 'lat'", "row 0"]),
    ("lon beyond 180", geo([0.0, 0.0], [180.0, 180.5]), ValueError, ["column 'lon'", "row 1", "[-180, 180]"]),
    ("count of bad rows", geo([np.nan, 0.0, 95.0, np.nan], [0.0] * 4), ValueError, ["column 'lat'", "3 values", "row 0"]),
    ("strings", geo(["1.0", "2.0"], [0.0, 0.0]), TypeError, ["column 'lat'", "numeric"]),
    ("bytes", geo(np.array([b"1", b"2"]), [0.0, 0.0]), TypeError, ["column 'lat'", "numeric"]),
    ("object with a string", geo(np.array([1.0, "x"], dtype=object), [0.0, 0.0]), TypeError, ["column 'lat'", "row 1", "str"]),
    ("object with a list", geo([0.0, 0.0], np.array([1.0, [2.0]], dtype=object)), TypeError, ["column 'lon'", "row 1"]),
    ("complex", geo(np.array([1 + 0j, 2 + 1j]), [0.0, 0.0]), TypeError, ["column 'lat'", "complex"]),
    ("booleans", geo(np.array([True, False]), [0.0, 0.0]), TypeError, ["column 'lat'", "bool"]),
    ("datetimes", geo(np.array(["2020-01-01"], dtype="datetime64[D]"), [0.0]), TypeError, ["column 'lat'", "datetime64"]),
    ("mismatched lengths", geo([1.0, 2.0], [0.0, 0.0, 0.0]), ValueError, ["lat=2", "lon=3"]),
    ("2-D column", geo(np.zeros((2, 2)), np.zeros((2, 2))), ValueError, ["column 'lat'", "1-D", "(2, 2)"]),
    ("scalar column", geo(1.0, 2.0), TypeError, ["column 'lat'", "1-D"]),
    ("string column", geo("12.5", "3"), TypeError, ["column 'lat'"]),
    ("missing column", {"lat": [1.0], "longitude": [2.0]}, KeyError, ["'lon'", "not found", "longitude"]),
    ("columns of another spec", {"x": [1.0], "city": ["Oslo"]}, KeyError, ["'lat', 'lon'", "available columns"]),
    ("a 2-D array instead of a table", np.zeros((3, 2)), TypeError, ["expected a table", "ndarray"]),
    ("a list instead of a table", [[1.0, 2.0]], TypeError, ["expected a table", "list"]),
    ("None", None, TypeError, ["expected a table", "NoneType"]),
]


@pytest.mark.parametrize("data, error, fragments", [c[1:] for c in TRANSFORM_CASES], ids=[c[0] for c in TRANSFORM_CASES])
def test_transform_rejects(data, error, fragments):
    check_raises(lambda: SPEC.transform(data), error, *fragments)


CATEGORICAL_CASES = [
    ("float categorical", {"x": [1.0], "city": ["Oslo"], "kind": [1.5]}, TypeError, ["column 'kind'", "floating point"]),
    ("out of vocabulary", {"x": [1.0, 2.0], "city": ["Oslo", "Paris"], "kind": ["a", "b"]}, ValueError,
     ["column 'city'", "row 1", "'Paris'", "unknown='bucket'"]),
    ("missing categorical", {"x": [1.0, 2.0], "city": ["Oslo", None], "kind": ["a", "b"]}, ValueError, ["column 'city'", "row 1"]),
    ("missing hashed categorical", {"x": [1.0, 2.0], "city": ["Oslo", "Lima"], "kind": ["a", float("nan")]}, ValueError,
     ["column 'kind'", "row 1"]),
    ("object categorical holding a float", {"x": [1.0], "city": ["Oslo"], "kind": np.array([2.5], dtype=object)}, TypeError,
     ["column 'kind'", "row 0", "float"]),
    ("bytes that are not UTF-8", {"x": [1.0], "city": ["Oslo"], "kind": np.array([b"\xff\xfe"])}, ValueError,
     ["column 'kind'", "UTF-8"]),
    ("numeric column out of range", {"x": [1.0, 10.5], "city": ["Oslo", "Lima"], "kind": [1, 2]}, ValueError,
     ["column 'x'", "row 1", "[0, 10]"]),
]


@pytest.mark.parametrize("data, error, fragments", [c[1:] for c in CATEGORICAL_CASES], ids=[c[0] for c in CATEGORICAL_CASES])
def test_transform_rejects_categoricals(data, error, fragments):
    check_raises(lambda: CAT_SPEC.transform(data), error, *fragments)


def test_transform_chunks_name_the_chunk_and_the_global_row():
    chunks = [geo([1.0, 2.0], [0.0, 0.0]), geo([3.0, np.nan, 4.0], [0.0, 0.0, 0.0])]
    error = check_raises(lambda: list(SPEC.transform_chunks(chunks)), ValueError, "column 'lat'", "chunk 1")
    assert "row 3" in str(error) and "row 1 of chunk 1" in str(error)


def test_transform_rejects_a_key_record_of_another_spec():
    other = geo_spec(bits=22).record(geo([1.0], [2.0]))
    check_raises(lambda: SPEC.transform(geo([1.0], [2.0]), record=other), ValueError, "record", "KeyRecord of this spec")


def test_nulls_from_pyarrow_name_their_row():
    import pyarrow as pa
    table = pa.table({"lat": pa.array([1.0, None, 3.0]), "lon": pa.array([0.0, 0.0, 0.0])})
    check_raises(lambda: SPEC.transform(table), ValueError, "column 'lat'", "row 1", "nan")
    table = pa.table({"lat": pa.array(["a", "b"]), "lon": pa.array([0.0, 0.0])})
    check_raises(lambda: SPEC.transform(table), TypeError, "column 'lat'", "string")


@pytest.mark.parametrize(
    "columns",
    [
        geo(np.empty(0), np.empty(0)),
        geo([], []),
        geo(np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)),
    ],
    ids=["float64", "lists", "mixed dtypes"],
)
def test_zero_rows_are_valid(columns):
    X = SPEC.transform(columns)
    assert X.shape == (0, SPEC.n_features) and X.nnz == 0
    for predict in (MODEL.decision_function, MODEL.predict, MODEL.predict_proba):
        assert predict(columns).shape[0] == 0


def test_numeric_dtypes_and_layouts_agree():
    lat = np.array([-90.0, -45.5, 0.0, 12.25, 89.75, 90.0])
    lon = np.array([-180.0, -0.5, 0.0, 100.0, 179.5, 180.0])
    expected = SPEC.transform(geo(lat, lon))
    variants = {
        "float32": geo(lat.astype(np.float32), lon.astype(np.float32)),
        "big-endian": geo(lat.astype(">f8"), lon.astype(">f8")),
        "strided": geo(np.repeat(lat, 2)[::2], np.repeat(lon, 2)[::2]),
        "object": geo(lat.astype(object), lon.astype(object)),
        "lists": geo(lat.tolist(), lon.tolist()),
        "structured": np.rec.fromarrays([lat, lon], names="lat,lon"),
    }
    for name, columns in variants.items():
        X = SPEC.transform(columns)
        assert (X != expected).nnz == 0, name
    ints = geo(np.array([-90, 0, 90], dtype=np.int16), np.array([-180, 0, 180], dtype=np.int32))
    assert SPEC.transform(ints).nnz == 3 * len(SPEC.features)
    p = MODEL.predict_proba(geo(lat, lon))
    assert np.all(np.isfinite(p))


@pytest.mark.parametrize("policy", ["clip", "bucket"])
def test_out_of_range_policies_accept_infinities(policy):
    spec = geo_spec(bits=20, out_of_range=policy)
    lat = np.array([-np.inf, 1e300, 95.0, 0.0])
    lon = np.array([np.inf, -1e300, -200.0, 0.0])
    X = spec.transform(geo(lat, lon))
    assert X.shape[0] == 4 and np.all(np.diff(X.indptr) >= 1)
    model = make_model(spec)
    assert np.all(np.isfinite(model.predict_proba(geo(lat, lon))))
    if policy == "clip":  # NaN has no side to clip to
        check_raises(lambda: spec.transform(geo([np.nan], [0.0])), ValueError, "column 'lat'", "row 0", "NaN")
    else:
        assert spec.transform(geo([np.nan], [np.nan])).nnz > 0


# ---------------------------------------------------------------------- constructors
CONSTRUCTOR_CASES = [
    ("bits 0", lambda: geo_spec(bits=0), ValueError, ["bits", "0"]),
    ("bits 64", lambda: geo_spec(bits=64), ValueError, ["bits", "64"]),
    ("bits 41", lambda: geo_spec(bits=41), ValueError, ["bits", "41"]),
    ("bits -1", lambda: geo_spec(bits=-1), ValueError, ["bits"]),
    ("bits 2.5", lambda: geo_spec(bits=2.5), TypeError, ["bits"]),
    ("bits True", lambda: geo_spec(bits=True), TypeError, ["bits"]),
    ("bits string", lambda: geo_spec(bits="20"), TypeError, ["bits"]),
    ("seed -1", lambda: geo_spec(seed=-1), ValueError, ["seed"]),
    ("seed 2**64", lambda: geo_spec(seed=2**64), ValueError, ["seed"]),
    ("resolution 0", lambda: geo_spec(resolutions=(0,)), ValueError, ["resolutions"]),
    ("resolution -60", lambda: geo_spec(resolutions=(60, -60)), ValueError, ["resolutions", "-60"]),
    ("resolution nan", lambda: geo_spec(resolutions=(float("nan"),)), ValueError, ["resolutions", "nan"]),
    ("resolution inf", lambda: geo_spec(resolutions=(float("inf"),)), ValueError, ["resolutions"]),
    ("resolution 7", lambda: geo_spec(resolutions=(7,)), ValueError, ["resolution 7'", "180 degrees"]),
    ("no resolutions", lambda: geo_spec(resolutions=()), ValueError, ["resolutions"]),
    ("resolution string", lambda: geo_spec(resolutions=("10",)), ValueError, ["resolutions", "'10'"]),
    ("out_of_range policy", lambda: geo_spec(out_of_range="ignore"), ValueError, ["out_of_range", "'ignore'"]),
    ("start above stop", lambda: Bucketize("x", 1, 0, 0.5), ValueError, ["start", "stop"]),
    ("start nan", lambda: Bucketize("x", float("nan"), 1, 0.5), ValueError, ["start", "nan"]),
    ("stop inf", lambda: Bucketize("x", 0, float("inf"), 0.5), ValueError, ["stop", "inf"]),
    ("width 0", lambda: Bucketize("x", 0, 1, 0), ValueError, ["width", "0"]),
    ("width negative", lambda: Bucketize("x", 0, 1, -0.5), ValueError, ["width", "-0.5"]),
    ("width nan", lambda: Bucketize("x", 0, 1, float("nan")), ValueError, ["width", "nan"]),
    ("width not dividing", lambda: Bucketize("x", 0, 1, 0.3), ValueError, ["width 0.3", "whole number"]),
    ("width too fine", lambda: Bucketize("x", 0, 1, 1e-30), ValueError, ["n_buckets"]),
    ("n_buckets 0", lambda: Bucketize("x", 0, 1, n_buckets=0), ValueError, ["n_buckets", "0"]),
    ("width and n_buckets", lambda: Bucketize("x", 0, 1, 0.5, n_buckets=2), TypeError, ["width", "n_buckets"]),
    ("start string", lambda: Bucketize("x", "0", 1, 0.5), TypeError, ["start"]),
    ("column not a string", lambda: Bucketize(5, 0, 1, 0.5), TypeError, ["column"]),
    ("boundaries unsorted", lambda: Bucketize("x", boundaries=[0, 2, 1]), ValueError, ["boundaries", "increasing"]),
    ("boundaries nan", lambda: Bucketize("x", boundaries=[0, float("nan")]), ValueError, ["boundaries"]),
    ("one boundary", lambda: Bucketize("x", boundaries=[0]), ValueError, ["boundaries", "at least 2"]),
    ("wrap not bool", lambda: Bucketize("x", 0, 1, 0.5, wrap="yes"), TypeError, ["wrap"]),
    ("categorical n_buckets 0", lambda: Categorical("c", 0), ValueError, ["n_buckets", "0"]),
    ("categorical n_buckets float", lambda: Categorical("c", 2.5), TypeError, ["n_buckets"]),
    ("empty vocabulary", lambda: Categorical("c", vocabulary=[]), ValueError, ["vocabulary", "empty"]),
    ("repeated vocabulary", lambda: Categorical("c", vocabulary=["a", "a"]), ValueError, ["vocabulary", "distinct"]),
    ("float vocabulary", lambda: Categorical("c", vocabulary=[1.5]), TypeError, ["vocabulary", "1.5"]),
    ("unknown policy", lambda: Categorical("c", 4, unknown="drop"), ValueError, ["unknown", "'drop'"]),
    ("cross of one", lambda: Cross(Bucketize("x", 0, 1, 0.5)), ValueError, ["Cross", "2"]),
    ("empty spec", lambda: FeatureSpec([]), ValueError, ["at least one feature"]),
    ("bare feature", lambda: FeatureSpec(Bucketize("x", 0, 1, 0.5)), TypeError, ["sequence of features"]),
    ("not a feature", lambda: FeatureSpec(["x"]), TypeError, ["Bucketize, Categorical or Cross", "str"]),
    ("repeated names", lambda: FeatureSpec([Bucketize("x", 0, 1, 0.5)] * 2), ValueError, ["unique", "x[0.0,1.0]/2"]),
    ("exact unbounded categorical", lambda: FeatureSpec([Categorical("c")]), ValueError, ["bits=", "'c'"]),
    ("spec JSON garbage", lambda: FeatureSpec.from_json("{"), ValueError, ["JSON"]),
    ("spec JSON of something else", lambda: FeatureSpec.from_json('{"format": "x"}'), ValueError, ["feature spec", "'x'"]),
]


@pytest.mark.parametrize("call, error, fragments", [c[1:] for c in CONSTRUCTOR_CASES], ids=[c[0] for c in CONSTRUCTOR_CASES])
def test_absurd_feature_parameters(call, error, fragments):
    check_raises(call, error, *fragments)


# ---------------------------------------------------------------------- SparseModel
MODEL_CASES = [
    ("nan weight", dict(values=[0.5, np.nan]), ValueError, ["values", "finite", "position 1", "column 5"]),
    ("inf weight", dict(values=[np.inf, 0.5]), ValueError, ["values", "finite", "position 0"]),
    ("float32 overflow", dict(values=[1e39, 0.5]), ValueError, ["overflows float32", "position 0"]),
    ("complex weights", dict(values=np.array([1 + 1j, 2])), TypeError, ["values", "complex"]),
    ("string weights", dict(values=["a", "b"]), TypeError, ["values"]),
    ("nan intercept", dict(intercept=np.nan), ValueError, ["intercept", "finite"]),
    ("string intercept", dict(intercept="x"), TypeError, ["intercept"]),
    ("float indices", dict(indices=[1.0, 5.0]), TypeError, ["indices", "integers"]),
    ("unsorted indices", dict(indices=[5, 1]), ValueError, ["indices", "increasing", "indices[0]=5"]),
    ("repeated indices", dict(indices=[5, 5]), ValueError, ["indices", "increasing"]),
    ("negative index", dict(indices=[-1, 5]), ValueError, ["indices", ">= 0", "-1"]),
    ("index past the width", dict(indices=[1, 10]), ValueError, ["n_features=10", "position 1"]),
    ("lengths differ", dict(indices=[1, 5, 7]), ValueError, ["indices has 3", "values has 2"]),
    ("2-D weights", dict(indices=[[1, 5]], values=[[0.5, 1]]), ValueError, ["1-D", "(1, 2)"]),
    ("width 0", dict(n_features=0), ValueError, ["n_features", "0"]),
    ("width 2**63", dict(n_features=2**63), ValueError, ["n_features"]),
    ("width float", dict(n_features=10.0), TypeError, ["n_features"]),
    ("unknown loss", dict(loss="log"), ValueError, ["loss", "'log'"]),
    ("three classes", dict(classes=[0, 1, 2]), ValueError, ["classes", "2 labels"]),
    ("equal classes", dict(classes=[1, 1]), ValueError, ["class labels must differ"]),
    ("classes on a regressor", dict(loss="squared", classes=[0, 1]), ValueError, ["classes", "'squared'"]),
    ("spec of another width", dict(spec=SPEC), ValueError, ["n_features=10", "spec.n_features=1048576"]),
    ("metadata not JSON", dict(metadata={"f": object()}), ValueError, ["metadata['f']"]),
]


@pytest.mark.parametrize("change, error, fragments", [c[1:] for c in MODEL_CASES], ids=[c[0] for c in MODEL_CASES])
def test_sparse_model_rejects(change, error, fragments):
    kwargs = dict(indices=[1, 5], values=[0.5, -1.0], intercept=0.0, n_features=10, loss="logistic")
    kwargs.update(change)
    check_raises(lambda: SparseModel(**kwargs), error, *fragments)


OTHER_SPEC = geo_spec(bits=22)


def _corrupt_csr() -> sp.csr_matrix:
    X = csr([1.0, 1.0], [3, 4], [0, 1, 2])
    X.indices[1] = SPEC.n_features + 5  # SciPy does not check this on its own
    return X

PREDICT_CASES = [
    ("NaN feature value", lambda: csr([1.0, np.nan], [3, 7], [0, 1, 2]), ValueError, ["non-finite", "row 1", "column 7"]),
    ("inf feature value", lambda: csr([np.inf], [3], [0, 0, 1]), ValueError, ["non-finite", "row 1", "column 3"]),
    ("complex feature value", lambda: csr(np.array([1 + 2j]), [3], [0, 1]), TypeError, ["X", "complex"]),
    ("another spec's matrix", lambda: OTHER_SPEC.transform(geo([1.0], [2.0])), ValueError,
     ["4,194,304 columns", "n_features=1,048,576"]),
    ("narrow dense matrix", lambda: np.zeros((2, 10)), ValueError, ["10 columns", "n_features=1,048,576"]),
    ("1-D array", lambda: np.zeros(10), TypeError, ["2-D", "1 dimension"]),
    ("string matrix", lambda: np.array([["a"]]), TypeError, ["real numbers", "<U1"]),
    ("None", lambda: None, TypeError, ["2-D CSR matrix", "NoneType"]),
    ("column id out of range", lambda: _corrupt_csr(), ValueError, ["row 1", "column index 1048581", "outside"]),
    ("raw NaN", lambda: geo([0.0, 1.0, np.nan], [0.0, 0.0, 0.0]), ValueError, ["column 'lat'", "row 2"]),
    ("raw out of range", lambda: geo([0.0], [-181.0]), ValueError, ["column 'lon'", "row 0"]),
    ("raw strings", lambda: geo(["a"], [0.0]), TypeError, ["column 'lat'"]),
    ("raw columns of another spec", lambda: {"x": [1.0], "city": ["Oslo"], "kind": [1]}, KeyError, ["'lat', 'lon'", "not found"]),
    ("raw mismatched lengths", lambda: geo([1.0, 2.0], [3.0]), ValueError, ["lat=2", "lon=1"]),
]


@pytest.mark.parametrize("method", ["decision_function", "predict", "predict_proba"])
@pytest.mark.parametrize("make_X, error, fragments", [c[1:] for c in PREDICT_CASES], ids=[c[0] for c in PREDICT_CASES])
def test_sparse_model_predict_rejects(method, make_X, error, fragments):
    check_raises(lambda: getattr(MODEL, method)(make_X()), error, *fragments)


def test_raw_rows_are_numbered_across_prediction_chunks(monkeypatch):
    from widecross import model as model_module

    monkeypatch.setattr(model_module, "PREDICT_CHUNK_ROWS", 4)
    lat = np.zeros(10)
    lat[9] = np.nan
    check_raises(lambda: MODEL.predict_proba(geo(lat, np.zeros(10))), ValueError, "column 'lat'", "row 9")


def test_model_mismatches():
    check_raises(lambda: SQUARED.predict_proba(geo([1.0], [2.0])), ValueError, "predict_proba", "'squared'")
    bare = SparseModel([1], [1.0], 0.0, 10, "logistic")
    check_raises(lambda: bare.predict(geo([1.0], [2.0])), TypeError, "no FeatureSpec")
    check_raises(lambda: bare.get_weights([10]), ValueError, "column 10", "[0, 10)")
    check_raises(lambda: bare.get_weights([0.5]), TypeError, "integers")
    # A model of the same width but another spec is caught by the columns it asks for.
    renamed = make_model(geo_spec(lat="latitude", lon="longitude", bits=20))
    check_raises(lambda: renamed.predict(geo([1.0], [2.0])), KeyError, "'latitude', 'longitude'", "available columns")


def test_predictions_are_finite_at_the_edges_of_float32():
    m = SparseModel([1, 2], [3e38, -3e38], 0.0, 10, "logistic")
    X = csr([1.0, 1.0, 1.0], [1, 2, 1], [0, 1, 2, 3], width=10)
    p = m.predict_proba(X)
    assert np.all(np.isfinite(p)) and p[:, 1].tolist() == [1.0, 0.0, 1.0]
    assert m.predict(X).tolist() == [1, 0, 1]
    # Finite values whose products overflow: inf (or inf - inf = NaN) is reported, not returned.
    for data in ([1e308, 0.0], [1e308, 1e308]):
        X = csr(data, [1, 2], [0, 0, 2], width=10)
        for method in (m.decision_function, m.predict, m.predict_proba):
            check_raises(lambda: method(X), ValueError, "row 1", "overflows")


# ---------------------------------------------------------------------- load
def _good_bytes() -> bytes:
    return dumps(make_model())


def _with_meta(change: dict[str, Any] | bytes) -> bytes:
    """A model file whose metadata is replaced, checksums kept valid (so the meaning is tested)."""
    blob = _good_bytes()
    lengths = [struct.unpack_from("<Q", blob, 16 + 16 * n + 4)[0] for n in range(3)]
    start = 16 + 16 * 3 + 4
    meta = json.loads(blob[start : start + lengths[0]])
    rest = blob[start + lengths[0] :]
    index, values = rest[: lengths[1]], rest[lengths[1] :]
    meta_bytes = change if isinstance(change, bytes) else json.dumps({**meta, **change}).encode()
    head = b"\x89WCM\r\n\x1a\n" + struct.pack("<II", 1, 3)
    for tag, body in zip((b"META", b"INDX", b"VALS"), (meta_bytes, index, values)):
        head += tag + struct.pack("<QI", len(body), zlib.crc32(body))
    return head + struct.pack("<I", zlib.crc32(head)) + meta_bytes + index + values


LOAD_CASES = [
    ("empty file", lambda: b"", ["empty"]),
    ("text", lambda: b"hello, world", ["not a widecross model file"]),
    ("a pickle", lambda: pickle.dumps({"weights": [1, 2]}), ["pickle"]),
    ("a JSON document", lambda: b'{"nnz": 2}', ["JSON"]),
    ("an npz", lambda: b"PK\x03\x04" + bytes(40), ["zip"]),
    ("truncated", lambda: _good_bytes()[:-1], ["truncated"]),
    ("trailing bytes", lambda: _good_bytes() + b"\0", ["trailing"]),
    ("newer version", lambda: b"\x89WCM\r\n\x1a\n" + struct.pack("<II", 9, 3) + bytes(60), ["version 9", "upgrade"]),
    ("flipped byte", lambda: bytes(b ^ (0xFF if i == 80 else 0) for i, b in enumerate(_good_bytes())), ["checksum"]),
    ("integer past the digit limit", lambda: _with_meta(re.sub(rb'"nnz": \d+', b'"nnz": ' + b"9" * 5000, _good_meta())),
     ["metadata", "JSON"]),
    ("NaN intercept", lambda: _with_meta({"intercept": float("nan")}), ["intercept", "finite"]),
    ("negative nnz", lambda: _with_meta({"nnz": -1}), ["nnz -1"]),
    ("huge nnz", lambda: _with_meta({"nnz": 2**19}), ["claims 524288 nonzeros"]),
    ("nnz above the width", lambda: _with_meta({"nnz": 2**40}), ["nnz 1099511627776", "out of range"]),
    ("width 0", lambda: _with_meta({"n_features": 0}), ["n_features 0"]),
    ("width of another spec", lambda: _with_meta({"n_features": 2**22}), ["spec.n_features"]),
    ("unknown loss", lambda: _with_meta({"loss": "log"}), ["unknown loss 'log'"]),
    ("boolean nnz", lambda: _with_meta({"nnz": True}), ["'nnz'", "wrong type"]),
    ("missing field", lambda: _with_meta(b'{"nnz": 1}'), ["lacks"]),
    ("unknown encoding", lambda: _with_meta({"value_encoding": "float64"}), ["value encoding 'float64'"]),
    ("three classes", lambda: _with_meta({"classes": [0, 1, 2]}), ["classes", "2 labels"]),
    ("broken spec", lambda: _with_meta({"spec": {"format": "widecross.FeatureSpec", "version": 1}}), ["feature spec"]),
    ("deep JSON", lambda: _with_meta(b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), ["JSON"]),
]


def _good_meta() -> bytes:
    blob = _good_bytes()
    length = struct.unpack_from("<Q", blob, 20)[0]
    return json.dumps(json.loads(blob[68 : 68 + length])).encode()


@pytest.mark.parametrize("make, fragments", [c[1:] for c in LOAD_CASES], ids=[c[0] for c in LOAD_CASES])
def test_load_rejects(tmp_path, make, fragments):
    path = tmp_path / "bad.wcm"
    path.write_bytes(make())
    error = check_raises(lambda: wc.load(path), ModelFormatError, *fragments)
    assert str(path) in str(error)
    assert isinstance(error, ValueError)
    check_raises(lambda: loads(path.read_bytes()), ModelFormatError, *fragments)


def test_load_of_what_is_not_a_file(tmp_path):
    check_raises(lambda: wc.load(tmp_path / "absent.wcm"), FileNotFoundError, "absent.wcm")
    check_raises(lambda: wc.load(tmp_path), IsADirectoryError, str(tmp_path))
    check_raises(lambda: wc.load(None), TypeError)
    check_raises(lambda: wc.load(os.devnull), ModelFormatError, "not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_load_of_a_fifo_does_not_wait_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.wcm"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    # Should load() block in open(), this watchdog opens the writing end so the test fails
    # instead of hanging.
    fired = threading.Event()

    def unblock() -> None:
        fired.set()
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)

    watchdog = threading.Timer(10.0, unblock)
    watchdog.start()
    try:
        check_raises(lambda: wc.load(fifo), ModelFormatError, "not a regular file")
    finally:
        watchdog.cancel()
    assert not fired.is_set()


def test_save_rejects_without_touching_the_disk(tmp_path):
    check_raises(lambda: MODEL.save(tmp_path / "m.wcm", values="float64"), ValueError, "values", "'float64'")
    check_raises(lambda: MODEL.save(tmp_path / "missing" / "m.wcm"), FileNotFoundError)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def cli_files(tmp_path_factory) -> dict[str, Path]:
    import data_gen
    from widecross.io import write_table

    root = tmp_path_factory.mktemp("cli_matrix")
    good = data_gen.generate_housing(300, seed=4)
    bad = data_gen.generate_housing(300, seed=4, bad_fraction=0.05)
    files = {
        "model": root / "model.wcm",
        "good": root / "good.parquet",
        "bad": root / "bad.parquet",
        "strings": root / "strings.parquet",
        "labels": root / "labels.parquet",
        "other": root / "other.parquet",
        "oneclass": root / "oneclass.parquet",
        "empty": root / "empty.csv",
        "garbage": root / "garbage.wcm",
        "spec": root / "spec.json",
        "root": root,
    }
    make_model().save(files["model"])
    write_table(files["good"], {k: good[k] for k in ("lat", "lon", "label")})
    write_table(files["bad"], {k: bad[k] for k in ("lat", "lon", "label", "is_bad")})
    write_table(files["strings"], {"lat": np.array(["n", "s"]), "lon": np.zeros(2), "label": np.zeros(2, np.int8)})
    write_table(files["labels"], {"lat": np.zeros(4), "lon": np.zeros(4), "label": np.array([0, 1, 2, 1])})
    write_table(files["other"], {"x": np.zeros(4), "lon": np.zeros(4), "label": np.zeros(4)})
    write_table(files["oneclass"], {k: good[k] for k in ("lat", "lon")} | {"label": np.zeros(300, np.int8)})
    files["empty"].write_text("lat,lon,label\n")
    files["garbage"].write_bytes(b"not a model at all")
    files["spec"].write_text("{not json")
    return files


def run_cli(capsys, *args: str) -> tuple[int, str]:
    from widecross import cli

    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    err = capsys.readouterr().err
    return code, err


def assert_one_line_error(code: int, err: str, command: str, *fragments: str) -> None:
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"widecross {command}: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


CLI_ERROR_CASES = [
    # id, argv (names of files from the fixture in braces), command, fragments
    ("inspect garbage", ["inspect", "{garbage}"], "inspect", ["garbage.wcm", "not a widecross model"]),
    ("inspect missing", ["inspect", "{root}/absent.wcm"], "inspect", ["absent.wcm", "no such model file"]),
    ("inspect parquet", ["inspect", "{good}"], "inspect", ["good.parquet", "Parquet"]),
    ("evaluate NaN rows", ["evaluate", "{model}", "{bad}", "--target", "label"], "evaluate", ["column 'l", "row"]),
    ("evaluate strings", ["evaluate", "{model}", "{strings}", "--target", "label"], "evaluate", ["column 'lat'", "numeric"]),
    ("evaluate labels", ["evaluate", "{model}", "{labels}", "--target", "label"], "evaluate", ["'label'", "0/1", "row 2 (2)"]),
    ("evaluate missing column", ["evaluate", "{model}", "{other}", "--target", "label"], "evaluate", ["other.parquet", "'lat'"]),
    ("evaluate missing target", ["evaluate", "{model}", "{good}", "--target", "price"], "evaluate", ["'price'", "available"]),
    ("evaluate zero rows", ["evaluate", "{model}", "{empty}", "--target", "label"], "evaluate", ["empty.csv", "no rows"]),
    ("evaluate missing data", ["evaluate", "{model}", "{root}/absent.parquet", "--target", "label"], "evaluate", ["absent.parquet"]),
    ("evaluate garbage model", ["evaluate", "{garbage}", "{good}", "--target", "label"], "evaluate", ["garbage.wcm"]),
    ("predict NaN rows", ["predict", "{model}", "{bad}", "-o", "{root}/p1.parquet"], "predict", ["column 'l", "row"]),
    ("predict zero rows", ["predict", "{model}", "{empty}", "-o", "{root}/p2.parquet"], "predict", ["nothing to write"]),
    ("predict missing model", ["predict", "{root}/absent.wcm", "{good}", "-o", "{root}/p3.parquet"], "predict", ["absent.wcm"]),
    ("map hashed without data", ["map", "{model}", "-o", "{root}/m.png"], "map", ["2**20", "--data"]),
    ("map with bad data", ["map", "{model}", "-o", "{root}/m.png", "--data", "{bad}"], "map", ["column 'l", "row"]),
    ("gen into a missing directory", ["gen", "--rows", "10", "-o", "{root}/absent/g.parquet"], "gen", ["absent"]),
    ("train unreadable spec", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--spec", "{spec}"], "train",
     ["spec.json", "feature spec"]),
    ("train missing data", ["train", "{root}/absent.parquet", "--target", "label", "-o", "{root}/t.wcm"], "train", ["absent.parquet"]),
    ("train missing target", ["train", "{good}", "--target", "price", "-o", "{root}/t.wcm"], "train", ["'price'", "available"]),
    ("train NaN rows", ["train", "{bad}", "--target", "label", "-o", "{root}/t.wcm"], "train", ["column 'l", "row"]),
    ("train strings", ["train", "{strings}", "--target", "label", "-o", "{root}/t.wcm"], "train", ["column 'lat'", "numeric"]),
    ("train three classes", ["train", "{labels}", "--target", "label", "-o", "{root}/t.wcm"], "train", ["3 classes"]),
    ("train one class", ["train", "{oneclass}", "--target", "label", "-o", "{root}/t.wcm"], "train", ["one class"]),
    ("path with too few rows", ["path", "{labels}", "--target", "label"], "path", ["labels.parquet", "at least 10 rows"]),
    ("demo into a file", ["demo", "--rows", "100", "--out", "{garbage}"], "demo", ["garbage.wcm"]),
]

CLI_USAGE_CASES = [
    ("no command", []),
    ("unknown command", ["fit"]),
    ("train without target", ["train", "{good}", "-o", "{root}/t.wcm"]),
    ("inspect negative top", ["inspect", "{model}", "--top", "-1"]),
    ("predict zero chunk rows", ["predict", "{model}", "{good}", "-o", "{root}/p.parquet", "--chunk-rows", "0"]),
    ("gen zero rows", ["gen", "--rows", "0", "-o", "{root}/g.parquet"]),
    ("gen rows not a number", ["gen", "--rows", "many", "-o", "{root}/g.parquet"]),
    ("train bits word", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--bits", "lots"]),
    ("train epochs 0", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--epochs", "0"]),
    ("train validation fraction 1", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--validation-fraction", "1"]),
    ("train unknown optimizer", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--optimizer", "adam"]),
    ("train resolutions word", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--resolutions", "fine"]),
    ("path l1 grid", ["path", "{good}", "--target", "label", "--l1", "abc"]),
    ("path negative l1", ["path", "{good}", "--target", "label", "--l1", "-1e-3,1e-4"]),
    ("map pixel minutes 0", ["map", "{model}", "-o", "{root}/m.png", "--pixel-minutes", "0"]),
    ("demo rows 0", ["demo", "--rows", "0", "--out", "{root}/demo"]),
    ("evaluate values choice", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--values", "float8"]),
    # invalid option values are usage errors too (they exited 1 before)
    ("predict unknown output type", ["predict", "{model}", "{good}", "-o", "{root}/p.txt"]),
    ("gen bad fraction", ["gen", "--rows", "10", "-o", "{root}/g.parquet", "--bad-fraction", "2"]),
    ("train bits 0", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--bits", "0"]),
    ("train bits 64", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--bits", "64"]),
    ("train resolution 7", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--resolutions", "7"]),
    ("train negative l1", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--l1=-1e-6"]),
    ("train zero learning rate", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--learning-rate", "0"]),
    ("train infinite l2", ["train", "{good}", "--target", "label", "-o", "{root}/t.wcm", "--l2", "inf"]),
]


def _argv(template: list[str], files: dict[str, Path]) -> list[str]:
    return [part.format(**{k: str(v) for k, v in files.items()}) for part in template]


@pytest.mark.parametrize("argv, command, fragments", [c[1:] for c in CLI_ERROR_CASES], ids=[c[0] for c in CLI_ERROR_CASES])
def test_cli_errors_are_one_line_exit_1(capsys, cli_files, argv, command, fragments):
    before = set(cli_files["root"].iterdir())
    code, err = run_cli(capsys, *_argv(argv, cli_files))
    assert_one_line_error(code, err, command, *fragments)
    assert set(cli_files["root"].iterdir()) == before  # nothing written, not even a temporary file


@pytest.mark.parametrize("argv", [c[1] for c in CLI_USAGE_CASES], ids=[c[0] for c in CLI_USAGE_CASES])
def test_cli_usage_errors_exit_2(capsys, cli_files, argv):
    code, err = run_cli(capsys, *_argv(argv, cli_files))
    assert code == 2, err
    assert "usage: widecross" in err and "error:" in err and "Traceback" not in err


def test_cli_first_bad_row_is_the_generators_first_bad_row(capsys, cli_files):
    import pyarrow.parquet as pq

    table = pq.read_table(cli_files["bad"])
    lat, lon = table.column("lat").to_numpy(), table.column("lon").to_numpy()
    first_lat = int(np.flatnonzero(~((lat >= -90) & (lat <= 90)))[0])
    first_lon = int(np.flatnonzero(~((lon >= -180) & (lon <= 180)))[0])
    assert table.column("is_bad").to_numpy()[min(first_lat, first_lon)]
    code, err = run_cli(capsys, "evaluate", cli_files["model"], cli_files["bad"], "--target", "label")
    column, row = ("lat", first_lat) if "column 'lat'" in err else ("lon", first_lon)
    assert_one_line_error(code, err, "evaluate", f"column '{column}'", f"first at row {row} ")


# ---------------------------------------------------------------------- estimators
@pytest.fixture(scope="module")
def houses():
    import data_gen

    rows = data_gen.generate_housing(400, seed=9)
    return {"lat": rows["lat"], "lon": rows["lon"]}, rows["label"].astype(np.int64)


def _classifier(**params: Any) -> Any:
    from widecross.estimators import WideClassifier

    return WideClassifier(SPEC, **{"epochs": 1, "random_state": 0, **params})


def test_estimator_rejects_bad_data(houses):
    X, y = houses
    n = len(y)
    bad_lat = X["lat"].copy()
    bad_lat[7] = np.nan
    cases = [
        ("NaN lat", {"lat": bad_lat, "lon": X["lon"]}, y, {}, ValueError, ["column 'lat'", "row 7"]),
        ("labels outside 0/1", X, np.where(np.arange(n) == 3, 2, y), {}, ValueError, ["y", "2"]),
        ("one class only", X, np.zeros(n, dtype=np.int64), {}, ValueError, ["class"]),
        ("NaN labels", X, np.where(np.arange(n) == 5, np.nan, y.astype(float)), {}, ValueError, ["y"]),
        ("string labels of three kinds", X, np.array(["a", "b", "c"] * (n // 3) + ["a"] * (n % 3)), {}, ValueError, ["class"]),
        ("2-D labels", X, np.stack([y, y], axis=1), {}, ValueError, ["y", "1-D"]),
        ("labels too short", X, y[:-1], {}, ValueError, [str(n), str(n - 1)]),
        ("zero rows", {"lat": X["lat"][:0], "lon": X["lon"][:0]}, y[:0], {}, ValueError, ["0"]),
        ("negative sample weight", X, y, {"sample_weight": np.where(np.arange(n) == 11, -1.0, 1.0)}, ValueError,
         ["sample_weight", "11"]),
        ("NaN sample weight", X, y, {"sample_weight": np.where(np.arange(n) == 12, np.nan, 1.0)}, ValueError,
         ["sample_weight", "12"]),
        ("sample weights too short", X, y, {"sample_weight": np.ones(n - 1)}, ValueError, ["sample_weight", str(n - 1)]),
        ("missing column", {"lat": X["lat"]}, y, {}, KeyError, ["'lon'"]),
        ("complex column", {"lat": X["lat"].astype(complex), "lon": X["lon"]}, y, {}, TypeError, ["column 'lat'"]),
    ]
    # three classes are a multiclass problem for fit; partial_fit told classes=[0, 1] still refuses them
    multiclass = {"labels outside 0/1", "string labels of three kinds"}
    for name, data, labels, kwargs, error, fragments in cases:
        if name in multiclass:
            assert len(_classifier().fit(data, labels).classes_) == 3, name
        for method in ("partial_fit",) if name in multiclass else ("fit", "partial_fit"):
            clf = _classifier()
            extra = {"classes": [0, 1]} if method == "partial_fit" and name != "one class only" else {}
            try:
                check_raises(lambda: getattr(clf, method)(data, labels, **kwargs, **extra), error, *fragments)
            except AssertionError as failure:
                raise AssertionError(f"{name} / {method}: {failure}") from None


@pytest.mark.parametrize(
    "params, fragments",
    [
        ({"l1": -1e-6}, ["l1"]),
        ({"l1": float("nan")}, ["l1"]),
        ({"l2": -1.0}, ["l2"]),
        ({"learning_rate": 0.0}, ["learning_rate"]),
        ({"learning_rate": -0.1}, ["learning_rate"]),
        ({"learning_rate": float("inf")}, ["learning_rate"]),
        ({"epochs": 0}, ["epochs"]),
        ({"epochs": 2.5}, ["epochs"]),
        ({"optimizer": "adam"}, ["optimizer", "'adam'"]),
    ],
    ids=["l1 negative", "l1 NaN", "l2 negative", "rate 0", "rate negative", "rate inf", "epochs 0", "epochs float",
         "optimizer"],
)
def test_estimator_rejects_absurd_hyperparameters(houses, params, fragments):
    X, y = houses
    clf = _classifier(**params)
    assert clf.get_params()[next(iter(params))] is next(iter(params.values()))  # stored untouched
    error = pytest.raises((ValueError, TypeError), clf.fit, X, y)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message.strip()


def test_estimator_with_a_huge_learning_rate_raises_or_stays_finite(houses, tmp_path):
    X, y = houses
    clf = _classifier(learning_rate=1e12, epochs=2)
    try:
        clf.fit(X, y)
    except (ValueError, FloatingPointError, ArithmeticError) as error:
        assert "learning_rate" in str(error) or "learning rate" in str(error)
        assert not hasattr(clf, "model_") or clf.model_ is None or np.all(np.isfinite(clf.model_.values))
        return
    assert np.all(np.isfinite(clf.model_.values)) and np.all(np.isfinite(clf.predict_proba(X)))


def test_estimator_predict_rejects(houses):
    X, y = houses
    clf = _classifier()
    with pytest.raises(Exception) as info:  # not fitted: scikit-learn raises NotFittedError (a ValueError)
        clf.predict_proba(X)
    assert isinstance(info.value, (ValueError, AttributeError)) and "fit" in str(info.value)
    clf.fit(X, y)
    lat = X["lat"].copy()
    lat[5] = np.inf
    for method in ("predict", "predict_proba", "decision_function"):
        check_raises(lambda: getattr(clf, method)({"lat": lat, "lon": X["lon"]}), ValueError, "column 'lat'", "row 5")
        check_raises(lambda: getattr(clf, method)(OTHER_SPEC.transform(geo([1.0], [2.0]))), ValueError, "columns")
        check_raises(lambda: getattr(clf, method)({"lat": X["lat"]}), KeyError, "'lon'")
    p = clf.predict_proba({"lat": X["lat"][:0], "lon": X["lon"][:0]})
    assert p.shape == (0, 2)
    assert np.all(np.isfinite(clf.predict_proba(X)))


def test_estimator_without_spec_rejects_bad_matrices(houses):
    from widecross.estimators import WideClassifier

    X, y = houses
    Xs = SPEC.transform(X)
    clf = WideClassifier(l1=1e-6, epochs=1, random_state=0)
    bad = Xs.copy()
    bad.data[3] = np.nan
    check_raises(lambda: clf.fit(bad, y), ValueError, "row")
    check_raises(lambda: clf.fit(Xs[:-1], y), ValueError, str(len(y) - 1))
    clf.fit(Xs, y)
    check_raises(lambda: clf.predict(OTHER_SPEC.transform(geo([1.0], [2.0]))), ValueError, "4194304 features", "1048576")
    assert np.all(np.isfinite(clf.predict_proba(Xs)))


def test_a_list_mixing_strings_and_other_values_keeps_their_types():
    # NumPy would turn ["7", 7] into two equal strings and ["a", nan] into "a", "nan".
    check_raises(lambda: Categorical("c", vocabulary=["7"]).ids(["7", 7]), ValueError, "column 'c'", "row 1", "7")
    check_raises(lambda: Categorical("c", 4).ids(["a", float("nan")]), ValueError, "column 'c'", "row 1", "missing")
    check_raises(lambda: Categorical("c", 4).ids(["a", 2.5]), TypeError, "column 'c'", "row 1", "float")
    assert Categorical("c", 4, unknown="bucket").ids(("a", None)).tolist()[1] == 4


def test_zero_rows_of_categoricals_are_valid_whatever_their_dtype():
    # An empty list is float64 to NumPy, and a zero-row DataFrame column may be anything.
    for empty in ([], np.empty(0), np.empty(0, dtype=object), np.empty(0, dtype="U3")):
        X = CAT_SPEC.transform({"x": [], "city": empty, "kind": empty})
        assert X.shape == (0, CAT_SPEC.n_features)
        assert len(CAT_SPEC.record({"x": [], "city": empty, "kind": empty})) == 0


def test_trailing_nuls_in_a_list_of_strings_are_kept():
    # NumPy's fixed-width strings drop trailing NULs: "0\0" would silently become "0".
    vocab = Categorical("c", vocabulary=["0", "0\0"])
    assert vocab.ids(["0\0", "0", "0\0"]).tolist() == [1, 0, 1]
    check_raises(lambda: Categorical("c", vocabulary=["a"]).ids(["a", "a\0"]), ValueError, "column 'c'", "row 1")
    assert Categorical("c", vocabulary=[b"x\0".decode(), "x"]).ids([b"x\0", b"x"]).tolist() == [0, 1]
