"""What validating sparse input costs: a default 5-epoch fit with and without ``checked_csr``.

Generated houses (``data_gen.generate_housing``), the default exact geo crosses
(``wc.geo_spec()``), ``WideClassifier(spec, random_state=0).fit(columns, label)``: featurizing,
validating, 5 epochs and the polish. Each run is a fresh process that compiles on a small fit
first and then times the real one in CPU seconds (``time.process_time``); the modes alternate
(with, without, [before]) ``--repeats`` times and the table gives medians. "without" replaces the
validation by a pass-through (what the kernels would trust blindly); ``--before DIR`` adds a run
of another source tree (the code before the validation, whose own checks were partial). A
separate row times ``checked_csr`` alone on the fit's CSR (median of 5 calls).

    python -m benchmarks.bench_validation                          # 1M rows, 3 repeats
    python -m benchmarks.bench_validation --before /path/to/old    # and the old code, alternated
    python -m benchmarks.bench_validation --quick                  # seconds; what the tests run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import format_table, save_results

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, time
import numpy as np
import data_gen, widecross as wc
rows = data_gen.generate_housing({rows}, seed=0)
columns, y = {{"lat": rows["lat"], "lon": rows["lon"]}}, rows["label"]
spec = wc.geo_spec()
if {without}:
    from widecross.estimators import inputs
    inputs.checked_csr = lambda X, *args, **kwargs: X  # trust the input blindly
small = {{k: v[:2000] for k, v in columns.items()}}
wc.WideClassifier(spec, random_state=0).fit(small, y[:2000])  # compile outside the clock
start = time.process_time()
clf = wc.WideClassifier(spec, random_state=0).fit(columns, y)
fit = time.process_time() - start
out = {{"fit_cpu_s": fit, "nnz": int(clf.model_.nnz)}}
if {check_alone}:
    from widecross._csr_check import checked_csr
    X = spec.transform(columns)
    checked_csr(X)
    times = []
    for _ in range(5):
        start = time.process_time()
        checked_csr(X)
        times.append(time.process_time() - start)
    out.update(check_cpu_s=float(np.median(times)), entries=int(X.nnz))
print(json.dumps(out))
"""


def run_mode(mode: str, source: Path, rows: int) -> dict[str, Any]:
    code = CHILD.format(rows=rows, without=mode == "without", check_alone=mode == "with")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), str(REPO)])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another source tree to time alongside (alternated)")
    parser.add_argument("--before-label", default="before", help="what to call it in the results (e.g. its commit)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one repeat")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    rows, repeats = (20_000, 1) if args.quick else (args.rows, args.repeats)
    modes = [("with", REPO), ("without", REPO)] + ([("before", args.before)] if args.before else [])
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode, _ in modes}
    for _ in range(repeats):
        for mode, source in modes:
            runs[mode].append(run_mode(mode, source, rows))
    base = statistics.median(r["fit_cpu_s"] for r in runs["without"])
    table = []
    for mode, _ in modes:
        times = [r["fit_cpu_s"] for r in runs[mode]]
        table.append({"mode": mode, "rows": rows, "fit CPU s (median)": statistics.median(times),
                      "runs": ", ".join(f"{t:.2f}" for t in times),
                      "vs without": f"{statistics.median(times) / base - 1:+.1%}", "nnz": runs[mode][0]["nnz"]})
    check = statistics.median(r["check_cpu_s"] for r in runs["with"])
    table.append({"mode": "checked_csr alone", "rows": rows, "fit CPU s (median)": check,
                  "runs": f"{runs['with'][0]['entries']:,} entries", "vs without": f"{check / base:.2%} of the fit", "nnz": ""})
    print(format_table(table))
    params = {"rows": rows, "repeats": repeats, "spec": "geo_spec() exact", "before": args.before_label if args.before else None}
    save_results("bench_validation", table, params=params,
                 quick=args.quick, results_dir=args.results_dir)
    return table


if __name__ == "__main__":
    main()
