"""The model file: layout, codecs against references, loss of the lossy encodings, sizes, bad
files, the golden files, atomic writes."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import expit

import widecross as wc
from widecross import export
from widecross.model import _rice, _values, file_format
from widecross.export import ModelFormatError, dumps, loads
from widecross.model import SparseModel

DATA = Path(__file__).resolve().parent / "data"
TAGS = (b"META", b"INDX", b"VALS")


# ---------------------------------------------------------------------- independent layout helpers
def assemble(meta, index: bytes, values: bytes, version=1, tags=TAGS, crcs=None) -> bytes:
    """Write a file by the documented layout, independently of widecross.export."""
    meta_bytes = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    bodies = [meta_bytes, index, values]
    head = b"\x89WCM\r\n\x1a\n" + struct.pack("<II", version, len(tags))
    for n, (tag, body) in enumerate(zip(tags, bodies)):
        crc = zlib.crc32(body) if crcs is None else crcs[n]
        head += tag + struct.pack("<QI", len(body), crc)
    head += struct.pack("<I", zlib.crc32(head))
    return head + b"".join(bodies)


def split(data: bytes) -> tuple[dict, bytes, bytes, list[int]]:
    """(meta, index bytes, values bytes, section start offsets) of a version-1 file."""
    count = struct.unpack_from("<I", data, 12)[0]
    pos = 16 + 16 * count + 4
    bodies, starts = [], []
    for n in range(count):
        _, length, _ = struct.unpack_from("<4sQI", data, 16 + 16 * n)
        starts.append(pos)
        bodies.append(data[pos : pos + length])
        pos += length
    return json.loads(bodies[0]), bodies[1], bodies[2], starts


def rice_reference(ids) -> bytes:
    """Plain-Python Rice coder written from the format description in widecross.model._rice."""
    bits: list[int] = []

    def put(value, n):
        bits.extend((value >> j) & 1 for j in range(n))

    gaps = [ids[0]] + [b - a - 1 for a, b in zip(ids, ids[1:])] if len(ids) else []
    for start in range(0, len(gaps), 64):
        block = gaps[start : start + 64]

        def cost(g, k):
            return (g >> k) + 1 + k if (g >> k) < 32 else 32 + 6 + g.bit_length()

        costs = [sum(cost(g, k) for g in block) for k in range(min(max(block).bit_length(), 62) + 1)]
        k = costs.index(min(costs))
        put(k, 6)
        for g in block:
            if (g >> k) < 32:
                bits.extend([1] * (g >> k) + [0])
                put(g, k)
            else:
                bits.extend([1] * 32)
                put(g.bit_length(), 6)
                put(g, g.bit_length())
    bits.extend([0] * (-len(bits) % 8))
    return bytes(sum(bits[i + j] << j for j in range(8)) for i in range(0, len(bits), 8))


def laplace_model(rng, n_features, nnz, loss="logistic", spread="uniform", **kwargs):
    if spread == "uniform":
        idx = np.unique(rng.integers(0, n_features, int(nnz * 1.02)))[:nnz]
    else:  # clustered around "populated" cells
        centers = rng.integers(0, n_features, nnz // 50)
        idx = np.unique((centers[rng.integers(0, centers.size, 2 * nnz)] + rng.normal(0, 3000, 2 * nnz)).astype(np.int64) % n_features)[:nnz]
    values = rng.laplace(0, 0.2, idx.size).astype(np.float32)
    values[values == 0] = 1e-3
    return SparseModel(idx, values, 0.3, n_features, loss, **kwargs)


@pytest.fixture(scope="module")
def small_model():
    rng = np.random.default_rng(0)
    return laplace_model(rng, 2**24, 300, classes=[0, 1], metadata={"l1": 1e-6, "epochs": 3})


# ---------------------------------------------------------------------- index codec
@pytest.mark.parametrize(
    "ids",
    [
        [],
        [0],
        list(range(200)),
        [5, 6, 7, 1000, 1001, 2**20],
        [0, 2**40, 2**40 + 1, 2**62, 2**63 - 2],
        "uniform",
        "clustered",
    ],
)
def test_rice_matches_python_reference(ids):
    rng = np.random.default_rng(1)
    if ids == "uniform":
        ids = np.unique(rng.integers(0, 2**24, 700)).tolist()
    elif ids == "clustered":
        ids = np.unique(np.concatenate([rng.integers(0, 50, 100) + c for c in rng.integers(0, 2**30, 9)])).tolist()
    arr = np.array(ids, dtype=np.int64)
    encoded = _rice.encode(arr)
    assert encoded == rice_reference(ids)
    assert _rice.decode(encoded, len(ids), 2**63 - 1).tolist() == ids


def test_rice_size_near_entropy():
    rng = np.random.default_rng(2)
    width, nnz = 2**24, 100_000
    ids = np.unique(rng.integers(0, width, nnz))
    bits = 8 * len(_rice.encode(ids)) / ids.size
    assert bits <= 1.03 * np.log2(np.e * width / ids.size)


@pytest.mark.parametrize(
    "stream, nnz, width, problem",
    [
        (rice_reference([3, 9]), 40, 100, "truncated"),  # padding may decode as a code or two
        (rice_reference([3, 9])[:-1], 2, 100, "truncated"),
        (rice_reference([3, 9]) + b"\x00", 2, 100, "after its last code"),
        (bytes([0b111111]), 1, 100, "impossible Rice parameter"),  # k = 63
        (rice_reference([3, 99]), 2, 99, ">= n_features"),
        (bytes([0xC0, 0xFF, 0xFF, 0xFF, 0x3F, 0x00]), 1, 2**62, "impossible"),  # k=0, escape, length 0
    ],
)
def test_rice_decoder_rejects(stream, nnz, width, problem):
    with pytest.raises(ValueError, match=problem):
        _rice.decode(stream, nnz, width)


def test_rice_decoder_rejects_nonzero_padding():
    good = bytearray(rice_reference([3]))  # 6 + 1 + 2 bits = 9 bits: 7 padding bits in byte 2
    good[-1] |= 0x80
    with pytest.raises(ValueError, match="after its last code"):
        _rice.decode(bytes(good), 1, 100)


# ---------------------------------------------------------------------- layout and round trips
def test_layout_matches_the_documentation(small_model):
    data = dumps(small_model)
    meta, index, values, _ = split(data)
    assert data[:8] == b"\x89WCM\r\n\x1a\n" and struct.unpack_from("<II", data, 8) == (1, 3)
    assert assemble(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode(), index, values) == data
    assert index == rice_reference(small_model.indices.tolist())
    planes = zlib.decompress(values)
    assert planes == small_model.values.astype("<f4").view(np.uint8).reshape(-1, 4).T.tobytes()
    assert meta["nnz"] == 300 and meta["n_features"] == 2**24 and meta["value_encoding"] == "float32"
    assert meta["index_codec"] == "rice64" and meta["library_version"] == wc.__version__
    assert meta["metadata"] == {"l1": 1e-6, "epochs": 3} and meta["classes"] == [0, 1]


def test_float32_round_trip_is_bit_exact_with_spec(tmp_path):
    spec = wc.geo_spec(bits=22)
    rng = np.random.default_rng(3)
    m = laplace_model(rng, spec.n_features, 20_000, spec=spec, classes=["cheap", "dear"], metadata={"seed": 3})
    m = SparseModel(m.indices, m.values, 0.1 + 0.2, m.n_features, "logistic", spec=spec, classes=m.classes, metadata=m.metadata)
    path = m.save(tmp_path / "m.wcm")
    assert path == tmp_path / "m.wcm"
    m2 = wc.load(path)
    assert m2.indices.dtype == m.indices.dtype and np.array_equal(m2.indices, m.indices)
    assert np.array_equal(m2.values.view(np.uint32), m.values.view(np.uint32))
    assert m2.intercept == m.intercept == 0.1 + 0.2  # a float64 intercept survives exactly
    assert m2.spec == spec and m2.classes == ["cheap", "dear"] and m2.metadata == {"seed": 3}
    cols = {"lat": rng.uniform(-80, 80, 5000), "lon": rng.uniform(-180, 180, 5000)}
    np.testing.assert_array_equal(m2.predict_proba(cols), m.predict_proba(cols))
    assert m2.predict(cols).tolist() == m.predict(cols).tolist()
    assert path.read_bytes() == dumps(m)
    s = m2.summary()
    assert s["file_bytes"] == path.stat().st_size and s["path"] == str(path)
    assert s["bytes_per_nonzero"] == pytest.approx(path.stat().st_size / m.nnz)
    assert s["value_encoding"] == "float32" and s["format_version"] == 1 and s["spec"] == json.loads(spec.to_json())
    assert export.inspect_file(path) == s


@pytest.mark.parametrize("loss, classes", [("squared", None), ("poisson", None), ("hinge", [-1, 1]), ("logistic", None)])
def test_round_trip_losses(loss, classes):
    m = SparseModel([1, 2**40 - 1], [0.5, -0.25], -3.5, 2**40, loss, classes=classes)
    m2 = loads(dumps(m))
    assert (m2.loss, m2.classes, m2.intercept, m2.n_features) == (loss, classes, -3.5, 2**40)
    assert m2.indices.dtype == np.int64 and m2.indices.tolist() == [1, 2**40 - 1]


def test_empty_model_round_trips():
    for enc in _values.ENCODINGS:
        m2 = loads(dumps(SparseModel([], [], 0.5, 10, "squared"), enc))
        assert m2.nnz == 0 and m2.intercept == 0.5


def test_unknown_value_encoding(small_model, tmp_path):
    with pytest.raises(ValueError, match="values must be one of 'float32', 'float16', 'q8'; got 'int8'"):
        small_model.save(tmp_path / "x.wcm", values="int8")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- lossy value codecs
def test_float16_relative_error_and_no_zeros():
    rng = np.random.default_rng(4)
    v = (rng.laplace(0, 1, 5000) * 10.0 ** rng.integers(-12, 3, 5000)).astype(np.float32)
    v[:3] = [1e-30, -1e-25, 3.0]  # far below float16's range relative to the largest weight
    m = SparseModel(np.arange(v.size) * 3, v, 0.0, 2**20, "squared")
    m2 = loads(dumps(m, "float16"))
    assert np.all(np.sign(m2.values) == np.sign(m.values)) and np.all(m2.values != 0)
    scale = 2.0 ** (np.floor(np.log2(np.abs(m.values).max())) - 14)
    err = np.abs(m2.values.astype(np.float64) - m.values)
    # Normal range: half an ulp; subnormal range: half a step, or a full step for the weights
    # lifted to the smallest subnormal instead of vanishing.
    assert np.all(err <= np.maximum(2.0**-11 * np.abs(m.values), 2.0**-24 * scale) * (1 + 1e-9))


@pytest.mark.parametrize("magnitude", [1e-40, 1e-20, 1.0, 6e4, 1e30, 3e38, float(np.finfo(np.float32).max)])
def test_float16_any_magnitude(magnitude):
    v = np.array([magnitude, -magnitude / 3, magnitude / 1000], dtype=np.float32)
    v = v[v != 0]
    m2 = loads(dumps(SparseModel(np.arange(v.size), v, 0.0, 10, "squared"), "float16"))
    assert np.all(np.isfinite(m2.values)) and np.all(m2.values != 0)
    assert np.all(np.sign(m2.values) == np.sign(v))
    if magnitude >= 1e-20:  # below ~2**-86 the scale stops following (all weights are ~0 anyway)
        big = np.abs(v) >= np.abs(v).max() * 2.0**-14
        np.testing.assert_allclose(m2.values[big], v[big], rtol=2.0**-11)


def q8_reference(values, codebook):
    """Each value's nearest same-sign level, by brute force."""
    out = []
    for x in values.astype(np.float64):
        same = [c for c in codebook.astype(np.float64) if (c > 0) == (x > 0)]
        out.append(min(same, key=lambda c: abs(c - x)))
    return np.array(out)


@pytest.mark.parametrize("kind", ["laplace", "positive", "negative", "few", "single", "skewed"])
def test_q8_codebook(kind):
    rng = np.random.default_rng(5)
    v = {
        "laplace": rng.laplace(0, 0.3, 3000),
        "positive": rng.exponential(1, 1000),
        "negative": -rng.exponential(1, 1000),
        "few": np.array([0.5, -0.5, 0.25, 0.5, 2.0]),
        "single": np.array([-3.0]),
        "skewed": np.concatenate([rng.exponential(1, 3000), [-1e-6]]),
    }[kind].astype(np.float32)
    v[v == 0] = 1e-3
    codebook, codes = _values.q8_codebook(v)
    assert codebook.dtype == np.float32 and 1 <= codebook.size <= 256
    assert np.all(np.diff(codebook) > 0) and np.all(codebook != 0)
    decoded = codebook[codes]
    np.testing.assert_array_equal(decoded, q8_reference(v, codebook))
    if np.unique(v).size <= 128:
        np.testing.assert_array_equal(decoded, v)  # few distinct weights are kept exactly
    m2 = loads(dumps(SparseModel(np.arange(v.size), v, 0.0, v.size, "squared"), "q8"))
    np.testing.assert_array_equal(m2.values, decoded)


def test_q8_error_is_small_for_laplace_weights():
    rng = np.random.default_rng(6)
    v = rng.laplace(0, 0.3, 50_000).astype(np.float32)
    codebook, codes = _values.q8_codebook(v)
    rmse = np.sqrt(np.mean((codebook[codes] - v.astype(np.float64)) ** 2))
    # A uniform 256-level grid over the range would give (range/256)/sqrt(12); Lloyd beats it.
    uniform = (v.max() - v.min()) / 256 / np.sqrt(12)
    assert rmse < 0.8 * uniform


def _geo_like_problem(seed):
    """Rows with 6 active columns drawn Zipf-like inside 6 feature blocks of a 2**22 width
    (marginals and crosses), Laplace weights with many small ones, labels from the weights."""
    rng = np.random.default_rng(seed)
    width = 2**22
    n = 240_000
    blocks = [180, 360, 64_800, 400_000, 1_500_000, 2_000_000]
    offsets = np.concatenate([[0], np.cumsum(blocks)[:-1]]) % width
    cols = np.stack([(offsets[b] + (np.minimum(rng.zipf(1.2, n), size) - 1) * 2654435761) % width for b, size in enumerate(blocks)], 1)
    active = np.unique(cols)
    keep = active[rng.random(active.size) < 0.7]  # as if L1 dropped 30%
    w = rng.laplace(0, 0.25, keep.size).astype(np.float32)
    model = SparseModel(keep, w, -0.2, width, "logistic")
    indptr = np.arange(0, 6 * n + 1, 6)
    X = sp.csr_matrix((np.ones(6 * n, np.float32), np.sort(cols, 1).ravel(), indptr), shape=(n, width))
    y = rng.random(n) < expit(model.decision_function(X))
    return model, X, y


def _log_loss(p, y):
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(np.where(y, np.log(p), np.log1p(-p))))


@pytest.mark.slow
def test_lossy_encodings_change_held_out_log_loss_little():
    model, X, y = _geo_like_problem(7)
    assert model.nnz > 50_000
    base = _log_loss(model.predict_proba(X)[:, 1], y)
    for enc, budget in (("float16", 0.001), ("q8", 0.005)):
        changed = _log_loss(loads(dumps(model, enc)).predict_proba(X)[:, 1], y)
        assert abs(changed - base) / base <= budget, (enc, base, changed)
    assert loads(dumps(model, "float32")).predict_proba(X)[:, 1].tolist() == model.predict_proba(X)[:, 1].tolist()


def test_lossy_encodings_on_data_gen_sparse_problem():
    from data_gen.sparse import generate_sparse

    X, y, w_true = generate_sparse(40_000, 2**16, 10, 2_000, seed=8)
    idx = np.flatnonzero(w_true)
    rng = np.random.default_rng(8)
    # A "trained" model: the truth plus estimation noise, on the informative columns.
    model = SparseModel(idx, w_true[idx] + rng.normal(0, 0.1, idx.size), 0.0, 2**16, "logistic")
    base = _log_loss(model.predict_proba(X)[:, 1], y == 1)
    for enc, budget in (("float16", 0.001), ("q8", 0.005)):
        changed = _log_loss(loads(dumps(model, enc)).predict_proba(X)[:, 1], y == 1)
        assert abs(changed - base) / base <= budget, (enc, base, changed)


# ---------------------------------------------------------------------- sizes
@pytest.mark.parametrize("spread", ["uniform", "clustered"])
def test_sizes_at_2_24_with_1e5_nonzeros(spread):
    spec = wc.geo_spec(bits=24)
    model = laplace_model(np.random.default_rng(9), 2**24, 100_000, spread=spread, spec=spec, metadata={"l1": 1e-6})
    assert model.nnz >= 99_000
    sizes = {enc: len(dumps(model, enc)) / model.nnz for enc in _values.ENCODINGS}
    assert sizes["float32"] <= 5.5 and sizes["float16"] <= 3.5 and sizes["q8"] <= 2.5, sizes


# ---------------------------------------------------------------------- bad files
def _raises_format_error(data: bytes, match: str | None = None):
    start = time.perf_counter()
    with pytest.raises(ModelFormatError, match=match) as info:
        loads(data)
    assert time.perf_counter() - start < 2.0
    return info.value


def test_format_error_is_a_value_error():
    assert issubclass(ModelFormatError, ValueError) and wc.ModelFormatError is ModelFormatError


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wcm"
    path.write_bytes(b"")
    with pytest.raises(ModelFormatError, match=r"empty.wcm: the file is empty"):
        wc.load(path)


def test_missing_file_is_not_a_format_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        wc.load(tmp_path / "nope.wcm")


def test_truncated_at_every_section_boundary_and_header_byte(small_model):
    for enc in _values.ENCODINGS:
        data = dumps(small_model, enc)
        _, _, _, starts = split(data)
        cuts = set(range(0, starts[0] + 1)) | {s + d for s in starts for d in (-1, 0, 1)} | {len(data) - 1}
        for cut in sorted(cuts):
            _raises_format_error(data[:cut], match="empty|truncated")


def test_trailing_bytes(small_model):
    _raises_format_error(dumps(small_model) + b"\x00", match="trailing bytes")


def test_flipped_byte_in_each_section_and_header_field(small_model):
    rng = np.random.default_rng(10)
    data = dumps(small_model, "q8")
    _, _, _, starts = split(data)
    ends = starts[1:] + [len(data)]
    positions = list(range(0, starts[0]))  # every header byte: magic, version, count, table, CRC
    for s, e in zip(starts, ends):
        positions += [s, e - 1, *rng.integers(s, e, 5).tolist()]
    for pos in positions:
        for mask in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[pos] ^= mask
            _raises_format_error(bytes(bad))


@pytest.mark.parametrize("name", ["section", "table"])
def test_checksum_messages(small_model, name):
    data = bytearray(dumps(small_model))
    _, _, _, starts = split(bytes(data))
    if name == "section":
        data[starts[2] + 3] ^= 1
        _raises_format_error(bytes(data), match="VALS section's checksum")
    else:
        data[16 + 4] ^= 1  # META's length
        _raises_format_error(bytes(data), match="header checksum")


def test_random_bytes_and_foreign_formats(tmp_path):
    rng = np.random.default_rng(11)
    for n in (1, 7, 8, 100, 10_000):
        _raises_format_error(rng.bytes(n))
    np.savez(tmp_path / "w.npz", w=np.arange(5))
    _raises_format_error((tmp_path / "w.npz").read_bytes(), match="zip archive")
    buf = io.BytesIO()
    np.save(buf, np.arange(5))
    _raises_format_error(buf.getvalue(), match=r"\.npy")
    _raises_format_error(pickle.dumps({"w": np.arange(5)}), match="pickle")
    _raises_format_error(b'{"indices": [1]}', match="JSON")
    _raises_format_error(zlib.compress(b"x"), match="starts with")
    _raises_format_error(b"\x89WCM\n\x1a\n\x01\x00\x00\x00", match="damaged")


def test_a_pickle_is_never_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("unpickled!",))

    _raises_format_error(pickle.dumps(Boom()), match="pickle")


def test_newer_version_names_both_versions(small_model):
    data = bytearray(dumps(small_model))
    data[8:12] = struct.pack("<I", 7)
    err = _raises_format_error(bytes(data), match="newer")
    assert "version 7" in str(err) and "up to version 2" in str(err) and "upgrade" in str(err)
    data[8:12] = struct.pack("<I", 0)
    _raises_format_error(bytes(data), match="unsupported format version 0")


def _meta(**changes):
    meta = {
        "library_version": "0.1.0", "n_features": 100, "nnz": 2, "intercept": 0.0, "loss": "logistic",
        "classes": None, "spec": None, "metadata": {}, "index_codec": "rice64", "value_encoding": "float32",
    }
    meta.update(changes)
    return {k: v for k, v in meta.items() if v != "DROP"}


def _good_sections(values=(0.5, -1.0), ids=(3, 9)):
    return _rice.encode(np.array(ids)), zlib.compress(np.array(values, "<f4").view(np.uint8).reshape(-1, 4).T.tobytes())


def test_crafted_valid_file_loads():
    m = loads(assemble(_meta(), *_good_sections()))
    assert m.indices.tolist() == [3, 9] and m.values.tolist() == [0.5, -1.0]


def test_huge_nnz_claim_is_rejected_before_allocating():
    tracemalloc.start()
    try:
        for nnz in (10**12, 2**62, 17):
            data = assemble(_meta(nnz=nnz, n_features=2**63 - 1), *_good_sections())
            _raises_format_error(data, match=f"claims {nnz} nonzeros")
        # Fits the index section's bound but not the values section's.
        data = assemble(_meta(nnz=4000, n_features=10**6), b"\x00" * 500, zlib.compress(b"\x00" * 8))
        _raises_format_error(data, match="values section has only")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1e6


@pytest.mark.parametrize(
    "meta, match",
    [
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"{not json", "not valid UTF-8 JSON"),
        (b"[1, 2]", "JSON list, expected an object"),
        (b"[" * 100_000, "not valid UTF-8 JSON"),
        (_meta(nnz="DROP"), "lacks 'nnz'"),
        (_meta(nnz=2.0), "'nnz' has the wrong type"),
        (_meta(nnz=True), "'nnz' has the wrong type"),
        (_meta(intercept="0"), "'intercept' has the wrong type"),
        (_meta(metadata=[]), "'metadata' has the wrong type"),
        (_meta(n_features=0), "n_features 0 is out of range"),
        (_meta(n_features=2**64), "out of range"),
        (_meta(nnz=101), "nnz 101 is out of range"),
        (_meta(loss="cauchy"), "unknown loss 'cauchy'"),
        (_meta(index_codec="leb128"), "unknown index codec 'leb128'"),
        (_meta(value_encoding="bf16"), "unknown value encoding 'bf16'"),
        (_meta(loss="squared", classes=[0, 1]), "inconsistent model: classes"),
        (_meta(classes=[1, 1]), "inconsistent model"),
        (_meta(intercept=float("nan")), "inconsistent model: intercept"),
        (_meta(metadata={"a": float("inf")}), "inconsistent model"),
        (_meta(spec={"format": "something else"}), "stored feature spec cannot be read"),
        (_meta(n_features=9), "column id >= n_features"),
    ],
)
def test_bad_metadata(meta, match):
    _raises_format_error(assemble(meta, *_good_sections()), match=match)


def test_bad_sections_with_valid_checksums():
    index, values = _good_sections()
    f16 = zlib.compress(np.array([0.5, 0.0], "<f2").view(np.uint8).reshape(-1, 2).T.tobytes())
    codebook = np.array([-1.0, 2.0], "<f4").tobytes()
    cases = [
        (_meta(), index[:-1], values, "truncated"),
        (_meta(), index, values[:-2], "truncated or over-long zlib"),
        (_meta(), index, values + b"junk", "truncated or over-long zlib"),
        (_meta(), index, b"not zlib at all", "not valid zlib"),
        (_meta(), index, zlib.compress(b"\x00" * 12), "inflates to more than the 8 bytes"),
        (_meta(), index, zlib.compress(b"\x00" * 6), "inflates to 6 bytes, expected 8"),
        (_meta(), index, _good_sections(values=(np.nan, 1.0))[1], "is nan"),
        (_meta(), index, _good_sections(values=(0.0, 1.0))[1], "is 0.0"),
        (_meta(value_encoding="float16"), index, f16, "value_scale_exp must be an integer"),
        (_meta(value_encoding="float16", value_scale_exp=0), index, f16, "is 0.0"),
        (_meta(value_encoding="float16", value_scale_exp=500), index, f16, r"\[-100, 113\]"),
        (_meta(value_encoding="q8", codebook_size=2), index, codebook + zlib.compress(bytes([0, 2])), "outside the 2-entry codebook"),
        (_meta(value_encoding="q8", codebook_size=2), index, codebook[:4] + b"\x00" * 4 + zlib.compress(bytes([0, 1])), "zero or non-finite"),
        (_meta(value_encoding="q8", codebook_size=3), index, codebook, "shorter than its 3-entry codebook"),
        (_meta(value_encoding="q8", codebook_size=0), index, codebook, "codebook_size must be"),
        (_meta(value_encoding="q8", codebook_size=2.5), index, codebook, "codebook_size must be"),
    ]
    for meta, idx, vals, match in cases:
        _raises_format_error(assemble(meta, idx, vals), match=match)
    m = loads(assemble(_meta(value_encoding="q8", codebook_size=2), index, codebook + zlib.compress(bytes([1, 0]))))
    assert m.values.tolist() == [2.0, -1.0]


def test_wrong_tags_and_counts():
    index, values = _good_sections()
    _raises_format_error(assemble(_meta(), index, values, tags=(b"META", b"VALS", b"INDX")), match="unexpected sections")
    data = bytearray(assemble(_meta(), index, values))
    data[12:16] = struct.pack("<I", 2**31)
    _raises_format_error(bytes(data), match=r"lists 2147483648 sections \(corrupted\)")


# ---------------------------------------------------------------------- property tests
@pytest.fixture(scope="module")
def small_files():
    rng = np.random.default_rng(12)
    model = laplace_model(rng, 2**24, 200, spec=wc.geo_spec(bits=24), classes=["a", "b"])
    return [dumps(model, enc) for enc in _values.ENCODINGS]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_truncation_and_bit_flips(small_files, data):
    blob = data.draw(st.sampled_from(small_files))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(blob) - 1))
        _raises_format_error(blob[:cut])
    else:
        # Up to 3 flipped bits: CRC-32 detects every such error in sections this small.
        flips = data.draw(st.lists(st.integers(0, 8 * len(blob) - 1), min_size=1, max_size=3, unique=True))
        bad = bytearray(blob)
        for bit in flips:
            bad[bit >> 3] ^= 1 << (bit & 7)
        _raises_format_error(bytes(bad))


@settings(max_examples=200, deadline=None)
@given(
    index=st.binary(max_size=64),
    values=st.binary(max_size=64),
    nnz=st.integers(0, 40),
    width=st.sampled_from([1, 50, 2**24, 2**40, 2**63 - 1]),
    encoding=st.sampled_from(["float32", "float16", "q8"]),
)
def test_property_garbage_sections_never_crash(index, values, nnz, width, encoding):
    """Sections with valid checksums but arbitrary contents: a clean error or a valid model."""
    meta = _meta(nnz=min(nnz, width), n_features=width, value_encoding=encoding, value_scale_exp=0, codebook_size=4)
    try:
        m = loads(assemble(meta, index, values))
    except ModelFormatError:
        return
    assert np.all(np.diff(m.indices.astype(np.int64)) > 0) and (m.nnz == 0 or m.indices[-1] < width)
    assert np.all(np.isfinite(m.values)) and np.all(m.values != 0)


# ---------------------------------------------------------------------- golden files
def _golden_module():
    spec = importlib.util.spec_from_file_location("make_golden", DATA / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOLDEN = _golden_module()
GOLDEN_FACTS = json.loads((DATA / "golden_v1.json").read_text())


@pytest.mark.parametrize("name", sorted(GOLDEN.golden_models()))
def test_golden_file_loads_to_the_expected_model(name):
    model, encoding = GOLDEN.golden_models()[name]
    loaded = wc.load(GOLDEN.path_of(name))
    assert loaded.source["value_encoding"] == encoding and loaded.source["library_version"] == "0.1.0"
    assert np.array_equal(loaded.indices, model.indices) and loaded.indices.dtype == model.indices.dtype
    assert (loaded.intercept, loaded.n_features, loaded.loss, loaded.classes, loaded.metadata) == (
        model.intercept, model.n_features, model.loss, model.classes, model.metadata)
    if encoding == "float32":
        assert np.array_equal(loaded.values.view(np.uint32), model.values.view(np.uint32))
    else:
        assert np.all(np.sign(loaded.values) == np.sign(model.values))
        np.testing.assert_allclose(loaded.values, model.values, rtol=2e-3, atol=1e-9 if encoding == "float16" else 0.01)
    pinned = {  # a few decoded numbers written down by hand, independent of any encoder
        "float32": (1.0, -0.5625, 3e-09),
        "float16": (1.0, -0.5625, 3.0013325e-09),
        "q8": (1.0, -0.5625, 3e-09),
    }.get(name)
    if pinned:
        assert loaded.values[[0, 1, 7]].tolist() == pytest.approx(pinned, rel=1e-7)


@pytest.mark.parametrize("name", sorted(GOLDEN.golden_models()))
def test_golden_file_bytes_are_reproduced(name, monkeypatch, tmp_path):
    model, encoding = GOLDEN.golden_models()[name]
    monkeypatch.setattr(file_format, "_library_version", lambda: GOLDEN_FACTS["library_version"])
    fresh = export.save(model, tmp_path / "g.wcm", values=encoding).read_bytes()
    golden = GOLDEN.path_of(name).read_bytes()
    if fresh == golden:
        return
    if name == "q8_lloyd":
        # Where Lloyd's levels land is the encoder's choice, not the format: a platform whose libm
        # rounds a cube root differently may pick other levels. The rest must match.
        assert split(fresh)[:2] == split(golden)[:2]
        np.testing.assert_allclose(loads(fresh).values, wc.load(GOLDEN.path_of(name)).values, atol=0.01)
        return
    # A different zlib build (zlib-ng, say) may deflate differently; everything else must match.
    assert zlib.ZLIB_RUNTIME_VERSION != GOLDEN_FACTS["zlib_runtime_version"], "the format changed: see make_golden.py"
    meta_a, index_a, values_a, _ = split(fresh)
    meta_b, index_b, values_b, _ = split(golden)
    assert (meta_a, index_a) == (meta_b, index_b)
    cut = 4 * meta_a.get("codebook_size", 0)
    assert values_a[:cut] == values_b[:cut] and zlib.decompress(values_a[cut:]) == zlib.decompress(values_b[cut:])


# ---------------------------------------------------------------------- atomic writes
def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_failed_write_keeps_the_previous_file(small_model, tmp_path, monkeypatch):
    path = tmp_path / "model.wcm"
    small_model.save(path)
    before = path.read_bytes()

    def half_then_fail(f, pieces):
        f.write(b"".join(pieces)[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(file_format, "_write_all", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        small_model.save(path, values="q8")
    assert path.read_bytes() == before and wc.load(path).nnz == small_model.nnz
    assert _leftovers(tmp_path, {"model.wcm"}) == []
    with pytest.raises(OSError):
        small_model.save(tmp_path / "new.wcm")
    assert _leftovers(tmp_path, {"model.wcm"}) == []  # no half file under the new name either


def test_interrupted_rename_cleans_up(small_model, tmp_path, monkeypatch):
    path = tmp_path / "model.wcm"

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(file_format.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        small_model.save(path)
    assert _leftovers(tmp_path, set()) == []


def test_save_over_existing_and_into_a_directory(small_model, tmp_path):
    path = tmp_path / "model.wcm"
    path.write_bytes(b"old")
    small_model.save(path, values="float16")
    assert wc.load(path).source["value_encoding"] == "float16"
    (tmp_path / "adir").mkdir()
    with pytest.raises(OSError):
        small_model.save(tmp_path / "adir")
    assert _leftovers(tmp_path, {"model.wcm", "adir"}) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_file_mode_follows_umask(small_model, tmp_path):
    old = os.umask(0o027)
    try:
        small_model.save(tmp_path / "m.wcm")
    finally:
        os.umask(old)
    assert (tmp_path / "m.wcm").stat().st_mode & 0o777 == 0o640
