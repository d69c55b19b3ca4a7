"""The row-block parts on two threads, a git revision's code against this tree's, side by side:
``spec.transform``, the slot map of the transformed columns, and the end-of-fit polish alone.

    nice -n 10 python benchmarks/bench_rowblocks.py --against e5025f8     # 1M and 2M rows, 2^22 and exact, 3 rounds
    python benchmarks/bench_rowblocks.py --against e5025f8 --rows 1000000 --widths 22 --rounds 1   # ~1 min
    python benchmarks/bench_rowblocks.py --quick                # 40k rows, 2^22, this tree, one round
    python benchmarks/bench_rowblocks.py --against e5025f8 --parts "slot map"   # one part only

Each round runs one fresh interpreter per version (the revision's package, then this tree's):
it generates the rows (``data_gen``), and for each size and width times each part with
n_jobs=1 and n_jobs=2 alternately, ``--repeats`` times. Per part and n_jobs: medians of wall
seconds, process CPU seconds (user + system), the system part alone (page faults of fresh
memory: on a virtual machine they may cost more than the work), and for two threads the critical
path (the calling thread's CPU plus, per parallel call, its slowest thread's task CPU; see
``bench_threads.TaskClock``) and, steadier on a loaded machine, ``scheduled_cpu_2``: the
two-thread run's tasks timed one after the other on the calling thread, then laid out on two
threads in the pool's order (``TaskClock(scheduled=True)``; what the two threads cost each other
in memory bandwidth is left out). Every result's bytes are hashed: they must agree across n_jobs
and versions.

The polish starts from the weights the default fit's epochs leave on one thread
(``bench_threads.fit_before_polish``): its 6 passes and the objective's, as in ``fit``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.common import format_table, run_at_revision, run_python_measured, save_results  # noqa: E402

PARTS = ("transform", "slot map", "polish (6 passes + objective)")

_CHILD = """
import hashlib, json, resource, statistics
import numpy as np
import widecross as wc
from widecross.train import Polish
from widecross.train.slots import SlotMap
from benchmarks.bench_threads import fit_before_polish, timed
from data_gen import generate_housing

def system_seconds():
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime

def measure(fn, to_bytes, repeats):
    runs, scheduled = {{1: [], 2: []}}, []
    fn(2)  # compiles what the threads run
    for _ in range(repeats):
        for k in (1, 2):
            s0 = system_seconds()
            run = timed(lambda: fn(k))
            run["sys"] = system_seconds() - s0
            run["digest"] = hashlib.sha256(to_bytes(run.pop("result"))).hexdigest()[:16]  # not timed
            runs[k].append(run)
        scheduled.append(timed(lambda: fn(2), scheduled=True)["critical_cpu"])
    out = {{"scheduled_cpu_2": statistics.median(scheduled)}}
    for k in (1, 2):
        for key in ("wall", "cpu", "sys", "critical_cpu"):
            out[f"{{key}}_{{k}}"] = statistics.median(r[key] for r in runs[k])
    out["digests"] = sorted({{r["digest"] for k in runs for r in runs[k]}})
    return out

def csr_bytes(X):
    return X.indptr.tobytes() + X.indices.tobytes() + X.data.tobytes()

results = []
for n in {rows!r}:
    houses = generate_housing(n, seed=0)
    data = {{"train": {{"lat": houses["lat"], "lon": houses["lon"]}}, "y": houses["label"]}}
    del houses
    for bits in {widths!r}:
        spec = wc.geo_spec(bits=bits)
        base = {{"rows": n, "width": "exact" if bits is None else f"2^{{bits}}"}}
        X = spec.transform(data["train"])
        if "transform" in {parts!r}:
            results.append({{**base, "part": "transform",
                             **measure(lambda k: spec.transform(data["train"], n_jobs=k), csr_bytes, {repeats})}})
        if "slot map" in {parts!r}:
            results.append({{**base, "part": "slot map",
                             **measure(lambda k: SlotMap().map(X.indices, k), np.ndarray.tobytes, {repeats})}})
        del X
        if "polish" not in {parts!r}:
            continue
        caught = fit_before_polish(spec, data)[1]
        solver = caught["solver"]

        def polish(k):
            weights = caught["weights"].copy()
            job = Polish(solver.passes, measure=solver.measure, accelerated=solver.accelerated, n_jobs=k)
            solution = job.solve(caught["blocks"], weights, *caught["args"])
            return weights, solution

        def polish_bytes(result):
            weights, solution = result
            numbers = np.array([solution.intercept, solution.objective], dtype=np.float64)
            return weights.tobytes() + numbers.tobytes()

        part = f"polish ({{solver.passes}} passes + objective)"
        results.append({{**base, "part": part, **measure(polish, polish_bytes, {repeats})}})
        del caught
print(json.dumps({{"results": results}}))
"""


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def one_round(version: str, revision: str | None, args: argparse.Namespace) -> list[dict[str, Any]]:
    code = _CHILD.format(rows=args.rows, widths=args.widths, repeats=args.repeats, parts=args.parts)
    result = run_at_revision(revision, code) if revision else run_python_measured(code)
    return [{**r, "version": version} for r in result["results"]]


def summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (rows, width, part, version): medians over the rounds, and the ratios."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["rows"], r["width"], r["part"], r["version"]), []).append(r)
    table = []
    for (rows, width, part, version), rs in groups.items():
        med = {key: statistics.median(r[key] for r in rs)
               for key in ("wall_1", "wall_2", "cpu_1", "cpu_2", "sys_1", "sys_2", "critical_cpu_2", "scheduled_cpu_2")}
        digests = sorted({d for r in rs for d in r["digests"]})
        table.append({"rows": rows, "width": width, "part": part, "version": version,
                      "wall_1": med["wall_1"], "wall_2": med["wall_2"], "speedup": med["wall_1"] / med["wall_2"],
                      "cpu_1": med["cpu_1"], "cpu_2": med["cpu_2"], "cpu_ratio": med["cpu_2"] / med["cpu_1"],
                      "sys_1": med["sys_1"], "sys_2": med["sys_2"], "critical_cpu_2": med["critical_cpu_2"],
                      "cpu_speedup": med["cpu_1"] / med["critical_cpu_2"], "scheduled_cpu_2": med["scheduled_cpu_2"],
                      "scheduled_speedup": med["cpu_1"] / med["scheduled_cpu_2"], "rounds": len(rs),
                      "same_bytes_for_n_jobs": len(digests) == 1, "digest": ",".join(digests)})
    table.sort(key=lambda r: (r["rows"], r["width"] != "2^22", PARTS.index(r["part"]) if r["part"] in PARTS else 9,
                              r["version"] != "old"))
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="40k rows, 2^22 only, one round, one repeat")
    p.add_argument("--against", default=None, metavar="REVISION",
                   help="the old code's git revision (else: this tree only)")
    p.add_argument("--rows", type=int, nargs="+", default=None, help="default: 1M and 2M")
    p.add_argument("--widths", nargs="+", default=None, help="bits, or 'exact' (default: 22 and exact)")
    p.add_argument("--rounds", type=int, default=None, help="interpreters per version, old and new alternated (3)")
    p.add_argument("--repeats", type=int, default=None, help="n_jobs=1 / n_jobs=2 alternations per part in each (3)")
    p.add_argument("--parts", nargs="+", default=["transform", "slot map", "polish"],
                   choices=["transform", "slot map", "polish"], help="the parts to time (default: all)")
    p.add_argument("--results-dir", type=Path, default=None)
    args = p.parse_args(argv)
    quick = args.quick
    args.rows = args.rows or ([40_000] if quick else [1_000_000, 2_000_000])
    args.widths = [None if w == "exact" else int(w) for w in (args.widths or (["22"] if quick else ["22", "exact"]))]
    args.rounds = args.rounds or (1 if quick else 3)
    args.repeats = args.repeats or (1 if quick else 3)
    load_before = loadavg()
    runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        if args.against:
            runs += one_round("old", args.against, args)
        runs += one_round("new", None, args)
    table = summary(runs)
    print(format_table(table))
    load_after = loadavg()
    agree = {(r["rows"], r["width"], r["part"]): set() for r in table}
    for r in table:
        agree[(r["rows"], r["width"], r["part"])].add(r["digest"])
    same_across_versions = all(len(d) == 1 for d in agree.values())
    params = {"against": args.against, "parts": args.parts, "rows": args.rows, "widths": [w or "exact" for w in args.widths],
              "rounds": args.rounds, "repeats": args.repeats,
              "loadavg_before": load_before, "loadavg_after": load_after,
              "same_bytes_across_versions": same_across_versions,
              "machine_note": "2-core shared machine: wall-time ratios are depressed by other processes; "
                              "critical_cpu_2 is the two-thread critical path in CPU seconds"}
    save_results("bench_rowblocks", table, params, quick=quick, results_dir=args.results_dir)
    print(f"load average before {load_before}, after {load_after}; same bytes across versions: {same_across_versions}")
    print(json.dumps({"same_bytes_across_versions": same_across_versions}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
