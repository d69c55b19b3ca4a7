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


def test_headline_tables_from_side_by_side_results(tmp_path):
    machine = {"cpu": "cpu", "cpu_count": 2, "date": "2030-01-02 03:04:05", "commit": "abc1234"}
    peers = [dict(tool=t, width=w, epochs=e, examples_per_cpu_s=rate * e, log_loss=0.47 - 0.001 * e, auc=0.86,
                  nnz=1000 * e, peak_rss_mb=100.0 * (1 + (w == "2^26")))
             for t, rate in (("widecross sgd", 3e6), ("VW --l1 1e-7", 3e5)) for w in ("2^22", "2^26") for e in (1, 5)]
    (tmp_path / "bench_peers.json").write_text(json.dumps(dict(
        machine=machine, params=dict(rows=2_000_000, test_rows=500_000, repeats=3), rows=peers)))
    sizes = [dict(width="2^26", model="widecross sgd", format=".wcm q8", nnz=50_000, file_bytes=80_000,
                  B_per_nnz=1.6, load_rss_mb=0.5, rss_growth_mb=1.0, held_out_log_loss=0.4633)]
    (tmp_path / "bench_model_size.json").write_text(json.dumps(dict(machine=machine, params=dict(test_rows=10), rows=sizes)))
    text = run_all.headline(tmp_path)
    assert "2,000,000 generated houses" in text and "2^22 columns" in text and "commit abc1234" in text
    assert "| widecross sgd | 3.00M | 15.00M | 0.4690 | 0.4650 | 0.8600 | 5,000 | 100 |" in text
    assert "| VW --l1 1e-7 | 1.50M | 1.50M |" in text  # the by-width rates at 5 epochs
    assert "| widecross sgd | .wcm q8 | 50,000 | 80,000 | 1.60 | 0.5 | 1.0 | 0.4633 |" in text
    assert "l1 grid" not in text  # no path results: that table is left out
    assert run_all.headline(tmp_path, quick=True) == ""
