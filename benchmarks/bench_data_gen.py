"""How fast data_gen makes housing rows (one core), and what the rows look like.

    python benchmarks/bench_data_gen.py            # 2M rows, median of 3 runs
    python benchmarks/bench_data_gen.py --quick    # 100k rows, one run (seconds)

Rates are rows per CPU-second (the machine is shared, so CPU time is steadier than wall time);
both are reported. The Numba kernel runs on one thread; Parquet encoding may use pyarrow's
threads, whose CPU time is counted too. First-call time (compile, or load from Numba's cache)
is reported apart from the steady-state rate.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import numpy as np  # noqa: E402

from benchmarks.common import format_table, save_results, timed  # noqa: E402

N_CELLS = 10_800 * 21_600


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, one repeat (seconds)")
    parser.add_argument("--rows", type=int, default=None, help="rows per run (default 2,000,000; quick 100,000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per case, median reported (default 3)")
    parser.add_argument("--results-dir", type=Path, default=None, help="where to save JSON (default benchmarks/results)")
    args = parser.parse_args(argv)
    n = args.rows or (100_000 if args.quick else 2_000_000)
    repeats = args.repeats or (1 if args.quick else 3)

    t0 = time.perf_counter()
    import data_gen
    from data_gen._world import land_mask_lookup, load_world
    from data_gen.housing import _generate_checked

    load_world()
    world_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    data_gen.generate_housing(10)  # compile or load the kernels, calibrate the label threshold
    first_call_s = time.perf_counter() - t0

    chunk = max(1, n // 20)

    def chunked() -> None:
        for start in range(0, n, chunk):
            data_gen.generate_housing(min(chunk, n - start), seed=1, start=start)

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("generate_housing (one call)", lambda: data_gen.generate_housing(n, seed=1)),
        (f"generate_housing ({n // chunk} chunks)", chunked),
        ("kernel only (integer codes)", lambda: _generate_checked(n, 1, 0, 0.0, 0)),
        ("generate_housing, bad_fraction=0.01", lambda: data_gen.generate_housing(n, seed=1, bad_fraction=0.01)),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            import pyarrow  # noqa: F401

            out = Path(tmp) / "houses.parquet"
            cases.append(("write_parquet (chunks of 1M)", lambda: data_gen.write_parquet(out, n, seed=1)))
        except ImportError:
            out = None
        for name, fn in cases:
            wall, cpu, _ = timed(fn, repeats)
            rows.append(
                {
                    "case": name,
                    "rows": n,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "rows_per_cpu_s": n / max(cpu, 1e-9),
                    "rows_per_wall_s": n / max(wall, 1e-9),
                }
            )
        parquet_mb = out.stat().st_size / 1e6 if out is not None else None

    sample = data_gen.generate_housing(n, seed=1)
    lat, lon = sample["lat"], sample["lon"]
    cells = np.minimum(np.floor((lat + 90) * 60).astype(np.int64), 10_799) * 21_600 + (
        np.floor((lon + 180) * 60).astype(np.int64) % 21_600
    )
    _, counts = np.unique(cells, return_counts=True)
    facts = {
        "world_load_s": round(world_s, 3),
        "first_call_s": round(first_call_s, 3),
        "on_land_share": float(land_mask_lookup(lat, lon).mean()),
        "distinct_minute_cells": int(counts.size),
        "distinct_minute_cells_pct_of_grid": 100.0 * counts.size / N_CELLS,
        "minute_cells_with_5_or_more": int((counts >= 5).sum()),
        "label_share": float(sample["label"].mean()),
        "median_price_usd": float(np.median(sample["price"])),
        "parquet_mb": parquet_mb,
    }

    print(format_table(rows, ["case", "rows", "wall_s", "cpu_s", "rows_per_cpu_s", "rows_per_wall_s"]))
    print()
    for key, value in facts.items():
        print(f"{key}: {value:,.4g}" if isinstance(value, float) else f"{key}: {value}")
    path = save_results(
        "data_gen",
        rows,
        params={"rows": n, "repeats": repeats, "seed": 1, "world_seed": 0, "facts": facts},
        quick=args.quick,
        results_dir=args.results_dir,
    )
    print(f"\nsaved {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
