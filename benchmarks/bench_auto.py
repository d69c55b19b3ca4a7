"""l1="auto" and the default rates, measured: does a fit with no hyperparameter give a good model?

Sections (one row each, CPU seconds by ``time.process_time``):

- ``auto``: on generated geo houses (20k, 200k, 2M training rows) and two workloads unlike the
  generator (``workloads.regional``: a bounding box, three point effects, a categorical;
  ``workloads.ad_clicks``: 20 entries per row), the default fit's held-out log-loss against the
  best of a 12-value l1 grid (1e-8..1e-3, each a default fit with that l1) and the constant
  predictor; also the sparsest-within-one-standard-error choice refit the same way.
- ``cost``: at the largest geo size, the CPU time of the default fit against one fixed-l1
  default fit (l1 1e-6), alternated, medians of ``--repeats``.
- ``rate``: geo and ad-click rows at fixed l1, the default rate (normalized by the rows' active
  entries) against the previous fixed defaults (0.3 one pass, 1.5 for 5 epochs) and the issue's
  hand-picked rates, one pass (``epochs=1, polish=0``) and 5 epochs + polish.
- ``partial_fit``: one ``partial_fit`` call against ``fit(epochs=1, polish=0)`` on the same rows.

Usage::

    python benchmarks/bench_auto.py                 # about 20 minutes on 2 cores (2M rows)
    python benchmarks/bench_auto.py --sizes 20000 200000
    python benchmarks/bench_auto.py --quick         # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, save_results  # noqa: E402
from benchmarks.workloads import ad_clicks, regional  # noqa: E402

GRID = np.logspace(-8, -3, 12)
BITS = 22


def geo(n_train: int, n_test: int, seed: int = 0):
    import data_gen
    import widecross as wc

    rows = data_gen.generate_housing(n_train + n_test, seed=seed)
    spec = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=BITS)
    X = spec.transform({"lat": rows["lat"], "lon": rows["lon"]})
    y = rows["label"].astype(np.float64)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def split_workload(make, n_train: int, n_test: int):
    X, y = make(n_train, seed=0)
    Xt, yt = make(n_test, seed=1)
    return X, y, Xt, yt


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def fit_cpu(make_estimator, X, y):
    start = time.process_time()
    est = make_estimator().fit(X, y)
    return est, time.process_time() - start


def held_out(est, Xt, yt) -> float:
    return log_loss(yt, est.predict_proba(Xt)[:, 1])


def auto_row(name: str, X, y, Xt, yt, grid) -> dict:
    import widecross as wc

    est, cpu = fit_cpu(lambda: wc.WideClassifier(random_state=0), X, y)
    path = est.l1_path_
    auto_loss = held_out(est, Xt, yt)
    grid_losses = [held_out(wc.WideClassifier(l1=float(l1), random_state=0).fit(X, y), Xt, yt) for l1 in grid]
    best = int(np.argmin(grid_losses))
    one_se_l1 = float(path["l1"][path["one_se"]] * path["rows_scale"])
    one_se = wc.WideClassifier(l1=one_se_l1, random_state=0).fit(X, y)
    constant = log_loss(yt, np.full(yt.shape, y.mean()))
    return {
        "section": "auto", "data": name, "rows": X.shape[0], "entries_per_row": round(X.nnz / X.shape[0], 2),
        "auto_l1": est.l1_, "auto_loss": auto_loss, "auto_nnz": est.model_.nnz, "auto_cpu_s": cpu,
        "path_points": len(path["l1"]), "path_rows": path["path_rows"], "path_cpu_s": float(np.sum(path["seconds"])),
        "grid_best_l1": float(grid[best]), "grid_best_loss": grid_losses[best],
        "gap_pct": 100 * (auto_loss / grid_losses[best] - 1), "constant_loss": constant,
        "one_se_l1": one_se_l1, "one_se_loss": held_out(one_se, Xt, yt), "one_se_nnz": one_se.model_.nnz,
        "learning_rate": est.learning_rate_,
    }


def cost_row(name: str, X, y, repeats: int) -> dict:
    import widecross as wc

    auto, fixed = [], []
    for _ in range(repeats):  # alternated, so that both see the same load
        auto.append(fit_cpu(lambda: wc.WideClassifier(random_state=0), X, y)[1])
        fixed.append(fit_cpu(lambda: wc.WideClassifier(l1=1e-6, random_state=0), X, y)[1])
    a, f = statistics.median(auto), statistics.median(fixed)
    return {"section": "cost", "data": name, "rows": X.shape[0], "auto_cpu_s": a, "fixed_cpu_s": f,
            "ratio": a / f, "auto_runs": [round(v, 2) for v in auto], "fixed_runs": [round(v, 2) for v in fixed]}


def rate_rows(name: str, X, y, Xt, yt) -> list[dict]:
    import widecross as wc

    rows = []
    for label, params, rates in (("one pass, l1 1e-7", dict(epochs=1, polish=0, l1=1e-7), (None, 0.3, 0.1)),
                                 ("5 epochs, l1 3e-6", dict(epochs=5, l1=3e-6), (None, 1.5, 0.3))):
        for rate in rates:
            est, cpu = fit_cpu(lambda: wc.WideClassifier(learning_rate=rate, random_state=0, **params), X, y)
            rows.append({"section": "rate", "data": name, "rows": X.shape[0], "setting": label,
                         "learning_rate": "default" if rate is None else rate, "rate_used": est.learning_rate_,
                         "loss": held_out(est, Xt, yt), "cpu_s": cpu})
    return rows


def partial_fit_rows(name: str, X, y, Xt, yt) -> list[dict]:
    import widecross as wc

    runs = [("partial_fit, defaults", wc.WideClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])),
            ("fit(epochs=1, polish=0, l1=1e-7)", wc.WideClassifier(epochs=1, polish=0, l1=1e-7, random_state=0).fit(X, y)),
            ("partial_fit, the previous rate 1.5",
             wc.WideClassifier(learning_rate=1.5, random_state=0).partial_fit(X, y, classes=[0, 1]))]
    for l1 in (1e-8, 1e-6, 1e-5):  # the l1 of partial_fit before any choice (l1="auto": 1e-7)
        runs.append((f"partial_fit, l1 {l1:g}", wc.WideClassifier(l1=l1, random_state=0).partial_fit(X, y, classes=[0, 1])))
    return [{"section": "partial_fit", "data": name, "rows": X.shape[0], "setting": setting,
             "rate_used": est.learning_rate_, "l1": est.l1_, "loss": held_out(est, Xt, yt)} for setting, est in runs]


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data (for tests)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000, 2_000_000])
    parser.add_argument("--other-rows", type=int, default=200_000, help="rows of the regional and ad-click data")
    parser.add_argument("--rate-rows", type=int, default=1_000_000, help="rows of the ad-click rate comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sections", nargs="+", default=["auto", "cost", "rate", "partial_fit"])
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    grid = GRID
    if args.quick:
        args.sizes, args.other_rows, args.rate_rows, args.repeats = [4000], 4000, 4000, 1
        grid = np.logspace(-6, -3, 4)

    def test_rows(n: int) -> int:
        return min(max(n // 2, 2000), 500_000)

    rows: list[dict] = []
    load = {"loadavg_start": Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None}
    for n in args.sizes:
        data = geo(n, test_rows(n))
        if "auto" in args.sections:
            rows.append(auto_row("geo", *data, grid))
            print(format_table(rows[-1:]), flush=True)
        if "cost" in args.sections and n == max(args.sizes):
            rows.append(cost_row("geo", data[0], data[1], args.repeats))
            print(format_table(rows[-1:]), flush=True)
        if n == min(args.other_rows, max(args.sizes)) or (args.quick and n == args.sizes[0]):
            if "rate" in args.sections:
                rows += rate_rows("geo", *data)
            if "partial_fit" in args.sections:
                rows += partial_fit_rows("geo", *data)
        del data
    for name, make in (("regional", regional), ("ad_clicks", ad_clicks)):
        data = split_workload(make, args.other_rows, test_rows(args.other_rows))
        if "auto" in args.sections:
            rows.append(auto_row(name, *data, grid))
            print(format_table(rows[-1:]), flush=True)
        if name == "ad_clicks" and "partial_fit" in args.sections:
            rows += partial_fit_rows(name, *data)
        del data
    if "rate" in args.sections:
        rows += rate_rows("ad_clicks", *split_workload(ad_clicks, args.rate_rows, test_rows(args.rate_rows)))
    load["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None
    for section in ("auto", "cost", "rate", "partial_fit"):
        part = [r for r in rows if r["section"] == section]
        if part:
            print(f"\n## {section}\n" + format_table(part))
    print(load)
    save_results("bench_auto", rows, {"sizes": args.sizes, "other_rows": args.other_rows, "repeats": args.repeats,
                                      "rate_rows": args.rate_rows,
                                      "grid": [float(v) for v in grid], "bits": BITS, **load},
                 quick=args.quick, results_dir=args.results_dir)
    return rows


if __name__ == "__main__":
    main()
