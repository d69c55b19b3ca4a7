"""run_all runs benchmarks as processes and summarizes every result file."""

from __future__ import annotations

import json

from benchmarks import run_all


def test_run_all_quick_runs_and_summarizes(tmp_path):
    assert run_all.main(["--quick", "--only", "fuzz_load", "--results-dir", str(tmp_path)]) == 0
    summary = (tmp_path / "SUMMARY.quick.md").read_text()
    assert "## This run" in summary and "fuzz_load" in summary
    assert "## fuzz_load" in summary and "| mutator" in summary  # the result table itself
    assert not (tmp_path / "SUMMARY.md").exists()  # quick runs never replace the full summary


def test_summary_lists_every_result_file_and_cuts_long_tables(tmp_path):
    rows = [{"i": i} for i in range(run_all.MAX_ROWS + 5)]
    for name in ("alpha", "beta"):
        (tmp_path / f"{name}.json").write_text(json.dumps({"benchmark": name, "machine": {"commit": "abc"}, "rows": rows}))
    (tmp_path / "gamma.quick.json").write_text(json.dumps({"benchmark": "gamma", "rows": []}))
    (tmp_path / "broken.json").write_text("{")
    assert run_all.main(["--summary-only", "--results-dir", str(tmp_path)]) == 0
    text = (tmp_path / "SUMMARY.md").read_text()
    assert "## alpha" in text and "## beta" in text and "gamma" not in text
    assert "(5 more rows in the JSON file)" in text and "unreadable" in text


def test_every_benchmark_has_a_quick_mode():
    names = run_all.benchmarks()
    assert {"bench_peers", "bench_model_size", "bench_path", "bench_train"} <= set(names)
    for name in names:
        assert "--quick" in (run_all.HERE / f"{name}.py").read_text(), name
