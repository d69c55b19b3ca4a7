"""The K-column model and its file: one shared index, a class mask, the nonzero values; loads and
predicts the same; a reader of the binary layout alone refuses it; damage is caught."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc
from widecross.export import dumps, loads
from widecross.model import MulticlassModel, file_format


@pytest.fixture()
def model():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(300, 4)) * (rng.random((300, 4)) < 0.4)
    values[~values.any(axis=1), 0] = 0.75
    values[5] = 0.0  # an index every class zeroes: not stored
    values[6] = [0.0, 0.0, 1.5, 0.0]
    indices = np.sort(rng.choice(2**40, 300, replace=False))
    return MulticlassModel(indices, values, [0.1, -0.2, 0.3, 0.0], 2**40, "multinomial", classes=["a", "b", "c", "d"],
                           metadata={"note": "x"})


def test_the_model_scores_like_a_dense_reference(model):
    dense_cols = model.indices
    X = sp.random(50, model.n_indices, density=0.05, format="csr", random_state=1)
    X.indices = dense_cols[X.indices].astype(np.int64)  # rows over the stored columns
    X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(50, 2**40))
    W = model.values.astype(np.float64)
    A = sp.csr_matrix((X.data, np.searchsorted(dense_cols, X.indices), X.indptr), shape=(50, model.n_indices))
    expected = A @ W + model.intercept
    np.testing.assert_allclose(model.decision_function(X), expected, rtol=1e-12)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba, np.exp(expected) / np.exp(expected).sum(axis=1, keepdims=True), rtol=1e-10)
    assert model.predict(X).tolist() == [model.classes[i] for i in np.argmax(expected, axis=1)]
    assert model.get_weights(model.indices[:3]).shape == (3, 4)


def test_the_file_stores_each_index_once_and_loads_the_same(model, tmp_path):
    assert model.n_indices == 299 and model.nnz == int(np.count_nonzero(model.values))
    path = model.save(tmp_path / "m.wcm")
    back = wc.load(path)
    assert isinstance(back, MulticlassModel) and back.classes == model.classes and back.metadata == model.metadata
    assert np.array_equal(back.indices, model.indices) and np.array_equal(back.values, model.values)
    assert np.array_equal(back.intercept, model.intercept)
    facts = back.summary()
    assert facts["format_version"] == file_format.MULTICLASS_VERSION and facts["n_classes"] == 4
    assert facts["bytes_per_nonzero"] == path.stat().st_size / model.nnz
    assert facts["bytes_per_index"] == path.stat().st_size / model.n_indices
    assert facts["nnz_per_class"] == np.count_nonzero(model.values, axis=0).tolist()
    # float16 codes the nonzero values only: zeros stay exact zeros
    half = loads(dumps(model, values="float16"))
    assert np.array_equal(half.values == 0, model.values == 0)
    np.testing.assert_allclose(half.values, model.values, rtol=1e-3)


def test_a_reader_of_the_binary_layout_alone_refuses_it(model, monkeypatch):
    data = dumps(model)
    assert struct.unpack("<I", data[8:12])[0] == 2  # the version field
    monkeypatch.setattr(file_format, "LAYOUTS", {1: file_format.SECTIONS})
    monkeypatch.setattr(file_format._read_header, "__defaults__", (file_format.MAGIC, {1: file_format.SECTIONS}))
    with pytest.raises(wc.ModelFormatError, match="version 2 is newer"):
        loads(data)


def _with_mask(data: bytes, mask_payload: bytes) -> bytes:
    """The file with its MASK section replaced (table and CRCs recomputed)."""
    head = struct.Struct("<8sII")
    entry = struct.Struct("<4sQI")
    _, version, count = head.unpack_from(data)
    entries = [entry.unpack_from(data, head.size + i * entry.size) for i in range(count)]
    offset = head.size + count * entry.size + 4
    bodies = []
    for tag, length, _ in entries:
        bodies.append(mask_payload if tag == b"MASK" else data[offset : offset + length])
        offset += length
    return b"".join(file_format.frame(file_format.MAGIC, version, [t for t, _, _ in entries], bodies))


def test_damaged_masks_and_headers_are_refused(model):
    data = dumps(model)
    mask = model.values != 0
    emptied = mask.copy()
    single = int(np.flatnonzero(mask.sum(axis=1) == 1)[0])
    emptied[single] = False  # the same count of nonzeros, one of them moved off an index
    other = int(np.flatnonzero(mask.sum(axis=1) < 4)[-1])
    emptied[other, np.flatnonzero(~mask[other])[0]] = True
    lies = {
        "wrong number of bytes": zlib.compress(b"\xff" * 10),
        "marks": zlib.compress(np.packbits(np.ones_like(mask).ravel(), bitorder="little").tobytes()),
        "no nonzero weight": zlib.compress(np.packbits(emptied.ravel(), bitorder="little").tobytes()),
        "does not decompress": b"not zlib",
    }
    for message, payload in lies.items():
        with pytest.raises(wc.ModelFormatError, match=message):
            loads(_with_mask(data, payload))
    for position in range(0, len(data), max(1, len(data) // 50)):
        damaged = bytearray(data)
        damaged[position] ^= 0x33
        with pytest.raises(wc.ModelFormatError):
            loads(bytes(damaged))


def test_the_estimator_publishes_a_multiclass_model():
    rng = np.random.default_rng(3)
    X = sp.random(300, 30, density=0.1, format="csr", random_state=3)
    y = rng.integers(0, 3, 300)
    clf = wc.WideClassifier(random_state=0, epochs=2).fit(X, y)
    back = loads(dumps(clf.model_))
    assert np.array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.metadata["multi_class"] == "ovr" and back.classes == [0, 1, 2]
