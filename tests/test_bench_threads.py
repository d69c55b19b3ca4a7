"""The threads benchmark runs end to end in quick mode and records what the note reports."""

from __future__ import annotations

import json
import os

import pytest
from bench_script import run_benchmark


def test_bench_threads_quick(tmp_path):
    proc = run_benchmark("bench_threads.py", tmp_path, "--rows", "8000", "--test-rows", "2000", "--quality-jobs", "1", "3")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "bench_threads.quick.json").read_text())
    assert "loadavg_before" in result["params"] and "not a measurement" in result["params"]["model_note"]
    parts = {row["part"]: row for row in result["rows"]}
    assert set(parts) == {"calibration: compute-only loop, 2 calls", "calibration: first touch of a new 8 MB array, 2 halves",
                          "calibration: random reads in a 1 MB table each, 2 calls", "transform", "fit (default, 5 epochs + polish)",
                          "polish (6 passes + objective)", "predict_proba (raw columns)",
                          "l1 auto fit (the default: path, rate, refit)"}
    assert all(row["identical"] for row in parts.values())  # same bytes for both n_jobs, same model on repeat
    assert all(row["critical_cpu_2"] > 0 for part, row in parts.items() if not part.startswith("calibration"))
    fit = parts["fit (default, 5 epochs + polish)"]
    assert fit["wall_1"] > 0 and fit["wall_2"] > 0 and 0 < fit["log_loss_1"] < 1 and fit["objective_1"] > 0
    # the epoch loop's CPU split: the calling thread's, the tasks', and the critical path between
    assert fit["loop_pool_cpu_2"] > 0 and fit["loop_main_cpu_2"] > 0 and fit["loop_cpu_1"] > 0
    assert fit["loop_main_cpu_2"] < fit["loop_critical_cpu_2"] <= fit["loop_main_cpu_2"] + fit["loop_pool_cpu_2"]
    # the fit's critical path holds the epoch loop's: every task counted, those of modules first
    # imported while a clock ran included (0.5 ms of slack for the clocks' own reads)
    assert fit["critical_cpu_2"] >= fit["loop_critical_cpu_2"] - 5e-4
    auto = parts["l1 auto fit (the default: path, rate, refit)"]
    assert auto["l1_1"] > 0 and auto["l1_2"] > 0 and 0 < auto["log_loss_2"] < 1 and auto["wall_2"] > 0
    ledger = {row["phase"]: row for row in json.loads((tmp_path / "bench_threads_ledger.quick.json").read_text())["rows"]}
    # one round per pass (8,000 rows): its mix is the pass's, no finish or end mix
    assert {"deal", "shared slots", "localize", "round", "mix", "write back", "total"} <= set(ledger)
    assert not {"finish", "end mix"} & set(ledger)
    assert ledger["round"]["n_jobs_2_calls"] == 5 and ledger["deal"]["n_jobs_2_calls"] == 1  # dealt once per fit
    total = ledger["total"]
    assert 0 < total["n_jobs_2_slowest_cpu"] <= total["n_jobs_2_cpu"] + 1e-9
    quality = json.loads((tmp_path / "bench_threads_quality.quick.json").read_text())["rows"]
    assert [row["n_jobs"] for row in quality] == [1, 3] and quality[0]["log_loss_diff"] == 0
    # the 3-shard fit's schedule on 3 threads: shorter than its work, longer than its calling thread's part
    one, three = quality
    assert one["projected_speedup"] == 1 and three["projected_seconds"] > 0
    assert three["calling_thread_cpu"] < three["projected_seconds"] < three["work_cpu"]
    # the default fit's schedule: the same l1 on every thread count, its parts adding up to it
    assert one["auto_projected_speedup"] == 1 and three["auto_l1"] == one["auto_l1"]
    assert abs(three["auto_log_loss_diff"]) < 0.01  # the same l1 and rate: the refit differs by its shards
    for row in quality:
        parts = [row[f"auto_{part}_projected_s"] for part in ("path", "rate", "rest")]
        assert min(parts) > 0 and sum(parts) == pytest.approx(row["auto_projected_seconds"])
    model = json.loads((tmp_path / "bench_threads_model.quick.json").read_text())["rows"]
    assert [row["threads"] for row in model] == [1, 2, 4, 8, 16] and model[0]["model_speedup"] == 1
    assert model[0]["model_epochs_speedup"] == 1 and model[-1]["model_epochs_seconds"] > 0
    assert (tmp_path / "threads_speedup.quick.png").stat().st_size > 0


def test_bench_threads_exact_quick(tmp_path):
    proc = run_benchmark("bench_threads_exact.py", tmp_path, "--rows", "6000")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((tmp_path / "bench_threads_exact.quick.json").read_text())["rows"]
    parts = {row["part"]: row for row in rows}
    assert set(parts) == {"calibration: compute-only loop, 2 calls", "transform", "polish (6 passes + objective)",
                          "predict_proba (raw columns)"}
    assert all(row["identical"] for row in rows)  # the same bytes for both n_jobs and the scheduled run
    polish = parts["polish (6 passes + objective)"]
    assert polish["work_ratio"] > 0 and 0 < polish["scheduled_cpu_2"] <= polish["work_2"]


def test_bench_threads_scaling_quick(tmp_path):
    """The many-core script measures every thread count the machine has and names the others."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores")
    proc = run_benchmark("bench_threads_scaling.py", tmp_path, "--rows", "8000", "--test-rows", "2000", "--jobs", "1",
                         "2", "64")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "bench_threads_scaling.quick.json").read_text())
    assert result["params"]["threads"] == [1, 2] and result["params"]["skipped_threads_beyond_cores"] == [64]
    rows = result["rows"]
    assert [(r["part"].split(",")[0], r["n_jobs"]) for r in rows] == [
        ("fit", 1), ("fit", 2), ("default fit (l1 auto: path", 1), ("default fit (l1 auto: path", 2)]
    fixed, auto = rows[:2], rows[2:]
    assert fixed[0]["speedup"] == 1 and fixed[0]["log_loss_diff"] == 0 and all(r["same_model_on_repeats"] for r in rows)
    assert all(r["examples_per_s"] > 0 and 0 < r["bandwidth_gbs"] and 0 < r["log_loss"] < 1 for r in fixed)
    assert auto[0]["l1"] == auto[1]["l1"] > 0  # the same l1 on every thread count
    assert all(r["path_wall"] > 0 and r["rate_wall"] > 0 and r["rest_wall"] > 0 for r in auto)
    assert (tmp_path / "threads_scaling.quick.png").stat().st_size > 0
