"""String categoricals: values hashed per CPU-second from every container users hold them in.

    python benchmarks/bench_strings.py                 # 1M rows x 16 fields, median of 5
    python benchmarks/bench_strings.py --quick         # 100k rows, 2 repeats
    python benchmarks/bench_strings.py --before REV    # also the featurizer of git revision REV

Inputs: NumPy ``U`` arrays, NumPy object arrays, pandas object columns, pandas Arrow-backed
strings (pandas' ``str`` dtype), polars, pyarrow ``large_string`` and dictionary arrays. Two
measures per input, CPU seconds (one thread), medians:

- *hashing*: one column -> its ids (``Categorical(column, n_buckets=2**20).ids``), the value
  hash of every value, in values per second;
- *transform*: ``FeatureSpec([Categorical(f) for f in 16 fields], bits=22).transform(table)``,
  the whole CSR, in values per second (16 per row) and rows per second.

The goal is >= 20M values/s of hashing from every input. ``--before`` runs the same transform
with the featurizer of an older revision (exported with ``git archive`` into a temporary
directory, in a child process), alternating old and new, for the side-by-side ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import numpy as np  # noqa: E402

from benchmarks.common import format_table, run_at_revision, save_results  # noqa: E402

GOAL_VALUES_PER_S = 20_000_000
N_FIELDS = 16


def columns(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """16 fields of Zipf-distributed values ("f3_v417"), as NumPy ``U`` arrays."""
    rng = np.random.default_rng(seed)
    out = {}
    for j in range(N_FIELDS):
        vocab = np.array([f"f{j}_v{i}" for i in range(20_000)])
        out[f"f{j}"] = vocab[np.minimum(rng.zipf(1.3, n) - 1, 19_999)]
    return out


def containers(cols: dict[str, np.ndarray]) -> dict[str, Any]:
    """The same table in every container (objects are made afresh, as a reader would)."""
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    objects = {k: v.astype(object) for k, v in cols.items()}
    arrow = pa.table({k: pa.array(v, pa.large_string()) for k, v in cols.items()})
    return {
        "numpy U": cols,
        "numpy object": objects,
        "pandas object": pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in objects.items()}),
        "pandas str (Arrow)": pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in cols.items()}),
        "polars": pl.DataFrame(cols),
        "pyarrow large_string": arrow,
        "pyarrow dictionary": pa.table({k: arrow.column(k).dictionary_encode() for k in cols}),
    }


def median_cpu(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        c0 = time.process_time()
        fn()
        times.append(time.process_time() - c0)
    return statistics.median(times)


_BEFORE_CHILD = """
import json, time, statistics
import widecross.features as f
from benchmarks.bench_strings import columns
cols = columns({n})
spec = f.FeatureSpec([f.Categorical(k) for k in cols], bits=22)
spec.transform({{k: v[:100] for k, v in cols.items()}})
times = []
for _ in range({repeats}):
    c0 = time.process_time(); spec.transform(cols); times.append(time.process_time() - c0)
print(json.dumps({{"cpu_s": statistics.median(times)}}))
"""


def before(revision: str, n: int, repeats: int) -> float:
    """Median CPU seconds of the 16-field transform of NumPy ``U`` columns at ``revision``."""
    return run_at_revision(revision, _BEFORE_CHILD.format(n=n, repeats=repeats))["cpu_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, 2 repeats")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--before", default=None, help="also time the transform of this git revision")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    n = args.rows or (100_000 if args.quick else 1_000_000)
    repeats = args.repeats or (2 if args.quick else 5)

    import widecross as wc

    cols = columns(n)
    spec = wc.FeatureSpec([wc.Categorical(k) for k in cols], bits=22)
    one = wc.Categorical("f0", 2**20)
    spec.transform({k: v[:100] for k, v in cols.items()})  # compiled kernels loaded
    expected = spec.transform(cols)
    rows = []
    for name, table in containers(cols).items():
        column = table["f0"] if not hasattr(table, "column_names") else table.column("f0")
        hash_s = median_cpu(lambda: one.ids(column), repeats)
        X = spec.transform(table)
        assert (X != expected).nnz == 0, name  # every container: the very same matrix
        transform_s = median_cpu(lambda: spec.transform(table), repeats)
        rows.append({"input": name, "rows": n, "hash_values_per_s": n / hash_s,
                     "transform_values_per_s": n * N_FIELDS / transform_s, "transform_rows_per_s": n / transform_s,
                     "meets_goal": n / hash_s >= GOAL_VALUES_PER_S})
        print(json.dumps(rows[-1]), flush=True)
    if args.before:
        old = [before(args.before, n, repeats) for _ in range(2)]
        new = [median_cpu(lambda: spec.transform(cols), repeats) for _ in range(2)]
        rows.append({"input": f"numpy U at {args.before} (before)", "rows": n,
                     "transform_values_per_s": n * N_FIELDS / statistics.median(old),
                     "transform_rows_per_s": n / statistics.median(old),
                     "speedup_now": statistics.median(old) / statistics.median(new)})
    print(format_table(rows, ["input", "hash_values_per_s", "transform_values_per_s", "transform_rows_per_s",
                              "meets_goal", "speedup_now"]))
    path = save_results("bench_strings", rows, params={"rows": n, "fields": N_FIELDS, "repeats": repeats,
                                                        "goal_values_per_s": GOAL_VALUES_PER_S, "before": args.before},
                        quick=args.quick, results_dir=args.results_dir)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
