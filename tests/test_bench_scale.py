"""The scale and streaming benchmarks run end to end in their --quick modes (numbers are not asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_scale, bench_stream


@pytest.mark.slow
def test_bench_scale_quick(tmp_path):
    rows = bench_scale.main(["--quick", "--results-dir", str(tmp_path)])
    configs = [r["config"] for r in rows if r["section"] == "exact"]
    assert configs == ["data only", "exact sparse", "hashed 2^20"]
    exact = next(r for r in rows if r.get("config") == "exact sparse")
    assert exact["layout"] == "sparse" and exact["width"] == 235_710_000 and 0 < exact["log_loss"] < 1
    assert exact["state_mb"] < 100 and exact["slots"] == exact["active_cells"]
    hashed = next(r for r in rows if r.get("config") == "hashed 2^20")
    assert 0 < hashed["collision_share"] < 1 and hashed["collision_share_1min"] > 0
    assert {r["bits"] for r in rows if r["section"] == "layout"} == {16, 20}
    saved = json.loads((tmp_path / "bench_scale.quick.json").read_text())
    assert saved["quick"] is True and len(saved["rows"]) == len(rows)


@pytest.mark.slow
def test_bench_stream_quick(tmp_path):
    rows = bench_stream.main(["--quick", "--results-dir", str(tmp_path), "--data", str(tmp_path / "houses.parquet")])
    assert [r["config"] for r in rows] == ["read + featurize", "fit streamed"]
    fit = rows[1]
    assert "failed" not in fit and fit["rows"] == fit["data_rows"] == 20_000 and fit["chunk_rows"] < 20_000
    assert rows[0]["rows"] == 20_000  # the reader alone saw every row too
    assert fit["limit_gb"] == 4 and 0 < fit["log_loss"] < 1 and fit["peak_rss_mb"] < 4096
    assert (tmp_path / "bench_stream.quick.md").exists()
