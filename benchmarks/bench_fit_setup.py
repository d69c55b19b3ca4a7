"""What the default fit does before its first pass, step by step, with 1 and 2 threads.

    nice -n 10 python benchmarks/bench_fit_setup.py --against de84a61       # 1M and 2M rows, 2^22 and exact
    python benchmarks/bench_fit_setup.py --rows 1000000 --widths 22 --rounds 1   # ~1 min
    python benchmarks/bench_fit_setup.py --quick                             # 40k rows, this tree

``WideClassifier(spec, l1=1e-6, random_state=0, n_jobs=k).fit`` (as in ``bench_threads``) is
stopped where the epoch loop would start; each step is timed by wrapping the function that does
it: featurizing (``FeatureSpec.transform``), the input check (``checked_csr``), the target,
labels and weights (``MemorySource`` less the two before), the rows' mean size
(``_row_entries``), the slot map (``SlotMap.map``), the rest of ``Trainer.rows`` (values check,
records), and what is left ("other"). Per step and n_jobs, medians over repeats and rounds of
wall seconds, process CPU (all threads, user + system), the calling thread's CPU, the pool
threads' CPU (process less calling thread) and the process's system CPU (page faults). Each
round is a fresh interpreter per version (a git revision's package, then this tree's), n_jobs=1
and 2 alternated.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.common import format_table, run_at_revision, run_python_measured, save_results  # noqa: E402

STEPS = ("transform", "check", "target, labels, weights", "row sizes", "slot map", "values check, records",
         "other", "before the first pass")
_FIELDS = ("wall", "cpu", "main_cpu", "sys")


class _Stop(Exception):
    """Raised where the epoch loop would start."""


def _clock() -> tuple[float, float, float, float]:
    return (time.perf_counter(), time.process_time(), time.thread_time(),
            resource.getrusage(resource.RUSAGE_SELF).ru_stime)


class StepClock:
    """Wraps the step functions (those the revision has) and adds up their clocks by step name."""

    def __init__(self) -> None:
        import widecross.estimators.base as base
        import widecross.estimators.inputs as inputs
        import widecross.estimators.sources as sources
        import widecross.features.spec as spec
        import widecross.train.epochs as epochs
        import widecross.train.slots as slots
        import widecross.train.trainer as trainer

        self.targets = [(spec.FeatureSpec, "transform", "transform"), (inputs, "checked_csr", "check"),
                        (sources.MemorySource, "__init__", "source"), (base.WideEstimator, "_row_entries", "row sizes"),
                        (slots.SlotMap, "map", "slot map"), (trainer.Trainer, "rows", "rows")]
        self.epochs = epochs
        self.spent: dict[str, list[float]] = {}
        self.originals: list[tuple[Any, str, Any]] = []

    def _wrap(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        def timed_step(*args: Any, **kwargs: Any) -> Any:
            start = _clock()
            try:
                return fn(*args, **kwargs)
            finally:
                end = _clock()
                total = self.spent.setdefault(name, [0.0] * 4)
                for i in range(4):
                    total[i] += end[i] - start[i]
        return timed_step

    def __enter__(self) -> StepClock:
        for owner, attr, name in self.targets:
            fn = getattr(owner, attr)
            self.originals.append((owner, attr, fn))
            setattr(owner, attr, self._wrap(fn, name))

        def stop(*args: Any, **kwargs: Any) -> Any:
            raise _Stop
        self.originals.append((self.epochs.EpochRunner, "run", self.epochs.EpochRunner.run))
        self.epochs.EpochRunner.run = stop  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, attr, fn in reversed(self.originals):
            setattr(owner, attr, fn)


def steps_once(spec: Any, train: dict[str, Any], y: Any, n_jobs: int) -> dict[str, dict[str, float]]:
    """One fit up to its first pass: {step: {wall, cpu, main_cpu, pool_cpu, sys}} in seconds."""
    import widecross as wc

    clf = wc.WideClassifier(spec, l1=1e-6, random_state=0, n_jobs=n_jobs)
    with StepClock() as clock:
        start = _clock()
        try:
            clf.fit(train, y)
        except _Stop:
            pass
        end = _clock()
    got = {name: list(v) for name, v in clock.spent.items()}
    zero = [0.0] * 4
    parts = {"transform": got.get("transform", zero), "check": got.get("check", zero),
             "row sizes": got.get("row sizes", zero), "slot map": got.get("slot map", zero)}
    source, rows = got.get("source", zero), got.get("rows", zero)
    parts["target, labels, weights"] = [source[i] - parts["transform"][i] - parts["check"][i] for i in range(4)]
    parts["values check, records"] = [rows[i] - parts["slot map"][i] for i in range(4)]
    total = [end[i] - start[i] for i in range(4)]
    parts["other"] = [total[i] - sum(p[i] for p in parts.values()) for i in range(4)]
    parts["before the first pass"] = total
    out = {}
    for name, values in parts.items():
        row = dict(zip(_FIELDS, values))
        row["pool_cpu"] = row["cpu"] - row["main_cpu"]
        out[name] = row
    return out


def setup_figures(rows: list[int], widths: list[int | None], repeats: int) -> list[dict[str, Any]]:
    """In a child process: per size and width, the steps with n_jobs=1 and 2 alternated."""
    import widecross as wc
    from data_gen import generate_housing

    results = []
    for n in rows:
        houses = generate_housing(n, seed=0)
        train, y = {"lat": houses["lat"], "lon": houses["lon"]}, houses["label"]
        for bits in widths:
            spec = wc.geo_spec(bits=bits)
            for k in (1, 2):  # kernels compiled or loaded, threads started
                steps_once(spec, {c: v[:200_000] for c, v in train.items()}, y[:200_000], k)
            runs: dict[int, list[dict[str, dict[str, float]]]] = {1: [], 2: []}
            for _ in range(repeats):
                for k in (1, 2):
                    runs[k].append(steps_once(spec, train, y, k))
            for step in STEPS:
                row: dict[str, Any] = {"rows": n, "width": "exact" if bits is None else f"2^{bits}", "step": step}
                for k in (1, 2):
                    for key in (*_FIELDS, "pool_cpu"):
                        row[f"{key}_{k}"] = statistics.median(r[step][key] for r in runs[k])
                results.append(row)
    return results


_CHILD = """
import json
from benchmarks.bench_fit_setup import setup_figures
print(json.dumps({{"results": setup_figures({rows!r}, {widths!r}, {repeats!r})}}))
"""


def summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians over the rounds per (rows, width, step, version), with the two-thread ratios."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["rows"], r["width"], r["step"], r["version"]), []).append(r)
    table = []
    for (rows, width, step, version), rs in groups.items():
        row: dict[str, Any] = {"rows": rows, "width": width, "step": step, "version": version}
        for k in (1, 2):
            for key in (*_FIELDS, "pool_cpu"):
                row[f"{key}_{k}"] = statistics.median(r[f"{key}_{k}"] for r in rs)
        row["wall_speedup"] = row["wall_1"] / row["wall_2"] if row["wall_2"] > 0 else float("nan")
        row["rounds"] = len(rs)
        table.append(row)
    table.sort(key=lambda r: (r["rows"], r["width"] != "2^22", STEPS.index(r["step"]), r["version"] != "old"))
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="40k rows, 2^22 only, one round, one repeat")
    p.add_argument("--against", default=None, metavar="REVISION", help="the old code's git revision")
    p.add_argument("--rows", type=int, nargs="+", default=None, help="default: 1M and 2M")
    p.add_argument("--widths", nargs="+", default=None, help="bits, or 'exact' (default: 22 and exact)")
    p.add_argument("--rounds", type=int, default=None, help="interpreters per version (2)")
    p.add_argument("--repeats", type=int, default=None, help="n_jobs=1 / 2 alternations in each (3)")
    p.add_argument("--results-dir", type=Path, default=None)
    args = p.parse_args(argv)
    rows = args.rows or ([40_000] if args.quick else [1_000_000, 2_000_000])
    widths = [None if w == "exact" else int(w) for w in (args.widths or (["22"] if args.quick else ["22", "exact"]))]
    rounds = args.rounds or (1 if args.quick else 2)
    repeats = args.repeats or (1 if args.quick else 3)
    load_before = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    code = _CHILD.format(rows=rows, widths=widths, repeats=repeats)
    runs: list[dict[str, Any]] = []
    for _ in range(rounds):
        if args.against:
            runs += [{**r, "version": "old"} for r in run_at_revision(args.against, code)["results"]]
        runs += [{**r, "version": "new"} for r in run_python_measured(code)["results"]]
    table = summary(runs)
    print(format_table(table))
    load_after = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    params = {"against": args.against, "rows": rows, "widths": [w or "exact" for w in widths], "rounds": rounds,
              "repeats": repeats, "loadavg_before": " ".join(load_before), "loadavg_after": " ".join(load_after),
              "machine_note": "2-core shared machine: wall figures are depressed by other processes; "
                              "cpu_2 and pool_cpu_2 are CPU seconds of the two-thread run"}
    save_results("bench_fit_setup", table, params, quick=args.quick, results_dir=args.results_dir)
    print(json.dumps({"load_before": params["loadavg_before"], "load_after": params["loadavg_after"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
