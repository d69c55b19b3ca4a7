"""SparseModel: validation, prediction against plain NumPy / dict references, no width allocation."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit

import widecross as wc
from widecross.model import _lookup
from widecross.model import sparse as model_module
from widecross.model import SparseModel


def random_model(rng, n_features, nnz, loss="logistic", **kwargs):
    idx = np.sort(rng.choice(n_features, size=nnz, replace=False))
    val = rng.laplace(0, 0.5, nnz).astype(np.float32)
    val[val == 0] = 0.125
    return SparseModel(idx, val, float(rng.normal()), n_features, loss, **kwargs)


def random_csr(rng, n_rows, n_features, per_row, index_dtype=np.int32, data_dtype=np.float32):
    """Rows with ``per_row`` random columns (duplicates allowed), some rows empty."""
    counts = rng.integers(0, per_row + 1, n_rows)
    counts[::7] = 0
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(index_dtype)
    cols = rng.integers(0, n_features, indptr[-1]).astype(index_dtype)
    data = rng.normal(size=indptr[-1]).astype(data_dtype)
    return sp.csr_matrix((data, cols, indptr), shape=(n_rows, n_features))


def dict_reference(model, X):
    """Obviously correct: a dict of weights and a Python loop over the stored entries."""
    w = dict(zip(model.indices.tolist(), model.values.astype(np.float64).tolist()))
    out = []
    for i in range(X.shape[0]):
        s = 0.0
        for k in range(X.indptr[i], X.indptr[i + 1]):
            s += float(X.data[k]) * w.get(int(X.indices[k]), 0.0)
        out.append(model.intercept + s)
    return np.array(out)


# ---------------------------------------------------------------------- construction
def test_basic_attributes():
    m = SparseModel([1, 5, 9], [0.5, 0.0, -2.0], 0.25, 16, "logistic", classes=["no", "yes"], metadata={"l1": 1e-6})
    assert m.nnz == 2  # the zero is dropped
    assert m.indices.tolist() == [1, 9] and m.indices.dtype == np.int32
    assert m.values.tolist() == [0.5, -2.0] and m.values.dtype == np.float32
    assert m.intercept == 0.25 and m.n_features == 16 and m.loss == "logistic"
    assert m.classes == ["no", "yes"] and m.metadata == {"l1": 1e-6}
    coef = m.coef_
    assert coef.shape == (1, 16) and coef.format == "csr"
    assert coef.toarray().ravel().tolist() == [0, 0.5, 0, 0, 0, 0, 0, 0, 0, -2.0, 0, 0, 0, 0, 0, 0]
    assert "nnz=2" in repr(m)


def test_index_dtype_follows_width():
    assert SparseModel([0], [1.0], 0, 2**31, "squared").indices.dtype == np.int32
    assert SparseModel([2**31], [1.0], 0, 2**31 + 1, "squared").indices.dtype == np.int64
    assert SparseModel([2**40 - 1], [1.0], 0, 2**40, "squared").indices.tolist() == [2**40 - 1]


def test_empty_model_predicts_intercept():
    m = SparseModel([], [], -0.5, 10, "squared")
    assert m.nnz == 0
    X = sp.csr_matrix(np.ones((3, 10)))
    assert m.predict(X).tolist() == [-0.5] * 3


def test_model_owns_its_arrays():
    idx = np.array([1, 2], dtype=np.int32)
    val = np.array([1.0, 2.0], dtype=np.float32)
    m = SparseModel(idx, val, 0.0, 4, "squared")
    idx[0], val[0] = 3, 9.0
    assert m.indices.tolist() == [1, 2] and m.values.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(indices=[1, 2], values=[1.0]), ValueError, "2 entries but values has 1"),
        (dict(indices=[2, 1]), ValueError, r"strictly increasing.*indices\[0\]=2 >= indices\[1\]=1"),
        (dict(indices=[1, 1]), ValueError, "strictly increasing"),
        (dict(indices=[-1, 1]), ValueError, ">= 0"),
        (dict(indices=[1, 10]), ValueError, "< n_features=10"),
        (dict(indices=[1.0, 2.0]), TypeError, "integers"),
        (dict(values=[1.0, np.nan]), ValueError, "finite.*position 1 \\(column 2\\)"),
        (dict(values=[1.0, 1e300]), ValueError, "overflows float32"),
        (dict(values=["a", "b"]), TypeError, "real numbers"),
        (dict(indices=[[1, 2]], values=[[1.0, 2.0]]), ValueError, "1-D"),
        (dict(intercept=float("inf")), ValueError, "intercept must be finite"),
        (dict(intercept="x"), TypeError, "intercept must be a number"),
        (dict(n_features=0), ValueError, "n_features"),
        (dict(n_features=2.0), TypeError, "n_features must be an integer"),
        (dict(loss="log"), ValueError, "loss must be one of"),
        (dict(classes=[0]), ValueError, "exactly 2"),
        (dict(classes=[1, 1]), ValueError, "must differ"),
        (dict(classes=[None, 1]), TypeError, "class labels"),
        (dict(loss="squared", classes=[0, 1]), ValueError, "only meaningful for classifiers"),
        (dict(metadata={"x": object()}), ValueError, "metadata\\['x'\\] is not JSON"),
        (dict(metadata={"x": float("nan")}), ValueError, "metadata\\['x'\\]"),
        (dict(metadata=[1]), TypeError, "metadata must be a dict"),
    ],
)
def test_constructor_errors(kwargs, error, match):
    args = dict(indices=[1, 2], values=[1.0, 2.0], intercept=0.0, n_features=10, loss="logistic")
    args.update(kwargs)
    with pytest.raises(error, match=match):
        SparseModel(**args)


def test_numpy_scalars_and_labels_accepted():
    m = SparseModel(np.array([1], np.uint64), np.array([1], np.int8), np.float32(0.5), np.int64(4), "logistic",
                    classes=np.array([3, 7]))
    assert m.classes == [3, 7] and type(m.classes[0]) is int
    assert m.predict(sp.csr_matrix(np.eye(4))).tolist() == [7, 7, 7, 7]


# ---------------------------------------------------------------------- directory kernel
@pytest.mark.parametrize("n_features, nnz", [(1, 0), (1, 1), (7, 3), (1000, 1000), (2**20, 5000), (2**40, 3000)])
def test_directory_matches_searchsorted(n_features, nnz):
    rng = np.random.default_rng(n_features + nnz)
    if nnz == n_features:
        idx = np.arange(n_features)
    else:
        idx = np.unique(rng.integers(0, n_features, nnz))
    idx = idx.astype(np.int32 if n_features <= 2**31 else np.int64)
    directory, shift = _lookup.build_directory(idx, n_features)
    n_buckets = directory.size - 1
    assert n_buckets >= 1 and (n_buckets & (n_buckets - 1)) == 0
    assert ((n_features - 1) >> shift) < n_buckets  # every column has a bucket
    starts = np.arange(n_buckets + 1, dtype=np.int64) << shift
    np.testing.assert_array_equal(directory, np.searchsorted(idx.astype(np.int64), starts))
    # Memory: about one int32 per four ids (at most one per id), never per column.
    assert directory.nbytes <= 4 * max(idx.size, 1) + 8


# ---------------------------------------------------------------------- prediction
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("data_dtype", [np.float32, np.float64])
def test_decision_function_matches_dense_numpy(index_dtype, data_dtype):
    rng = np.random.default_rng(1)
    n_features = 3000
    m = random_model(rng, n_features, 400)
    X = random_csr(rng, 300, n_features, 12, index_dtype, data_dtype)
    dense_w = np.zeros(n_features)
    dense_w[m.indices] = m.values
    expected = X.toarray().astype(np.float64) @ dense_w + m.intercept
    np.testing.assert_allclose(m.decision_function(X), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n_features", [2**24, 235_710_000, 2**40, 2**63 - 1])
def test_decision_function_matches_dict_reference_at_any_width(n_features):
    rng = np.random.default_rng(2)
    m = random_model(rng, n_features, 2000)
    # Half the active columns are stored ones, so look-ups both hit and miss.
    X = random_csr(rng, 200, n_features, 8, np.int64)
    hits = rng.random(X.nnz) < 0.5
    X.indices[hits] = rng.choice(m.indices, hits.sum())
    np.testing.assert_allclose(m.decision_function(X), dict_reference(m, X), rtol=1e-12, atol=1e-12)


def test_prediction_never_allocates_the_width():
    # The exact 1' geo width: a dense float64 vector would be 1.9 GB.
    rng = np.random.default_rng(3)
    n_features = 235_710_000
    m = random_model(rng, n_features, 50_000)
    X = random_csr(rng, 20_000, n_features, 6)
    m.decision_function(X[:10])  # compile outside the measurement
    tracemalloc.start()
    try:
        m.decision_function(X)
        m.predict_proba(X)
        m.get_weights(np.arange(100))
        _ = m.coef_
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5e6, peak  # the outputs (20k rows) and small temporaries only


def test_other_input_layouts():
    rng = np.random.default_rng(4)
    m = random_model(rng, 50, 20, loss="squared")
    X = random_csr(rng, 30, 50, 5, data_dtype=np.float64)
    expected = dict_reference(m, X)
    np.testing.assert_allclose(m.predict(X.tocsc()), expected, rtol=1e-12)
    np.testing.assert_allclose(m.predict(X.toarray()), expected, rtol=1e-12)
    np.testing.assert_allclose(m.predict(sp.csr_array(X)), expected, rtol=1e-12)
    Xb = X.copy()
    Xb.data = (Xb.data > 0).astype(np.int8)  # integer data is converted, not rejected
    np.testing.assert_allclose(m.predict(Xb), dict_reference(m, Xb.astype(np.float64)), rtol=1e-12)


def test_width_mismatch_names_both_widths():
    m = SparseModel([1], [1.0], 0.0, 100, "logistic")
    with pytest.raises(ValueError, match=r"X has 99 columns but the model has n_features=100"):
        m.decision_function(sp.csr_matrix((2, 99)))
    with pytest.raises(TypeError, match="2-D"):
        m.decision_function(np.zeros(100))


def test_bad_csr_contents_are_reported_not_read_out_of_bounds():
    m = SparseModel([1], [1.0], 0.0, 10, "logistic")
    X = sp.csr_matrix(np.eye(10)[:3])
    X.indices[2] = 12  # scipy does not check this on its own
    with pytest.raises(ValueError, match=r"row 2: column index 12 is outside \[0, 10\)"):
        m.decision_function(X)
    X = sp.csr_matrix(np.eye(10)[:3])
    X.indices[0] = -1
    with pytest.raises(ValueError, match="row 0: column index -1"):
        m.decision_function(X)
    X = sp.csr_matrix(np.eye(10)[:3])
    X.indptr[2] = 7  # beyond the 3 stored entries
    with pytest.raises(ValueError, match="indptr"):
        m.decision_function(X)


def test_predict_proba_and_predict_logistic():
    rng = np.random.default_rng(5)
    m = random_model(rng, 200, 50, classes=["cheap", "dear"])
    X = random_csr(rng, 100, 200, 6)
    d = dict_reference(m, X)
    proba = m.predict_proba(X)
    assert proba.shape == (100, 2)
    np.testing.assert_allclose(proba[:, 1], expit(d), rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert m.predict(X).tolist() == np.where(d > 0, "dear", "cheap").tolist()
    plain = SparseModel(m.indices, m.values, m.intercept, 200, "logistic")
    assert plain.predict(X).tolist() == (d > 0).astype(int).tolist()


def test_zero_decision_is_the_negative_class():
    m = SparseModel([0], [1.0], 0.0, 2, "logistic", classes=[-1, 1])
    X = sp.csr_matrix(np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]]))
    assert m.predict(X).tolist() == [-1, 1, -1]


def test_other_losses():
    X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]))
    sq = SparseModel([0, 1], [1.5, -0.5], 0.5, 2, "squared")
    assert sq.predict(X).tolist() == [2.0, -0.5]
    with pytest.raises(ValueError, match="predict_proba needs loss='logistic'.*'squared'"):
        sq.predict_proba(X)
    po = SparseModel([0, 1], [1.5, -0.5], 0.5, 2, "poisson")
    np.testing.assert_allclose(po.predict(X), np.exp([2.0, -0.5]))
    hi = SparseModel([0, 1], [1.5, -0.5], 0.5, 2, "hinge", classes=["a", "b"])
    assert hi.predict(X).tolist() == ["b", "a"]
    with pytest.raises(ValueError, match="'hinge'"):
        hi.predict_proba(X)


def test_get_weights():
    m = SparseModel([3, 2**39], [2.0, -1.0], 0.0, 2**40, "squared")
    assert m.get_weights([[3, 4], [2**39, 0]]).tolist() == [[2.0, 0.0], [-1.0, 0.0]]
    with pytest.raises(ValueError, match="outside"):
        m.get_weights([2**40])
    with pytest.raises(TypeError, match="integers"):
        m.get_weights([1.5])


def test_threads_predict_concurrently_and_agree():
    rng = np.random.default_rng(6)
    m = random_model(rng, 2**24, 20_000)
    X = random_csr(rng, 20_000, 2**24, 6)
    expected = m.decision_function(X)
    results: list[np.ndarray] = [None] * 4  # type: ignore[list-item]

    def work(i):
        results[i] = m.decision_function(X)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, expected)


# ---------------------------------------------------------------------- raw columns
@pytest.fixture(scope="module")
def geo_model():
    spec = wc.geo_spec(bits=20)
    rng = np.random.default_rng(7)
    idx = np.unique(rng.integers(0, spec.n_features, 30_000))
    return SparseModel(idx, rng.laplace(0, 0.3, idx.size), 0.1, spec.n_features, "logistic", spec=spec)


def geo_columns(rng, n):
    return {"lat": rng.uniform(-89.9, 89.9, n), "lon": rng.uniform(-180, 180, n)}


def test_raw_columns_equal_transform_then_csr(geo_model, monkeypatch):
    rng = np.random.default_rng(8)
    cols = geo_columns(rng, 2500)
    expected = geo_model.decision_function(geo_model.spec.transform(cols))
    np.testing.assert_array_equal(geo_model.decision_function(cols), expected)
    # Chunked featurization (uneven last chunk) gives the same numbers.
    monkeypatch.setattr(model_module, "PREDICT_CHUNK_ROWS", 1000)
    np.testing.assert_array_equal(geo_model.decision_function(cols), expected)
    cols_list = {"lat": cols["lat"].tolist(), "lon": cols["lon"].tolist()}
    np.testing.assert_array_equal(geo_model.decision_function(cols_list), expected)
    structured = np.zeros(2500, dtype=[("lon", "f8"), ("lat", "f8"), ("rooms", "i4")])
    structured["lat"], structured["lon"] = cols["lat"], cols["lon"]
    np.testing.assert_array_equal(geo_model.decision_function(structured), expected)
    np.testing.assert_allclose(geo_model.predict_proba(cols)[:, 1], expit(expected))


def test_raw_columns_pyarrow_and_pandas(geo_model, monkeypatch):
    import pandas as pd
    import pyarrow as pa

    rng = np.random.default_rng(9)
    cols = geo_columns(rng, 900)
    expected = geo_model.decision_function(cols)
    monkeypatch.setattr(model_module, "PREDICT_CHUNK_ROWS", 256)
    table = pa.table(cols)
    np.testing.assert_array_equal(geo_model.decision_function(table), expected)
    chunked = pa.concat_tables([table.slice(0, 300), table.slice(300)])
    np.testing.assert_array_equal(geo_model.decision_function(chunked), expected)
    frame = pd.DataFrame(cols, index=np.arange(900)[::-1])  # positional slicing despite the index
    np.testing.assert_array_equal(geo_model.decision_function(frame), expected)


def test_raw_column_errors(geo_model, monkeypatch):
    monkeypatch.setattr(model_module, "PREDICT_CHUNK_ROWS", 100)
    rng = np.random.default_rng(10)
    cols = geo_columns(rng, 350)
    cols["lat"][234] = 95.0
    with pytest.raises(ValueError, match="lat") as info:
        geo_model.decision_function(cols)
    assert "234" in str(info.value)  # the row is counted over all chunks
    with pytest.raises(KeyError, match="lon"):
        geo_model.decision_function({"lat": [0.0]})
    bare = SparseModel(geo_model.indices, geo_model.values, 0.0, geo_model.n_features, "logistic")
    with pytest.raises(TypeError, match="no FeatureSpec"):
        bare.decision_function({"lat": [0.0], "lon": [0.0]})
    assert geo_model.decision_function({"lat": np.zeros(0), "lon": np.zeros(0)}).shape == (0,)


def test_spec_width_must_match(geo_model):
    with pytest.raises(ValueError, match="does not match spec.n_features"):
        SparseModel([1], [1.0], 0.0, 2**21, "logistic", spec=geo_model.spec)


def test_summary(geo_model):
    s = geo_model.summary()
    assert s["nnz"] == geo_model.nnz and s["n_features"] == 2**20 and s["loss"] == "logistic"
    assert s["spec"]["bits"] == 20 and s["file_bytes"] is None and s["bytes_per_nonzero"] is None
    assert s["memory_bytes"] == geo_model.indices.nbytes + geo_model.values.nbytes + geo_model._directory.nbytes
    assert not hasattr(geo_model, "describe")  # the old alias of summary is gone: one name for one thing
