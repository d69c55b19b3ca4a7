"""Where ``optimizer="cd"`` starts its exact solve: from zero, or after one SGD epoch.

On generated houses (geo crosses at 60', 10' and 1', hashed into 2^22 columns), for each l1
and the solver's ``tol``, the two starts run alternated in one process, ``--repeats`` times
each, through the estimator's own pieces (its trainer and resolved parameters, the solver
``optimizer="cd"`` uses). CPU seconds count everything after featurizing: slot mapping, the SGD
epoch when there is one, the exact solve. Both stop on the same rule, so their objectives agree
to the solver's tolerance; the table shows them with the nonzeros and the passes over the rows.

    python benchmarks/bench_cd_start.py            # 200k rows, l1 1e-5 and 1e-6, tol 1e-3
    python benchmarks/bench_cd_start.py --quick    # seconds
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import format_table, save_results  # noqa: E402


def fit_once(X, y, l1: float, tol: float, warm: bool) -> dict:
    import widecross as wc
    from widecross.train import visit_order
    from widecross.train.exact import Exact

    est = wc.WideClassifier(optimizer="cd", l1=l1, tol=tol, random_state=0)
    t = time.process_time()
    params = est._params(entries=est._row_entries(X))
    trainer = est._new_trainer(params, X.shape[1])
    rows = trainer.rows(X, y)
    if warm:
        trainer.epoch(rows, visit_order(np.random.default_rng(0), X.shape[0], True))
    s = trainer.solve(Exact(tol=tol), lambda: (rows,))
    return dict(cpu_s=time.process_time() - t, objective=s.objective, passes=s.passes, nnz=trainer.coefficients()[0].size)


def main(argv: list[str] | None = None) -> int:
    import data_gen
    import widecross as wc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--l1", type=float, nargs="+", default=None)
    parser.add_argument("--tol", type=float, nargs="+", default=[1e-3])
    parser.add_argument("--quick", action="store_true", help="small data, one repeat (for tests)")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    n = args.rows or (20_000 if args.quick else 200_000)
    repeats = args.repeats or (1 if args.quick else 3)
    l1s = args.l1 or ([1e-4] if args.quick else [1e-5, 1e-6])
    houses = data_gen.generate_housing(n, seed=0)
    spec = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=22)
    X = spec.transform({"lat": houses["lat"], "lon": houses["lon"]})
    y = houses["label"].astype(np.float64)
    fit_once(X[:1000], y[:1000], l1s[0], args.tol[0], True)  # compile outside the timings
    load = [os.getloadavg()[0]]
    rows = []
    for l1 in l1s:
        for tol in args.tol:
            runs: dict[bool, list[dict]] = {False: [], True: []}
            for _ in range(repeats):
                for warm in (False, True):
                    runs[warm].append(fit_once(X, y, l1, tol, warm))
            times = {warm: statistics.median(r["cpu_s"] for r in runs[warm]) for warm in runs}
            for warm in (False, True):
                first = runs[warm][0]
                rows.append(dict(l1=l1, tol=tol, start="one SGD epoch" if warm else "zero", cpu_s=times[warm],
                                 cpu_runs=[round(r["cpu_s"], 3) for r in runs[warm]], objective=first["objective"],
                                 nnz=first["nnz"], passes=first["passes"], cpu_over_zero=times[warm] / times[False]))
                print(format_table(rows[-1:]).splitlines()[-1], flush=True)
            load.append(os.getloadavg()[0])
    params = dict(rows=n, bits=22, repeats=repeats, entries=int(X.nnz), load_average_1min=[min(load), max(load)],
                  machine="2-core shared machine")
    path = save_results("bench_cd_start", rows, params, quick=args.quick, results_dir=args.results_dir)
    print(format_table(rows))
    print(f"load average {min(load):.1f}-{max(load):.1f}; saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
