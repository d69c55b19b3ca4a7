"""Checkpoints: stop, save, load (in this process or another), train on: the same bits as never
stopping; damaged checkpoints raise ModelFormatError.

Reference: the run that never stopped (same data, same seed, same calls).
"""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc
from widecross.model import checkpoint_file

REPO = Path(__file__).resolve().parents[1]


def data(seed=0, n=400, d=60, k=3):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.08, format="csr", random_state=seed)
    return X, rng.integers(0, k, n)


def same_model(a, b):
    return (np.array_equal(a.model_.indices, b.model_.indices) and np.array_equal(a.model_.values, b.model_.values)
            and np.array_equal(a.model_.intercept, b.model_.intercept) and a.t_ == b.t_ and a.n_iter_ == b.n_iter_
            and a.loss_curve_ == b.loss_curve_)


CASES = [
    (wc.WideClassifier, dict(optimizer="sgd"), 3), (wc.WideClassifier, dict(optimizer="ftrl"), 3),
    (wc.WideClassifier, dict(optimizer="sgd", multi_class="multinomial"), 4),
    (wc.WideClassifier, dict(optimizer="sgd", schedule="newton"), 2), (wc.WideClassifier, dict(optimizer="ftrl"), 2),
    (wc.WideRegressor, dict(optimizer="sgd"), None), (wc.WideRegressor, dict(optimizer="ftrl"), None),
]


@pytest.mark.parametrize("layout", ["sparse", "dense"])
@pytest.mark.parametrize("cls, params, k", CASES, ids=lambda v: str(v))
def test_resume_from_a_checkpoint_is_bit_identical_to_never_stopping(tmp_path, cls, params, k, layout):
    X, y = data(1, k=k or 2)
    target = y if k else y + np.random.default_rng(2).normal(size=y.shape[0])
    est = dict(layout=layout, random_state=0, epochs=2, **params)
    whole = cls(**est).fit(X[:200], target[:200])
    whole.save_checkpoint(tmp_path / "run.wck")
    for lo in (200, 300):  # partial_fit draws its row orders from the saved generator
        whole.partial_fit(X[lo:lo + 100], target[lo:lo + 100])
    resumed = cls.load_checkpoint(tmp_path / "run.wck")
    assert resumed.get_params() == whole.get_params()
    for lo in (200, 300):
        resumed.partial_fit(X[lo:lo + 100], target[lo:lo + 100])
    assert same_model(whole, resumed)
    # and a warm-started fit from the checkpoint continues the same trajectory too
    again = cls.load_checkpoint(tmp_path / "run.wck").set_params(warm_start=True).fit(X, target)
    assert same_model(cls(**est).fit(X[:200], target[:200]).set_params(warm_start=True).fit(X, target), again)


RESUME = """
import sys, numpy as np, scipy.sparse as sp, widecross as wc
X = sp.load_npz(sys.argv[1]); y = np.load(sys.argv[2])
est = wc.WideClassifier.load_checkpoint(sys.argv[3])
est.partial_fit(X, y)
est.model_.save(sys.argv[4])
"""


@pytest.mark.parametrize("params", [dict(optimizer="sgd", layout="sparse"), dict(optimizer="ftrl", layout="dense")])
def test_resume_in_another_process(tmp_path, params):
    X, y = data(3, k=3)
    est = wc.WideClassifier(random_state=5, polish=0, **params)
    est.partial_fit(X[:250], y[:250], classes=[0, 1, 2])
    est.save_checkpoint(tmp_path / "run.wck")
    est.partial_fit(X[250:], y[250:])
    sp.save_npz(tmp_path / "X.npz", X[250:].tocsr())
    np.save(tmp_path / "y.npy", y[250:])
    subprocess.run([sys.executable, "-c", RESUME, str(tmp_path / "X.npz"), str(tmp_path / "y.npy"),
                    str(tmp_path / "run.wck"), str(tmp_path / "m.wcm")], check=True, cwd=REPO, timeout=300)
    other = wc.load(tmp_path / "m.wcm")
    assert np.array_equal(other.values, est.model_.values) and np.array_equal(other.intercept, est.model_.intercept)


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    X, y = data(4, k=3)
    path = tmp_path_factory.mktemp("ck") / "run.wck"
    wc.WideClassifier(random_state=0, epochs=1).fit(X, y).save_checkpoint(path)
    return path.read_bytes()


def test_damaged_checkpoints_raise_model_format_error(tmp_path, checkpoint_bytes):
    good = tmp_path / "good.wck"
    good.write_bytes(checkpoint_bytes)
    wc.WideClassifier.load_checkpoint(good)  # the undamaged file loads
    bad = tmp_path / "bad.wck"
    for position in range(0, len(checkpoint_bytes), max(1, len(checkpoint_bytes) // 40)):
        damaged = bytearray(checkpoint_bytes)
        damaged[position] ^= 0x5A
        bad.write_bytes(bytes(damaged))
        with pytest.raises(wc.ModelFormatError):
            wc.WideClassifier.load_checkpoint(bad)
    for cut in (0, 5, 30, len(checkpoint_bytes) - 1):
        bad.write_bytes(checkpoint_bytes[:cut])
        with pytest.raises(wc.ModelFormatError):
            wc.WideClassifier.load_checkpoint(bad)
    bad.write_bytes(checkpoint_bytes + b"\0")
    with pytest.raises(wc.ModelFormatError, match="trailing"):
        wc.WideClassifier.load_checkpoint(bad)


def test_checkpoints_and_model_files_are_told_apart(tmp_path, checkpoint_bytes):
    path = tmp_path / "run.wck"
    path.write_bytes(checkpoint_bytes)
    with pytest.raises(wc.ModelFormatError, match="checkpoint"):
        wc.load(path)
    with pytest.raises(wc.ModelFormatError, match="WideClassifier"):
        wc.WideRegressor.load_checkpoint(path)
    est = wc.WideClassifier.load_checkpoint(path)
    est.model_.save(tmp_path / "m.wcm")
    with pytest.raises(wc.ModelFormatError, match="model file"):
        wc.WideClassifier.load_checkpoint(tmp_path / "m.wcm")


def test_a_consistent_but_hostile_checkpoint_is_refused(tmp_path, checkpoint_bytes):
    path = tmp_path / "run.wck"
    path.write_bytes(checkpoint_bytes)
    meta, columns, records, scalars = checkpoint_file.load(path)
    forged = tmp_path / "forged.wck"
    for change in ({"width": 3}, {"layout": "wide"}, {"rng": {"bit_generator": "os.system"}},
                   {"optimizer": {**meta["optimizer"], "optimizer": "lbfgs"}}, {"classes": [0, 1]}):
        checkpoint_file.save(forged, {**meta, **change}, columns, records, scalars)
        with pytest.raises(wc.ModelFormatError):
            wc.WideClassifier.load_checkpoint(forged)
    repeated = columns.copy()
    repeated[1] = repeated[0]
    checkpoint_file.save(forged, meta, repeated, records, scalars)
    with pytest.raises(wc.ModelFormatError, match="repeated"):
        wc.WideClassifier.load_checkpoint(forged)
    checkpoint_file.save(forged, meta, columns, records[:, :1], scalars)
    with pytest.raises(wc.ModelFormatError, match="does not fit"):
        wc.WideClassifier.load_checkpoint(forged)


def test_a_forged_dense_width_is_refused_before_allocating(tmp_path, checkpoint_bytes, monkeypatch):
    # The fixture's state is dense (layout="auto", 60 columns); the file stores only the nonzero
    # records, so a forged width would otherwise allocate width x 9 float64 (4.6 GB at 2**26).
    path = tmp_path / "run.wck"
    path.write_bytes(checkpoint_bytes)
    meta, columns, records, scalars = checkpoint_file.load(path)
    assert meta["layout"] == "dense" and meta["fit_params"]["layout"] == "auto"
    forged = tmp_path / "forged.wck"
    tracemalloc.start()
    for width in (2**26, 2**31 - 1):
        checkpoint_file.save(forged, {**meta, "width": width}, columns, records, scalars)
        with pytest.raises(wc.ModelFormatError, match=f"layout is 'dense' for a width of {width:,}, but its "
                                                      r"parameters \(layout='auto'\) give 'sparse'"):
            wc.WideClassifier.load_checkpoint(forged)
    # layout="dense" asked for: the width may be anything up to 2**31 - 1, so the state must fit in memory.
    dense = {**meta, "width": 2**27, "params": {**meta["params"], "layout": "dense"},
             "fit_params": {**meta["fit_params"], "layout": "dense"}}
    checkpoint_file.save(forged, dense, columns, records, scalars)
    monkeypatch.setattr("widecross.estimators.checkpoint._physical_memory", lambda: 2**30)
    with pytest.raises(wc.ModelFormatError, match=r"dense state of 134,217,728 columns needs 9.0 GiB, more than "
                                                  r"this machine's 1.0 GiB"):
        wc.WideClassifier.load_checkpoint(forged)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**26, peak  # nothing sized by the claimed widths
    monkeypatch.undo()
    checkpoint_file.save(forged, {**dense, "width": 60}, columns, records, scalars)
    assert wc.WideClassifier.load_checkpoint(forged).layout_ == "dense"  # asked for and affordable: restored
