"""Hypothesis fuzzing of every estimator entry point with random, often invalid sparse
structures, labels and weights (see ``benchmarks.fuzz_inputs``), in a subprocess: a crash (a
signal) fails the test instead of ending the run, and so does any exception other than
ValueError, TypeError or KeyError, or a validation that disagrees with the Python reference."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = 1000


def test_fuzz_every_entry_point_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.fuzz_inputs", "--examples", str(EXAMPLES)],
                          capture_output=True, text=True, cwd=REPO, timeout=900)
    if proc.returncode < 0:
        raise AssertionError(f"the fuzzer crashed with {signal.Signals(-proc.returncode).name}:\n{proc.stderr[-3000:]}")
    assert proc.returncode == 0, proc.stderr[-6000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["cases"] >= EXAMPLES  # hypothesis ran them all (plus any replays)
    # Both sides of the validation were exercised, and training got through on many of them.
    assert report["valid"] > EXAMPLES // 4 and report["invalid"] > EXAMPLES // 8, report
    assert report["outcomes"]["WideClassifier.fit: returned"] > EXAMPLES // 20, report
