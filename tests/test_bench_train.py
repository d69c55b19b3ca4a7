"""The training benchmarks run end to end in their --quick modes (numbers are not asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_convergence, bench_train


@pytest.mark.slow
def test_bench_train_quick(tmp_path):
    rows = bench_train.main(["--quick", "--results-dir", str(tmp_path)])
    sections = {r["section"] for r in rows}
    assert sections == {"width", "fit", "stream", "rss"}
    saved = json.loads((tmp_path / "bench_train.quick.json").read_text())
    assert saved["quick"] is True and len(saved["rows"]) == len(rows)
    fit = [r for r in rows if r["section"] == "fit" and r["tool"].startswith("widecross")]
    assert all(0.0 < r["log_loss"] < 1.0 for r in fit)


def test_bench_convergence_quick(tmp_path):
    rows = bench_convergence.main(["--quick", "--results-dir", str(tmp_path), "--rows", "2000", "--epochs", "2"])
    assert {(r["l1"], r["optimizer"]) for r in rows} == {(l1, o) for l1 in (1e-5, 1e-6) for o in ("sgd", "ftrl")}
    for r in rows:
        assert r["gap"] > -1e-3 and r["gap_polished"] > -1e-3  # nothing beats the optimum
        assert r["gap_polished"] <= r["gap"] + 1e-9  # the polish never hurts
    assert (tmp_path / "bench_convergence.quick.md").exists()


@pytest.mark.slow
def test_ab_train_quick(tmp_path):
    """Two copies of one checkout: the tool runs, and the same code fits the same bits."""
    import subprocess
    import sys
    from pathlib import Path

    from benchmarks import ab_train

    repo = Path(ab_train.__file__).resolve().parents[1]
    subprocess.run([sys.executable, str(repo / "benchmarks" / "ab_train.py"), "--a", str(repo), "--quick",
                    "--results-dir", str(tmp_path)], check=True, capture_output=True, timeout=1200, cwd=repo)
    saved = json.loads((tmp_path / "ab_train.quick.json").read_text())
    assert [r["config"] for r in saved["rows"]] == list(ab_train.CONFIGS)
    assert all(r["same_model"] and r["ratio_b_a"] > 0 for r in saved["rows"])
