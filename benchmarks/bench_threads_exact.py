"""Threads: the exact row-block parts alone (featurizing, the end-of-fit polish, prediction),
n_jobs=2 against 1, without the stochastic epochs' fits.

    nice -n 10 python benchmarks/bench_threads_exact.py     # 1M and 2M rows, 2^22 and exact, 3 rounds
    python benchmarks/bench_threads_exact.py --quick        # 40k rows, one round (a smoke test)

The rows of ``bench_threads.py`` for these parts (same data, same functions), in a few minutes:
``spec.transform``, the polish from the weights the default fit's epochs leave on one thread
(its 6 passes and the objective's), and ``model.predict_proba`` from raw columns. Each part must
give the same bytes for both (checked). Besides wall and CPU seconds, each row has the two-thread
run's critical path (``critical_cpu_2``: the calling thread's CPU plus, for each call on the
pool, its slowest thread's task CPU) and ``cpu_speedup`` = one thread's CPU over it: the wall
speed-up on two idle cores, which other processes on a shared machine do not distort (unless
they slow the threads' memory accesses). Goal: >= 1.8x.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.bench_threads import (  # noqa: E402
    calibration, fit_before_polish, loadavg, polish_row, predict_row, transform_row,
)
from benchmarks.common import format_table, peak_rss_mb, save_results  # noqa: E402

COLUMNS = ["rows", "width", "part", "wall_1", "wall_2", "speedup", "cpu_1", "cpu_2", "main_cpu_2", "critical_cpu_2",
           "cpu_speedup", "thread_cpu_2", "work_ratio", "scheduled_cpu_2", "scheduled_speedup", "identical"]


def case(n_rows: int, bits: int | None, repeats: int, data: dict[str, Any]) -> list[dict[str, Any]]:
    import widecross as wc

    spec = wc.geo_spec(bits=bits)
    base = {"rows": n_rows, "width": "exact" if bits is None else f"2^{bits}"}
    rows = [transform_row(base, spec, data["train"], repeats)]
    clf, caught = fit_before_polish(spec, data)
    rows.append(polish_row(base, caught, repeats))
    del caught
    rows.append(predict_row(base, clf.model_, data["train"], repeats))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="40k rows, 2^22 only, one round")
    p.add_argument("--rows", type=int, nargs="+", default=None)
    p.add_argument("--widths", nargs="+", default=None, help="bits, or 'exact'")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--results-dir", type=Path, default=None)
    args = p.parse_args(argv)
    quick = args.quick
    n_rows = args.rows or ([40_000] if quick else [1_000_000, 2_000_000])
    widths = [None if w == "exact" else int(w) for w in (args.widths or (["22"] if quick else ["22", "exact"]))]
    repeats = args.repeats or (1 if quick else 3)

    from data_gen import generate_housing

    load_before = loadavg()
    rows = [calibration(repeats)]
    print(format_table(rows, COLUMNS), flush=True)
    for n in n_rows:
        train = generate_housing(n, seed=0)
        data = {"train": {"lat": train["lat"], "lon": train["lon"]}, "y": train["label"]}
        del train
        for bits in widths:
            added = case(n, bits, repeats, data)
            rows += added
            print(format_table(added, COLUMNS), flush=True)
    params = {"rows": n_rows, "widths": [w or "exact" for w in widths], "repeats": repeats,
              "loadavg_before": load_before, "loadavg_after": loadavg(), "peak_rss_mb": peak_rss_mb(),
              "calibration_speedup_2_threads": rows[0]["speedup"],
              "machine_note": "2-core shared machine: wall-time speed-ups are depressed by other processes; "
                              "cpu_speedup (one thread's CPU over the two-thread critical path) much less"}
    for row in rows:
        row.pop("result", None)
    save_results("bench_threads_exact", rows, params, quick=quick, results_dir=args.results_dir)
    print(format_table(rows, COLUMNS))
    print(f"load average before {load_before}, after {params['loadavg_after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
