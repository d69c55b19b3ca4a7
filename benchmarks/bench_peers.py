"""Side by side training: widecross against scikit-learn and Vowpal Wabbit on the same columns.

Generated houses (2M training rows, 500k held-out by default), featurized once by widecross's
geo spec at 2^18, 2^22, 2^26 columns and exactly (235.7M columns). Every tool trains on the same
columns: widecross and scikit-learn from the CSR, Vowpal Wabbit from the same columns written in
its text format, through its own parser (``-b 28`` for the exact width: no collision). Tools:

- widecross ``sgd`` and ``ftrl`` at their defaults (l1 = 1e-6, batch polish at the end of fit),
  ``ftrl`` at l1 = 1e-7, l2 = 1e-6 (the held-out optimum of bench_path: as dense as VW), and
  ``sgd`` at the peers' l1 = 1e-7 for exactly one pass (``polish=0``: the one-epoch comparison),
  with AdaGrad (the default schedule) and with ``schedule="newton"`` (the best single pass),
  and ``sgd`` at its default l1 for 5 epochs without the polish (as many passes as the peers');
- scikit-learn ``SGDClassifier(loss="log_loss", penalty="l1", alpha=1e-7, learning_rate=
  "constant", eta0=0.2)``, the setting of the published peer table;
- VW ``--loss_function logistic --l1 1e-7`` (the peer table's) and VW ``--ftrl`` at widecross's
  l1 of 1e-6 (VW's FTRL ``--l1`` is l1 x examples processed: it applies to the summed loss).

Each (tool, width, epochs in {1, 5}) trains ``--repeats`` times, every time in a fresh process
(repeats interleaved, so that a busy moment of the shared machine hits every tool alike):
training CPU seconds (median), examples per CPU-second (epochs x rows / CPU seconds, setup and
widecross's polish included), held-out log-loss and AUC, nonzero weights, and the process's peak
RSS right after training (median; a "data only" process per tool gives the baseline). End to end
from raw lat/lon columns adds the measured median cost of featurizing (both tools) and of writing
VW's text (VW). Runs a machine cannot hold (MemAvailable) are skipped and listed.

The ``ref_*`` columns compare "widecross sgd" with each row at the same width and epochs:
``ref_speedup`` (its examples per CPU-second / the row's), ``ref_log_loss_diff`` (its held-out
loss minus the row's: positive means widecross's loss is higher), ``ref_rss_ratio`` (its peak
RSS / the row's) and ``ref_end_to_end_speedup``.

    python benchmarks/bench_peers.py            # 2M + 500k rows, 3 repeats (~45 minutes on 2 cores)
    python benchmarks/bench_peers.py --quick    # seconds; what the test suite runs

``--quick`` runs every case once, one after another in the calling process (its baseline taken
before the first run, every tool loaded): the same code and files as a full run without a process
start per run, so its memory figures are the process's, not each run's; only the full runs
measure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness  # noqa: E402
from benchmarks.common import format_table, save_results, timed  # noqa: E402

# name -> (tool, params); the first is the reference of the ratios.
TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    "widecross sgd": ("widecross", {"optimizer": "sgd", "l1": 1e-6}),
    "widecross ftrl": ("widecross", {"optimizer": "ftrl", "l1": 1e-6}),
    "widecross ftrl l1=1e-7 l2=1e-6": ("widecross", {"optimizer": "ftrl", "l1": 1e-7, "l2": 1e-6}),
    # one pass at the peers' l1 and nothing else: no polish passes (which would read the data again)
    "widecross sgd 1 pass l1=1e-7": ("widecross", {"optimizer": "sgd", "l1": 1e-7, "polish": 0}),
    "widecross newton 1 pass l1=1e-7": ("widecross", {"optimizer": "sgd", "schedule": "newton", "l1": 1e-7, "polish": 0}),
    # the default minus its polish: the same passes over the data as the peers' 5 epochs
    "widecross sgd polish=0": ("widecross", {"optimizer": "sgd", "l1": 1e-6, "polish": 0}),
    "sklearn SGD l1": ("sklearn", {"alpha": 1e-7, "eta0": 0.2}),
    "VW --l1 1e-7": ("vw", {"args": "--l1 1e-7"}),
    "VW --ftrl l1=1e-6": ("vw", {"args": "--ftrl", "l1_mean": 1e-6}),
}
REFERENCE = "widecross sgd"
# tools that only make sense at some epoch counts
ONLY_EPOCHS: dict[str, set[int]] = {
    "widecross sgd 1 pass l1=1e-7": {1}, "widecross newton 1 pass l1=1e-7": {1}, "widecross sgd polish=0": {5},
}


def parse_widths(text: str) -> list[int | None]:
    return [None if w.strip() == "exact" else int(w) for w in text.split(",") if w.strip()]


def stage_costs(train: dict, y, bits: int | None, repeats: int, with_vw: bool, tmp: Path) -> dict[str, float]:
    """Median CPU seconds of featurizing the training columns and writing them as VW text."""
    from benchmarks.vw_text import write_vw

    out = {}
    _, out["featurize_cpu_s"], X = timed(lambda: harness.featurize(train, bits), repeats)
    if with_vw:
        _, out["write_vw_cpu_s"], _ = timed(lambda: write_vw(X, y, tmp / "stage.vw"), repeats)
        (tmp / "stage.vw").unlink()
    return out


def affordable(runs: list[tuple[str, dict]], n: int, skipped: list[dict]) -> list[tuple[str, dict]]:
    """The runs this machine can hold now (MemAvailable); the others are listed in ``skipped``."""
    kept = []
    for name, run in runs:
        need, have = harness.estimated_mb(run, n), harness.mem_available_mb()
        if need > 0.8 * have:
            skipped.append(dict(tool=name, width=harness.width_name(run["bits"]), epochs=run["epochs"],
                                reason=f"needs ~{need:,.0f} MB, {have:,.0f} MB available"))
        else:
            kept.append((name, run))
    return kept


def run_quick(runs: list[tuple[str, dict]], files: dict, baselines: dict) -> dict[tuple, list[dict]]:
    """Quick runs: every run once, in this process, after the baseline work of every tool family
    (that baseline stands for every family and width)."""
    tools = {run["tool"]: run["params"] for _, run in reversed(runs)}  # the first run's params of each
    baseline, outs = harness.run_here(tools, [(run, files[run["bits"]]) for _, run in runs])
    for bits in files:
        for family in tools:
            baselines[bits, family] = baseline
    results: dict[tuple, list[dict]] = {}
    for (name, run), res in zip(runs, outs):
        results[name, run["bits"], run["epochs"]] = [res]
        report(name, run, res, "quick")
    return results


def report(name: str, run: dict, res: dict, tag: str) -> None:
    print(f"[{tag}] {name:32s} {harness.width_name(run['bits']):6s} {run['epochs']} ep: "
          f"{res['fit_cpu_s']:7.2f} CPU s  loss {res['log_loss']:.4f}  nnz {res['nnz']:>9,}  "
          f"RSS {res['train_peak_rss_mb']:7.1f} MB", flush=True)


def median_row(name: str, tool: str, bits: int | None, epochs: int, results: list[dict]) -> dict[str, Any]:
    med = lambda key: statistics.median(r[key] for r in results)  # noqa: E731
    first = results[0]
    row = dict(tool=name, width=harness.width_name(bits), epochs=epochs,
               fit_cpu_s=med("fit_cpu_s"), fit_wall_s=med("fit_wall_s"),
               examples_per_cpu_s=med("examples_per_cpu_s"),
               log_loss=first["log_loss"], auc=first["auc"], nnz=first["nnz"],
               peak_rss_mb=med("train_peak_rss_mb"), repeats=len(results), family=tool)
    if "first_fit_overhead_s" in first:
        row["first_fit_overhead_s"] = med("first_fit_overhead_s")
    if "vw_args" in first:
        row["vw_args"] = first["vw_args"]
    # Deterministic tools must score identically in every repeat; a difference is a finding.
    losses = {round(r["log_loss"], 12) for r in results}
    if len(losses) > 1:
        row["log_loss_spread"] = max(losses) - min(losses)
    return row


def add_ratios(rows: list[dict]) -> None:
    """Per width and epochs: the reference's rate / peer's, loss difference, RSS ratio."""
    ref = {(r["width"], r["epochs"]): r for r in rows if r["tool"] == REFERENCE}
    for r in rows:
        base = ref.get((r["width"], r["epochs"]))
        if base is None or r is base:
            continue
        r["ref_speedup"] = base["examples_per_cpu_s"] / r["examples_per_cpu_s"]
        r["ref_log_loss_diff"] = base["log_loss"] - r["log_loss"]
        r["ref_rss_ratio"] = base["peak_rss_mb"] / r["peak_rss_mb"]
        r["ref_end_to_end_speedup"] = r["end_to_end_cpu_s"] / base["end_to_end_cpu_s"]


def plot(rows: list[dict], widths: list[int | None], quick: bool, results_dir: Path | None) -> list[Path]:
    from benchmarks.plotting import new_figure, save_png, style

    paths = []
    order = [harness.width_name(b) for b in widths]
    # each tool's index within its family: the family keeps its colour, the index varies the rest
    families = [TOOLS[name][0] for name in TOOLS]
    index = {name: families[:k].count(families[k]) for k, name in enumerate(TOOLS)}
    for epochs in sorted({r["epochs"] for r in rows}):
        fig, ax = new_figure()
        for name in TOOLS:
            pts = sorted((order.index(r["width"]), r["examples_per_cpu_s"]) for r in rows
                         if r["tool"] == name and r["epochs"] == epochs)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name, **style(TOOLS[name][0], index[name]))
        ax.set_xticks(range(len(order)), order)
        ax.set_yscale("log")
        ax.set_xlabel("model width (columns)")
        ax.set_ylabel("training examples per CPU-second")
        ax.set_title(f"Training throughput vs width, {epochs} epoch{'s' if epochs > 1 else ''}")
        ax.legend(fontsize=8)
        paths.append(save_png(fig, f"peers_throughput_{epochs}ep", quick, results_dir))
    for width in order:
        fig, ax = new_figure()
        for name in TOOLS:
            pts = sorted((r["fit_cpu_s"], r["log_loss"], r["epochs"]) for r in rows
                         if r["tool"] == name and r["width"] == width)
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name, **style(TOOLS[name][0], index[name]))
            for x, y, e in pts:
                ax.annotate(f"{e}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("training CPU seconds (labels: epochs)")
        ax.set_ylabel("held-out log-loss")
        ax.set_title(f"Held-out loss vs training time, width {width}")
        ax.legend(fontsize=8)
        paths.append(save_png(fig, f"peers_loss_vs_time_{width.replace('^', '')}", quick, results_dir))
    return paths


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="10k rows, 2^18 (+ exact for widecross sgd), 1 repeat, in this process")
    parser.add_argument("--rows", type=int, default=None, help="training rows (default 2,000,000)")
    parser.add_argument("--test-rows", type=int, default=None, help="held-out rows (default rows / 4)")
    parser.add_argument("--repeats", type=int, default=None, help="fresh-process runs per case (default 3)")
    parser.add_argument("--widths", default=None, help="comma-separated bits or 'exact' (default 18,22,26,exact)")
    parser.add_argument("--epochs", default="1,5", help="comma-separated epoch counts (default 1,5)")
    parser.add_argument("--tools", default=None, help="comma-separated tool names (default all; see TOOLS)")
    parser.add_argument("--peers-exact", choices=["yes", "no"], default=None,
                        help="peers at the exact width too (VW -b 28: 4 GiB; default yes, no with --quick)")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    quick = args.quick
    n = args.rows or (10_000 if quick else 2_000_000)
    n_test = args.test_rows or n // 4
    repeats = args.repeats or (1 if quick else 3)
    widths = parse_widths(args.widths or ("18,exact" if quick else "18,22,26,exact"))
    epochs_list = [int(e) for e in args.epochs.split(",")]
    names = [t.strip() for t in args.tools.split(",")] if args.tools else list(TOOLS)
    unknown = [t for t in names if t not in TOOLS]
    if unknown:
        parser.error(f"unknown tools {unknown}; choose from {list(TOOLS)}")
    peers_exact = (args.peers_exact or ("no" if quick else "yes")) == "yes"
    try:
        import vowpalwabbit  # noqa: F401
    except ImportError:
        print("vowpalwabbit is not installed: the VW rows are skipped", flush=True)
        names = [t for t in names if TOOLS[t][0] != "vw"]

    train, y, test, yt = harness.housing_split(n, n_test)
    rows: list[dict] = []
    skipped: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_peers-") as tmpdir:
        tmp = Path(tmpdir)
        files, stages, baselines = {}, {}, {}
        runs = []
        for bits in widths:
            tools_here = [t for t in names if TOOLS[t][0] == "widecross" or bits is not None or peers_exact]
            if quick and bits is None:
                tools_here = [t for t in tools_here if t == REFERENCE]  # the exact width's code path, once
            vw_here = any(TOOLS[t][0] == "vw" for t in tools_here)
            files[bits] = harness.prepare(train, y, test, yt, bits, tmp, vw=vw_here)
            stages[bits] = stage_costs(train, y, bits, repeats, vw_here, tmp)
            for family in sorted({TOOLS[t][0] for t in tools_here} if not quick else ()):
                params = next(TOOLS[t][1] for t in tools_here if TOOLS[t][0] == family)
                baselines[bits, family] = harness.baseline_child(family, params, files[bits])
            for name in tools_here:
                for epochs in epochs_list:
                    if epochs not in ONLY_EPOCHS.get(name, {epochs}):
                        continue
                    tool, params = TOOLS[name]
                    runs.append((name, dict(tool=tool, params=params, epochs=epochs, bits=bits)))
            print(f"prepared {harness.width_name(bits)}: {stages[bits]}", flush=True)
        runs = affordable(runs, n, skipped)
        if quick:
            results = run_quick(runs, files, baselines)
        else:
            results = {}
            for rep in range(repeats):
                for name, run in runs:
                    res = harness.run_child(run, files[run["bits"]])
                    results.setdefault((name, run["bits"], run["epochs"]), []).append(res)
                    report(name, run, res, f"{rep + 1}/{repeats}")
    for (name, bits, epochs), res in results.items():
        row = median_row(name, TOOLS[name][0], bits, epochs, res)
        row["baseline_rss_mb"] = baselines[bits, TOOLS[name][0]]
        stage = stages[bits]
        row["end_to_end_cpu_s"] = stage["featurize_cpu_s"] + row["fit_cpu_s"] + (
            stage.get("write_vw_cpu_s", 0.0) if TOOLS[name][0] == "vw" else 0.0)
        rows.append(row)
    add_ratios(rows)
    columns = ["tool", "width", "epochs", "examples_per_cpu_s", "fit_cpu_s", "end_to_end_cpu_s", "log_loss", "auc",
               "nnz", "peak_rss_mb", "baseline_rss_mb", "ref_speedup", "ref_log_loss_diff", "ref_rss_ratio",
               "ref_end_to_end_speedup"]
    print("\n" + format_table(rows, columns))
    if skipped:
        print("\nskipped:\n" + format_table(skipped))
    params = dict(rows=n, test_rows=n_test, repeats=repeats, widths=[harness.width_name(b) for b in widths],
                  epochs=epochs_list, tools={t: TOOLS[t] for t in names}, reference=REFERENCE,
                  stages={harness.width_name(b): s for b, s in stages.items()}, skipped=skipped,
                  data="data_gen.generate_housing(rows + test_rows, seed=0), split in order",
                  timing="CPU seconds of training in a fresh process, median of repeats; RSS = VmHWM after training")
    path = save_results("bench_peers", rows, params, quick=quick, results_dir=args.results_dir)
    print(f"saved {path}")
    for png in plot(rows, widths, quick, args.results_dir):
        print(f"saved {png}")
    return rows


if __name__ == "__main__":
    main()
