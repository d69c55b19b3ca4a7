"""Property-based tests (hypothesis) over random specs, data, models and files:

- random valid inputs never raise and give finite predictions (transform, SparseModel,
  estimators);
- transforming random column chunks equals transforming the whole, and error rows are counted
  across chunks;
- random corruptions of model files always raise ``ModelFormatError``; corruptions with repaired
  checksums raise it or load a valid model, never anything else.

Examples are derandomized (the same cases on every run, as CI wants); set
``WIDECROSS_HYPOTHESIS=explore`` to draw fresh random cases, ten times as many.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zlib
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import widecross as wc
from widecross.export import ModelFormatError, dumps, loads
from widecross.features import Bucketize, Categorical, Cross, FeatureSpec, geo_spec
from widecross.model import LOSSES, SparseModel

EXPLORE = os.environ.get("WIDECROSS_HYPOTHESIS") == "explore"


def profile(examples: int) -> settings:
    return settings(max_examples=examples * (10 if EXPLORE else 1), deadline=None, derandomize=not EXPLORE,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture], database=None)


# ---------------------------------------------------------------------- strategies
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
labels = st.one_of(st.text(min_size=0, max_size=6), st.integers(-(2**63), 2**63 - 1))


@st.composite
def bucketizers(draw: Any, column: str) -> Bucketize:
    policy = draw(st.sampled_from(["error", "clip", "bucket"]))
    if draw(st.booleans()):
        edges = sorted(set(draw(st.lists(finite, min_size=2, max_size=6))))
        assume(len(edges) >= 2 and all(b > a for a, b in zip(edges, edges[1:])))
        return Bucketize(column, boundaries=edges, out_of_range=policy, wrap=draw(st.booleans()))
    start = draw(finite)
    span = draw(st.floats(min_value=1e-3, max_value=1e4))
    n = draw(st.integers(1, 5000))
    return Bucketize(column, start, start + span, n_buckets=n, wrap=draw(st.booleans()), out_of_range=policy)


@st.composite
def categoricals(draw: Any, column: str, bounded: bool) -> Categorical:
    unknown = draw(st.sampled_from(["error", "bucket"]))
    kind = draw(st.sampled_from(["vocabulary", "n_buckets"] + ([] if bounded else ["hash"])))
    if kind == "vocabulary":
        vocab = draw(st.lists(labels, min_size=1, max_size=8, unique_by=lambda v: (type(v), v)))
        return Categorical(column, vocabulary=vocab, unknown=unknown)
    if kind == "n_buckets":
        return Categorical(column, draw(st.integers(1, 1000)), unknown=unknown)
    return Categorical(column, unknown=unknown)


@st.composite
def specs(draw: Any) -> FeatureSpec:
    bits = draw(st.one_of(st.none(), st.integers(1, 40)))
    n_numeric, n_categorical = draw(st.integers(0, 3)), draw(st.integers(0, 2))
    assume(n_numeric + n_categorical >= 1)
    components: list[Any] = [draw(bucketizers(f"x{i}")) for i in range(n_numeric)]
    components += [draw(categoricals(f"c{i}", bits is None)) for i in range(n_categorical)]
    features: list[Any] = []
    for i, c in enumerate(components):
        if draw(st.booleans()) or len(components) == 1:
            features.append(c)
        if i and draw(st.booleans()):
            features.append(Cross(components[i - 1], c))
    if len(components) >= 3 and draw(st.booleans()):
        features.append(Cross(*components[:3]))
    features = list({f.name: f for f in features}.values())
    assume(features)
    return FeatureSpec(features, bits=bits, seed=draw(st.integers(0, 2**64 - 1)))


def column_values(draw: Any, component: Any, n: int) -> Any:
    if isinstance(component, Bucketize):
        lo, hi = component.start, component.stop
        lo = -1e6 if math.isinf(lo) else lo
        hi = 1e6 if math.isinf(hi) else hi
        inside = st.one_of(st.floats(min_value=lo, max_value=hi, allow_nan=False), st.sampled_from([lo, hi]))
        if component.out_of_range == "bucket":
            inside = st.one_of(inside, st.sampled_from([math.nan, math.inf, -math.inf, hi + 1.0, lo - 1.0]))
        elif component.out_of_range == "clip":
            inside = st.one_of(inside, st.sampled_from([math.inf, -math.inf, hi * 2 + 1.0, lo * 2 - 1.0]))
        values = np.array(draw(st.lists(inside, min_size=n, max_size=n)), dtype=np.float64)
        if draw(st.booleans()):
            # float32 input, unless rounding carries a value past an edge it may not cross.
            values32 = values.astype(np.float32)
            finite32 = values32[np.isfinite(values32)].astype(np.float64)  # compared as the kernel does
            if component.out_of_range != "error" or np.all((finite32 >= lo) & (finite32 <= hi)):
                return values32
        return values
    if component.vocabulary is not None and component.unknown == "error":
        return draw(st.lists(st.sampled_from(component.vocabulary), min_size=n, max_size=n))
    pool = st.one_of(labels, st.none()) if component.unknown == "bucket" else labels
    values = draw(st.lists(pool, min_size=n, max_size=n))
    return values if draw(st.booleans()) else np.array(values, dtype=object)


@st.composite
def spec_and_data(draw: Any, max_rows: int = 40) -> tuple[FeatureSpec, dict[str, Any], int]:
    spec = draw(specs())
    n = draw(st.integers(0, max_rows))
    components = {c.column: c for f in spec.features for c in f.components}
    data = {column: column_values(draw, components[column], n) for column in spec.columns}
    return spec, data, n


@st.composite
def models_for(draw: Any, spec: FeatureSpec) -> SparseModel:
    width = spec.n_features
    nnz = draw(st.integers(0, 30))
    idx = np.unique(np.array(draw(st.lists(st.integers(0, width - 1), min_size=nnz, max_size=nnz)), dtype=np.int64))
    values = draw(st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, width=32), min_size=idx.size,
                           max_size=idx.size))
    loss = draw(st.sampled_from(sorted(k for k, v in LOSSES.items() if v.link != "softmax")))  # one margin
    return SparseModel(idx, np.array(values, dtype=np.float32), draw(st.floats(-10, 10)), width, loss, spec=spec)


# ---------------------------------------------------------------------- valid inputs
@profile(250)
@given(case=spec_and_data(), data=st.data())
def test_random_valid_inputs_transform_and_predict_finitely(case, data):
    spec, columns, n = case
    X = spec.transform(columns)
    k = len(spec.features)
    assert X.shape == (n, spec.n_features) and X.has_canonical_format
    counts = np.diff(X.indptr)
    assert np.all((counts >= 1) & (counts <= k)) if n else X.nnz == 0
    assert X.data.sum() == n * k  # every feature contributes one; shared hashed columns add up
    if X.nnz:
        assert 0 <= X.indices.min() and X.indices.max() < spec.n_features
    model = data.draw(models_for(spec))
    scores = model.decision_function(columns)
    np.testing.assert_array_equal(scores, model.decision_function(X))
    assert scores.shape == (n,) and np.all(np.isfinite(scores))
    if model.loss == "logistic":
        p = model.predict_proba(columns)
        assert np.all((p >= 0) & (p <= 1)) and np.allclose(p.sum(axis=1), 1.0)
    elif model.loss != "poisson":  # exp of a large score overflows by design
        assert np.all(np.isfinite(model.predict(columns)))


@profile(150)
@given(
    resolutions=st.lists(st.sampled_from([60, 30, 20, 15, 10, 5, 2, 1, 0.5]), min_size=1, max_size=3, unique=True),
    bits=st.one_of(st.none(), st.integers(8, 40)),
    lat=st.lists(st.one_of(st.floats(-90, 90), st.sampled_from([-90.0, 90.0, -0.0, 0.0])), min_size=1, max_size=30),
    data=st.data(),
)
def test_any_coordinates_on_the_globe_are_valid(resolutions, bits, lat, data):
    lon = data.draw(st.lists(st.one_of(st.floats(-180, 180), st.sampled_from([-180.0, 180.0, -0.0])),
                             min_size=len(lat), max_size=len(lat)))
    spec = geo_spec(resolutions=resolutions, bits=bits, seed=data.draw(st.integers(0, 2**64 - 1)))
    X = spec.transform({"lat": lat, "lon": lon})
    assert X.shape[0] == len(lat) and X.data.sum() == len(lat) * len(spec.features)
    # 180 and -180 are one meridian: flipping the sign of +-180 changes nothing.
    flipped = [-x if abs(x) == 180 else x for x in lon]
    assert (spec.transform({"lat": lat, "lon": flipped}) != X).nnz == 0
    model = data.draw(models_for(spec))
    assert np.all(np.isfinite(model.decision_function({"lat": lat, "lon": lon})))


@profile(30)
@given(
    n=st.integers(20, 300),
    params=st.fixed_dictionaries({
        "l1": st.sampled_from([0.0, 1e-7, 1e-5, 1e-3, 0.1]),
        "l2": st.sampled_from([0.0, 1e-6, 1e-2]),
        "optimizer": st.sampled_from(["sgd", "ftrl"]),
        "schedule": st.sampled_from(["adagrad", "constant", "invscaling"]),
        "epochs": st.integers(1, 2),
        "random_state": st.integers(0, 2**31 - 1),
    }),
    bits=st.sampled_from([None, 12, 20]),
    seed=st.integers(0, 2**31 - 1),
    data=st.data(),
)
def test_random_valid_training_gives_finite_predictions(n, params, bits, seed, data):
    from widecross.estimators import WideClassifier, WideRegressor

    rng = np.random.default_rng(seed)
    columns = {"lat": rng.uniform(-90, 90, n), "lon": rng.uniform(-180, 180, n)}
    columns["lat"][:2] = [90.0, -90.0]
    y = (rng.random(n) < 0.3).astype(np.int64)
    y[:2] = [0, 1]
    weights = rng.uniform(0, 3, n) if data.draw(st.booleans()) else None
    spec = geo_spec(resolutions=(60, 10), bits=bits)
    clf = WideClassifier(spec, **params).fit(columns, y, sample_weight=weights)
    assert np.all(np.isfinite(clf.model_.values))
    p = clf.predict_proba(columns)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    assert set(np.unique(clf.predict(columns))) <= {0, 1}
    loaded = loads(dumps(clf.model_))
    np.testing.assert_array_equal(loaded.predict_proba(columns), p)
    target = rng.normal(5.0, 2.0, n)
    reg = WideRegressor(spec, **params).fit(columns, target, sample_weight=weights)
    assert np.all(np.isfinite(reg.predict(columns)))


# ---------------------------------------------------------------------- chunks equal the whole
def split_points(draw: Any, n: int) -> list[int]:
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=5))))
    return [0, *cuts, n]


def take(columns: dict[str, Any], start: int, stop: int) -> dict[str, Any]:
    return {k: v[start:stop] for k, v in columns.items()}


@profile(200)
@given(case=spec_and_data(max_rows=60), data=st.data())
def test_transforms_of_random_chunks_equal_the_whole(case, data):
    spec, columns, n = case
    whole = spec.transform(columns)
    points = split_points(data.draw, n)
    chunks = [take(columns, a, b) for a, b in zip(points, points[1:])]
    parts = list(spec.transform_chunks(chunks))
    assert [p.shape[0] for p in parts] == [b - a for a, b in zip(points, points[1:])]
    stacked = sp.vstack(parts, format="csr") if parts else whole
    assert stacked.shape == whole.shape
    np.testing.assert_array_equal(stacked.indptr, whole.indptr)
    np.testing.assert_array_equal(stacked.indices, whole.indices)
    np.testing.assert_array_equal(stacked.data, whole.data)
    # Keys recorded chunk by chunk equal the keys of the whole.
    keys = wc.features.KeyRecord(spec)
    for _ in spec.transform_chunks(chunks, record=keys):
        pass
    whole_keys = spec.record(columns)
    assert len(keys) == len(whole_keys)
    if whole.nnz:
        cols = np.unique(whole.indices)
        a, b = keys.decode(cols), whole_keys.decode(cols)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


@profile(60)
@given(n=st.integers(1, 200), data=st.data())
def test_the_first_bad_row_is_counted_across_chunks(n, data):
    spec = geo_spec(bits=20)
    rng = np.random.default_rng(n)
    columns = {"lat": rng.uniform(-90, 90, n), "lon": rng.uniform(-180, 180, n)}
    bad = data.draw(st.integers(0, n - 1))
    column = data.draw(st.sampled_from(["lat", "lon"]))
    columns[column][bad] = data.draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e3, -1e3]))
    if data.draw(st.booleans()):  # a second bad row later does not change the first
        columns[column][data.draw(st.integers(bad, n - 1))] = math.nan
    points = split_points(data.draw, n)
    chunks = [take(columns, a, b) for a, b in zip(points, points[1:])]
    with pytest.raises(ValueError) as info:
        list(spec.transform_chunks(chunks))
    message = str(info.value)
    assert f"column '{column}'" in message and f"first at row {bad} " in message
    with pytest.raises(ValueError, match=f"first at row {bad} "):
        spec.transform(columns)


@profile(60)
@given(case=spec_and_data(max_rows=60), data=st.data())
def test_predictions_in_chunks_equal_the_whole(case, data, monkeypatch_module):
    spec, columns, n = case
    model = data.draw(models_for(spec))
    whole = model.decision_function(columns)
    monkeypatch_module.setattr("widecross.model.sparse.PREDICT_CHUNK_ROWS", data.draw(st.integers(1, 7)))
    np.testing.assert_array_equal(model.decision_function(columns), whole)
    monkeypatch_module.undo()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


# ---------------------------------------------------------------------- corrupted files
@pytest.fixture(scope="module")
def valid_files() -> list[bytes]:
    rng = np.random.default_rng(5)
    spec = geo_spec(bits=22)
    files = []
    for nnz, encoding, with_spec in ((300, "float32", True), (200, "float16", False), (150, "q8", True), (0, "float32", True)):
        idx = np.unique(rng.integers(0, spec.n_features, nnz))
        model = SparseModel(idx, rng.laplace(0, 0.3, idx.size) + 1e-3, 0.2, spec.n_features, "logistic",
                            spec=spec if with_spec else None, classes=[0, 1], metadata={"nnz": int(idx.size)})
        files.append(dumps(model, values=encoding))
    return files


@st.composite
def corruptions(draw: Any, blob: bytes) -> bytes:
    """One or more random edits of a file: overwrite, insert, delete, duplicate, truncate, swap."""
    out = bytearray(blob)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["overwrite", "insert", "delete", "duplicate", "truncate", "swap", "bits"]))
        n = len(out)
        if n == 0:
            out += draw(st.binary(min_size=1, max_size=8))
            continue
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(i, min(n, i + 64)))
        if kind == "overwrite":
            out[i:j + 1] = draw(st.binary(min_size=j + 1 - i, max_size=j + 1 - i))
        elif kind == "insert":
            out[i:i] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "delete":
            del out[i:j + 1]
        elif kind == "duplicate":
            out[j:j] = out[i:j + 1]
        elif kind == "truncate":
            del out[i:]
        elif kind == "swap":
            k = draw(st.integers(0, n - 1))
            a, b = sorted((i, k))
            width = min(j - i + 1, b - a) if b > a else 0
            out[a:a + width], out[b:b + width] = out[b:b + width], out[a:a + width]
        else:
            for bit in draw(st.lists(st.integers(0, 8 * n - 1), min_size=1, max_size=8)):
                out[bit >> 3] ^= 1 << (bit & 7)
    return bytes(out)


@profile(1000)
@given(data=st.data())
def test_random_corruptions_always_raise_model_format_error(valid_files, data):
    blob = data.draw(st.sampled_from(valid_files))
    bad = data.draw(corruptions(blob))
    assume(bad != blob)
    with pytest.raises(ModelFormatError):
        loads(bad)


def reseal(blob: bytes) -> bytes:
    """Recompute the lengths and checksums of a (possibly edited) three-section file."""
    if len(blob) < 68 or struct.unpack_from("<I", blob, 12)[0] != 3:
        return blob
    head = blob[:16]
    lengths = [struct.unpack_from("<Q", blob, 16 + 16 * n + 4)[0] for n in range(3)]
    body = blob[68:]
    sections, pos = [], 0
    for n, length in enumerate(lengths):
        end = len(body) if n == 2 else min(len(body), pos + length)
        sections.append(body[pos:end])
        pos = end
    table = b"".join(blob[16 + 16 * n : 20 + 16 * n] + struct.pack("<QI", len(s), zlib.crc32(s))
                     for n, s in enumerate(sections))
    header = head + table
    return header + struct.pack("<I", zlib.crc32(header)) + b"".join(sections)


@st.composite
def meta_edits(draw: Any, blob: bytes) -> bytes:
    """Replace one metadata field with a hostile value, keeping the file well formed."""
    length = struct.unpack_from("<Q", blob, 20)[0]
    meta = json.loads(blob[68 : 68 + length])
    key = draw(st.sampled_from(sorted(meta)))
    hostile = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=10), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.sampled_from([0, 1, -1, 2**31, 2**63 - 1, 2**64, 256, 257, -101, 114]),
    )
    meta[key] = draw(hostile)
    if draw(st.booleans()):
        meta.setdefault("codebook_size", 4)
        meta.setdefault("value_scale_exp", 0)
    return _with_meta(blob, json.dumps(meta).encode())


def _with_meta(blob: bytes, raw: bytes) -> bytes:
    length = struct.unpack_from("<Q", blob, 20)[0]
    patched = bytearray(blob[:68] + raw + blob[68 + length :])
    struct.pack_into("<Q", patched, 20, len(raw))
    return reseal(bytes(patched))


@profile(800)
@given(data=st.data())
def test_resealed_corruptions_raise_model_format_error_or_load_a_valid_model(valid_files, data):
    blob = data.draw(st.sampled_from(valid_files))
    if data.draw(st.booleans()):
        bad = data.draw(meta_edits(blob))
    else:
        bad = reseal(data.draw(corruptions(blob)))
    try:
        model = loads(bad)
    except ModelFormatError:
        return
    # Whatever loaded is a valid model: sorted in-range ids, finite nonzero float32 weights.
    ids = model.indices.astype(np.int64)
    assert np.all(np.diff(ids) > 0) and (model.nnz == 0 or (ids[0] >= 0 and ids[-1] < model.n_features))
    assert model.values.dtype == np.float32 and np.all(np.isfinite(model.values)) and np.all(model.values != 0)
    assert math.isfinite(model.intercept)
    X = sp.csr_matrix((np.ones(min(model.nnz, 5)), ids[:5], [0, min(model.nnz, 5)]), shape=(1, model.n_features))
    assert np.all(np.isfinite(model.decision_function(X)))
    assert loads(dumps(model)).nnz == model.nnz
