"""Ad-click workload: widecross vs scikit-learn (FeatureHasher + SGDClassifier) vs Vowpal Wabbit -q.

    python benchmarks/bench_adclick.py              # 2M train + 500k held-out rows, 3 repeats
    python benchmarks/bench_adclick.py --quick      # 100k + 25k rows, 1 repeat

The table (``benchmarks/adclick.py``): 20 categorical fields with Zipf-distributed values, a
numeric bid, a comma-separated tag list, a click label; user x ad interactions carry signal.
Every tool gets the same features: the 20 fields, the bid, the tags, and the 9 crosses of the
3 user fields with the 3 ad fields, hashed into 2^22 columns:

- widecross: ``FeatureSpec({"user": ..., "ad": ..., "context": ..., "bid": [Numeric], "tags":
  [Tokens]}, bits=22, interactions=[("user", "ad")])`` reading the Arrow table (values hashed
  unfitted, as VW and FeatureHasher do), then the default ``WideClassifier`` (5 epochs +
  polish) and in one pass with per-coordinate Newton rates; also with vocabularies learned by
  ``fit`` (min_count 5), along an l1 grid and with the dense training layout (one repeat each).
- scikit-learn: the user's own featurization (pair strings built with pyarrow compute, string
  lists hashed by ``FeatureHasher``, the bid as one more column), then ``SGDClassifier`` with
  its defaults (L2, the "optimal" rate; its L1 at 1e-6 diverges on these rows).
- Vowpal Wabbit: its text format with one namespace per group and ``-q ua``; writing the text
  file is not timed, VW's own parsing and hashing of it is.

Reported per run (fresh process each, CPU seconds, medians over repeats): featurization,
training (widecross: epochs and polish apart), rows per CPU-second of the whole fit (training
rows / (featurization + training)), held-out log-loss and AUC, nonzero weights, model bytes
(widecross: the ``.wcm`` file with its spec; scikit-learn: the pickled estimator; VW: its ``-f``
file), peak RSS. Results: ``benchmarks/results/bench_adclick.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import numpy as np  # noqa: E402

from benchmarks.adclick import AD, CONTEXT, USER, make_adclick, write_vw  # noqa: E402
from benchmarks.common import format_table, run_python_measured, save_results  # noqa: E402

BITS = 22
SKLEARN = dict(loss="log_loss")  # SGDClassifier's own defaults: L2, alpha 1e-4, the "optimal" rate


# ---------------------------------------------------------------------------------------- data
def prepare(n_train: int, n_test: int, directory: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    table = make_adclick(n_train + n_test, seed=0)
    files = {"train": str(directory / "train.parquet"), "test": str(directory / "test.parquet"),
             "train_vw": str(directory / "train.vw"), "test_vw": str(directory / "test.vw"), "tmp": str(directory),
             "n_train": n_train, "n_test": n_test}
    pq.write_table(table.slice(0, n_train), files["train"])
    pq.write_table(table.slice(n_train), files["test"])
    write_vw(table.slice(0, n_train), files["train_vw"])
    write_vw(table.slice(n_train), files["test_vw"])
    return files


def _tables(files: dict) -> tuple[Any, np.ndarray, Any, np.ndarray]:
    import pyarrow.parquet as pq

    train, test = pq.read_table(files["train"]), pq.read_table(files["test"])
    return train, train.column("click").to_numpy().astype(np.float64), test, test.column("click").to_numpy().astype(np.float64)


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from widecross.metrics import log_loss, roc_auc

    return {"log_loss": log_loss(y, p), "auc": roc_auc(y, p)}


# ---------------------------------------------------------------------------------------- widecross
def widecross_spec(learned: bool):
    from widecross.features import Categorical, FeatureSpec, Numeric, Tokens

    def field(name):  # min_count=5: a value seen fewer times shares the unknown id
        return Categorical(name, min_count=5) if learned else Categorical(name)

    groups = {"user": [field(f) for f in USER], "ad": [field(f) for f in AD], "context": [field(f) for f in CONTEXT],
              "bid": [Numeric("bid", "standard") if learned else Numeric("bid", 0.5, center=1.0)],
              "tags": [Tokens("tags", sep=",", min_count=5) if learned else Tokens("tags", sep=",")]}
    return FeatureSpec(groups, bits=BITS, interactions=[("user", "ad")])


def run_widecross(params: dict, files: dict) -> dict[str, Any]:
    import widecross as wc

    train, y, test, yt = _tables(files)
    spec = widecross_spec(params.get("learned", False))
    options = {k: v for k, v in params.items() if k != "learned"}
    w0 = time.perf_counter()  # compiled kernels load once per process: apart from the timed fit
    small = train.slice(0, 2000)
    wc.WideClassifier(**options, random_state=0).fit(widecross_spec(False).transform(small), y[:2000])
    out: dict[str, Any] = {"first_call_s": time.perf_counter() - w0}
    c0 = time.process_time()
    if params.get("learned"):  # else the hashed spec reads values unfitted, as VW and FeatureHasher do
        spec.fit(train)
    X = spec.transform(train)
    c1 = time.process_time()
    clf = wc.WideClassifier(**options, random_state=0)
    marks: list[float] = []
    clf.set_epoch_callback(lambda epoch, rows, loss: marks.append(time.process_time()))
    clf.fit(X, y)
    c2 = time.process_time()
    out.update(featurize_cpu_s=c1 - c0, train_cpu_s=c2 - c1, epochs_cpu_s=marks[-1] - c1, polish_cpu_s=c2 - marks[-1],
               first_epoch_cpu_s=marks[0] - c1, nnz_per_row=X.nnz / X.shape[0])
    p = clf.predict_proba(spec.transform(test))[:, 1]
    out.update(_scores(yt, p), nnz=int(clf.model_.nnz))
    model = wc.SparseModel(clf.model_.indices, clf.model_.values, clf.model_.intercept, spec.n_features, "logistic", spec=spec)
    path = Path(files["tmp"]) / f"wc-{os.getpid()}.wcm"
    model.save(path)
    out["model_bytes"] = path.stat().st_size
    out["spec_json_bytes"] = len(spec.to_json())
    path.unlink()
    return out


# ---------------------------------------------------------------------------------------- scikit-learn
def sklearn_features(table: Any, chunk_rows: int = 200_000) -> Any:
    """What a scikit-learn user writes: field and pair strings, tag lists, FeatureHasher, the bid."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import scipy.sparse as sp
    from sklearn.feature_extraction import FeatureHasher

    hasher = FeatureHasher(n_features=2**BITS, input_type="string", alternate_sign=False)
    caret = pa.scalar("^", pa.large_string())
    parts = []
    for start in range(0, table.num_rows, chunk_rows):
        part = table.slice(start, chunk_rows)
        columns = [part.column(f) for f in USER + AD + CONTEXT]
        columns += [pc.binary_join_element_wise(part.column(u), part.column(a), caret) for u in USER for a in AD]
        rows = np.stack([c.to_numpy() for c in columns], axis=1)
        tags = [[t for t in row if t] for row in pc.split_pattern(part.column("tags"), ",").to_pylist()]
        hashed = hasher.transform(rows) + hasher.transform(tags)
        bid = (part.column("bid").to_numpy() - 1.0) / 0.5
        parts.append(sp.hstack([hashed, sp.csr_matrix(bid.reshape(-1, 1))], format="csr"))
    return sp.vstack(parts, format="csr")


def run_sklearn(params: dict, files: dict) -> dict[str, Any]:
    import pickle

    from sklearn.linear_model import SGDClassifier

    train, y, test, yt = _tables(files)
    out: dict[str, Any] = {}
    c0 = time.process_time()
    X = sklearn_features(train)
    c1 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter: the epochs are the point
        clf = SGDClassifier(**{**SKLEARN, **params["options"]}, max_iter=params["epochs"], tol=None, random_state=0)
        clf.fit(X, y)
    c2 = time.process_time()
    out.update(featurize_cpu_s=c1 - c0, train_cpu_s=c2 - c1, nnz_per_row=X.nnz / X.shape[0])
    p = clf.predict_proba(sklearn_features(test))[:, 1]
    out.update(_scores(yt, p), nnz=int(np.count_nonzero(clf.coef_)), model_bytes=len(pickle.dumps(clf)))
    return out


# ---------------------------------------------------------------------------------------- Vowpal Wabbit
def run_vw(params: dict, files: dict) -> dict[str, Any]:
    from benchmarks.harness import vw_predict, vw_readable_nnz, vw_workspace

    tmp = Path(files["tmp"])
    model = tmp / f"vw-{os.getpid()}.model"
    passes = params["passes"]
    extra = f" --passes {passes} -c --cache_file {tmp / f'vw-{os.getpid()}.cache'} -k --holdout_off" if passes > 1 else ""
    args = f"-d {files['train_vw']} --loss_function logistic -b {BITS} -q ua {params.get('args', '')}{extra} -f {model}"
    c0 = time.process_time()
    ws = vw_workspace(args)
    ws.run_parser()
    ws.finish()
    out: dict[str, Any] = {"featurize_cpu_s": 0.0, "train_cpu_s": time.process_time() - c0, "vw_args": args.split(" -f ")[0]}
    del ws
    readable = tmp / f"vw-readable-{os.getpid()}.txt"
    _, _, _, yt = _tables(files)
    out.update(_scores(yt, vw_predict(model, files["test_vw"], tmp, readable)))
    out["nnz"] = vw_readable_nnz(readable)
    out["model_bytes"] = model.stat().st_size
    for path in [readable, model, *tmp.glob(f"vw-{os.getpid()}.cache")]:
        path.unlink(missing_ok=True)
    return out


RUNNERS = {"widecross": run_widecross, "sklearn": run_sklearn, "vw": run_vw}


def run_child(tool: str, params: dict, files: dict) -> dict[str, Any]:
    code = (f"import json\nfrom benchmarks.bench_adclick import RUNNERS\n"
            f"print(json.dumps(RUNNERS[{tool!r}]({params!r}, {files!r})))")
    return run_python_measured(code, timeout=7200)


# ---------------------------------------------------------------------------------------- main
def configurations(quick: bool) -> list[tuple[str, str, dict, bool]]:
    """(label, tool, params, repeated): the repeated ones get every repeat, the rest one run."""
    runs = [
        ("widecross default (l1 1e-6, 5 epochs + polish)", "widecross", {}, True),
        ("widecross one pass, schedule='newton' (epochs=1, polish=0)", "widecross",
         {"epochs": 1, "polish": 0, "schedule": "newton"}, True),
        ("widecross, vocabularies learned by fit", "widecross", {"learned": True}, True),
        ("scikit-learn SGDClassifier defaults (L2 1e-4), 5 epochs", "sklearn", {"options": {}, "epochs": 5}, True),
        ("scikit-learn SGDClassifier defaults (L2 1e-4), 1 epoch", "sklearn", {"options": {}, "epochs": 1}, False),
        ("VW -q ua, 1 pass", "vw", {"passes": 1}, True),
        ("VW -q ua, 5 passes", "vw", {"passes": 5}, True),
    ]
    for l1 in (1e-7, 3e-7, 3e-6, 1e-5):
        runs.append((f"widecross l1 {l1:g}", "widecross", {"l1": l1}, False))
    runs.append(("widecross one pass, default schedule (epochs=1, polish=0)", "widecross", {"epochs": 1, "polish": 0}, False))
    # The trainer's slot map (a column -> record table built over every entry) apart: at 2^22
    # columns one record per column (layout="dense") gives the same model without it.
    runs.append(("widecross one pass, newton, layout='dense'", "widecross",
                 {"epochs": 1, "polish": 0, "schedule": "newton", "layout": "dense"}, False))
    runs.append(("widecross default, layout='dense'", "widecross", {"layout": "dense"}, False))
    runs.append(("scikit-learn SGD L1 1e-6, 5 epochs", "sklearn", {"options": {"penalty": "l1", "alpha": 1e-6}, "epochs": 5}, False))
    runs.append(("VW -q ua --l1 1e-8, 5 passes", "vw", {"passes": 5, "args": "--l1 1e-8"}, False))
    return runs


def summarize(label: str, tool: str, results: list[dict], n_train: int) -> dict[str, Any]:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in results)

    featurize, train = median("featurize_cpu_s"), median("train_cpu_s")
    row = {"run": label, "tool": tool, "repeats": len(results), "featurize_cpu_s": featurize, "train_cpu_s": train,
           "rows_per_cpu_s": n_train / (featurize + train)}
    for key in ("epochs_cpu_s", "polish_cpu_s", "first_epoch_cpu_s"):
        if key in results[0]:
            row[key] = median(key)
    first = results[0]
    row.update({k: first[k] for k in ("log_loss", "auc", "nnz", "model_bytes") if k in first})
    row["peak_rss_mb"] = median("peak_rss_mb")
    for key in ("nnz_per_row", "vw_args", "spec_json_bytes"):
        if key in first:
            row[key] = first[key]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k + 25k rows, one repeat (a smoke run)")
    parser.add_argument("--rows", type=int, default=None, help="training rows (default 2,000,000; quick 100,000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs of the main configurations (default 3)")
    parser.add_argument("--only", default=None, help="comma-separated tools to run (widecross, sklearn, vw)")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    n_train = args.rows or (100_000 if args.quick else 2_000_000)
    repeats = args.repeats or (1 if args.quick else 3)
    tools = set((args.only or "widecross,sklearn,vw").split(","))
    rows = []
    with tempfile.TemporaryDirectory(prefix="adclick-") as tmp:
        files = prepare(n_train, n_train // 4, Path(tmp))
        for label, tool, params, repeated in configurations(args.quick):
            if tool not in tools:
                continue
            results = [run_child(tool, params, files) for _ in range(repeats if repeated else 1)]
            rows.append(summarize(label, tool, results, n_train))
            print(json.dumps(rows[-1]), flush=True)
    shown = ["run", "rows_per_cpu_s", "featurize_cpu_s", "train_cpu_s", "epochs_cpu_s", "polish_cpu_s", "log_loss", "auc",
             "nnz", "model_bytes", "peak_rss_mb"]
    print(format_table(rows, shown))
    path = save_results("bench_adclick", rows, params={"n_train": n_train, "n_test": n_train // 4, "bits": BITS,
                                                        "repeats": repeats, "machine_note": "2-core shared machine"},
                        quick=args.quick, results_dir=args.results_dir)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
