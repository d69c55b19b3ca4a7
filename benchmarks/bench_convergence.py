"""Objective gap and nonzero ratio per epoch against the exact batch optimum.

For each optimizer ("sgd", "ftrl") and l1 in {1e-5, 1e-6}, on generated geo data (houses, the
1 degree / 10' / 1' lat x lon crosses and the 1' marginals), train epoch by epoch (``partial_fit``
over the whole data is exactly one epoch of ``fit`` without polish) and record after each epoch:

- ``gap``: F(w, b) / F* - 1 of the stochastic iterate, F the mean-objective of design.md;
- ``nnz_ratio``: its nonzeros over the optimum's;
- ``gap_polished`` / ``nnz_ratio_polished``: the same after the default batch polish that ``fit``
  runs at its end (on a copy; the trajectory is unchanged).

F* comes from scikit-learn's liblinear (L1 logistic regression, C = 1 / (n l1), tol 1e-4, a large
intercept scaling so the intercept is practically unpenalized) on the columns actually used.

    python benchmarks/bench_convergence.py            # 3e5 rows, 30 epochs (a few minutes)
    python benchmarks/bench_convergence.py --quick    # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, save_results  # noqa: E402
from benchmarks.harness import liblinear_optimum, objective  # noqa: E402


def geo_data(n_rows: int, bits: int, seed: int = 0):
    import data_gen
    import widecross as wc

    rows = data_gen.generate_housing(n_rows, seed=seed)
    spec = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=bits)
    return spec.transform(rows), rows["label"].astype(np.float64)


def dense_weights(model, width):
    w = np.zeros(width)
    w[model.indices] = model.values
    return w


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data, few epochs (for tests)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--bits", type=int, default=18)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    n_rows = args.rows or (20_000 if args.quick else 300_000)
    epochs = args.epochs or (3 if args.quick else 30)
    report_at = sorted({e for e in (1, 2, 3, 5, 10, 15, 20, 25, 30) if e <= epochs} | {epochs})

    from widecross import WideClassifier
    from widecross.train import Polish

    X, y = geo_data(n_rows, args.bits)
    rows: list[dict] = []
    for l1 in (1e-5, 1e-6):
        t = time.perf_counter()
        w_opt, b_opt = liblinear_optimum(X, y, l1)
        optimum_seconds = time.perf_counter() - t
        f_opt, nnz_opt = objective(X, y, w_opt, b_opt, l1), int(np.count_nonzero(w_opt))
        print(f"l1={l1:g}: optimum F*={f_opt:.6f}, nnz*={nnz_opt:,} (liblinear {optimum_seconds:.1f} s)", flush=True)
        for optimizer in ("sgd", "ftrl"):
            est = WideClassifier(optimizer=optimizer, l1=l1, polish=0, random_state=0)
            default_polish = WideClassifier().polish
            for epoch in range(1, epochs + 1):
                est.partial_fit(X, y, classes=[0.0, 1.0])
                if epoch not in report_at:
                    continue
                m = est.model_
                gap = objective(X, y, dense_weights(m, X.shape[1]), m.intercept, l1) / f_opt - 1
                polished = copy.deepcopy(est)
                trainer = polished._trainer
                every_row = trainer.lookup(X, y)
                trainer.solve(Polish(default_polish), lambda: (every_row,))
                trainer.published = None
                pm = polished.model_
                gap_p = objective(X, y, dense_weights(pm, X.shape[1]), pm.intercept, l1) / f_opt - 1
                rows.append(
                    dict(
                        l1=l1, optimizer=optimizer, epoch=epoch,
                        gap=gap, nnz_ratio=m.nnz / nnz_opt,
                        gap_polished=gap_p, nnz_ratio_polished=pm.nnz / nnz_opt,
                        nnz=m.nnz, nnz_polished=pm.nnz, nnz_optimum=nnz_opt, optimum=f_opt,
                    )
                )
                print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    columns = ["l1", "optimizer", "epoch", "gap", "nnz_ratio", "gap_polished", "nnz_ratio_polished", "nnz_optimum"]
    print(format_table(rows, columns))
    params = dict(rows=n_rows, bits=args.bits, epochs=epochs, data="data_gen.generate_housing(seed=0)")
    path = save_results("bench_convergence", rows, params, quick=args.quick, results_dir=args.results_dir)
    print(f"saved {path}")
    return rows


if __name__ == "__main__":
    main()
