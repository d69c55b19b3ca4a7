"""The headline tables (README "Performance", top of SUMMARY.md) from saved side-by-side results.

Reads ``bench_peers``, ``bench_model_size`` and ``bench_path`` result files; whatever is missing
is left out. Printing it shows the tables that a full run produced::

    python benchmarks/headline.py              # from benchmarks/results/*.json
    python benchmarks/headline.py --quick      # from the *.quick.json files
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS_DIR  # noqa: E402

WIDTH_ORDER = ["2^18", "2^22", "2^24", "2^26", "exact"]


def _load(results_dir: Path, name: str, quick: bool) -> dict[str, Any] | None:
    path = results_dir / (f"{name}.quick.json" if quick else f"{name}.json")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _num(x: float, digits: int = 3) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:,.{digits}g}"


def _md(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])


def training_table(rows: list[dict], width: str) -> str:
    """One width: rate, loss after 1 and 5 epochs, AUC, nonzeros, peak RSS, per tool."""
    tools = list(dict.fromkeys(r["tool"] for r in rows if r["width"] == width))
    body = []
    for tool in tools:
        one = next((r for r in rows if r["tool"] == tool and r["width"] == width and r["epochs"] == 1), None)
        five = next((r for r in rows if r["tool"] == tool and r["width"] == width and r["epochs"] == 5), None)
        if one is None or five is None:
            continue
        body.append([tool, _num(one["examples_per_cpu_s"]), _num(five["examples_per_cpu_s"]),
                     f"{one['log_loss']:.4f}", f"{five['log_loss']:.4f}", f"{five['auc']:.4f}",
                     f"{five['nnz']:,}", f"{five['peak_rss_mb']:,.0f}"])
    header = ["tool", "examples / CPU-s, 1 epoch", "5 epochs", "held-out log-loss, 1 epoch", "5 epochs",
              "AUC, 5 epochs", "nonzeros, 5 epochs", "peak RSS MB, 5 epochs"]
    return _md(header, body)


def by_width_table(rows: list[dict], key: str, epochs: int, fmt) -> str:
    widths = [w for w in WIDTH_ORDER if any(r["width"] == w for r in rows)]
    tools = list(dict.fromkeys(r["tool"] for r in rows))
    body = []
    for tool in tools:
        cells = []
        for w in widths:
            r = next((r for r in rows if r["tool"] == tool and r["width"] == w and r["epochs"] == epochs), None)
            cells.append(fmt(r[key]) if r else "-")
        body.append([tool] + cells)
    return _md(["tool"] + widths, body)


def model_size_table(rows: list[dict], width: str) -> str:
    body = [[r["model"], r["format"], f"{r['nnz']:,}", f"{r['file_bytes']:,}", f"{r['B_per_nnz']:.2f}",
             f"{r['load_rss_mb']:,.1f}" if "load_rss_mb" in r else "-", f"{r['rss_growth_mb']:,.1f}",
             f"{r['held_out_log_loss']:.4f}"] for r in rows if r["width"] == width]
    header = ["model", "file", "nonzeros", "bytes", "bytes / nonzero", "RSS to load, MB", "RSS to load + predict, MB",
              "held-out log-loss"]
    return _md(header, body)


def path_table(best: list[dict]) -> str:
    body = [[b["series"], str(b["epochs"]), b.get("vw_args") or f"l1 {b['best_l1']:g}", f"{b['log_loss']:.4f}",
             f"{b['nnz']:,}"] for b in best]
    return _md(["series", "epochs", "best setting on the grid", "held-out log-loss", "nonzeros"], body)


def headline(results_dir: Path = RESULTS_DIR, quick: bool = False, width: str | None = None) -> str:
    """Markdown of the headline tables; empty when no side-by-side result exists."""
    parts = []
    peers = _load(results_dir, "bench_peers", quick)
    if peers:
        rows, p = peers["rows"], peers["params"]
        widths = [w for w in WIDTH_ORDER if any(r["width"] == w for r in rows)]
        width = width or ("2^22" if "2^22" in widths else widths[0])
        m = peers["machine"]
        parts.append(f"Training, {p['rows']:,} generated houses, held-out {p['test_rows']:,}, {width} columns "
                     f"(medians of {p['repeats']} fresh processes; {m.get('cpu', '?')} x {m.get('cpu_count', '?')}, "
                     f"{m.get('date', '?')[:10]}, commit {m.get('commit', '?')}):\n\n" + training_table(rows, width))
        parts.append("Training examples per CPU-second (5 epochs) by width:\n\n"
                     + by_width_table(rows, "examples_per_cpu_s", 5, _num))
        parts.append("Peak RSS of the training process, MB (5 epochs) by width:\n\n"
                     + by_width_table(rows, "peak_rss_mb", 5, lambda x: f"{x:,.0f}"))
    sizes = _load(results_dir, "bench_model_size", quick)
    if sizes:
        widths = [w for w in WIDTH_ORDER if any(r["width"] == w for r in sizes["rows"])]
        w = "2^26" if "2^26" in widths else widths[0]
        parts.append(f"Model files at {w} (RSS: growth of a fresh process that loads the file and predicts "
                     f"{sizes['params']['test_rows']:,} rows):\n\n" + model_size_table(sizes["rows"], w))
    path = _load(results_dir, "bench_path", quick)
    if path and path["params"].get("best"):
        best = list(path["params"]["best"])
        for series in dict.fromkeys(r["series"] for r in path["rows"] if r["section"] == "l2"):
            top = min((r for r in path["rows"] if r["section"] == "l2" and r["series"] == series),
                      key=lambda r: r["log_loss"])
            best.append(dict(series=f"{series} (l1 x l2 grid)", epochs=top["epochs"], best_l1=top["l1"],
                             vw_args=top.get("vw_args") or f"l1 {top['l1']:g}, l2 {top['l2']:g}",
                             log_loss=top["log_loss"], nnz=top["nnz"]))
        parts.append(f"Best held-out log-loss on each tool's grid (2^{path['params']['bits']} columns):\n\n"
                     + path_table(best))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="read the quick runs' files")
    parser.add_argument("--width", default=None, help="width of the training table (default 2^22)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    print(headline(args.results_dir, args.quick, args.width) or "(no side-by-side results yet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
