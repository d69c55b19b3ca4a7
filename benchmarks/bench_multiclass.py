"""Multiclass side by side: widecross against scikit-learn and Vowpal Wabbit on price bands.

Generated houses (2M training rows, 500k held-out by default); the target is the price band:
3 or 10 bands cut at the training prices' quantiles. Every tool sees the same exact crosses of
widecross's geo spec (1 degree, 10' and 1' lat x lon crosses plus the marginal buckets, exactly
indexed: no collisions):

- widecross at its defaults (5 epochs + the batch polish), one-vs-rest and ``multi_class=
  "multinomial"``, fitted on the exact-width CSR (235.7M columns; state for the touched ones);
- scikit-learn ``SGDClassifier(loss="log_loss", penalty="l1", alpha=1e-7, learning_rate="constant",
  eta0=0.2)``, 5 epochs, one-vs-rest (K binary fits, one after the other: ``n_jobs=1``);
- Vowpal Wabbit ``--oaa K --loss_function logistic --l1 1e-7 --passes 5 --probabilities``
  through its own text parser.

Neither peer can hold K dense weight vectors over the exact width (scikit-learn: K x 235.7M
float64; VW ``--oaa`` multiplies its 2^b weights by K rounded up to a power of two), so both get
the *training set's used columns renumbered 0..n-1* (held-out columns unseen in training map to
one extra column that never trains): the same features without a collision, and a much narrower
model than widecross is given. VW's ``-b`` is the smallest that holds them.

Reported per (K, tool): training CPU seconds (median of ``--repeats``, runs interleaved),
examples per CPU-second (epochs x rows / CPU seconds; widecross's polish included), held-out
log-loss and accuracy, nonzero weights (all classes), and model bytes per nonzero: widecross's
file (float32 values, one shared index), scikit-learn's pickled estimator, VW's ``-f`` file
(which keeps optimizer state) and VW's ``--predict_only_model`` file.

    python benchmarks/bench_multiclass.py            # 2M + 500k rows, 3 repeats
    python benchmarks/bench_multiclass.py --quick    # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, save_results  # noqa: E402

TOOLS = ("widecross ovr", "widecross multinomial", "sklearn SGD ovr", "VW --oaa")
EPOCHS = 5
REFERENCE = "widecross ovr"


def band_data(n_train: int, n_test: int, bands: int, seed: int = 0) -> dict[str, Any]:
    """Exact-cross CSR of training and held-out rows and their price bands (0..bands-1)."""
    import data_gen
    import widecross as wc

    rows = data_gen.generate_housing(n_train + n_test, seed=seed)
    cuts = np.quantile(rows["price"][:n_train], np.arange(1, bands) / bands)
    y = np.digitize(rows["price"], cuts)
    X = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=None).transform(
        {"lat": rows["lat"], "lon": rows["lon"]})
    return {"X": X[:n_train], "y": y[:n_train], "Xt": X[n_train:], "yt": y[n_train:], "bands": bands}


def compact(data: dict[str, Any]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The peers' columns: the training set's used columns renumbered, unseen ones to one more."""
    used = np.unique(data["X"].indices)
    def renumber(X: sp.csr_matrix) -> sp.csr_matrix:
        pos = np.searchsorted(used, X.indices).clip(0, used.size - 1)
        cols = np.where(used[pos] == X.indices, pos, used.size)
        return sp.csr_matrix((X.data, cols, X.indptr), shape=(X.shape[0], used.size + 1))
    return renumber(data["X"]), renumber(data["Xt"])


def log_loss(codes: np.ndarray, proba: np.ndarray) -> float:
    return float(-np.log(np.clip(proba[np.arange(codes.size), codes], 1e-15, 1.0)).mean())


def run_widecross(data: dict, multi_class: str, tmp: Path) -> dict[str, Any]:
    import widecross as wc

    wc.WideClassifier(multi_class=multi_class, epochs=1, random_state=0).fit(data["X"][:256], data["y"][:256])
    c0 = time.process_time()
    est = wc.WideClassifier(multi_class=multi_class, random_state=0).fit(data["X"], data["y"])
    cpu = time.process_time() - c0
    model = est.model_
    path = model.save(tmp / "m.wcm")
    proba = est.predict_proba(data["Xt"])
    return {"fit_cpu_s": cpu, "proba": proba, "nnz": model.nnz, "indices": model.n_indices,
            "model_bytes": path.stat().st_size}


def run_sklearn(data: dict, Xc: sp.csr_matrix, Xtc: sp.csr_matrix) -> dict[str, Any]:
    from sklearn.linear_model import SGDClassifier

    c0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter: the epochs are the point
        est = SGDClassifier(loss="log_loss", penalty="l1", alpha=1e-7, learning_rate="constant", eta0=0.2,
                            max_iter=EPOCHS, tol=None, random_state=0, n_jobs=1).fit(Xc, data["y"])
    cpu = time.process_time() - c0
    nnz = int(np.count_nonzero(est.coef_))
    return {"fit_cpu_s": cpu, "proba": est.predict_proba(Xtc), "nnz": nnz, "indices": int(est.coef_.any(axis=0).sum()),
            "model_bytes": len(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))}


def run_vw(data: dict, files: dict[str, Path], tmp: Path) -> dict[str, Any]:
    import vowpalwabbit

    k, bits = data["bands"], files["bits"]
    model, slim, preds = tmp / "vw.model", tmp / "vw.slim", tmp / "vw.preds"
    cache = tmp / f"vw-{os.getpid()}-{time.monotonic_ns()}.cache"
    args = (f"-d {files['train']} --oaa {k} --loss_function logistic --probabilities -b {bits} --l1 1e-7 "
            f"--passes {EPOCHS} -c --cache_file {cache} -k --holdout_off -f {model} --quiet")
    c0 = time.process_time()
    ws = vowpalwabbit.Workspace(args)
    ws.run_parser()
    ws.finish()
    cpu = time.process_time() - c0
    del ws
    readable = tmp / "vw.readable"
    ws = vowpalwabbit.Workspace(f"-t -i {model} -d {files['test']} -p {preds} --probabilities --readable_model {readable} "
                                f"--predict_only_model -f {slim} --quiet")
    ws.run_parser()
    ws.finish()
    del ws
    proba = np.array([[float(item.split(":")[1]) for item in line.split()] for line in preds.read_text().splitlines()])
    nnz = 0
    with open(readable) as f:
        for line in f:
            head, sep, rest = line.partition(":")
            if sep and head.isdigit() and rest and float(rest.split()[0]) != 0.0:
                nnz += 1
    cache.unlink(missing_ok=True)
    return {"fit_cpu_s": cpu, "proba": proba / proba.sum(axis=1, keepdims=True), "nnz": nnz,
            "model_bytes": model.stat().st_size, "slim_bytes": slim.stat().st_size}


def measure(bands: int, n_train: int, n_test: int, repeats: int, tools: tuple[str, ...]) -> list[dict[str, Any]]:
    from benchmarks.vw_text import write_vw

    data = band_data(n_train, n_test, bands)
    Xc, Xtc = compact(data)
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        files = {}
        if "VW --oaa" in tools:
            files = {"train": write_vw(Xc, data["y"], tmp / "train.vw", classes=True),
                     "test": write_vw(Xtc, data["yt"], tmp / "test.vw", classes=True),
                     "bits": max(1, int(np.ceil(np.log2(Xc.shape[1]))))}
        calls = {"widecross ovr": lambda: run_widecross(data, "ovr", tmp),
                 "widecross multinomial": lambda: run_widecross(data, "multinomial", tmp),
                 "sklearn SGD ovr": lambda: run_sklearn(data, Xc, Xtc), "VW --oaa": lambda: run_vw(data, files, tmp)}
        for _ in range(repeats):  # interleaved: a busy moment of the shared machine hits every tool
            for tool in tools:
                runs[tool].append(calls[tool]())
    rows = []
    for tool in tools:
        last = runs[tool][-1]
        cpu = statistics.median(r["fit_cpu_s"] for r in runs[tool])
        row = {"bands": bands, "tool": tool, "fit_cpu_s": cpu, "examples_per_cpu_s": EPOCHS * n_train / cpu,
               "held_out_log_loss": log_loss(data["yt"], last["proba"]),
               "accuracy": float(np.mean(np.argmax(last["proba"], axis=1) == data["yt"])),
               "nnz": last["nnz"], "model_bytes": last["model_bytes"],
               "bytes_per_nnz": last["model_bytes"] / max(last["nnz"], 1)}
        if "indices" in last:
            row["shared_indices"] = last["indices"]
        if "slim_bytes" in last:
            row["predict_only_bytes_per_nnz"] = last["slim_bytes"] / max(last["nnz"], 1)
        rows.append(row)
    ref = next((r for r in rows if r["tool"] == REFERENCE), None)
    for row in rows:
        if ref is not None:
            row["ref_speedup"] = ref["examples_per_cpu_s"] / row["examples_per_cpu_s"]
            row["ref_log_loss_diff"] = ref["held_out_log_loss"] - row["held_out_log_loss"]
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=2_000_000)
    parser.add_argument("--test", type=int, default=500_000)
    parser.add_argument("--bands", default="3,10")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--quick", action="store_true", help="20k + 5k rows (unless --train / --test say), one repeat")
    parser.add_argument("--results-dir", default=None, help="where to write the tables (default: benchmarks/results)")
    args = parser.parse_args(argv)
    tools = tuple(t for t in args.tools.split(",") if t)
    if args.quick:
        given = argv or []
        args.train = args.train if "--train" in given else 20_000
        args.test = args.test if "--test" in given else 5_000
        args.repeats = 1
    try:
        import vowpalwabbit  # noqa: F401
    except ImportError:
        tools = tuple(t for t in tools if t != "VW --oaa")
    rows = []
    for bands in (int(b) for b in args.bands.split(",")):
        rows += measure(bands, args.train, args.test, args.repeats, tools)
    print(format_table(rows))
    save_results("bench_multiclass", rows, {**vars(args), "epochs": EPOCHS}, quick=args.quick,
                 results_dir=Path(args.results_dir) if args.results_dir else None)
    return rows


if __name__ == "__main__":
    main()
