"""The transform benchmark runs end to end in quick mode and records what the note reports."""

from __future__ import annotations

import json

from benchmarks import bench_transform


def test_bench_transform_quick(tmp_path, capsys):
    assert bench_transform.main(["--quick", "--rows", "20000", "--repeats", "1", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "rows_per_s" in out and "peak" in out
    result = json.loads((tmp_path / "transform.quick.json").read_text())
    assert result["quick"] is True and result["params"]["rows"] == 20_000
    cases = {row["case"]: row for row in result["rows"]}
    for bits in (24, None):
        row = cases[f"geo_spec(bits={bits}).transform"]
        assert row["rows"] == 20_000 and row["nnz"] == 5 * 20_000
        assert row["rows_per_s"] > 0 and row["compile_s"] > 0 and row["cached_first_call_s"] > 0
        # The output itself is part of the traced peak, so the ratio is at least 1.
        assert 1.0 <= row["traced_peak_over_output"] < 10
        assert abs(row["output_mb"] - 20_000 * (5 * 8 + 4) / 1e6) < 0.01
    assert cases["geo_spec(bits=None).decode"]["rows"] > 0
    assert cases["geo_spec(bits=24).record"]["nnz"] > 20_000
    assert (tmp_path / "transform.quick.md").exists()
