"""Scale on one machine: the exact 1' geo cross (235.7M columns) against dense and hashed state.

Generated houses (``data_gen.generate_housing``; lat, lon and the label kept), the geo spec of
the 1 degree, 10' and 1' lat x lon crosses and the 1' marginals, default training (5 epochs of
AdaGrad prox-SGD, l1 = 1e-6, then the polish). Each configuration runs in a fresh process:

1. ``exact``: for each row count (1e6 and 1e7),
   - ``data only``: generates the rows and stops; its peak RSS is the data itself;
   - ``exact sparse``: ``geo_spec(bits=None)``, records for the touched columns only;
   - ``dense 2^24``: ``geo_spec(bits=24)`` with ``layout="dense"`` (a record per column);
   - ``hashed 2^20 / 2^22 / 2^24`` (default layout): what hashing costs in held-out log-loss,
     and the share of active cells (distinct (feature, cell) keys seen in training) that share
     their column with another one, next to the 1 - e^(-n/m) estimate.
   Reported: peak RSS (VmHWM of the child) and its excess over ``data only``; examples per
   second of the whole fit (5 epochs x rows / wall or CPU time, featurizing and polish
   included) and of the epochs alone (median epoch after the first); held-out log-loss and AUC
   on 200k rows of another seed; state bytes, touched columns, nonzeros.
2. ``layout``: fit time of the dense and sparse layouts side by side at 2^16 ... 2^24 columns
   (1e6 rows, in one process): where ``layout="auto"`` switches (``DENSE_AUTO_MAX_WIDTH``).

Times are medians over ``--repeats`` fits in the child (after a warm-up that loads the compiled
kernels); the machine is shared, so only ratios measured side by side mean much.

    python benchmarks/bench_scale.py            # 1e6 and 1e7 rows (about 15 minutes)
    python benchmarks/bench_scale.py --quick    # seconds; what the test suite runs

``--quick``: 10,000 rows generated once, three configurations in one process, the layouts at 2^16 and 2^20.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, save_results  # noqa: E402

ROOT = str(Path(__file__).resolve().parents[1])

CHILD = r"""
import gc, json, math, statistics, sys, time
sys.path.insert(0, {root!r})
import numpy as np
import data_gen

cfgs = json.loads({cfgs!r})


def houses(n, seed):
    if cfgs[0].get("rows_npz"):  # quick runs: the rows the parent generated (data_gen's world not loaded here)
        with np.load(cfgs[0]["rows_npz"]) as saved:
            return {{"lat": saved[f"lat{{seed}}"], "lon": saved[f"lon{{seed}}"]}}, saved[f"label{{seed}}"]
    # in chunks, keeping only what the model reads: the data itself is 17 bytes a row
    lat, lon, label = [], [], []
    for start in range(0, n, 1_000_000):
        rows = data_gen.generate_housing(min(1_000_000, n - start), seed=seed, start=start)
        lat.append(rows["lat"]); lon.append(rows["lon"]); label.append(rows["label"])
        del rows
    return {{"lat": np.concatenate(lat), "lon": np.concatenate(lon)}}, np.concatenate(label)


def hwm_mb():
    # VmHWM restarts at exec, unlike ru_maxrss, which a child inherits from its parent
    line = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    return int(line.split()[1]) / 1024.0


def fit(cfg, train, y, test, y_test):
    import widecross as wc
    from widecross.metrics import log_loss, roc_auc

    spec = wc.geo_spec(bits=cfg["bits"])
    params = dict(layout=cfg["layout"], random_state=0)
    small = {{k: v[:2000] for k, v in train.items()}}
    wc.WideClassifier(spec, **params).fit(small, y[:2000])  # load the compiled kernels
    walls, cpus, epochs = [], [], []
    for _ in range(cfg["repeats"]):
        gc.collect()
        stamps = []
        clf = wc.WideClassifier(spec, **params)
        clf.set_epoch_callback(lambda epoch, rows, loss: stamps.append(time.perf_counter()))
        w0, c0 = time.perf_counter(), time.process_time()
        clf.fit(train, y)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        epochs.append(statistics.median(np.diff(stamps)))
        model = clf.model_
        state_mb, slots, layout = clf.state_nbytes_ / 1e6, clf._trainer.n_slots, clf.layout_
        del clf
    peak = hwm_mb()  # before the key census below, which costs memory of its own
    proba = model.predict_proba(test)[:, 1]
    out = dict(
        fit_wall_s=statistics.median(walls), fit_cpu_s=statistics.median(cpus), epoch_s=statistics.median(epochs),
        examples_per_s=5 * cfg["rows"] / statistics.median(walls),
        examples_per_cpu_s=5 * cfg["rows"] / statistics.median(cpus),
        epoch_examples_per_s=cfg["rows"] / statistics.median(epochs),
        log_loss=log_loss(y_test, proba), auc=roc_auc(y_test, proba), nnz=model.nnz, slots=slots,
        state_mb=state_mb, layout=layout, vm_hwm_mb=peak,
    )
    if cfg["bits"] is not None:
        keys = spec.record(train)
        columns, counts = np.unique(keys.columns, return_counts=True)
        shared = np.repeat(counts > 1, counts)  # keys.columns is sorted: flags line up with it
        fine = keys.feature == 2  # the 1' cross
        out.update(
            active_cells=len(keys), collision_share=float(shared.mean()),
            collision_share_1min=float(shared[fine].mean()),
            collision_estimate=1.0 - math.exp(-(len(keys) - 1) / 2.0 ** cfg["bits"]),
        )
    else:
        out["active_cells"] = slots
    return out


train, y = houses(cfgs[0]["rows"], 0)
test = None
results = []
for cfg in cfgs:
    out = {{}}
    if cfg["mode"] != "data":
        if test is None:
            test, y_test = houses(cfg["test_rows"], 1)
        out = fit(cfg, train, y, test, y_test)
    out.setdefault("vm_hwm_mb", hwm_mb())
    results.append(out)
print(json.dumps({{"results": results}}))
"""

CONFIGS = [
    ("data only", "data", None, "auto"),
    ("exact sparse", "fit", None, "auto"),
    ("dense 2^24", "fit", 24, "dense"),
    ("hashed 2^20", "fit", 20, "auto"),
    ("hashed 2^22", "fit", 22, "auto"),
    ("hashed 2^24", "fit", 24, "auto"),
]


def run_child(cfgs: list[dict]) -> list[dict]:
    """The configurations one after another in one fresh process (on the same generated rows)."""
    code = CHILD.format(root=ROOT, cfgs=json.dumps(cfgs))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=7200)
    if proc.returncode != 0:
        raise RuntimeError(f"child {cfgs} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["results"]


def bench_exact(n_rows: int, test_rows: int, repeats: int, configs=CONFIGS, quick: bool = False) -> list[dict]:
    """A fresh process per configuration (each peak RSS its own), which generates its rows;
    ``quick``: all in one process, on rows generated here (the same code, one start-up; the
    peaks then only grow)."""
    # speed is compared between the exact and dense models only; the hashed ones run once
    cfgs = [dict(mode=mode, rows=n_rows, test_rows=test_rows, bits=bits, layout=layout,
                 repeats=repeats if name in ("exact sparse", "dense 2^24") else 1) for name, mode, bits, layout in configs]
    if not quick:
        results = [run_child([cfg])[0] for cfg in cfgs]
    else:
        import data_gen

        with tempfile.TemporaryDirectory() as tmp:
            saved = {}
            for seed, n in ((0, n_rows), (1, test_rows)):
                rows = data_gen.generate_housing(n, seed=seed)
                saved.update({f"{k}{seed}": rows[k] for k in ("lat", "lon", "label")})
            path = Path(tmp) / "rows.npz"
            with open(path, "wb") as f:
                np.savez(f, **saved)
            results = run_child([dict(cfg, rows_npz=str(path)) for cfg in cfgs])
    out = []
    for (name, mode, bits, layout), res in zip(configs, results):
        row = dict(section="exact", config=name, rows=n_rows, width=_width(bits), **res)
        row["peak_rss_mb"] = row.pop("vm_hwm_mb")
        out.append(row)
        print(format_table([row]).splitlines()[-1], flush=True)
    base = out[0]["peak_rss_mb"]
    dense = next((r for r in out if r["config"] == "dense 2^24"), None)
    for row in out[1:]:
        row["rss_over_data_mb"] = row["peak_rss_mb"] - base
        if dense is not None and row["config"] == "exact sparse":
            row["speed_vs_dense_2^24"] = row["examples_per_s"] / dense["examples_per_s"]
            row["cpu_speed_vs_dense_2^24"] = row["examples_per_cpu_s"] / dense["examples_per_cpu_s"]
            row["epoch_speed_vs_dense_2^24"] = row["epoch_examples_per_s"] / dense["epoch_examples_per_s"]
    return out


def _width(bits: int | None) -> int:
    if bits is None:
        import widecross as wc

        return int(wc.geo_spec(bits=None).n_features)
    return 2**bits


def bench_layout(n_rows: int, bits_list, repeats: int) -> list[dict]:
    """Fit time of both layouts, interleaved, on the same CSR."""
    import data_gen
    import widecross as wc

    rows = data_gen.generate_housing(n_rows, seed=0)
    columns, y = {"lat": rows["lat"], "lon": rows["lon"]}, rows["label"]
    wc.WideClassifier(layout="dense").fit(wc.geo_spec(bits=bits_list[0]).transform(columns)[:1000], y[:1000])
    out = []
    for bits in bits_list:
        X = wc.geo_spec(bits=bits).transform(columns)
        times: dict[str, list[float]] = {"sparse": [], "dense": []}
        for _ in range(repeats):
            for layout in ("sparse", "dense"):
                t = time.perf_counter()
                wc.WideClassifier(layout=layout, random_state=0).fit(X, y)
                times[layout].append(time.perf_counter() - t)
        sparse, dense = statistics.median(times["sparse"]), statistics.median(times["dense"])
        out.append(dict(section="layout", bits=bits, rows=n_rows, sparse_fit_s=sparse, dense_fit_s=dense,
                        dense_vs_sparse_time=dense / sparse, auto="dense" if 2**bits <= _auto_max() else "sparse"))
        print(format_table(out[-1:]).splitlines()[-1], flush=True)
    return out


def _auto_max() -> int:
    from widecross.estimators import DENSE_AUTO_MAX_WIDTH

    return DENSE_AUTO_MAX_WIDTH


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data (for tests)")
    parser.add_argument("--rows", type=int, nargs="+", default=None, help="training rows (default 1e6 1e7)")
    parser.add_argument("--test-rows", type=int, default=None, help="held-out rows (default 200,000)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--skip", default="", help="comma-separated sections to skip: exact,layout")
    args = parser.parse_args(argv)
    quick = args.quick
    sizes = args.rows or ([10_000] if quick else [1_000_000, 10_000_000])
    test_rows = args.test_rows or (2_000 if quick else 200_000)
    repeats = args.repeats or (1 if quick else 3)
    skip = set(filter(None, args.skip.split(",")))
    rows: list[dict] = []
    if "exact" not in skip:
        for n in sizes:
            configs = CONFIGS if not quick else [c for c in CONFIGS if c[0] in ("data only", "exact sparse", "hashed 2^20")]
            rows += bench_exact(n, test_rows, repeats, configs, quick=quick)
    if "layout" not in skip:
        rows += bench_layout(10_000 if quick else 1_000_000, (16, 20) if quick else (16, 18, 20, 22, 24), repeats)
    for section in ("exact", "layout"):
        part = [r for r in rows if r["section"] == section]
        if part:
            columns = list(dict.fromkeys(k for r in part for k in r))
            print(f"\n## {section}\n" + format_table(part, columns))
    params = dict(rows=sizes, test_rows=test_rows, repeats=repeats, model="WideClassifier defaults (5 epochs, l1=1e-6, polish 8)")
    path = save_results("bench_scale", rows, params, quick=quick, results_dir=args.results_dir)
    print(f"saved {path}")
    return rows


if __name__ == "__main__":
    main()
