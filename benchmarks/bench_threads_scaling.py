"""Threads, measured at every count: the fit's speed-up on K threads, for a many-core machine.

``bench_threads`` measures one thread against two and projects beyond (a model and a schedule of
the K-shard fit): all a 2-core machine allows. On a machine with the cores, this script measures
instead. For each thread count K (up to the machine's cores; larger counts are skipped and
named), alternated round by round, ``--repeats`` times, medians:

- the 5-epoch fit at a fixed l1 of 1e-6 (the issue's goal: the epochs' throughput), with its
  epoch loop alone timed too: wall, speed-up over K=1, examples/s (rows x epochs over the loop's
  wall, and over the whole fit's), the memory traffic that rate implies (``bytes_per_example``,
  an estimate) against the machine's copy bandwidth, held-out log-loss and objective, and
  whether the repeats gave the same model;
- the default fit (``l1="auto"``: path, rate candidates, refit): wall, speed-up, the chosen l1
  (each K's own: two chains on 2-3 threads, shards from 4), held-out log-loss, and where the
  wall went (the path, the rate candidates, the rest);
- peak RSS of the process at the end.

    nice -n 10 python benchmarks/bench_threads_scaling.py                 # 1M and 2M rows, exact width, K = 1 2 4 8 16
    python benchmarks/bench_threads_scaling.py --quick                    # 40k rows, K = 1 2, one round
    python benchmarks/bench_threads_scaling.py --rows 2000000 --jobs 1 4 16 --widths exact 22

Results: ``bench_threads_scaling.json`` / ``.md`` and ``threads_scaling.png`` (measured speed-up
against K, with the linear one). Goals of the issue at 16 threads: >= 10x and >= 20M examples/s for
the 5-epoch fit at the exact width, held-out log-loss within 0.003 of one thread.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.bench_threads import (  # noqa: E402
    auto_split,
    bytes_per_example,
    copy_bandwidth_gbs,
    finish_speedup_plot,
    fit_auto_once,
    fit_once,
    loadavg,
    model_key,
    quality,
    side_by_side,
)
from benchmarks.common import format_table, peak_rss_mb, save_results  # noqa: E402

EPOCHS = 5  # the fit at a fixed l1 runs the default epochs
THREADS = [1, 2, 4, 8, 16]
GOALS = {"speedup_16": 10.0, "examples_per_s_16": 20e6, "log_loss_diff_16": 0.003}


def fixed_rows(base: dict[str, Any], fits: dict[int, list[dict[str, Any]]], data: dict[str, Any],
               per_example: float, bandwidth: float) -> list[dict[str, Any]]:
    """One row per K: the 5-epoch fit at l1 1e-6 (``fit_once`` runs)."""
    one = statistics.median(r["wall"] for r in fits[1])
    loop_one = statistics.median(r["result"]["loop_wall"] for r in fits[1])
    reference = quality(fits[1][0]["result"]["clf"], data["test"], data["y_test"])
    examples = EPOCHS * base["rows"]
    rows = []
    for k, runs in fits.items():
        wall = statistics.median(r["wall"] for r in runs)
        loop = statistics.median(r["result"]["loop_wall"] for r in runs)
        q = quality(runs[0]["result"]["clf"], data["test"], data["y_test"])
        rate = examples / loop
        rows.append({**base, "part": "fit, l1 1e-6 (5 epochs + polish)", "n_jobs": k, "wall": wall,
                     "speedup": one / wall, "loop_wall": loop, "loop_speedup": loop_one / loop,
                     "examples_per_s": rate, "examples_per_s_whole_fit": examples / wall,
                     "bandwidth_gbs": rate * per_example / 1e9, "bandwidth_share": rate * per_example / 1e9 / bandwidth,
                     "cpu": statistics.median(r["cpu"] for r in runs), "log_loss": q["log_loss"],
                     "log_loss_diff": q["log_loss"] - reference["log_loss"], "objective": q["objective"],
                     "objective_rel_diff": q["objective"] / reference["objective"] - 1.0, "nnz": q["nnz"],
                     "same_model_on_repeats": len({model_key(r["result"]["clf"]) for r in runs}) == 1})
    return rows


def auto_rows(base: dict[str, Any], fits: dict[int, list[dict[str, Any]]], data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per K: the default fit (``l1="auto"``), with its wall split."""
    one = statistics.median(r["wall"] for r in fits[1])
    reference = quality(fits[1][0]["result"], data["test"], data["y_test"])["log_loss"]
    rows = []
    for k, runs in fits.items():
        wall = statistics.median(r["wall"] for r in runs)
        split = [auto_split(r["result"]) for r in runs]
        log_loss = quality(runs[0]["result"], data["test"], data["y_test"])["log_loss"]
        rows.append({**base, "part": "default fit (l1 auto: path, rate, refit)", "n_jobs": k, "wall": wall,
                     "speedup": one / wall, "cpu": statistics.median(r["cpu"] for r in runs),
                     "l1": runs[0]["result"].l1_, "log_loss": log_loss, "log_loss_diff": log_loss - reference,
                     "path_wall": statistics.median(s["path_wall"] for s in split),
                     "rate_wall": statistics.median(s["rate_wall"] for s in split),
                     "rest_wall": statistics.median(r["wall"] - s["path_wall"] - s["rate_wall"]
                                                    for r, s in zip(runs, split)),
                     "same_model_on_repeats": len({hashlib.sha1(model_key(r["result"])).hexdigest()
                                                   for r in runs}) == 1})
    return rows


def plot(rows: list[dict[str, Any]], quick: bool, results_dir: Path | None, threads: list[int]) -> Path:
    from benchmarks.plotting import new_figure, style

    fig, ax = new_figure()
    keys = list(dict.fromkeys((r["part"], r["rows"], r["width"]) for r in rows))
    for i, key in enumerate(keys):
        points = [r for r in rows if (r["part"], r["rows"], r["width"]) == key]
        ax.plot([r["n_jobs"] for r in points], [r["speedup"] for r in points],
                label=f"{key[0]}, {key[1]:,} rows, {key[2]}", **style("widecross" if i % 2 == 0 else "vw", i // 2))
    return finish_speedup_plot(fig, ax, threads, f"widecross fit: speed-up vs threads, measured on {os.cpu_count()} "
                               "cores", "threads_scaling", quick, results_dir, "speed-up over one thread (measured)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="40k rows, K = 1 2, one round")
    p.add_argument("--rows", type=int, nargs="+", default=None)
    p.add_argument("--widths", nargs="+", default=None, help="bits, or 'exact' (default: exact)")
    p.add_argument("--jobs", type=int, nargs="+", default=None, help="thread counts (default 1 2 4 8 16)")
    p.add_argument("--test-rows", type=int, default=None)
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--no-auto", action="store_true", help="the fixed-l1 fit only")
    p.add_argument("--results-dir", type=Path, default=None)
    args = p.parse_args(argv)
    import widecross as wc
    from data_gen import generate_housing

    quick = args.quick
    cores = os.cpu_count() or 1
    wanted = args.jobs or ([1, 2] if quick else THREADS)
    threads = sorted({k for k in wanted if k <= cores} | {1})
    skipped = sorted(k for k in wanted if k > cores)
    widths = [None if w == "exact" else int(w) for w in (args.widths or ["exact"])]
    repeats = args.repeats or (1 if quick else 3)
    per_example = bytes_per_example(5.0, 1.26)  # generated geo rows: entries and a shard's slots a row
    bandwidth = copy_bandwidth_gbs(64 if quick else 256)
    test = generate_housing(args.test_rows or (20_000 if quick else 200_000), seed=1)
    load_before, rows = loadavg(), []
    for n in args.rows or ([40_000] if quick else [1_000_000, 2_000_000]):
        houses = generate_housing(n, seed=0)
        data = {"train": {"lat": houses["lat"], "lon": houses["lon"]}, "y": houses["label"],
                "test": {"lat": test["lat"], "lon": test["lon"]}, "y_test": test["label"]}
        del houses
        for bits in widths:
            spec = wc.geo_spec(bits=bits)
            base = {"rows": n, "width": "exact" if bits is None else f"2^{bits}"}
            for k in threads:  # kernels compiled or loaded, each thread count's threads started
                fit_once(spec, {c: v[:20_000] for c, v in data["train"].items()}, data["y"][:20_000], k)
            fits = side_by_side({k: (lambda k=k: fit_once(spec, data["train"], data["y"], k)) for k in threads}, repeats)
            added = fixed_rows(base, fits, data, per_example, bandwidth)
            if not args.no_auto:
                autos = side_by_side({k: (lambda k=k: fit_auto_once(spec, data["train"], data["y"], k))
                                      for k in threads}, repeats)
                added += auto_rows(base, autos, data)
            print(format_table(added), flush=True)
            rows += added
    params = {"threads": threads, "skipped_threads_beyond_cores": skipped, "cores": cores, "repeats": repeats,
              "widths": [w or "exact" for w in widths], "loadavg_before": load_before, "loadavg_after": loadavg(),
              "copy_bandwidth_gbs": bandwidth, "bytes_per_example_estimate": per_example, "goals": GOALS,
              "peak_rss_mb": peak_rss_mb()}
    save_results("bench_threads_scaling", rows, params, quick=quick, results_dir=args.results_dir)
    png = plot(rows, quick, args.results_dir, threads)
    print(f"threads {threads} on {cores} cores (skipped: {skipped or 'none'}); copy bandwidth {bandwidth:.1f} GB/s; "
          f"plot {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
