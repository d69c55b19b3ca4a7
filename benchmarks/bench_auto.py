"""l1="auto" and the default rates, measured: does a fit with no hyperparameter give a good model?

Sections (one row each, CPU seconds by ``time.process_time``):

- ``auto``: on generated geo houses (20k, 200k, 2M training rows) and two workloads unlike the
  generator (``workloads.regional``: a bounding box, three point effects, a categorical;
  ``workloads.ad_clicks``: 20 entries per row), the default fit's held-out log-loss against the
  best of a 12-value l1 grid (1e-8..1e-3, each a default fit with that l1) and the constant
  predictor; also the sparsest-within-one-standard-error choice refit the same way; and geo
  crosses with labels drawn independently of them (``geo_noise``: the constant is the best model).
- ``cost``: at the largest geo size, the CPU time of the default fit against one fixed-l1
  default fit (l1 1e-6), alternated, medians of ``--repeats``.
- ``rate``: geo rows, ``workloads.ad_clicks`` and an ad-click table shaped like the issue's
  (``issue_clicks``: 16 Zipf categoricals, 3 pairwise crosses of all their values, one numeric,
  20 entries per row, held-out log-loss ~0.47), one pass (``epochs=1, polish=0``) and 5 epochs +
  polish: the default fit (l1 and rate chosen on held-out rows), the same l1 at the default rate
  (normalized by the rows' active entries) and at 1/4..4x it (the best in hindsight), the fixed-l1
  rows of the previous defaults (0.3 one pass, 1.5 for 5 epochs) and the issue's hand-picked
  rates, and Vowpal Wabbit one pass / 5 passes on the same columns (if ``vowpalwabbit`` is
  installed; its own defaults, no l1).
- ``partial_fit``: one ``partial_fit`` call against ``fit(epochs=1, polish=0)`` on the same rows.
- ``l1_rows`` (alone, ``--sections l1_rows``; results ``bench_auto_l1_rows``): how the best l1
  falls with the rows, the rule behind ``ROWS_EXPONENT``: per workload and size, default fits
  along a fine l1 grid (factor 10 ** (1/6), 9 values around a guess) and the vertex of the
  parabola through the best three held-out losses (in log l1), with the exponent between sizes.

Usage::

    python benchmarks/bench_auto.py                 # about 40 minutes on 2 cores (2M rows)
    python benchmarks/bench_auto.py --sizes 20000 200000
    python benchmarks/bench_auto.py --quick         # seconds; what the test suite runs
    python benchmarks/bench_auto.py --sections l1_rows   # about 15 minutes
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, save_results  # noqa: E402
from benchmarks.workloads import AD_CROSSES, AD_VOCABULARIES, _mix, _zipf, ad_clicks, regional  # noqa: E402

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


def geo_noise(n_train: int, n_test: int, seed: int = 0):
    """Generated houses' geo crosses with labels drawn independently of them (base rate 0.3):
    no signal, so the best model is the constant."""
    X, _, Xt, _ = geo(n_train, n_test, seed)
    labels = (np.random.default_rng([seed, 31]).random(n_train + n_test) < 0.3).astype(np.float64)
    return X, labels[:n_train], Xt, labels[n_train:]


def issue_clicks(n: int, seed: int = 0, bits: int = BITS):
    """``workloads.ad_clicks``'s fields with weaker effects, crosses that act on every value and a
    higher base rate: the shape of the issue's table (held-out log-loss ~0.47, 20 entries per row).

    >>> X, y = issue_clicks(1000, bits=16)
    >>> X.shape, int(X.getnnz(axis=1).max()) <= 20, bool(0.15 < y.mean() < 0.4)
    ((1000, 65536), True, True)
    """
    import scipy.sparse as sp

    world = np.random.default_rng([0, 17])
    effects = [world.normal(0.0, 0.35, v) for v in AD_VOCABULARIES]
    rng = np.random.default_rng([seed, 19])
    values = np.stack([_zipf(rng, n, v) for v in AD_VOCABULARIES], axis=1)
    margin = np.full(n, -1.1) + sum(effect[values[:, f]] for f, effect in enumerate(effects))
    keys = [values[:, f].astype(np.uint64) + np.uint64(f << 40) for f in range(len(AD_VOCABULARIES))]
    for k, (a, b) in enumerate(AD_CROSSES):
        key = _mix(values[:, a].astype(np.uint64) * np.uint64(1 << 20) + values[:, b].astype(np.uint64)
                   + np.uint64((200 + k) << 40))
        margin += 0.35 * (((key >> np.uint64(11)) % np.uint64(1000)).astype(np.float64) / 1000 * 2 - 1)
        keys.append(key)
    count = rng.lognormal(2.0, 1.2, n)
    margin += 0.25 * (np.log1p(count) - 2.0)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-margin))).astype(np.float64)
    columns = np.stack([(_mix(k) >> np.uint64(64 - bits)).astype(np.int64) for k in keys], axis=1)
    columns = np.concatenate([columns, np.full((n, 1), (1 << bits) - 1)], axis=1)
    data = np.ones(columns.shape)
    data[:, -1] = np.log1p(count) / 2.0
    X = sp.csr_matrix((data.ravel(), columns.ravel(), np.arange(0, columns.size + 1, columns.shape[1])),
                      shape=(n, 1 << bits))
    X.sum_duplicates()
    return X, y


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
        "auto_l1": est.l1_, "auto_loss": auto_loss, "auto_nnz": est.model_.nnz, "auto_cpu_s": cpu, "rule": path["rule"],
        "path_points": len(path["l1"]), "path_rows": path["path_rows"], "path_cpu_s": float(np.sum(path["seconds"])),
        "grid_best_l1": float(grid[best]), "grid_best_loss": grid_losses[best],
        "gap_pct": 100 * (auto_loss / grid_losses[best] - 1), "constant_loss": constant,
        "one_se_l1": one_se_l1, "one_se_loss": held_out(one_se, Xt, yt), "one_se_nnz": one_se.model_.nnz,
        "learning_rate": est.learning_rate_, "rate_default": path["rate_default"],
        "rates_tried": len(path["rate_candidates"]), "rate_cpu_s": path["rate_seconds"],
        # the same l1 at the default rate: what the fit was before the rate was chosen
        "default_rate_loss": auto_loss if est.learning_rate_ == path["rate_default"] else
        held_out(wc.WideClassifier(l1=est.l1_, random_state=0).fit(X, y), Xt, yt),
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


SETTINGS = (("one pass", dict(epochs=1, polish=0), 1e-7, (None, 0.3, 0.1)),
            ("5 epochs", dict(), 3e-6, (None, 1.5, 0.3)))


def rate_rows(name: str, X, y, Xt, yt) -> list[dict]:
    import widecross as wc

    rows = []

    def row(setting, label, est, cpu, rate=None):
        rows.append({"section": "rate", "data": name, "rows": X.shape[0], "setting": setting, "run": label,
                     "learning_rate": "default" if rate is None else rate, "rate_used": est.learning_rate_,
                     "l1": est.l1_, "loss": held_out(est, Xt, yt), "cpu_s": cpu})

    for setting, params, fixed_l1, rates in SETTINGS:
        auto, cpu = fit_cpu(lambda: wc.WideClassifier(random_state=0, **params), X, y)
        row(setting, "default (l1 and rate chosen)", auto, cpu)
        default = auto.l1_path_["rate_default"]
        for k in (0, -2, -1, 1, 2):  # at the chosen l1: the default rate and its multiples
            rate = default * 2.0 ** k
            est, cpu = fit_cpu(lambda: wc.WideClassifier(l1=auto.l1_, learning_rate=rate, random_state=0, **params), X, y)
            row(setting, "the chosen l1, default rate" if k == 0 else f"the chosen l1, default x {2.0 ** k:g}", est, cpu, rate)
        for rate in rates:
            est, cpu = fit_cpu(lambda: wc.WideClassifier(l1=fixed_l1, learning_rate=rate, random_state=0, **params), X, y)
            row(setting, f"l1 {fixed_l1:g}", est, cpu, rate)
    return rows + vw_rows(name, X, y, Xt, yt)


def vw_text(X, y, path: Path) -> Path:
    """Rows as VW text with integer feature names and real values (``benchmarks.vw_text`` writes
    whole values only; the ad-click numeric column is real). Not timed."""
    with open(path, "w") as f:
        for start in range(0, X.shape[0], 100_000):
            part = X[start:start + 100_000]
            f.write("".join(
                ("1 |" if label == 1 else "-1 |") + "".join(
                    f" {c}:{v:.6g}" for c, v in zip(part.indices[part.indptr[i]:part.indptr[i + 1]].tolist(),
                                                    part.data[part.indptr[i]:part.indptr[i + 1]].tolist())) + "\n"
                for i, label in enumerate(y[start:start + 100_000])))
    return path


def vw_rows(name: str, X, y, Xt, yt) -> list[dict]:
    """Vowpal Wabbit on the same columns (integer feature names), its defaults, 1 and 5 passes."""
    try:
        import vowpalwabbit  # noqa: F401
    except ImportError:
        print("vowpalwabbit is not installed: the VW rows are skipped", flush=True)
        return []
    import tempfile

    from benchmarks.harness import vw_predict, vw_workspace

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        train, test = vw_text(X, y, Path(tmp) / "train.vw"), vw_text(Xt, yt, Path(tmp) / "test.vw")
        for passes in (1, 5):
            model = Path(tmp) / "vw.model"
            extra = f" --passes 5 -c --cache_file {Path(tmp) / 'vw.cache'} -k --holdout_off" if passes > 1 else ""
            start = time.process_time()
            ws = vw_workspace(f"-d {train} --loss_function logistic -b {BITS}{extra} -f {model}")
            ws.run_parser()
            ws.finish()
            cpu = time.process_time() - start
            del ws
            loss = log_loss(yt, vw_predict(model, test, Path(tmp)))
            rows.append({"section": "rate", "data": name, "rows": X.shape[0], "setting": f"VW {passes} pass(es)",
                         "run": f"vw -b {BITS}{' --passes 5' if passes > 1 else ''}", "loss": loss, "cpu_s": cpu})
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


# (workload, rows, a guess of the best l1: the grid's centre)
L1_ROWS = (("geo", 250_000, 4e-6), ("geo", 500_000, 2.3e-6), ("geo", 1_000_000, 1.3e-6), ("geo", 2_000_000, 7e-7),
           ("regional", 200_000, 3.5e-5), ("regional", 800_000, 1.1e-5), ("regional", 2_000_000, 5e-6),
           ("ad_clicks", 200_000, 4e-6), ("ad_clicks", 1_000_000, 1.2e-6))


def l1_rows_rows(quick: bool) -> list[dict]:
    """The best l1 of default fits per workload and size (see the module docstring)."""
    import widecross as wc
    from widecross.estimators.auto import vertex

    step, rows = 10 ** (1 / 6), []
    cases = (("geo", 4000, 1e-4), ("geo", 8000, 5e-5)) if quick else L1_ROWS
    for name, n, centre in cases:
        data = geo(n, min(n // 2, 500_000)) if name == "geo" else split_workload(
            {"regional": regional, "ad_clicks": ad_clicks}[name], n, min(n // 2, 500_000))
        grid = centre * step ** np.arange(4, -5, -1)
        losses = np.array([held_out(wc.WideClassifier(l1=float(l1), random_state=0).fit(data[0], data[1]), *data[2:])
                           for l1 in grid])
        best = vertex(grid, losses, int(np.argmin(losses)))
        before = [r for r in rows if r["data"] == name]
        exponent = math.log(before[-1]["best_l1"] / best) / math.log(n / before[-1]["rows"]) if before else None
        rows.append({"section": "l1_rows", "data": name, "rows": n, "best_l1": best, "best_loss": float(losses.min()),
                     "exponent_from_previous": exponent, "at_grid_edge": not 0 < int(np.argmin(losses)) < len(grid) - 1})
        print(format_table(rows[-1:]), flush=True)
    return rows


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
    if args.sections == ["l1_rows"]:
        rows = l1_rows_rows(args.quick)
        save_results("bench_auto_l1_rows", rows, {"bits": BITS}, quick=args.quick, results_dir=args.results_dir)
        return rows
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
    if "auto" in args.sections:  # no signal at all: the default fit must not lose to the constant
        rows.append(auto_row("geo, labels without signal", *geo_noise(args.other_rows, test_rows(args.other_rows)), grid))
        print(format_table(rows[-1:]), flush=True)
    if "rate" in args.sections:
        for name, make in (("ad_clicks", ad_clicks), ("issue_clicks", issue_clicks)):
            rows += rate_rows(name, *split_workload(make, args.rate_rows, test_rows(args.rate_rows)))
            print(format_table(rows[-14:]), flush=True)
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
