"""How fast FeatureSpec.transform turns lat/lon columns into CSR, and how much memory it takes.

    python benchmarks/bench_transform.py            # 1M rows, median of 5 runs
    python benchmarks/bench_transform.py --quick    # 100k rows, 2 runs, both specs' first calls in one process (seconds)

Cases: ``geo_spec(bits=24)`` (hashed) and ``geo_spec(bits=None)`` (exact, 235.7M columns), five
features per row. Reported per case: rows per wall-second and per CPU-second (medians; the
transform runs on one thread), the output CSR size, and the peak memory of one transform
relative to that output, measured two ways: Python's tracemalloc (every NumPy allocation made
during the call, the output included) and the resident-set high-water mark of a fresh process
(reset just before the call, where the kernel allows it). The goal is >= 5M rows/s and a peak
of <= 2x the output. First-call times in fresh processes (Numba compile into an empty cache, and
load from the warm cache) are reported apart from the steady-state rate. Also: vectorized inverse map (decode of 1M columns of the exact spec)
and key recording for the hashed spec.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import numpy as np  # noqa: E402

from benchmarks.common import format_table, save_results  # noqa: E402

GOAL_ROWS_PER_S = 5_000_000
GOAL_PEAK_RATIO = 2.0


def points(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"lat": rng.uniform(-90, 90, n), "lon": rng.uniform(-180, 180, n)}


def measure(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` runs, and its last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeats):
        result = None  # free the previous output before the next run
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return statistics.median(walls), statistics.median(cpus), result


def csr_bytes(X: Any) -> int:
    return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)


def traced_peak(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated (tracemalloc) while ``fn()`` runs, and its result."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def rss_of_transform(spec: Any, n: int) -> dict[str, Any]:
    """Peak RSS growth of one transform of ``n`` points, the high-water mark reset just before."""

    def status(key: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        return -1

    data = points(n)
    spec.transform({"lat": data["lat"][:1000], "lon": data["lon"][:1000]})
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    before = status("VmRSS")
    X = spec.transform(data)
    peak = status("VmHWM")
    return {"reset": reset and peak >= before, "rss_before": before, "rss_peak": peak, "output": csr_bytes(X)}


# Runs in a fresh interpreter: import time, then per spec its first-call time (kernels compiled
# into an empty Numba cache, or loaded from the warm one) and, if asked, the peak RSS of one
# transform of `rss_rows` points.
_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
import widecross.features as wc  # numpy, scipy, numba
out = {{"import_s": time.perf_counter() - t0}}
for bits in {bits!r}:
    t1 = time.perf_counter()
    spec = wc.geo_spec(bits=bits)
    spec.transform({{"lat": [0.5], "lon": [0.5]}})  # kernels compiled or loaded
    out[f"first_call_s {{bits}}"] = time.perf_counter() - t1
    if {rss_rows}:
        from benchmarks.bench_transform import rss_of_transform
        out[f"rss {{bits}}"] = rss_of_transform(spec, {rss_rows})
print(json.dumps(out))
"""


def fresh_process(root: str, bits: list[int | None], cold: bool, rss_rows: int = 0) -> dict[str, Any]:
    """First calls of the specs in a fresh process: with an empty Numba cache (compile) or the
    warm one; with ``rss_rows``, the peak RSS of a transform of that many points of each spec."""
    code = _CHILD.format(root=root, bits=bits, rss_rows=rss_rows)
    if not cold:
        return run_child(code)
    with tempfile.TemporaryDirectory() as cache:
        return run_child(code, env={"NUMBA_CACHE_DIR": cache})


def run_child(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


_BEFORE_CHILD = """
import json, time, statistics
import widecross as wc
from benchmarks.bench_transform import points
data = points({n})
spec = wc.geo_spec(bits={bits})
spec.transform({{"lat": data["lat"][:1000], "lon": data["lon"][:1000]}})
times = []
for _ in range({repeats}):
    c0 = time.process_time(); spec.transform(data); times.append(time.process_time() - c0)
print(json.dumps({{"cpu_s": statistics.median(times)}}))
"""


def compare_before(revision: str, data: dict[str, np.ndarray], n: int, repeats: int) -> list[dict[str, Any]]:
    """CPU rows/s of the geo transforms at ``revision`` and now, alternated twice (medians)."""
    import widecross as wc

    out = []
    for bits in (24, None):
        spec = wc.geo_spec(bits=bits)
        old, new = [], []
        for _ in range(2):
            old.append(run_child_at(revision, _BEFORE_CHILD.format(n=n, bits=bits, repeats=repeats)))
            new.append(measure(lambda: spec.transform(data), repeats)[1])
        out.append({"case": f"geo_spec(bits={bits}).transform at {revision} vs now", "rows": n,
                    "rows_per_cpu_s_before": n / statistics.median(old), "rows_per_cpu_s": n / statistics.median(new),
                    "now_over_before": statistics.median(old) / statistics.median(new)})
    return out


def run_child_at(revision: str, code: str) -> float:
    from benchmarks.common import run_at_revision

    return run_at_revision(revision, code)["cpu_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, 2 repeats, one fresh process for both specs")
    parser.add_argument("--rows", type=int, default=None, help="rows per run (default 1,000,000; quick 100,000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per case, median reported (default 5)")
    parser.add_argument("--results-dir", type=Path, default=None, help="where to save JSON (default benchmarks/results)")
    parser.add_argument("--before", default=None, help="also time the geo transforms of this git revision, alternated")
    args = parser.parse_args(argv)
    n = args.rows or (100_000 if args.quick else 1_000_000)
    repeats = args.repeats or (2 if args.quick else 5)
    root = str(Path(__file__).resolve().parents[1])

    import widecross as wc

    data = points(n)
    rows: list[dict[str, Any]] = []
    cases = [24, None]
    # One fresh process per case (a second spec in the same process finds kernels compiled or
    # loaded by the first); --quick: one for both, the second case's first call is then a lower bound.
    groups = [cases] if args.quick else [[bits] for bits in cases]
    warm, cold = {}, {}
    for group in groups:
        warm.update(fresh_process(root, group, cold=False, rss_rows=n))
        cold.update(fresh_process(root, group, cold=True))
    for bits in cases:
        spec = wc.geo_spec(bits=bits)
        spec.transform({"lat": data["lat"][:1000], "lon": data["lon"][:1000]})
        wall, cpu, X = measure(lambda: spec.transform(data), repeats)
        output = csr_bytes(X)
        del X
        peak, X = traced_peak(lambda: spec.transform(data))
        rss = warm[f"rss {bits}"]
        rss_ratio = (rss["rss_peak"] - rss["rss_before"]) / rss["output"] if rss["reset"] else None
        rows.append({
            "case": f"geo_spec(bits={bits}).transform",
            "rows": n,
            "nnz": int(X.nnz),
            "wall_s": wall,
            "rows_per_s": n / wall,
            "rows_per_cpu_s": n / cpu,
            "output_mb": output / 1e6,
            "traced_peak_mb": peak / 1e6,
            "traced_peak_over_output": peak / output,
            "rss_growth_over_output": rss_ratio,
            "compile_s": cold[f"first_call_s {bits}"],
            "cached_first_call_s": warm[f"first_call_s {bits}"],
            "import_s": warm["import_s"],
        })
        del X

    # Inverse map: the weight-map command decodes ~1e6 nonzero columns of an exact model.
    exact = wc.geo_spec(bits=None)
    columns = np.unique(exact.transform(points(min(n, 1_000_000), seed=1)).indices)[: 1_000_000]
    wall, cpu, _ = measure(lambda: exact.decode(columns), repeats)
    rows.append({"case": "geo_spec(bits=None).decode", "rows": int(columns.size), "wall_s": wall,
                 "rows_per_s": columns.size / wall, "rows_per_cpu_s": columns.size / cpu})
    hashed = wc.geo_spec(bits=24)
    sample = points(min(n, 200_000), seed=2)
    wall, cpu, keys = measure(lambda: hashed.record(sample), max(1, repeats // 2))
    rows.append({"case": "geo_spec(bits=24).record", "rows": len(sample["lat"]), "wall_s": wall,
                 "rows_per_s": len(sample["lat"]) / wall, "rows_per_cpu_s": len(sample["lat"]) / cpu,
                 "nnz": len(keys)})

    if args.before:
        rows += compare_before(args.before, data, n, repeats)

    columns_shown = ["case", "rows", "rows_per_s", "rows_per_cpu_s", "output_mb", "traced_peak_over_output",
                     "rss_growth_over_output", "compile_s", "cached_first_call_s"]
    print(format_table(rows, columns_shown))
    main_row = rows[0]
    print(f"\nhashed (bits=24): {main_row['rows_per_s'] / 1e6:.1f}M rows/s (goal {GOAL_ROWS_PER_S / 1e6:.0f}M), "
          f"peak {main_row['traced_peak_over_output']:.2f}x output (goal <= {GOAL_PEAK_RATIO:.0f}x); "
          f"compile {main_row['compile_s']:.2f}s on first use, {main_row['cached_first_call_s']:.3f}s from the cache")
    path = save_results(
        "transform",
        rows,
        params={"rows": n, "repeats": repeats, "features_per_row": 5,
                "goal_rows_per_s": GOAL_ROWS_PER_S, "goal_peak_over_output": GOAL_PEAK_RATIO},
        quick=args.quick,
        results_dir=args.results_dir,
    )
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
