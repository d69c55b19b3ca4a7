"""bench_auto runs end to end in its --quick mode (numbers are not asserted, only their shape)."""

from __future__ import annotations

import json

from benchmarks import bench_auto


def test_bench_auto_quick(tmp_path):
    rows = bench_auto.main(["--quick", "--results-dir", str(tmp_path)])
    assert {r["section"] for r in rows} == {"auto", "cost", "rate", "partial_fit"}
    auto = [r for r in rows if r["section"] == "auto"]
    assert {r["data"] for r in auto} == {"geo", "regional", "ad_clicks", "geo, labels without signal"}
    for r in auto:
        assert r["auto_l1"] > 0 and r["path_points"] >= 3 and 0 < r["auto_loss"] < 1
        assert r["rule"] in ("best held-out loss", "no signal: the constant")
    saved = json.loads((tmp_path / "bench_auto.quick.json").read_text())
    assert saved["quick"] is True and len(saved["rows"]) == len(rows)


def test_bench_auto_l1_rows_quick(tmp_path):
    rows = bench_auto.main(["--quick", "--sections", "l1_rows", "--results-dir", str(tmp_path)])
    assert [r["rows"] for r in rows] == [4000, 8000] and all(r["best_l1"] > 0 for r in rows)
    assert rows[0]["exponent_from_previous"] is None and rows[1]["exponent_from_previous"] is not None
    assert (tmp_path / "bench_auto_l1_rows.quick.json").is_file()
