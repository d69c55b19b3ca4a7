"""The side-by-side benchmarks run end to end in --quick mode (figures are not asserted, shapes are)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys

import pytest

from benchmarks import bench_model_size, bench_path, bench_peers

HAS_VW = importlib.util.find_spec("vowpalwabbit") is not None


@pytest.mark.slow
def test_bench_peers_quick(tmp_path):
    rows = bench_peers.main(["--quick", "--results-dir", str(tmp_path)])
    tools = [t for t, (family, _) in bench_peers.TOOLS.items() if HAS_VW or family != "vw"]
    assert {(r["tool"], r["epochs"]) for r in rows if r["width"] == "2^18"} == {(t, e) for t in tools for e in (1, 5) if e in bench_peers.ONLY_EPOCHS.get(t, {e})}
    exact = {(r["tool"], r["epochs"]) for r in rows if r["width"] == "exact"}
    assert exact == {(bench_peers.REFERENCE, 1), (bench_peers.REFERENCE, 5)}  # quick: peers skip the exact width
    for r in rows:
        assert 0 < r["log_loss"] < 1.5 and 0.5 < r["auc"] <= 1 and r["nnz"] > 0, r
        assert r["examples_per_cpu_s"] > 0 and r["end_to_end_cpu_s"] >= r["fit_cpu_s"]
        assert r["peak_rss_mb"] >= 0.95 * r["baseline_rss_mb"], r  # training never uses less than loading
        if r["tool"] != bench_peers.REFERENCE:
            assert math.isfinite(r["ref_speedup"]) and math.isfinite(r["ref_rss_ratio"])
    saved = json.loads((tmp_path / "bench_peers.quick.json").read_text())
    assert saved["quick"] is True and len(saved["rows"]) == len(rows) and "2^18" in saved["params"]["stages"]
    for name in ("peers_throughput_1ep", "peers_throughput_5ep", "peers_loss_vs_time_218", "peers_loss_vs_time_exact"):
        assert (tmp_path / f"{name}.quick.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_bench_model_size_quick(tmp_path):
    rows = bench_model_size.main(["--quick", "--results-dir", str(tmp_path)])
    by = {(r["model"].split(" (")[0], r["format"]): r for r in rows}
    ours = {fmt: r for (model, fmt), r in by.items() if model == "widecross sgd l1=1e-6"}
    assert set(ours) == {".wcm float32", ".wcm float16", ".wcm q8"}
    assert ours[".wcm q8"]["file_bytes"] < ours[".wcm float16"]["file_bytes"] < ours[".wcm float32"]["file_bytes"]
    assert ours[".wcm float32"]["B_per_nnz"] < 5.5
    losses = [r["held_out_log_loss"] for r in ours.values()]
    assert max(losses) - min(losses) < 0.01 * min(losses)  # lossy values, same predictions nearly
    dense = by["sklearn SGD l1", "numpy dense coef_ (float32)"]
    assert 4 * 2**18 <= dense["file_bytes"] < 4 * 2**18 + 4096  # a dense file pays for the width
    assert dense["load_rss_mb"] > 0.5  # ... and so does its loading (1 MB here)
    if HAS_VW:
        slim = by["VW --l1 1e-7", "VW --predict_only_model"]
        assert 7.9 < slim["B_per_nnz"] < 8.3  # uint32 index + float32 weight, as documented
        assert by["VW --l1 1e-7", "VW -f (default: with optimizer state)"]["file_bytes"] > slim["file_bytes"]
    for r in rows:
        assert 0 < r["held_out_log_loss"] < 1.5 and r["peak_rss_mb"] > 0
    assert json.loads((tmp_path / "bench_model_size.quick.json").read_text())["quick"] is True


@pytest.mark.slow
def test_bench_path_quick(tmp_path):
    rows = bench_path.main(["--quick", "--results-dir", str(tmp_path)])
    assert {r["section"] for r in rows} == {"path", "l2", "rates", "rows"}
    path = [r for r in rows if r["section"] == "path"]
    series = {r["series"] for r in path}
    assert {"widecross sgd", "widecross ftrl", "sklearn SGD l1"} <= series
    assert HAS_VW == ({"VW --ftrl", "VW --l1"} <= series)
    for name in ("widecross sgd", "widecross ftrl"):
        for epochs in (1, 5):
            pts = sorted((r["l1"], r["nnz"]) for r in path if r["series"] == name and r["epochs"] == epochs)
            assert len(pts) >= 2 and pts[-1][1] < pts[0][1]  # a stronger l1 keeps fewer weights
    rates = [r for r in rows if r["section"] == "rates"]
    assert all(r["objective"] > 0 and "rate" in r for r in rates)
    best = json.loads((tmp_path / "bench_path.quick.json").read_text())["params"]["best"]
    assert {b["series"] for b in best} == series
    for name in ("path_nnz_vs_loss", "path_loss_vs_rows"):
        assert (tmp_path / f"{name}.quick.png").stat().st_size > 1000


def test_bench_peers_without_vowpalwabbit_skips_its_rows(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "vowpalwabbit", None)  # import raises ImportError
    rows = bench_peers.main(["--quick", "--rows", "2000", "--widths", "18", "--epochs", "1", "--tools", "widecross ftrl,VW --l1 1e-7",
                             "--results-dir", str(tmp_path)])
    assert [r["tool"] for r in rows] == ["widecross ftrl"]
    assert "vowpalwabbit is not installed" in capsys.readouterr().out
