"""Run every benchmark (full or --quick) and write ``benchmarks/results/SUMMARY.md``.

Each benchmark runs as its own process (``python -m benchmarks.<name>``), one after the other so
that none disturbs another's timings; a failing one is recorded and the rest still run. The
summary then gathers every result file of the directory (full runs: ``*.json``; quick runs:
``*.quick.json`` into ``SUMMARY.quick.md``): when, on what machine and commit, and its table.

    python benchmarks/run_all.py                     # everything, full size (a few hours on 2 cores)
    python benchmarks/run_all.py --quick             # everything in minutes
    python benchmarks/run_all.py --only bench_peers  # some of them
    python benchmarks/run_all.py --summary-only      # rebuild SUMMARY.md from the saved results
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS_DIR, format_table  # noqa: E402
from benchmarks.headline import headline  # noqa: E402

HERE = Path(__file__).resolve().parent
ORDER = ["bench_data_gen", "bench_transform", "bench_train", "bench_convergence", "bench_export", "fuzz_load",
         "bench_peers", "bench_model_size", "bench_path"]
MAX_ROWS = 40  # longer tables are cut in the summary; the JSON and .md files keep every row


def benchmarks() -> list[str]:
    """The benchmark modules: ORDER first, then any other ``bench_*.py`` found beside this file."""
    found = {p.stem for p in HERE.glob("bench_*.py")} | {"fuzz_load"}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def run_one(name: str, quick: bool, results_dir: Path | None, timeout: float) -> dict[str, Any]:
    source = (HERE / f"{name}.py").read_text()
    cmd = [sys.executable, "-m", f"benchmarks.{name}"]
    if quick:
        cmd.append("--quick")
    if results_dir is not None and "--results-dir" in source:
        cmd += ["--results-dir", str(results_dir)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True, timeout=timeout)
        code, tail = proc.returncode, (proc.stdout + proc.stderr)[-1500:]
    except subprocess.TimeoutExpired:
        code, tail = -1, f"timed out after {timeout:.0f} s"
    seconds = time.perf_counter() - start
    print(f"{name:20s} exit {code:3d}  {seconds:8.1f} s", flush=True)
    if code != 0:
        print(tail, file=sys.stderr, flush=True)
    return {"benchmark": name, "exit_code": code, "seconds": seconds, "command": " ".join(cmd[1:])}


def _cut(rows: list[dict]) -> tuple[list[dict], str]:
    if len(rows) <= MAX_ROWS:
        return rows, ""
    return rows[:MAX_ROWS], f"\n({len(rows) - MAX_ROWS} more rows in the JSON file)\n"


def summary_text(results_dir: Path, quick: bool, runs: list[dict] | None = None) -> str:
    """The Markdown summary of every result file in ``results_dir`` (quick or full ones)."""
    files = sorted(p for p in results_dir.glob("*.json") if p.name.endswith(".quick.json") == quick)
    lines = [f"# Benchmark results{' (quick runs)' if quick else ''}", ""]
    lines.append("Written by `python benchmarks/run_all.py" + (" --quick" if quick else "") + "`; each section "
                 "comes from one result file (JSON beside it, with every row and parameter).")
    top = headline(results_dir, quick)
    if top:
        lines += ["", "## Headline: widecross, scikit-learn and Vowpal Wabbit side by side", "", top]
    if runs:
        lines += ["", "## This run", "", format_table(runs)]
    index, sections = [], []
    for path in files:
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            index.append(dict(file=path.name, date="", commit="", note=f"unreadable: {error}"))
            continue
        machine = payload.get("machine", {})
        index.append(dict(file=path.name, date=machine.get("date", ""), commit=machine.get("commit", ""),
                          cpus=machine.get("cpu_count", ""), rows=len(payload.get("rows", []))))
        rows, note = _cut(payload.get("rows", []))
        sections += ["", f"## {payload.get('benchmark', path.stem)}", "",
                     f"{machine.get('date', '?')}, commit {machine.get('commit', '?')}, {machine.get('cpu', '?')} "
                     f"x {machine.get('cpu_count', '?')}, Python {machine.get('python', '?')}, numpy "
                     f"{machine.get('numpy', '?')}, numba {machine.get('numba', '?')}, scikit-learn "
                     f"{machine.get('sklearn', '-')}, vowpalwabbit {machine.get('vowpalwabbit', '-')}", "",
                     format_table(rows) if rows else "(no rows)", note]
    lines += ["", "## Result files", "", format_table(index) if index else "(none)"]
    return "\n".join(lines + sections).rstrip() + "\n"


def write_summary(results_dir: Path, quick: bool, runs: list[dict] | None = None) -> Path:
    path = results_dir / ("SUMMARY.quick.md" if quick else "SUMMARY.md")
    results_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(summary_text(results_dir, quick, runs))
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every benchmark in its quick mode")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default all)")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    parser.add_argument("--summary-only", action="store_true", help="run nothing; rebuild the summary")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per benchmark (default 4 h)")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    names = benchmarks()
    only = [n for n in args.only.split(",") if n]
    unknown = [n for n in only + [n for n in args.skip.split(",") if n] if n not in names]
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {names}")
    if only:
        names = [n for n in names if n in only]
    names = [n for n in names if n not in args.skip.split(",")]
    results_dir = args.results_dir or RESULTS_DIR
    runs = [] if args.summary_only else [run_one(n, args.quick, args.results_dir, args.timeout) for n in names]
    path = write_summary(results_dir, args.quick, runs)
    print(f"saved {path}")
    return 1 if any(r["exit_code"] != 0 for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
