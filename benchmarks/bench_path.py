"""Regularization paths: nonzeros vs held-out loss over an l1 grid, for widecross and the peers.

Same data for every tool (generated houses, geo spec hashed into 2^24 columns, 2M training and
500k held-out rows by default; VW reads the same columns as text). Every fit starts from
scratch, so a point of the path is what a user gets from that one setting. Sections:

- ``path``: an l1 grid per tool, 1 and 5 epochs: widecross ``sgd`` and ``ftrl`` (defaults but
  l1), scikit-learn ``SGDClassifier`` L1 (``alpha``; constant rate 0.2 as in the peer table),
  VW ``--l1`` (its own units: a truncation of ``0.5 x l1`` per example, not a mean-objective
  l1) and VW ``--ftrl`` with the mean-objective l1 converted to its summed-loss ``--l1``;
- ``l2``: elastic net, widecross ``ftrl`` over l1 x l2 (5 epochs) and VW ``--l1 1e-7`` x
  ``--l2`` (1 pass): is the dense end of VW's path reachable, and with how many nonzeros;
- ``rates``: widecross's learning rate (SGD ``learning_rate``, FTRL ``alpha``) at l1 = 1e-6
  and 1e-5, after 1 and 5 epochs with the default polish and after one pass without it (what
  ``partial_fit`` streams): held-out loss, nonzeros and the training objective;
- ``rows``: held-out loss vs training rows for each tool's default setting, and widecross at
  the best l1 of a small grid per size: where a fixed mean-objective l1 stops fitting.

Held-out loss is measured on the held-out rows that every tool shares (no separate validation
set: the grid shows what each tool *can* reach, not a tuning procedure).

    python benchmarks/bench_path.py            # 2M + 500k rows (~20 minutes on 2 cores)
    python benchmarks/bench_path.py --quick    # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness  # noqa: E402
from benchmarks.common import RESULTS_DIR, format_table, save_results  # noqa: E402

BITS = 24
QUICK_BITS = 18  # --quick: the same code on a narrow width (scikit-learn's coef_ is dense)
L1_GRID = [1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5, 3e-5]
VW_L1_GRID = [1e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6]  # VW --l1 units (see the module docstring)


def path_runs(quick: bool) -> list[tuple[str, dict]]:
    """(series, run) pairs of the ``path`` section; ``l1`` of a run is its grid value."""
    grid = L1_GRID[2::4] if quick else L1_GRID
    vw_grid = VW_L1_GRID[1::3] if quick else VW_L1_GRID
    out = []
    for l1 in grid:
        out.append(("widecross sgd", dict(tool="widecross", params=dict(optimizer="sgd", l1=l1))))
        out.append(("widecross ftrl", dict(tool="widecross", params=dict(optimizer="ftrl", l1=l1))))
        out.append(("sklearn SGD l1", dict(tool="sklearn", params=dict(alpha=l1, eta0=0.2))))
        out.append(("VW --ftrl", dict(tool="vw", params=dict(args="--ftrl", l1_mean=l1))))
    for l1 in vw_grid:
        out.append(("VW --l1", dict(tool="vw", params=dict(args=f"--l1 {l1:g}"))))
    return out


def l2_runs(quick: bool) -> list[tuple[str, dict]]:
    l1s, l2s = ([1e-7], [0.0, 1e-6]) if quick else ([1e-7, 3e-7, 1e-6], [0.0, 3e-7, 1e-6, 3e-6, 1e-5])
    out = [("widecross ftrl", dict(tool="widecross", params=dict(optimizer="ftrl", l1=l1, l2=l2), epochs=5))
           for l1 in l1s for l2 in l2s]
    vw_l2 = [0.0, 1e-7] if quick else [0.0, 1e-9, 1e-8, 1e-7, 1e-6]
    out += [("VW --l1 1e-7", dict(tool="vw", params=dict(args=f"--l1 1e-7 --l2 {l2:g}"), epochs=1)) for l2 in vw_l2]
    return out


def rate_runs(quick: bool) -> list[tuple[str, dict]]:
    rates = [2.0] if quick else [0.25, 0.5, 1.0, 2.0]
    l1s = [1e-6] if quick else [1e-6, 1e-5]
    out = []
    for l1 in l1s:
        for rate in rates:
            for optimizer, key in (("sgd", "learning_rate"), ("ftrl", "alpha")):
                base = dict(optimizer=optimizer, l1=l1, **{key: rate})
                for epochs, polish in ((1, None), (5, None), (1, 0)):
                    params = dict(base) if polish is None else dict(base, polish=polish)
                    label = f"widecross {optimizer}" + (" no polish" if polish == 0 else "")
                    out.append((label, dict(tool="widecross", params=params, epochs=epochs)))
    return out


def row_of(section: str, series: str, run: dict, res: dict, **extra: Any) -> dict:
    p = run["params"]
    row = dict(section=section, series=series, epochs=run["epochs"])
    if run["tool"] == "vw":
        row["vw_args"] = res["vw_args"]
        row["l1"] = p.get("l1_mean", float("nan"))
    else:
        row["l1"] = p.get("l1", p.get("alpha"))
    row["l2"] = p.get("l2", 0.0)
    for key in ("learning_rate", "alpha"):
        if key in p and run["tool"] == "widecross":
            row["rate"] = p[key]
    row.update(log_loss=res["log_loss"], auc=res["auc"], nnz=res["nnz"], fit_cpu_s=res["fit_cpu_s"])
    if "objective" in res:
        row["objective"] = res["objective"]
    row.update(extra)
    return row


def run_section(section: str, runs: list[tuple[str, dict]], files: dict, epochs_list: list[int], objective: bool,
                rows: list[dict]) -> None:
    for series, run in runs:
        for epochs in ([run["epochs"]] if "epochs" in run else epochs_list):
            full = dict(run, epochs=epochs, bits=files["bits"])
            res = harness.fit_score(full, files, with_objective=objective and run["tool"] != "vw")
            rows.append(row_of(section, series, full, res))
            r = rows[-1]
            print(f"{section:5s} {series:24s} l1={r['l1']:<8g} l2={r['l2']:<6g} {epochs} ep "
                  f"{r.get('vw_args', '')[:30]:30s} loss {r['log_loss']:.4f} nnz {r['nnz']:>9,}", flush=True)


def rows_section(sizes: list[int], n_test: int, quick: bool, tmp: Path, has_vw: bool, bits: int) -> list[dict]:
    out: list[dict] = []
    grid = [1e-5, 1e-4] if quick else [3e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4]
    for n in sizes:
        train, y, test, yt = harness.housing_split(n, n_test, seed=1)
        files = harness.prepare(train, y, test, yt, bits, tmp / f"rows-{n}", vw=has_vw)
        runs = [("widecross sgd (default l1 1e-6)", dict(tool="widecross", params=dict(optimizer="sgd"))),
                ("widecross ftrl (default l1 1e-6)", dict(tool="widecross", params=dict(optimizer="ftrl"))),
                ("sklearn SGD l1 alpha 1e-7", dict(tool="sklearn", params=dict(alpha=1e-7, eta0=0.2)))]
        if has_vw:
            runs.append(("VW --l1 1e-7", dict(tool="vw", params=dict(args="--l1 1e-7"))))
        for epochs in (1, 5):
            for series, run in runs:
                res = harness.fit_score(dict(run, epochs=epochs, bits=bits), files)
                out.append(dict(section="rows", series=series, rows=n, epochs=epochs, log_loss=res["log_loss"],
                                auc=res["auc"], nnz=res["nnz"]))
            best = None
            for l1 in grid:
                res = harness.fit_score(dict(tool="widecross", params=dict(optimizer="ftrl", l1=l1), epochs=epochs,
                                             bits=bits), files)
                if best is None or res["log_loss"] < best[1]["log_loss"]:
                    best = (l1, res)
            out.append(dict(section="rows", series="widecross ftrl, best l1 of the grid", rows=n, epochs=epochs,
                            l1=best[0], log_loss=best[1]["log_loss"], auc=best[1]["auc"], nnz=best[1]["nnz"]))
            for r in out[-len(runs) - 1:]:
                print(f"rows  {n:>9,} {epochs} ep {r['series']:36s} loss {r['log_loss']:.4f} nnz {r['nnz']:>9,}",
                      flush=True)
    return out


def plot(rows: list[dict], quick: bool, results_dir: Path | None, bits: int = BITS) -> list[Path]:
    from benchmarks.plotting import new_figure, save_png, style

    paths = []
    fig, ax = new_figure(8, 5)
    path_rows = [r for r in rows if r["section"] == "path"]
    # The elastic-net points of the l2 section at l2 = 1e-6 make one more widecross path.
    path_rows = path_rows + [dict(r, series="widecross ftrl, l2 1e-6") for r in rows
                             if r["section"] == "l2" and r["series"].startswith("widecross") and r["l2"] == 1e-6]
    series = list(dict.fromkeys((r["series"], r["epochs"]) for r in path_rows))
    for k, (name, epochs) in enumerate(series):
        pts = sorted((r["nnz"], r["log_loss"]) for r in path_rows if r["series"] == name and r["epochs"] == epochs)
        family = "widecross" if name.startswith("widecross") else "sklearn" if name.startswith("sklearn") else "vw"
        ax.plot([max(p[0], 1) for p in pts], [p[1] for p in pts], label=f"{name}, {epochs} ep",
                **style(family, k))
    ax.set_xscale("log")
    ax.set_xlabel("nonzero weights")
    ax.set_ylabel("held-out log-loss")
    ax.set_title(f"Regularization paths (l1 grids), 2^{bits} columns")
    losses = [r["log_loss"] for r in path_rows]
    if losses:
        ax.set_ylim(min(losses) - 0.005, min(max(losses), min(losses) + 0.12))
    ax.legend(fontsize=7, ncol=2)
    paths.append(save_png(fig, "path_nnz_vs_loss", quick, results_dir))
    size_rows = [r for r in rows if r["section"] == "rows"]
    if size_rows:
        fig, ax = new_figure()
        for k, (name, epochs) in enumerate(dict.fromkeys((r["series"], r["epochs"]) for r in size_rows)):
            pts = sorted((r["rows"], r["log_loss"]) for r in size_rows if r["series"] == name and r["epochs"] == epochs)
            family = "widecross" if name.startswith("widecross") else "sklearn" if name.startswith("sklearn") else "vw"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=f"{name}, {epochs} ep", **style(family, k))
        ax.set_xscale("log")
        ax.set_xlabel("training rows")
        ax.set_ylabel("held-out log-loss")
        ax.set_title("Held-out loss vs training rows")
        ax.legend(fontsize=7)
        paths.append(save_png(fig, "path_loss_vs_rows", quick, results_dir))
    return paths


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data and grids at 2^18 (for tests)")
    parser.add_argument("--rows", type=int, default=None, help="training rows (default 2,000,000)")
    parser.add_argument("--test-rows", type=int, default=None, help="held-out rows (default rows / 4)")
    parser.add_argument("--skip", default="", help="comma-separated sections to skip: path,l2,rates,rows")
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--replot", action="store_true", help="redraw the plots from the saved results only")
    args = parser.parse_args(argv)
    quick = args.quick
    if args.replot:
        saved = json.loads(((args.results_dir or RESULTS_DIR) / f"bench_path{'.quick' if quick else ''}.json").read_text())
        for png in plot(saved["rows"], quick, args.results_dir, saved["params"].get("bits", BITS)):
            print(f"saved {png}")
        return saved["rows"]
    n = args.rows or (3_000 if quick else 2_000_000)
    bits = QUICK_BITS if quick else BITS
    n_test = args.test_rows or n // 4
    skip = set(filter(None, args.skip.split(",")))
    try:
        import vowpalwabbit  # noqa: F401

        has_vw = True
    except ImportError:
        print("vowpalwabbit is not installed: the VW series are skipped", flush=True)
        has_vw = False

    def keep(runs):
        return [(s, r) for s, r in runs if has_vw or r["tool"] != "vw"]

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_path-") as tmpdir:
        tmp = Path(tmpdir)
        if not {"path", "l2", "rates"} <= skip:
            train, y, test, yt = harness.housing_split(n, n_test)
            files = harness.prepare(train, y, test, yt, bits, tmp / "main", vw=has_vw)
            if "path" not in skip:
                run_section("path", keep(path_runs(quick)), files, [1, 5], False, rows)
            if "l2" not in skip:
                run_section("l2", keep(l2_runs(quick)), files, [5], False, rows)
            if "rates" not in skip:
                run_section("rates", rate_runs(quick), files, [1], True, rows)
        if "rows" not in skip:
            sizes = [1_000, 2_000] if quick else [20_000, 100_000, 500_000, 2_000_000]
            rows += rows_section(sizes, max(n_test, 1_000) if quick else 500_000, quick, tmp, has_vw, bits)
    for section in ("path", "l2", "rates", "rows"):
        part = [r for r in rows if r["section"] == section]
        if part:
            print(f"\n## {section}\n" + format_table(part))
    best = {}
    for r in rows:
        if r["section"] == "path":
            key = (r["series"], r["epochs"])
            if key not in best or r["log_loss"] < best[key]["log_loss"]:
                best[key] = r
    summary = [dict(series=s, epochs=e, best_l1=r["l1"], vw_args=r.get("vw_args", ""), log_loss=r["log_loss"],
                    nnz=r["nnz"]) for (s, e), r in best.items()]
    if summary:
        print("\n## best held-out loss per series\n" + format_table(summary))
    params = dict(rows=n, test_rows=n_test, bits=bits, l1_grid=L1_GRID, vw_l1_grid=VW_L1_GRID, best=summary,
                  data="data_gen.generate_housing(seed=0), split in order; rows section seed=1")
    path = save_results("bench_path", rows, params, quick=quick, results_dir=args.results_dir)
    print(f"saved {path}")
    for png in plot(rows, quick, args.results_dir, bits):
        print(f"saved {png}")
    return rows


if __name__ == "__main__":
    main()
