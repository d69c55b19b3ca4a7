"""Predictions per CPU-second from raw lat/lon on one core: the C reader (c/) against Python's.

Two realistic models are trained on generated houses (data_gen) with widecross's defaults:
the demo's exact 1 degree / 10' / 1' lat x lon model (235.7M columns) and the same crosses
hashed into 2**22 columns, saved as the demo saves them (float16 values). Each is then asked for
P(label) of held-out houses, each reader in a fresh process, alternated, median of ``repeats``:

- ``C API``: benchmarks/bench_c_predict.c, ``wc_predict_numbers`` per row from an array of doubles;
- ``C wcpredict``: the command line end to end, CSV rows in, CSV probabilities out;
- ``Python``: ``wc.load(path).predict_proba({"lat": ..., "lon": ...})`` on NumPy arrays (after a
  warm-up call on 1,000 rows, which loads Numba's cache; that call is reported apart).

CPU seconds of loading and of predicting are measured inside each process (``clock()`` in C,
``time.process_time()`` in Python) and peak RSS is the process's own (VmHWM); both processes
hold the same rows (16 B per row) and predictions (8 B per row). Also checked: the largest
difference between the C and the Python probabilities.

    python -m benchmarks.bench_c_predict              # 1M training and 1M held-out rows
    python -m benchmarks.bench_c_predict --quick      # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import format_table, run_python_measured, save_results
from benchmarks.harness import geo_spec, housing_split

ROOT = Path(__file__).resolve().parents[1]
LIBRARY_SOURCES = [p for p in sorted((ROOT / "c").glob("*.c")) if p.name != "wcpredict.c"]
ONE_CORE = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

PYTHON_CHILD = """
import json, time
import numpy as np
import widecross as wc
rows = np.fromfile({rows!r}).reshape(-1, 2)
columns = {{"lat": rows[:, 0].copy(), "lon": rows[:, 1].copy()}}
start = time.process_time()
model = wc.load({model!r})
load = time.process_time() - start
start = time.process_time()
model.predict_proba({{"lat": columns["lat"][:1000], "lon": columns["lon"][:1000]}})
warm = time.process_time() - start
start = time.process_time()
p = model.predict_proba(columns)[:, 1]
predict = time.process_time() - start
p.tofile({out!r})
print(json.dumps({{"load_cpu_s": load, "warmup_cpu_s": warm, "predict_cpu_s": predict,
                  "model_memory_bytes": model.memory_bytes}}))
"""


def build(directory: Path) -> dict[str, Path]:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise SystemExit(f"no C compiler ({cc!r}): the C reader cannot be built")
    out = {"driver": directory / "bench_c_predict", "wcpredict": directory / "wcpredict"}
    flags = ["-std=c99", "-O2", f"-I{ROOT / 'c'}"]
    for name, main in (("driver", ROOT / "benchmarks" / "bench_c_predict.c"), ("wcpredict", ROOT / "c" / "wcpredict.c")):
        subprocess.run([cc, *flags, "-o", str(out[name]), str(main), *map(str, LIBRARY_SOURCES), "-lm"], check=True)
    return out


def train(train_cols: dict, y: np.ndarray, bits: int | None, path: Path) -> tuple[Any, float]:
    import widecross as wc

    start = time.process_time()
    clf = wc.WideClassifier(geo_spec(bits), l1=1e-6, random_state=0).fit(train_cols, y)
    seconds = time.process_time() - start
    clf.model_.save(path, values="float16")
    return clf.model_, seconds


def run_c(driver: Path, argv: list[str], stdin: Path | None = None, stdout: Path | None = None) -> dict:
    """Run a C program on one core, through the driver's --run (see bench_c_predict.c) so that
    its peak RSS is its own; return its JSON line (if it prints one), CPU seconds and peak RSS."""
    report = Path(tempfile.mkstemp(suffix=".json")[1])
    with open(stdin or os.devnull, "rb") as fin, open(stdout or os.devnull, "wb") as fout:
        done = subprocess.run([str(driver), "--run", str(report), *argv], stdin=fin,
                              stdout=subprocess.PIPE if stdout is None else fout, stderr=subprocess.PIPE,
                              env={**os.environ, **ONE_CORE})
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode()}")
    text = done.stdout.decode().strip() if stdout is None else ""
    result = json.loads(text.splitlines()[-1]) if text else {}
    result.update(json.loads(report.read_text()))
    report.unlink()
    return result


def measure(reader: str, model: Path, work: Path, bins: dict[str, Path]) -> dict:
    rows, out = work / "rows.f64", work / f"p_{reader}.f64"
    if reader == "C API":
        result = run_c(bins["driver"], [str(bins["driver"]), str(model), str(rows), str(out)])
    elif reader == "C wcpredict":  # the whole process: load, read the CSV, write the CSV
        result = run_c(bins["driver"], [str(bins["wcpredict"]), str(model)], stdin=work / "rows.csv",
                       stdout=work / "p_cli.csv")
        result["predict_cpu_s"] = result["process_cpu_s"]
    else:
        old = {k: os.environ.get(k) for k in ONE_CORE}
        os.environ.update(ONE_CORE)
        try:
            result = run_python_measured(PYTHON_CHILD.format(rows=str(rows), model=str(model), out=str(out)))
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000, help="held-out rows to predict")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20k rows, 1 repeat")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.train_rows, args.rows, args.repeats = 20_000, 20_000, 1
    readers = ["C API", "C wcpredict", "Python"]
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bins = build(work)
        train_cols, y, test, _ = housing_split(args.train_rows, args.rows, seed=0)
        np.column_stack([test["lat"], test["lon"]]).astype(np.float64).tofile(work / "rows.f64")
        lines = ["lat,lon"] + [f"{a!r},{b!r}" for a, b in zip(test["lat"].tolist(), test["lon"].tolist())]
        (work / "rows.csv").write_text("\n".join(lines) + "\n")
        for label, bits in (("exact 1 deg/10'/1' (235.7M columns)", None), ("hashed 2^22", 22)):
            model_path = work / f"model_{bits}.wcm"
            model, train_s = train(train_cols, y, bits, model_path)
            runs: dict[str, list[dict]] = {r: [] for r in readers}
            for _ in range(args.repeats):  # alternate the readers, each in a fresh process
                for reader in readers:
                    runs[reader].append(measure(reader, model_path, work, bins))
            p_c = np.fromfile(work / "p_C API.f64")
            p_py = np.fromfile(work / "p_Python.f64")
            p_cli = np.loadtxt(work / "p_cli.csv", skiprows=1, ndmin=1)
            for reader in readers:
                med = {k: statistics.median(r[k] for r in runs[reader]) for k in runs[reader][0] if isinstance(runs[reader][0][k], (int, float))}
                row = {"model": label, "nnz": model.nnz, "file_KB": model_path.stat().st_size / 1e3, "reader": reader,
                       "rows": args.rows, "load_cpu_s": med.get("load_cpu_s", float("nan")),
                       "predict_cpu_s": med["predict_cpu_s"], "predictions_per_cpu_s": args.rows / med["predict_cpu_s"],
                       "peak_rss_MB": med["peak_rss_mb"], "model_memory_MB": med.get("model_memory_bytes", float("nan")) / 1e6,
                       "train_cpu_s": train_s}
                if reader == "Python":
                    row["warmup_cpu_s"] = med["warmup_cpu_s"]
                table.append(row)
            table[-3]["max_abs_diff_vs_python"] = float(np.max(np.abs(p_c - p_py)))
            table[-2]["max_abs_diff_vs_python"] = float(np.max(np.abs(p_cli - p_py)))
            for row in table[-3:-1]:
                row["speedup_vs_python"] = row["predictions_per_cpu_s"] / table[-1]["predictions_per_cpu_s"]
    print(format_table(table))
    path = save_results("bench_c_predict", table, params={**vars(args), "results_dir": None, "one_core_env": ONE_CORE},
                        quick=args.quick, results_dir=args.results_dir)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
