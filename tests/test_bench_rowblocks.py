"""The row-block benchmark runs end to end on a few rows and records what the note reports."""

from __future__ import annotations

import json

from bench_script import run_benchmark


def test_bench_rowblocks_quick(tmp_path):
    proc = run_benchmark("bench_rowblocks.py", tmp_path, "--rows", "6000")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "bench_rowblocks.quick.json").read_text())
    assert "loadavg_before" in result["params"] and result["params"]["same_bytes_across_versions"]
    rows = result["rows"]
    assert [row["part"] for row in rows] == ["transform", "slot map", "polish (6 passes + objective)"]
    assert all(row["version"] == "new" and row["same_bytes_for_n_jobs"] for row in rows)
    assert all(row["wall_1"] > 0 and row["critical_cpu_2"] > 0 and row["sys_2"] >= 0 for row in rows)
