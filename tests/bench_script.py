"""A benchmark script run end to end in a child process, as a user runs it (its own threads,
caches and imports), answered as ``subprocess.run`` answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, results_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """``python benchmarks/<script> --quick <args> --results-dir <results_dir>`` from the repository."""
    return subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick", *args, "--results-dir", str(results_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
