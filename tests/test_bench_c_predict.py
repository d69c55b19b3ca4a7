"""The C-reader prediction benchmark runs end to end in --quick mode and writes its table."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from benchmarks import bench_c_predict


@pytest.mark.slow
@pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None, reason="no C compiler to build the C reader")
def test_bench_c_predict_quick(tmp_path, capsys):
    assert bench_c_predict.main(["--quick", "--results-dir", str(tmp_path)]) == 0
    assert "predictions_per_cpu_s" in capsys.readouterr().out
    rows = json.loads((tmp_path / "bench_c_predict.quick.json").read_text())["rows"]
    assert {r["reader"] for r in rows} == {"C API", "C wcpredict", "Python"}
    for row in rows:
        assert row["predictions_per_cpu_s"] > 0 and row["peak_rss_MB"] > 0
        if row["reader"] != "Python":  # the same probabilities as Python's, to the last bits
            assert row["max_abs_diff_vs_python"] <= 1e-12
    assert (tmp_path / "bench_c_predict.quick.md").read_text().startswith("| ")
