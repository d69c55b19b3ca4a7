"""Scale on one machine: the two state layouts agree, and the exact geo cross never costs its width.

The sparse layout keeps records for the touched columns only; the dense layout has one per column
of the width. Their kernels are the same, so they must give the same model bit for bit, whatever
the optimizer, schedule, penalty, sample weights or sequence of calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import data_gen
import reference as ref
import widecross as wc
from widecross.train.slots import DenseMap, SlotMap
from widecross.estimators import DENSE_AUTO_MAX_WIDTH, WideClassifier, WideRegressor

EXACT_WIDTH = 235_710_000


def model_bytes(est) -> bytes:
    m = est.model_
    return m.indices.tobytes() + m.values.tobytes() + np.float64(m.intercept).tobytes()


def valued_problem(seed=0, n=400, d=300):
    """CSR with real values, empty rows and columns never used (they must stay zero in both layouts)."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.03, format="csr", random_state=seed)
    X.data = rng.normal(size=X.nnz)
    dense = X.toarray() * (np.arange(n) % 7 != 3)[:, None]  # every 7th row empty
    dense[:, d - 50 :] = 0.0  # the last 50 columns never occur
    X = sp.csr_matrix(dense)
    w = np.zeros(d)
    w[:10] = rng.normal(size=10) * 2
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w)))).astype(int)
    return X, y, rng.uniform(0.2, 2.0, size=n)


@pytest.fixture(scope="module")
def houses():
    rows = data_gen.generate_housing(6000, seed=11)
    return {"lat": rows["lat"], "lon": rows["lon"]}, rows["label"], rows["price"]


SETTINGS = {
    "sgd-adagrad": dict(optimizer="sgd", l1=1e-3),
    "sgd-invscaling-elastic": dict(optimizer="sgd", schedule="invscaling", l1=1e-3, l2=1e-2),
    "sgd-constant-l2": dict(optimizer="sgd", schedule="constant", l1=0.0, l2=1e-2),
    "ftrl-elastic": dict(optimizer="ftrl", l1=1e-3, l2=1e-3),
}


@pytest.mark.parametrize("settings", sorted(SETTINGS))
def test_sparse_and_dense_layouts_give_the_same_model(settings):
    X, y, sw = valued_problem(1)
    params = dict(SETTINGS[settings], epochs=3, random_state=4)
    sparse = WideClassifier(layout="sparse", **params).fit(X, y, sample_weight=sw)
    dense = WideClassifier(layout="dense", **params).fit(X, y, sample_weight=sw)
    assert (sparse.layout_, dense.layout_) == ("sparse", "dense")
    assert sparse.model_.nnz > 0 and model_bytes(sparse) == model_bytes(dense)
    assert sparse.objective_ == pytest.approx(dense.objective_, rel=1e-12, abs=0)  # summed in another order
    assert sparse.loss_curve_ == dense.loss_curve_
    # the dense state spans the width; the sparse one only the columns seen
    assert dense._trainer.n_slots == X.shape[1] > sparse._trainer.n_slots == np.unique(X.indices).size


@pytest.mark.parametrize("optimizer", ["sgd", "ftrl"])
def test_layouts_agree_on_geo_data_with_early_stopping_and_files(optimizer, houses, tmp_path):
    columns, y, _ = houses
    spec = wc.geo_spec(bits=18)
    params = dict(optimizer=optimizer, l1=1e-5, epochs=4, early_stopping=True, n_iter_no_change=2, random_state=2)
    sparse = WideClassifier(spec, layout="sparse", **params).fit(columns, y)
    dense = WideClassifier(spec, layout="dense", **params).fit(columns, y)
    assert sparse.validation_loss_curve_ == dense.validation_loss_curve_
    # the layout is not part of the model: the saved files are the same bytes
    sparse.model_.save(tmp_path / "sparse.wcm")
    dense.model_.save(tmp_path / "dense.wcm")
    assert (tmp_path / "sparse.wcm").read_bytes() == (tmp_path / "dense.wcm").read_bytes()


@pytest.mark.parametrize("optimizer", ["sgd", "ftrl"])
def test_layouts_agree_over_partial_fit_calls_and_regression(optimizer, houses):
    columns, _, price = houses
    target = np.log(price) - np.log(price).mean()
    spec = wc.geo_spec(bits=16)
    models = []
    for layout in ("sparse", "dense"):
        reg = WideRegressor(spec, optimizer=optimizer, l1=1e-5, l2=1e-4, random_state=5, layout=layout)
        for lo, hi in [(0, 1000), (1000, 1001), (1001, 6000)]:
            reg.partial_fit({k: v[lo:hi] for k, v in columns.items()}, target[lo:hi])
        reg.set_params(l1=1e-4)  # changed penalties settle the idle coordinates in both layouts
        reg.partial_fit({k: v[:500] for k, v in columns.items()}, target[:500])
        models.append(model_bytes(reg))
    assert models[0] == models[1]


def test_auto_layout_follows_the_width():
    X, y, _ = valued_problem(2)
    assert WideClassifier(random_state=0).fit(X, y).layout_ == "dense"
    wide = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], DENSE_AUTO_MAX_WIDTH + 1))
    clf = WideClassifier(random_state=0).fit(wide, y)
    assert clf.layout_ == "sparse" and clf.state_nbytes_ < 1e6
    narrow = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], DENSE_AUTO_MAX_WIDTH))
    assert WideClassifier(random_state=0).fit(narrow, y).layout_ == "dense"


def test_layout_errors():
    X, y, _ = valued_problem(3)
    with pytest.raises(ValueError, match="unknown layout 'packed'"):
        WideClassifier(layout="packed").fit(X, y)
    clf = WideClassifier(layout="sparse", random_state=0).partial_fit(X, y, classes=[0, 1])
    clf.set_params(layout="dense")
    with pytest.raises(ValueError, match="layout changed"):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match="the dense layout holds"):
        DenseMap(2**31)


def test_dense_map_is_the_identity_and_slot_map_agrees():
    cols = np.array([5, 0, 99, 5], dtype=np.int64)
    dense = DenseMap(100)
    assert dense.map(cols).tolist() == cols.tolist() and dense.map(cols).dtype == np.int32
    assert dense.columns_of(np.array([7, 3])).tolist() == [7, 3] and dense.nbytes == 0
    sparse = SlotMap()
    slots = sparse.map(cols)
    assert sparse.columns_of(slots).tolist() == cols.tolist()


def test_state_grows_with_the_touched_columns_not_the_width(houses):
    columns, y, _ = houses
    spec = wc.geo_spec(bits=None)
    assert spec.n_features == EXACT_WIDTH
    clf = WideClassifier(spec, epochs=1, random_state=0).fit(columns, y)
    touched = clf._trainer.n_slots
    assert clf.layout_ == "sparse" and touched == np.unique(spec.transform(columns).indices).size
    # 24-byte records and a table at most half full, each rounded up to a power of two
    assert clf.state_nbytes_ <= 4 * touched * (24 + 12) and clf.state_nbytes_ < EXACT_WIDTH / 100


def test_a_cross_wider_than_int32_trains_exactly(houses):
    columns, y, _ = houses
    spec = wc.geo_spec(resolutions=(60, 0.25))  # 15" cells: 3.7 billion columns, int64 ids
    assert spec.n_features > 2**31
    clf = WideClassifier(spec, l1=1e-5, epochs=2, random_state=0).fit(columns, y)
    assert clf.layout_ == "sparse" and clf.model_.indices.dtype == np.int64
    assert clf.model_.indices.max() > 2**31 and clf.state_nbytes_ < 2e6
    proba = clf.predict_proba(columns)[:, 1]
    assert np.mean((proba > 0.5) == y) > 0.7
    # held-out houses: about base - 0.10 in log-loss; half-trained (one pass of short steps, no
    # polish) about base - 0.01
    held = data_gen.generate_housing(3000, seed=12)
    base = ref.log_loss(held["label"], np.full(3000, y.mean()))
    assert ref.log_loss(held["label"], clf.predict_proba({"lat": held["lat"], "lon": held["lon"]})[:, 1]) < base - 0.06
    with pytest.raises(ValueError, match="layout='dense' holds at most"):
        WideClassifier(spec, layout="dense").fit(columns, y)


# The exact 1' geo model end to end (fit, save, load, predict, inspect, map) in a fresh process:
# the numpy allocations traced per step (tracemalloc) and the process's peak RSS must stay far
# below one array of the width (235.7M x 4 bytes = 943 MB).
END_TO_END = textwrap.dedent(
    """
    import contextlib, io, json, os, tempfile, threading, tracemalloc
    import numpy as np
    import matplotlib
    import data_gen, widecross as wc
    from widecross import cli, maps

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

    rows = data_gen.generate_housing(40000, seed=3)
    columns, y = {"lat": rows["lat"], "lon": rows["lon"]}, rows["label"]
    spec = wc.geo_spec(bits=None)
    d = tempfile.mkdtemp()
    out = {}
    steps = {
        "fit": lambda: wc.WideClassifier(spec, l1=1e-6, epochs=3, random_state=0).fit(columns, y).model_.save(d + "/e.wcm"),
        "load_predict": lambda: out.update(proba=wc.load(d + "/e.wcm").predict_proba(columns)[:, 1]),
        "inspect": lambda: out.update(code=cli.main(["inspect", d + "/e.wcm", "--json"])),
        "map": lambda: maps.render_weight_map(wc.load(d + "/e.wcm"), d + "/map.png", pixel_minutes=30),
    }
    with contextlib.redirect_stdout(io.StringIO()):
        for name in ("fit", "load_predict", "inspect"):
            steps[name]()  # a first round loads every compiled kernel before the baseline
    base = rss_mb()
    # the high-water mark was set by the first round: sample the RSS while the second runs
    sampled, done = [base], threading.Event()
    poller = threading.Thread(target=lambda: [sampled.append(rss_mb()) for _ in iter(lambda: done.wait(0.002), True)])
    poller.start()
    traced = {}
    tracemalloc.start()
    for name, step in steps.items():
        if name == "map":
            model_peak = max(sampled)
        tracemalloc.reset_peak()
        with contextlib.redirect_stdout(io.StringIO()):
            step()
        traced[name] = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    done.set()
    poller.join()
    model = wc.load(d + "/e.wcm")
    held = data_gen.generate_housing(10000, seed=4)
    p_held = np.clip(model.predict_proba({"lat": held["lat"], "lon": held["lon"]})[:, 1], 1e-15, 1 - 1e-15)
    log_loss = lambda p: float(-np.mean(held["label"] * np.log(p) + (1 - held["label"]) * np.log(1 - p)))
    print(json.dumps({
        "held_out_log_loss": log_loss(p_held), "base_rate_log_loss": log_loss(np.full(p_held.size, y.mean())),
        "traced_mb": traced, "rss_growth_mb": model_peak - base,
        "nnz": model.nnz, "n_features": model.n_features, "accuracy": float(np.mean((out["proba"] > 0.5) == y)),
        "inspect_code": out["code"], "described": spec.inverse(int(model.indices[-1])),
    }))
    """
)


@pytest.mark.slow
def test_exact_geo_model_end_to_end_without_any_array_of_the_width():
    proc = subprocess.run([sys.executable, "-c", END_TO_END], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    width_mb = EXACT_WIDTH * 4 / 1e6
    assert result["n_features"] == EXACT_WIDTH and result["nnz"] > 1000
    assert result["inspect_code"] == 0 and result["accuracy"] > 0.7
    # held-out houses: about base - 0.11; one pass of short steps without polish about base - 0.04
    assert result["held_out_log_loss"] < result["base_rate_log_loss"] - 0.08
    assert result["described"][0].startswith("lon 1'")  # the largest column ids are the 1' longitudes
    traced = result["traced_mb"]
    # model work: a few MB for 40k rows; drawing: the figure's pixels (30' a pixel), not the width
    assert max(traced["fit"], traced["load_predict"], traced["inspect"]) < width_mb / 20, result
    assert result["rss_growth_mb"] < width_mb / 10 and traced["map"] < width_mb / 4, result
