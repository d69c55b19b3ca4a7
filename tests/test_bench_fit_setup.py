"""The fit set-up benchmark runs end to end on a few rows, its steps adding up to the whole."""

from __future__ import annotations

import json

from bench_script import run_benchmark


def test_bench_fit_setup_quick(tmp_path):
    proc = run_benchmark("bench_fit_setup.py", tmp_path, "--rows", "6000")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((tmp_path / "bench_fit_setup.quick.json").read_text())["rows"]
    steps = [row["step"] for row in rows]
    assert steps[-1] == "before the first pass" and "slot map" in steps and "transform" in steps
    total = rows[-1]
    assert total["wall_1"] > 0 and total["wall_2"] > 0 and total["cpu_2"] > 0
    parts = sum(row["wall_1"] for row in rows[:-1])
    assert abs(parts - total["wall_1"]) < 1e-6  # "other" closes the sum
    assert all(row["version"] == "new" for row in rows)
