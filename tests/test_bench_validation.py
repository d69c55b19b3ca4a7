"""The validation-cost benchmark runs end to end in its --quick mode (numbers are not asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_validation


@pytest.mark.slow
def test_bench_validation_quick(tmp_path):
    rows = bench_validation.main(["--quick", "--results-dir", str(tmp_path)])
    assert [r["mode"] for r in rows] == ["with", "without", "checked_csr alone"]
    assert rows[0]["nnz"] == rows[1]["nnz"] > 0  # the check changes nothing in the model
    saved = json.loads((tmp_path / "bench_validation.quick.json").read_text())
    assert saved["quick"] is True and len(saved["rows"]) == 3
