"""The export benchmark runs end to end in --quick mode and writes its result tables."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_export


@pytest.mark.slow
def test_bench_export_quick(tmp_path, capsys):
    assert bench_export.main(["--quick", "--results-dir", str(tmp_path), "--trainer", "sklearn"]) == 0
    out = capsys.readouterr().out
    assert "bytes per nonzero" in out
    sizes = json.loads((tmp_path / "export_sizes.quick.json").read_text())
    assert sizes["quick"] is True and sizes["params"]["trainer"].startswith("scikit-learn")
    rows = {(r["model"], r["encoding"]): r for r in sizes["rows"]}
    trained = rows[("trained geo, 2^24", "float32")]
    assert trained["predictions_equal_in_memory_model"] is True
    for (model, encoding), row in rows.items():
        assert row["B_per_nnz"] <= {"float32": 5.5, "float16": 3.5, "q8": 2.5}[encoding], (model, encoding)
    assert abs(rows[("trained geo, 2^24", "q8")]["log_loss_rel_change"]) <= 0.005
    memory = json.loads((tmp_path / "export_memory.quick.json").read_text())["rows"][0]
    assert memory["within_budget"] is True and memory["model_arrays_MB"] * 1e6 / memory["nnz"] <= 12
    codecs = json.loads((tmp_path / "export_index_codecs.quick.json").read_text())["rows"]
    assert {r["codec"] for r in codecs} >= {"LEB128 varints", "Elias-Fano", "Rice, k per 64 gaps (chosen)"}
    predict = json.loads((tmp_path / "export_predict.quick.json").read_text())["rows"]
    assert all(r["rows_per_s"] > 0 for r in predict)
    for name in ("export_sizes", "export_index_codecs", "export_memory", "export_predict"):
        assert (tmp_path / f"{name}.quick.md").read_text().startswith("| ")
