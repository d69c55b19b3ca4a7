"""The multiclass benchmark runs end to end in --quick mode and writes its result tables."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import bench_multiclass


@pytest.mark.slow
def test_bench_multiclass_quick(tmp_path, capsys):
    rows = bench_multiclass.main(["--quick", "--train", "4000", "--test", "1000", "--bands", "3",
                                  "--results-dir", str(tmp_path)])
    assert "held_out_log_loss" in capsys.readouterr().out
    saved = json.loads((tmp_path / "bench_multiclass.quick.json").read_text())
    assert saved["quick"] is True and saved["rows"] == json.loads(json.dumps(rows, default=str))
    by_tool = {r["tool"]: r for r in rows}
    assert {"widecross ovr", "widecross multinomial", "sklearn SGD ovr"} <= set(by_tool)
    for row in rows:
        assert row["bands"] == 3 and row["fit_cpu_s"] > 0 and np.isfinite(row["held_out_log_loss"])
        assert 0 < row["nnz"] and 0 < row["accuracy"] <= 1
    assert by_tool["widecross ovr"]["bytes_per_nnz"] < 6  # one shared index, float32 values
    assert (tmp_path / "bench_multiclass.quick.md").read_text().startswith("| ")
