"""Model files side by side: bytes on disk, bytes per nonzero, and the memory to load and predict.

Models are trained on the same generated houses and columns as bench_peers (2M training rows by
default, geo spec at 2^22, 2^26 and the exact 235.7M columns), then saved the way each tool saves:

- widecross ``SparseModel.save`` with ``values="float32" | "float16" | "q8"``, for the default
  ``sgd`` (l1 = 1e-6) and for ``ftrl`` at l1 = 1e-7, l2 = 1e-6 (about as dense as VW's model);
- Vowpal Wabbit's default ``-f`` file (it keeps optimizer state for resuming) and the same model
  re-saved with ``--predict_only_model``, for ``--l1 1e-7`` and ``--ftrl`` at l1 = 1e-6;
- scikit-learn's ``SGDClassifier`` (L1, alpha 1e-7, 5 epochs): ``coef_`` dense with NumPy
  (``np.savez``; float32, as fitted on float32 features), ``coef_`` as a SciPy sparse row
  (``save_npz``, zlib-compressed), and the pickled estimator.

Bytes per nonzero divide the file size by the nonzero weights (the intercept aside). Then each
file is loaded in a fresh process that predicts the held-out rows (widecross from raw lat/lon;
scikit-learn through the same featurization; VW from its text file): the resident memory that
loading adds (``load_rss_mb``), the process's peak RSS, and its growth over a process that does
everything but load the model (``rss_growth_mb``: same imports and data; it includes the
prediction's own buffers, which grow with the rows predicted, not with the model).

    python benchmarks/bench_model_size.py            # 2M training rows, 500k predicted (~10 minutes)
    python benchmarks/bench_model_size.py --quick    # seconds; what the test suite runs

``--quick`` loads every file one after another in one fresh process (after the baseline work of
every tool): the same loading and scoring, one process start instead of one per file; a file's
``load_rss_mb`` is still its own, its peak the highest so far.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness  # noqa: E402
from benchmarks.common import format_table, run_python_measured, save_results  # noqa: E402

WIDECROSS_MODELS = {
    "widecross sgd l1=1e-6": dict(optimizer="sgd", l1=1e-6),
    "widecross ftrl l1=1e-7 l2=1e-6": dict(optimizer="ftrl", l1=1e-7, l2=1e-6),
}
VW_MODELS = {"VW --l1 1e-7": dict(args="--l1 1e-7"), "VW --ftrl l1=1e-6": dict(args="--ftrl", l1_mean=1e-6)}
SKLEARN_MODEL = ("sklearn SGD l1", dict(alpha=1e-7, eta0=0.2))


# ---------------------------------------------------------------------- in the child
def load_and_predict(kind: str, path: str, test_cols: str, test_vw: str, bits: int | None, load_model: bool) -> dict:
    """Load a model file of ``kind`` and predict the held-out rows; with ``load_model=False``,
    only the common part (imports, the data, featurizing and scoring 10 rows with a one-weight
    model, so that compiled code is resident): the difference of the peaks is the model's."""
    import time

    from benchmarks.common import current_rss_mb, settled_rss_mb
    from benchmarks.harness import scores

    out: dict[str, Any] = {}
    with np.load(test_cols) as d:
        cols, y = {"lat": d["lat"], "lon": d["lon"]}, d["y"]
    few = {k: v[:10] for k, v in cols.items()}
    if kind == "vw":
        import vowpalwabbit

        if load_model:
            preds = Path(path).with_suffix(".preds")
            before, t = settled_rss_mb(), time.perf_counter()
            ws = vowpalwabbit.Workspace(f"-t -i {path} -d {test_vw} -p {preds} --link logistic --quiet")
            out["load_rss_mb"] = current_rss_mb() - before  # the model is loaded, no row read yet
            ws.run_parser()
            ws.finish()
            out["load_predict_s"] = time.perf_counter() - t
            out.update(scores(y, np.loadtxt(preds, usecols=0, ndmin=1)))
        return out
    spec = harness.geo_spec(bits)
    if kind == "widecross":
        import widecross as wc

        wc.SparseModel([0], [1.0], 0.0, spec.n_features, "logistic", spec=spec).predict_proba(few)
        if load_model:
            before, t = settled_rss_mb(), time.perf_counter()
            model = wc.load(path)
            out["load_s"], out["load_rss_mb"] = time.perf_counter() - t, current_rss_mb() - before
            proba = model.predict_proba(cols)[:, 1]
            out["load_predict_s"] = time.perf_counter() - t
            out.update(scores(y, proba))
        return out
    if kind == "sklearn pickle":
        import sklearn.linear_model  # noqa: F401
    spec.transform(few)
    if not load_model:
        return out
    before, t = settled_rss_mb(), time.perf_counter()
    if kind == "sklearn pickle":
        with open(path, "rb") as f:
            est = pickle.load(f)  # our own file, written by this benchmark a moment ago
        out["load_s"], out["load_rss_mb"] = time.perf_counter() - t, current_rss_mb() - before
        proba = est.predict_proba(spec.transform(cols))[:, 1]
    else:
        if kind == "sklearn dense":
            with np.load(path) as d:
                w, b = d["coef"], float(d["intercept"][0])
            margin = lambda X: X @ w + b  # noqa: E731
        else:
            W = sp.load_npz(path).tocsr()
            b = float(json.loads(Path(path + ".json").read_text())["intercept"])  # save_npz holds no scalar
            margin = lambda X: np.asarray((X @ W.T).todense()).ravel() + b  # noqa: E731
        out["load_s"], out["load_rss_mb"] = time.perf_counter() - t, current_rss_mb() - before
        proba = 1.0 / (1.0 + np.exp(-margin(spec.transform(cols))))
    out["load_predict_s"] = time.perf_counter() - t
    out.update(scores(y, proba))
    return out


def load_and_predict_each(entries: list[tuple[str, str]], test_cols: str, test_vw: str, bits: int | None) -> dict:
    """Quick runs: the baseline of every kind in ``entries``, then each ``(kind, path)`` loaded and
    predicted in turn, in this one process; a file's peak is the highest so far."""
    from benchmarks.common import peak_rss_mb

    for kind in dict.fromkeys(kind for kind, _ in entries):
        load_and_predict(kind, "", test_cols, test_vw, bits, load_model=False)
    baseline, results = peak_rss_mb(), []
    for kind, path in entries:
        results.append({**load_and_predict(kind, path, test_cols, test_vw, bits, load_model=True), "peak_rss_mb": peak_rss_mb()})
    return {"baseline_rss_mb": baseline, "results": results}


def measure(kind: str, path: str | Path, files: dict, load_model: bool = True) -> dict:
    code = (
        "import json\nfrom benchmarks.bench_model_size import load_and_predict\n"
        f"print(json.dumps(load_and_predict({kind!r}, {str(path)!r}, {files['test_cols']!r}, "
        f"{files.get('test_vw', '')!r}, {files['bits']!r}, {load_model!r})))"
    )
    return run_python_measured(code, timeout=3600)


def measure_one_by_one(models: list[dict], files: dict) -> list[tuple[dict, float]]:
    """Each file loaded in a fresh process, against a baseline process per kind: (result, baseline)."""
    baselines: dict[str, float] = {}
    out = []
    for entry in models:
        kind = entry["kind"]
        if kind not in baselines:
            baselines[kind] = measure(kind, entry["path"], files, load_model=False)["peak_rss_mb"]
        out.append((measure(kind, entry["path"], files), baselines[kind]))
    return out


def measure_together(models: list[dict], files: dict) -> list[tuple[dict, float]]:
    """Quick runs: every file, of every tool, loaded in turn in one fresh process."""
    entries = [(entry["kind"], str(entry["path"])) for entry in models]
    code = (
        "import json\nfrom benchmarks.bench_model_size import load_and_predict_each\n"
        f"print(json.dumps(load_and_predict_each({entries!r}, {files['test_cols']!r}, "
        f"{files.get('test_vw', '')!r}, {files['bits']!r})))"
    )
    res = run_python_measured(code, timeout=3600)
    return [(one, res["baseline_rss_mb"]) for one in res["results"]]


# ---------------------------------------------------------------------- in the parent
def save_models(files: dict, tmp: Path, epochs: int) -> list[dict]:
    """Train each tool once and write its files; one entry per file: kind, path, nnz, model."""
    import widecross as wc
    from widecross import export

    bits = files["bits"]
    out = []
    for name, params in WIDECROSS_MODELS.items():
        res = harness.fit_score(dict(tool="widecross", params=params, epochs=epochs, bits=bits), files, keep_model=True)
        fitted = res["estimator"].model_
        # Fitted on the CSR: attach the spec, as a fit on raw columns does, so it scores lat/lon.
        model = wc.SparseModel(fitted.indices, fitted.values, fitted.intercept, fitted.n_features, "logistic",
                               spec=harness.geo_spec(bits), classes=getattr(fitted, "classes", None),
                               metadata=getattr(fitted, "metadata", None))
        for encoding in ("float32", "float16", "q8"):
            path = tmp / f"{name.split()[1]}-{encoding}.wcm"
            export.save(model, path, values=encoding)
            out.append(dict(model=name, format=f".wcm {encoding}", kind="widecross", path=path,
                            nnz=model.nnz, train_log_loss=res["log_loss"]))
    if "train_vw" in files:
        for name, params in VW_MODELS.items():
            path = tmp / f"{name.split()[1].strip('-')}.vw"
            res = harness.fit_score(dict(tool="vw", params=params, epochs=1, bits=bits), files, keep_model=path)
            slim = path.with_name(path.stem + "-predict-only.vw")
            ws = harness.vw_workspace(f"-i {path} -t --predict_only_model -f {slim}")
            ws.finish()
            del ws
            for fmt, p in (("VW -f (default: with optimizer state)", path), ("VW --predict_only_model", slim)):
                out.append(dict(model=f"{name} ({res['vw_args']})", format=fmt, kind="vw", path=p, nnz=res["nnz"],
                                train_log_loss=res["log_loss"]))
    name, params = SKLEARN_MODEL
    res = harness.fit_score(dict(tool="sklearn", params=params, epochs=5, bits=bits), files, keep_model=True)
    est = res["estimator"]
    coef, b = est.coef_.ravel(), float(est.intercept_[0])
    nnz = int(np.count_nonzero(coef))
    dense = tmp / "sk-dense.npz"
    with open(dense, "wb") as f:
        np.savez(f, coef=coef, intercept=np.array([b]))
    sparse = tmp / "sk-sparse.npz"
    sp.save_npz(sparse, sp.csr_matrix(coef.reshape(1, -1)), compressed=True)
    Path(str(sparse) + ".json").write_text(json.dumps({"intercept": b}))
    pickled = tmp / "sk.pkl"
    with open(pickled, "wb") as f:
        pickle.dump(est, f, protocol=pickle.HIGHEST_PROTOCOL)
    for fmt, kind, p in ((f"numpy dense coef_ ({coef.dtype})", "sklearn dense", dense),
                         ("scipy sparse coef_ (save_npz)", "sklearn sparse", sparse),
                         ("pickled estimator", "sklearn pickle", pickled)):
        out.append(dict(model=f"{name} (alpha 1e-7, 5 epochs)", format=fmt, kind=kind, path=p, nnz=nnz,
                        train_log_loss=res["log_loss"]))
    del est, res, coef
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10k rows at 2^18, files loaded in one process (for tests)")
    parser.add_argument("--rows", type=int, default=None, help="training rows (default 2,000,000)")
    parser.add_argument("--test-rows", type=int, default=None, help="rows predicted (default rows / 4)")
    parser.add_argument("--widths", default=None, help="comma-separated bits or 'exact' (default 22,26,exact)")
    parser.add_argument("--epochs", type=int, default=5, help="widecross epochs (default 5)")
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    quick = args.quick
    n = args.rows or (10_000 if quick else 2_000_000)
    n_test = args.test_rows or n // 4
    widths = [None if w == "exact" else int(w) for w in (args.widths or ("18" if quick else "22,26,exact")).split(",")]
    try:
        import vowpalwabbit  # noqa: F401

        has_vw = True
    except ImportError:
        print("vowpalwabbit is not installed: the VW rows are skipped", flush=True)
        has_vw = False
    train, y, test, yt = harness.housing_split(n, n_test)
    rows: list[dict] = []
    for bits in widths:
        with tempfile.TemporaryDirectory(prefix="bench_model_size-") as tmpdir:
            tmp = Path(tmpdir)
            files = harness.prepare(train, y, test, yt, bits, tmp, vw=has_vw)
            files["test_cols"] = str(tmp / "test-cols.npz")
            with open(files["test_cols"], "wb") as f:
                np.savez(f, lat=test["lat"], lon=test["lon"], y=yt)
            models = save_models(files, tmp, args.epochs)
            measured = (measure_together if quick else measure_one_by_one)(models, files)
            for entry, (res, baseline) in zip(models, measured):
                size = Path(entry["path"]).stat().st_size
                row = dict(width=harness.width_name(bits), model=entry["model"], format=entry["format"],
                           file_bytes=size, nnz=entry["nnz"], B_per_nnz=size / max(entry["nnz"], 1),
                           held_out_log_loss=res["log_loss"], load_predict_s=res["load_predict_s"],
                           load_rss_mb=res["load_rss_mb"], peak_rss_mb=res["peak_rss_mb"],
                           baseline_rss_mb=baseline,
                           rss_growth_mb=res["peak_rss_mb"] - baseline, rows_predicted=n_test)
                row["rss_growth_B_per_nnz"] = row["rss_growth_mb"] * 1e6 / max(entry["nnz"], 1)
                rows.append(row)
                print(f"{row['width']:6s} {row['model'][:40]:40s} {row['format'][:38]:38s} "
                      f"{size:>13,} B  {row['B_per_nnz']:8.2f} B/nnz  RSS +{row['rss_growth_mb']:8.1f} MB", flush=True)
    print("\n" + format_table(rows))
    params = dict(rows=n, test_rows=n_test, widths=[harness.width_name(b) for b in widths], epochs=args.epochs,
                  widecross=WIDECROSS_MODELS, vw=VW_MODELS, sklearn=SKLEARN_MODEL,
                  rss="VmHWM of a fresh process that loads the model and predicts the held-out rows, minus the same "
                      "process without the model")
    path = save_results("bench_model_size", rows, params, quick=quick, results_dir=args.results_dir)
    print(f"saved {path}")
    return rows


if __name__ == "__main__":
    main()
