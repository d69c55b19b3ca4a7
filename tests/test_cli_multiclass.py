"""The command line on K > 2 classes: train (softmax; one-vs-rest is the same path), evaluate
(log-loss, accuracy, per-class AUC), inspect, predict, map, and train --checkpoint / --resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import data_gen
import widecross as wc
from test_cli import run

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
COMMON = ["--target", "band", "--bits", "18", "--quiet"]


def write_bands(path, n, seed):
    rows = data_gen.generate_housing(n, seed=seed)
    band = np.digitize(rows["price"], np.quantile(rows["price"], [1 / 3, 2 / 3])).astype(np.int64)
    pq.write_table(pa.table({"lat": rows["lat"], "lon": rows["lon"], "band": band}), path)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(first data, second data, directory, the train command's JSON): a 3-band softmax model
    trained with a held-out split and a checkpoint."""
    d = tmp_path_factory.mktemp("bands")
    first, second = write_bands(d / "a.parquet", 4000, 1), write_bands(d / "b.parquet", 2000, 2)
    result = run("train", str(first), "-o", str(d / "m.wcm"), "--multi-class", "multinomial", "--epochs", "2",
                 "--l1", "1e-4", "--validation-fraction", "0.2", "--checkpoint", str(d / "run.wck"), "--json",
                 *COMMON)
    assert result.returncode == 0, result.stderr
    return first, second, d, json.loads(result.stdout)


def test_train_evaluate_inspect_predict_three_classes(trained):
    _, second, d, payload = trained
    held = payload["held_out"]
    assert payload["n_classes"] == 3 and 0 < held["log_loss"] < np.log(3) and held["accuracy"] > 0.4, held
    assert all(0.5 < held[f"auc[{k}]"] <= 1 for k in range(3))
    scored = run("evaluate", str(d / "m.wcm"), str(second), "--target", "band", "--json", "--quiet")
    assert scored.returncode == 0, scored.stderr
    figures = json.loads(scored.stdout)
    assert figures["rows"] == 2000 and 0 < figures["log_loss"] < np.log(3) and "auc[2]" in figures
    shown = run("inspect", str(d / "m.wcm"), "--json", "--quiet")
    assert shown.returncode == 0 and json.loads(shown.stdout)["n_classes"] == 3
    out = d / "pred.parquet"
    assert run("predict", str(d / "m.wcm"), str(second), "-o", str(out), "--quiet").returncode == 0
    table = pq.read_table(out).to_pydict()
    total = np.add.reduce([np.asarray(table[f"probability_{k}"]) for k in range(3)])
    assert np.allclose(total, 1.0) and set(table["prediction"]) <= {0, 1, 2}


def test_train_resume_continues_the_checkpointed_run(trained):
    _, second, d, _ = trained
    result = run("train", str(second), "-o", str(d / "m2.wcm"), "--resume", str(d / "run.wck"), *COMMON)
    assert result.returncode == 0, result.stderr
    est = wc.WideClassifier.load_checkpoint(d / "run.wck").set_params(warm_start=True)
    table = pq.read_table(second).to_pydict()
    est.fit({"lat": np.asarray(table["lat"]), "lon": np.asarray(table["lon"])}, np.asarray(table["band"]))
    resumed = wc.load(d / "m2.wcm")
    assert np.array_equal(resumed.values, est.model_.values) and np.array_equal(resumed.intercept, est.model_.intercept)
    bad = run("train", str(second), "-o", str(d / "m3.wcm"), "--resume", str(d / "m.wcm"), *COMMON)
    assert bad.returncode == 1 and "not a training checkpoint" in bad.stderr


def test_map_draws_one_panel_set_per_class(trained):
    first, _, d, _ = trained
    result = run("map", str(d / "m.wcm"), "-o", str(d / "bands.png"), "--data", str(first), "--pixel-minutes", "60",
                 "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    paths = json.loads(result.stdout)["paths"]
    assert sorted(paths) == ["0", "1", "2"]
    for path in paths.values():
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
