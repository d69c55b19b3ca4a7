"""The command line end to end, each subcommand through the CLI's main function, on small generated
data; one test runs ``python -m widecross`` in a subprocess (the module entry point and its exit codes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import data_gen
from in_process import run_main
from widecross.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return run_main(main, *args)


def test_the_module_entry_point_runs_in_a_subprocess():
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
    for args, code in (([], 2), (["train", "--help"], 0), (["inspect", "missing.wcm"], 1)):
        result = subprocess.run([sys.executable, "-m", "widecross", *args], capture_output=True, text=True,
                                timeout=300, env=env)
        assert result.returncode == code, (args, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def houses(workdir) -> Path:
    path = workdir / "houses.parquet"
    data_gen.write_parquet(path, 6000, seed=3)
    return path


@pytest.fixture(scope="module")
def model_path(workdir, houses) -> Path:
    path = workdir / "model.wcm"
    result = run("train", str(houses), "--target", "label", "-o", str(path), "--epochs", "2", "--l1", "1e-5",
                 "--validation-fraction", "0.2", "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["nnz"] > 0 and payload["n_features"] == 235_710_000
    assert 0 < payload["held_out"]["log_loss"] < 0.75
    return path


def test_help_on_every_subcommand():
    for command in ("demo", "gen", "train", "evaluate", "predict", "inspect", "path", "map"):
        result = run(command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert "usage: widecross" in result.stdout


def test_usage_errors_exit_2():
    assert run().returncode == 2
    result = run("train", "x.parquet")  # no --target, no -o
    assert result.returncode == 2 and "required" in result.stderr
    assert run("path", "x.parquet", "--target", "y", "--l1", "1e-3:1e-8").returncode == 2


def test_gen_writes_parquet_and_csv(workdir):
    import pyarrow.parquet as pq

    out = workdir / "gen.parquet"
    result = run("gen", "--rows", "1000", "--seed", "5", "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert table.num_rows == 1000
    expected = data_gen.generate_housing(1000, seed=5)
    np.testing.assert_array_equal(table.column("lat").to_numpy(), expected["lat"])
    out_csv = workdir / "gen.csv"
    assert run("gen", "--rows", "300", "-o", str(out_csv), "--quiet").returncode == 0
    assert len(out_csv.read_text().splitlines()) == 301


def test_train_reports_and_writes_model(model_path):
    assert model_path.exists() and model_path.stat().st_size > 0
    assert not [p for p in model_path.parent.iterdir() if ".tmp" in p.name]


def test_train_single_pass_flags_reach_the_estimator(houses, workdir):
    """--schedule newton --epochs 1 --polish 0: one pass, Newton rates, no polish."""
    import widecross as wc

    out = workdir / "one_pass.wcm"
    args = ("train", str(houses), "--target", "label", "--epochs", "1", "--bits", "18", "--json", "--quiet")
    result = run(*args, "--schedule", "newton", "--polish", "0", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = {k: v for k, v in data_gen.generate_housing(6000, seed=3).items() if k in ("lat", "lon", "label")}
    spec = wc.geo_spec(bits=18)
    expected = wc.WideClassifier(spec, schedule="newton", epochs=1, polish=0, random_state=0)
    expected.fit({"lat": rows["lat"], "lon": rows["lon"]}, rows["label"])
    assert wc.load(out).nnz == expected.model_.nnz
    assert out.read_bytes() == expected.model_.save(workdir / "one_pass_expected.wcm").read_bytes()
    polished = workdir / "polished.wcm"
    assert run(*args, "--schedule", "newton", "-o", str(polished)).returncode == 0
    assert wc.load(polished).nnz < wc.load(out).nnz  # the default polish zeroes weights
    bad = run(*args, "--polish", "-1", "-o", str(workdir / "bad.wcm"))
    assert bad.returncode == 2 and "--polish: must be an integer >= 0" in bad.stderr
    assert run(*args, "--schedule", "nope", "-o", str(workdir / "bad.wcm")).returncode == 2


def test_jobs_reach_training_and_scoring(houses, workdir, model_path):
    import widecross as wc

    out = workdir / "threads.wcm"
    args = ("train", str(houses), "--target", "label", "--epochs", "1", "--bits", "18", "--json", "--quiet", "-o", str(out))
    assert run(*args, "--jobs", "2").returncode == 0
    assert wc.load(out).metadata["params"]["n_jobs"] == 2
    evaluated = [json.loads(run("evaluate", str(model_path), str(houses), "--target", "label", "--json", "--jobs", j).stdout)
                 for j in ("1", "3")]
    assert evaluated[0] == evaluated[1]
    bad = run(*args, "--jobs", "0")
    assert bad.returncode == 2 and "--jobs" in bad.stderr and "must be a positive integer or -1" in bad.stderr


def test_train_missing_target_is_one_line_error(houses, workdir):
    result = run("train", str(houses), "--target", "nope", "-o", str(workdir / "m.wcm"), "--quiet")
    assert result.returncode == 1
    assert "nope" in result.stderr and "available" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (workdir / "m.wcm").exists()


def test_train_bad_path(workdir):
    result = run("train", str(workdir / "missing.parquet"), "--target", "label", "-o", str(workdir / "m.wcm"))
    assert result.returncode == 1 and "missing.parquet" in result.stderr and "Traceback" not in result.stderr


def test_evaluate(model_path, houses):
    result = run("evaluate", str(model_path), str(houses), "--target", "label", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["rows"] == 6000
    assert 0.5 < payload["auc"] <= 1.0 and 0 < payload["log_loss"] < 0.75
    from sklearn import metrics as skm

    from widecross import load

    data = data_gen.generate_housing(6000, seed=3)
    p = load(model_path).predict_proba({"lat": data["lat"], "lon": data["lon"]})[:, 1]
    assert payload["log_loss"] == pytest.approx(skm.log_loss(data["label"], p), rel=1e-9)
    assert payload["auc"] == pytest.approx(skm.roc_auc_score(data["label"], p), rel=1e-9)
    assert payload["accuracy"] == pytest.approx(skm.accuracy_score(data["label"], p > 0.5), rel=1e-12)


def test_predict(model_path, houses, workdir):
    import pyarrow.parquet as pq

    out = workdir / "pred.parquet"
    result = run("predict", str(model_path), str(houses), "-o", str(out), "--keep", "price", "--quiet")
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert table.num_rows == 6000 and set(table.column_names) == {"price", "probability", "prediction"}
    probability = table.column("probability").to_numpy()
    assert np.all((probability > 0) & (probability < 1))
    from widecross import load

    data = data_gen.generate_housing(6000, seed=3)
    expected = load(model_path).predict_proba({"lat": data["lat"], "lon": data["lon"]})[:, 1]
    np.testing.assert_array_equal(probability, expected)


def test_inspect(model_path):
    result = run("inspect", str(model_path), "--top", "3")
    assert result.returncode == 0, result.stderr
    assert "lat x lon" in result.stdout  # top weights name their cells
    payload = json.loads(run("inspect", str(model_path), "--json").stdout)
    assert payload["nnz"] > 0 and len(payload["top_weights"]) == 10
    assert payload["top_weights"][0]["meaning"].startswith("lat")


def test_corrupt_model_is_one_line_error(model_path, houses, workdir):
    bad = workdir / "corrupt.wcm"
    raw = bytearray(model_path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    for command in (["inspect", str(bad)], ["evaluate", str(bad), str(houses), "--target", "label"], ["map", str(bad), "-o", str(workdir / "x.png")]):
        result = run(*command)
        assert result.returncode == 1, command
        assert "corrupt.wcm" in result.stderr or "checksum" in result.stderr.lower() or "crc" in result.stderr.lower()
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    not_a_model = workdir / "text.wcm"
    not_a_model.write_text("hello")
    result = run("inspect", str(not_a_model))
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_map(model_path, workdir):
    out = workdir / "map.png"
    result = run("map", str(model_path), "-o", str(out), "--pixel-minutes", "30", "--json")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    layers = json.loads(result.stdout)["layers"]
    assert set(layers) == {"lat x lon 60'", "lat x lon 10'", "lat x lon 1'"}


def test_map_of_hashed_model_needs_data(houses, workdir):
    path = workdir / "hashed.wcm"
    assert run("train", str(houses), "--target", "label", "-o", str(path), "--bits", "18", "--epochs", "1", "--quiet").returncode == 0
    result = run("map", str(path), "-o", str(workdir / "h.png"))
    assert result.returncode == 1 and "--data" in result.stderr
    result = run("map", str(path), "-o", str(workdir / "h.png"), "--data", str(houses), "--pixel-minutes", "60")
    assert result.returncode == 0, result.stderr


def test_path(houses, workdir):
    png = workdir / "path.png"
    result = run("path", str(houses), "--target", "label", "--l1", "1e-7:1e-2:4", "--epochs", "2", "--png", str(png), "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    nnz = [row["nnz"] for row in payload["rows"]]
    assert nnz[0] == 0  # l1 = 1e-2 zeroes everything
    assert nnz[-1] > nnz[1]  # weaker l1, more weights
    assert payload["rows"][0]["regime"].startswith("too large")
    assert png.exists() and (workdir / "path_weights.png").exists()


def test_demo_small(workdir):
    out = workdir / "demo"
    result = run("demo", "--rows", "20000", "--out", str(out), "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert "nonzero weights" in result.stdout and "AUC" in result.stdout
    assert (out / "model.wcm").exists() and (out / "weights_map.png").exists()
    assert "(auto)" in result.stdout and "l1 auto:" in result.stdout  # the default l1, chosen on held-out rows
    assert (out / "l1_path.png").exists()


def test_train_chooses_l1_by_default(houses, workdir):
    path = workdir / "auto.wcm"
    result = run("train", str(houses), "--target", "label", "-o", str(path), "--epochs", "2", "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    points = payload["l1_path"]
    assert payload["l1"] > 0 and len(points["l1"]) == len(points["held_out_loss"]) >= 3
    assert points["l1"][0] > points["l1"][-1] and 0 <= points["chosen"] < len(points["l1"])
    text = run("train", str(houses), "--target", "label", "-o", str(path), "--epochs", "2", "--quiet")
    assert text.returncode == 0 and text.stdout.startswith("l1 auto: ")  # the one-line report
    assert run("train", str(houses), "--target", "label", "-o", str(path), "--l1", "x").returncode == 2


def test_data_errors_name_the_file_row(workdir):
    from widecross.io import write_table

    data = data_gen.generate_housing(3000, seed=1)
    columns = {k: data[k] for k in ("lat", "lon", "label")}
    columns["lat"] = columns["lat"].copy()
    columns["lat"][2500] = np.nan
    path = workdir / "nan_row.parquet"
    write_table(path, columns)
    # In memory: the error names the file's row, not a row of the shuffled training split.
    result = run("train", str(path), "--target", "label", "-o", str(workdir / "n.wcm"), "--quiet", "--validation-fraction", "0.3")
    assert result.returncode == 1 and "row 2500" in result.stderr and "nan_row.parquet" in result.stderr
    # Streaming in chunks of 1,000: the chunk's span says where its row numbers start.
    result = run("train", str(path), "--target", "label", "-o", str(workdir / "n.wcm"), "--quiet", "--memory-rows", "10", "--chunk-rows", "1000")
    assert result.returncode == 1 and "rows 2,000-2,999" in result.stderr and "row 500" in result.stderr
    assert not (workdir / "n.wcm").exists()
    columns["lat"][2500] = 1.0
    columns["label"] = columns["label"].astype(float)
    columns["label"][1700] = 0.5
    write_table(path, columns)
    result = run("train", str(path), "--target", "label", "-o", str(workdir / "n.wcm"), "--quiet")
    assert result.returncode == 1 and "0/1 labels" in result.stderr and "row 1,700 (0.5)" in result.stderr


def test_gen_rejects_unknown_suffix(workdir):
    result = run("gen", "--rows", "10", "-o", str(workdir / "x.txt"))
    assert result.returncode == 2 and ".parquet" in result.stderr  # an invalid option value
    assert not (workdir / "x.txt").exists()


def test_train_with_the_exact_solver(houses, workdir):
    """--optimizer cd: one SGD pass (its default), then the exact solver: the estimator's model."""
    import widecross as wc

    out = workdir / "cd.wcm"
    result = run("train", str(houses), "--target", "label", "--optimizer", "cd", "--l1", "1e-4", "--bits", "18",
                 "--json", "--quiet", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = {k: v for k, v in data_gen.generate_housing(6000, seed=3).items() if k in ("lat", "lon", "label")}
    expected = wc.WideClassifier(wc.geo_spec(bits=18), optimizer="cd", l1=1e-4, random_state=0)
    expected.fit({"lat": rows["lat"], "lon": rows["lon"]}, rows["label"])
    assert expected.n_iter_ == 1 and json.loads(result.stdout)["nnz"] == expected.model_.nnz > 0
    assert out.read_bytes() == expected.model_.save(workdir / "cd_expected.wcm").read_bytes()
