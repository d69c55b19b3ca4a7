"""The Dask benchmark runs end to end in its --quick mode (numbers are not asserted, the plumbing is)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("distributed")

from benchmarks import bench_dask  # noqa: E402


@pytest.mark.slow
def test_bench_dask_quick(tmp_path):
    rows = bench_dask.main(["--quick", "--results-dir", str(tmp_path)])
    assert [(r["partitions"], r["width"], r["workers"]) for r in rows] == [
        ("-", "2^22", 1), ("random", "2^22", 2), ("longitude band", "2^22", 2), ("random", "2^30", 2),
        ("random", "exact", 2), ("random", "2^22", 1)]
    assert all(m["same_bits"] and m["ranges_cpu_s"] > 0 for m in
               json.loads((tmp_path / "bench_dask.quick.json").read_text())["params"]["merge_rates"])
    for row in rows[1:]:
        assert 0 < row["log_loss"] < 1 and row["rounds"] == 5 and row["delta_mb_per_round"] > 0
        assert row["shards"] == row["workers"] and row["worker_cpu_s"] > 0
    by_width = {r["width"]: r["delta_mb_per_round"] for r in rows[1:] if r["partitions"] == "random" and r["workers"] == 2}
    assert by_width["exact"] < 2 * by_width["2^22"]  # what moves does not grow with the width
    saved = json.loads((tmp_path / "bench_dask.quick.json").read_text())
    assert saved["quick"] is True and len(saved["rows"]) == len(rows) and "loadavg_before" in saved["params"]
