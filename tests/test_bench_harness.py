"""The benchmark plumbing: child peak memory, tables, VW text and model parsing, run translation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks import harness
from benchmarks.common import format_table, peak_rss_mb, run_python_measured, save_results, timed
from benchmarks.vw_text import vw_bytes, write_vw


def test_child_peak_is_its_own_not_the_parents():
    # ru_maxrss of a fork+exec child starts from the parent's peak; VmHWM restarts at exec.
    ballast = np.ones(40_000_000)  # 320 MB resident in this process
    assert peak_rss_mb() > 300
    small = run_python_measured("import json; print(json.dumps({'ok': 1}))")
    big = run_python_measured("import json, numpy as np; a = np.ones(25_000_000); print(json.dumps({'ok': 2}))")
    del ballast
    assert small["ok"] == 1 and big["ok"] == 2
    assert small["peak_rss_mb"] < 150, small
    assert 150 < big["peak_rss_mb"] < 300 + 150, big  # its own 200 MB array, not our 320 MB


def test_child_failure_names_the_error():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        run_python_measured("1 / 0")


def test_format_table_shows_every_key_of_every_row():
    table = format_table([{"a": 1}, {"b": 2.5, "a": 3}])
    header, _, first, second = table.splitlines()
    assert [c.strip() for c in header.split("|")[1:3]] == ["a", "b"]
    assert first.split("|")[2].strip() == "" and second.split("|")[2].strip() == "2.5"


def test_save_results_writes_json_and_table(tmp_path):
    path = save_results("demo", [{"x": 1}], {"p": 2}, quick=True, results_dir=tmp_path)
    payload = json.loads(path.read_text())
    assert path.name == "demo.quick.json" and payload["params"] == {"p": 2} and payload["rows"] == [{"x": 1}]
    assert {"commit", "cpu_count", "numpy"} <= set(payload["machine"])
    assert (tmp_path / "demo.quick.md").read_text().startswith("| x |")


def test_timed_returns_medians_and_result():
    wall, cpu, value = timed(lambda: sum(range(1000)), repeats=3)
    assert value == 499500 and wall >= 0 and cpu >= 0


def reference_vw_text(X: sp.csr_matrix, y: np.ndarray) -> str:
    """The obvious Python formatter."""
    lines = []
    for r in range(X.shape[0]):
        row = X.getrow(r)
        feats = [str(c) if v == 1 else f"{c}:{int(v)}" for c, v in zip(row.indices, row.data)]
        lines.append(("1" if y[r] else "-1") + " |" + "".join(" " + f for f in feats))
    return "\n".join(lines) + "\n"


def test_vw_text_matches_a_plain_formatter(tmp_path):
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 6, 300)
    counts[[0, 17]] = 0  # empty rows
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = np.concatenate([np.sort(rng.choice(2**28, c, replace=False)) for c in counts])
    indices[indices.size // 2] = 0  # column 0 is a valid name
    data = rng.integers(1, 4, indices.size).astype(np.float32)
    X = sp.csr_matrix((data, indices, indptr), shape=(300, 2**28))
    y = rng.integers(0, 2, 300)
    assert vw_bytes(X, y).decode() == reference_vw_text(X, y)
    path = write_vw(X, y, tmp_path / "x.vw", chunk_rows=7)
    assert path.read_text() == reference_vw_text(X, y)


def test_vw_text_refuses_fractional_values_and_bad_labels():
    X = sp.csr_matrix(np.array([[0.5, 1.0]], dtype=np.float32))
    with pytest.raises(ValueError, match="whole positive"):
        vw_bytes(X, np.array([1]))
    with pytest.raises(ValueError, match="rows of X"):
        vw_bytes(sp.csr_matrix(np.ones((2, 2))), np.array([1]))


def test_vw_readable_nnz_counts_nonzero_weights_without_the_constant(tmp_path):
    text = "Version 9.11.9\nbits:18\noptions:\n:0\nl1_state 0.1\n0:0 0.5 35.75\n3:-0.25\n7:1e-3 2.0\n116060:0.4\n"
    path = tmp_path / "readable.txt"
    path.write_text(text)
    assert harness.vw_readable_nnz(path) == 2  # 3 and 7; 0 is a zero weight, 116060 the constant


def test_vw_ftrl_l1_is_the_mean_l1_times_examples_processed():
    files = {"train_vw": "t.vw", "n_train": 1000, "tmp": "/nonexistent"}
    run = dict(tool="vw", params=dict(args="--ftrl", l1_mean=1e-6), epochs=5, bits=None)
    args, shown = harness.vw_train_args(run, files, "m.vw")
    assert shown == "-b 28 --ftrl --l1 0.005 --passes 5"
    assert args.startswith("-d t.vw --loss_function logistic -b 28") and args.endswith(" -f m.vw")
    assert "--cache_file" in args and "--holdout_off" in args
    assert harness.vw_bits(None) == 28 and harness.width_of(None) == harness.geo_spec(None).n_features


def test_objective_matches_a_direct_sum():
    rng = np.random.default_rng(3)
    X = sp.random(50, 20, density=0.2, format="csr", random_state=3)
    y = rng.integers(0, 2, 50).astype(float)
    w = rng.normal(size=20)
    direct = np.mean([np.log1p(np.exp(m)) - t * m for m, t in zip(X.toarray() @ w + 0.3, y)])
    expected = direct + 0.01 * np.abs(w).sum() + 0.5 * 0.1 * (w**2).sum()
    assert harness.objective(X, y, w, 0.3, 0.01, 0.1) == pytest.approx(expected, rel=1e-12)


def test_fit_score_same_columns_for_every_tool(tmp_path):
    """All tools train on one featurization; VW sees every column widecross and sklearn see."""
    train, y, test, yt = harness.housing_split(3000, 1000)
    files = harness.prepare(train, y, test, yt, 18, tmp_path, vw=True)
    X, _ = harness.load_csr(files["train"])
    lines = Path(files["train_vw"]).read_text().splitlines()
    assert len(lines) == X.shape[0]
    cols = sorted(int(tok.split(":")[0]) for tok in lines[5].split("|")[1].split())
    assert cols == sorted(X.indices[X.indptr[5] : X.indptr[6]].tolist())
    for run in (dict(tool="widecross", params=dict(l1=1e-5)), dict(tool="sklearn", params=dict(alpha=1e-5, eta0=0.1))):
        res = harness.fit_score(dict(run, epochs=2, bits=18), files, with_objective=True)
        assert 0.3 < res["log_loss"] < 0.75 and 0.5 < res["auc"] <= 1 and res["nnz"] > 0 and res["objective"] > 0
    # A full benchmark run trains in a fresh process (the quick ones stay in theirs): the same fit
    # crosses back as JSON with that process's own peak, above the baseline of one that only loads.
    run = dict(tool="widecross", params=dict(l1=1e-5), epochs=2, bits=18)
    child, here = harness.run_child(run, files), harness.fit_score(run, files)
    assert (child["log_loss"], child["nnz"]) == (here["log_loss"], here["nnz"])
    baseline = harness.baseline_child("widecross", run["params"], files)
    assert 0 < baseline <= child["train_peak_rss_mb"] <= child["peak_rss_mb"] < 1000
    pytest.importorskip("vowpalwabbit", reason="Vowpal Wabbit is a benchmark peer (the bench extra), not a test dependency")
    res = harness.fit_score(dict(tool="vw", params=dict(args="--ftrl", l1_mean=1e-5), epochs=2, bits=18), files)
    assert 0.3 < res["log_loss"] < 0.75 and res["nnz"] > 0 and res["vw_args"].endswith("--passes 2")
    assert not list(tmp_path.glob("*.cache")) and not list(tmp_path.glob("vw-model-*"))
