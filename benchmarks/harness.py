"""One place that trains and scores every tool the same way: widecross, scikit-learn, Vowpal Wabbit.

The data are generated houses (``data_gen``) featurized once by widecross's geo spec (the 1 degree,
10' and 1' lat x lon crosses and the 1' marginals, five columns per row; the intercept is each
tool's own). widecross and scikit-learn read that CSR; Vowpal Wabbit reads the same columns from
its text format through its own parser (integer feature names are the columns themselves,
masked to ``-b`` bits; ``-b 28`` holds the exact 235.7M-column spec without a collision).

A *run* is a plain dict, so that it can cross into a child process as JSON::

    {"tool": "widecross", "params": {"optimizer": "ftrl", "l1": 1e-6}, "epochs": 5, "bits": 22}
    {"tool": "sklearn", "params": {"alpha": 1e-7, "eta0": 0.2}, "epochs": 1, "bits": 22}
    {"tool": "vw", "params": {"args": "--l1 1e-7"}, "epochs": 1, "bits": 22}
    {"tool": "vw", "params": {"args": "--ftrl", "l1_mean": 1e-6}, "epochs": 5, "bits": None}

``fit_score(run, files)`` trains on the training files and scores the held-out ones: CPU and wall
seconds of training alone, held-out log-loss and AUC, nonzero weights, and the process's peak
resident memory right after training (meaningful in a fresh process: see ``run_child``; quick
runs stay in the calling process, ``run_here``).
For VW, ``l1_mean`` is a mean-objective l1 (widecross's and scikit-learn's meaning) turned into
VW FTRL's ``--l1``, which applies to the loss summed over every example it processes.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from benchmarks.common import peak_rss_mb, run_python_measured

EXACT_WIDTH = 235_710_000  # geo_spec(bits=None): every cell of the three crosses and marginals
SKLEARN_DEFAULTS = dict(loss="log_loss", penalty="l1", learning_rate="constant")


def width_of(bits: int | None) -> int:
    return EXACT_WIDTH if bits is None else 2**bits


def width_name(bits: int | None) -> str:
    return "exact" if bits is None else f"2^{bits}"


def vw_bits(bits: int | None) -> int:
    """VW's ``-b`` for a width: the smallest power of two holding every column."""
    return int(math.ceil(math.log2(width_of(bits))))


# ---------------------------------------------------------------------- data
def housing_split(n_train: int, n_test: int, seed: int = 0) -> tuple[dict, np.ndarray, dict, np.ndarray]:
    """Training and held-out lat/lon columns and labels: one generated sample, split in two."""
    import data_gen

    rows = data_gen.generate_housing(n_train + n_test, seed=seed)
    cols = {k: rows[k] for k in ("lat", "lon")}
    y = rows["label"].astype(np.float64)
    train = {k: v[:n_train] for k, v in cols.items()}
    test = {k: v[n_train:] for k, v in cols.items()}
    return train, y[:n_train], test, y[n_train:]


def geo_spec(bits: int | None):
    import widecross as wc

    return wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=bits)


def featurize(cols: dict, bits: int | None) -> sp.csr_matrix:
    return geo_spec(bits).transform(cols)


def save_csr(path: str | Path, X: sp.csr_matrix, y: np.ndarray) -> Path:
    path = Path(path)
    with open(path, "wb") as f:  # an open file: np.savez would otherwise append ".npz"
        np.savez(f, data=X.data, indices=X.indices, indptr=X.indptr, shape=np.array(X.shape), y=y)
    return path


def load_csr(path: str | Path) -> tuple[sp.csr_matrix, np.ndarray]:
    with np.load(path) as d:
        X = sp.csr_matrix((d["data"], d["indices"], d["indptr"]), shape=tuple(d["shape"]))
        return X, d["y"]


def prepare(train: dict, y: np.ndarray, test: dict, yt: np.ndarray, bits: int | None, directory: Path,
            vw: bool = True) -> dict[str, Any]:
    """Featurize once and write the files every tool reads; returns their paths and sizes."""
    from benchmarks.vw_text import write_vw

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tag = width_name(bits).replace("^", "")
    X, Xt = featurize(train, bits), featurize(test, bits)
    files: dict[str, Any] = {"bits": bits, "n_train": X.shape[0], "n_test": Xt.shape[0],
                             "train": str(save_csr(directory / f"train-{tag}.npz", X, y)),
                             "test": str(save_csr(directory / f"test-{tag}.npz", Xt, yt)),
                             "tmp": str(directory)}
    if vw:
        files["train_vw"] = str(write_vw(X, y, directory / f"train-{tag}.vw"))
        files["test_vw"] = str(write_vw(Xt, yt, directory / f"test-{tag}.vw"))
    return files


# ---------------------------------------------------------------------- scores
def scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    from widecross.metrics import log_loss, roc_auc

    return {"log_loss": log_loss(y, proba), "auc": roc_auc(y, proba)}


def objective(X: sp.csr_matrix, y: np.ndarray, w: np.ndarray, b: float, l1: float, l2: float = 0.0) -> float:
    """The mean objective of design.md (logistic loss), for any tool's weights."""
    return _mean_objective(X @ w + b, y, w, l1, l2)


def sparse_objective(X: sp.csr_matrix, y: np.ndarray, indices: np.ndarray, values: np.ndarray, b: float, l1: float,
                     l2: float = 0.0) -> float:
    """``objective`` of the weights ``values`` at columns ``indices``, zero elsewhere: the margins
    read a lazily zeroed vector of the width at the active columns only, the penalties the nonzeros."""
    w = np.zeros(X.shape[1])
    w[indices] = values
    return _mean_objective(X @ w + b, y, np.asarray(values, dtype=np.float64), l1, l2)


def _mean_objective(margin: np.ndarray, y: np.ndarray, weights: np.ndarray, l1: float, l2: float) -> float:
    loss = np.mean(np.logaddexp(0.0, margin) - y * margin)
    return float(loss + l1 * np.abs(weights).sum() + 0.5 * l2 * float(weights @ weights))


def liblinear_optimum(X: sp.csr_matrix, y: np.ndarray, l1: float) -> tuple[np.ndarray, float]:
    """(w, b) minimizing the L1 ``objective`` by scikit-learn's liblinear (tol 1e-4), the batch
    reference of the optimality test and of bench_convergence.

    C = 1 / (n l1) turns liblinear's summed loss into the mean objective; a large intercept
    scaling leaves the intercept practically unpenalized; untouched columns are dropped first
    (the same problem, and liblinear's time grows with the width).
    """
    from sklearn.linear_model import LogisticRegression

    cols, inverse = np.unique(X.indices, return_inverse=True)
    Xc = sp.csr_matrix((X.data.astype(np.float64), inverse.astype(np.int32), X.indptr), shape=(X.shape[0], cols.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(
            solver="liblinear", penalty="l1", C=1.0 / (X.shape[0] * l1), tol=1e-4, intercept_scaling=1e4, max_iter=1000
        )
        lr.fit(Xc, y)
    w = np.zeros(X.shape[1])
    w[cols] = lr.coef_.ravel()
    return w, float(lr.intercept_[0])


# ---------------------------------------------------------------------- Vowpal Wabbit
def vw_workspace(args: str):
    import vowpalwabbit

    return vowpalwabbit.Workspace(args + " --quiet")


def vw_train_args(run: dict, files: dict, model: str | Path) -> tuple[str, str]:
    """VW's command line for ``run`` and its short form for tables (no file names)."""
    params, epochs = run["params"], run["epochs"]
    shown = f"-b {vw_bits(run['bits'])} {params.get('args', '')}".strip()
    if "l1_mean" in params:
        # FTRL's --l1 thresholds the gradient sum over every example processed, all passes included.
        shown += f" --l1 {params['l1_mean'] * files['n_train'] * epochs:.6g}"
    extra = ""
    if epochs > 1:
        shown += f" --passes {epochs}"
        cache = Path(files["tmp"]) / f"vw-{os.getpid()}-{time.monotonic_ns()}.cache"
        extra = f" -c --cache_file {cache} -k --holdout_off"
    return f"-d {files['train_vw']} --loss_function logistic {shown}{extra} -f {model}", shown


def vw_readable_nnz(path: str | Path) -> int:
    """Nonzero weights in a ``--readable_model`` file, VW's constant (intercept) excluded.

    Lines after the header are ``index:weight[ state...]``; FTRL lists zero weights whose state
    is not zero, so the weight itself is tested.
    """
    nnz = 0
    constant = None
    with open(path) as f:
        for line in f:
            if line.startswith("bits:"):
                constant = 11650396 & ((1 << int(line.split(":")[1])) - 1)  # VW's hash of "constant"
            head, sep, rest = line.partition(":")
            if sep and head.isdigit() and rest and float(rest.split()[0]) != 0.0 and int(head) != constant:
                nnz += 1
    return nnz


def vw_predict(model: str | Path, test_vw: str | Path, tmp: Path, readable: Path | None = None) -> np.ndarray:
    preds = tmp / f"vw-preds-{os.getpid()}.txt"
    args = f"-t -i {model} -d {test_vw} -p {preds} --link logistic"
    if readable is not None:
        args += f" --readable_model {readable}"
    ws = vw_workspace(args)
    ws.run_parser()
    ws.finish()
    del ws
    proba = np.loadtxt(preds, usecols=0, ndmin=1)
    preds.unlink()
    return proba


# ---------------------------------------------------------------------- one run
def _fit_widecross(run: dict, X, y):
    from widecross import WideClassifier

    return WideClassifier(**run["params"], epochs=run["epochs"], random_state=0).fit(X, y)


def _fit_sklearn(run: dict, X, y):
    from sklearn.linear_model import SGDClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter: the epochs are the point
        return SGDClassifier(**{**SKLEARN_DEFAULTS, **run["params"]}, max_iter=run["epochs"], tol=None,
                             random_state=0).fit(X, y)


def fit_score(run: dict, files: dict, keep_model: str | Path | None = None, with_objective: bool = False) -> dict:
    """Train ``run`` on ``files['train*']``, score on ``files['test*']`` (see the module docstring).

    ``keep_model``: VW leaves its model file (default ``-f`` format) there; widecross and
    scikit-learn return their fitted estimator as ``out["estimator"]`` (in-process use only).
    ``with_objective``: also the mean training objective at the run's l1/l2 (widecross and
    scikit-learn; it needs the weights as a dense vector).
    """
    tool = run["tool"]
    out: dict[str, Any] = {}
    tmp = Path(files["tmp"])
    if tool == "vw":
        model = Path(keep_model) if keep_model else tmp / f"vw-model-{os.getpid()}.vw"
        args, out["vw_args"] = vw_train_args(run, files, model)
        w0, c0 = time.perf_counter(), time.process_time()
        ws = vw_workspace(args)
        ws.run_parser()
        ws.finish()
        out["fit_cpu_s"], out["fit_wall_s"] = time.process_time() - c0, time.perf_counter() - w0
        out["train_peak_rss_mb"] = peak_rss_mb()
        del ws
        readable = tmp / f"vw-readable-{os.getpid()}.txt"
        with np.load(files["test"]) as d:
            yt = d["y"]
        out.update(scores(yt, vw_predict(model, files["test_vw"], tmp, readable)))
        out["nnz"] = vw_readable_nnz(readable)
        readable.unlink()
        for cache in tmp.glob(f"vw-{os.getpid()}-*.cache"):
            cache.unlink()
        if not keep_model:
            model.unlink()
    else:
        X, y = load_csr(files["train"])
        fit = _fit_widecross if tool == "widecross" else _fit_sklearn
        # A first fit loads compiled kernels (Numba's cache, scikit-learn's modules): paid once
        # per process, reported apart from the training time.
        w0 = time.perf_counter()
        fit({**run, "epochs": 1}, X[:256], y[:256])
        out["first_fit_overhead_s"] = time.perf_counter() - w0
        w0, c0 = time.perf_counter(), time.process_time()
        est = fit(run, X, y)
        out["fit_cpu_s"], out["fit_wall_s"] = time.process_time() - c0, time.perf_counter() - w0
        out["train_peak_rss_mb"] = peak_rss_mb()
        Xt, yt = load_csr(files["test"])
        out.update(scores(yt, est.predict_proba(Xt)[:, 1]))
        if tool == "widecross":
            indices, values, intercept = est.model_.indices, est.model_.values, est.model_.intercept
        else:
            coef = est.coef_.ravel()
            indices = np.flatnonzero(coef)
            values, intercept = coef[indices], float(est.intercept_[0])
        if keep_model:
            out["estimator"] = est
        out["nnz"] = int(np.count_nonzero(values))
        if with_objective:
            l1 = run["params"].get("l1", run["params"].get("alpha", 0.0))
            l2 = run["params"].get("l2", 0.0)
            out["objective"] = sparse_objective(X, y, indices, values, intercept, l1, l2)
    out["examples_per_cpu_s"] = run["epochs"] * files["n_train"] / out["fit_cpu_s"]
    return out


def run_child(run: dict, files: dict, timeout: float = 7200) -> dict:
    """``fit_score`` in a fresh interpreter: its peak memory is the run's alone."""
    code = f"import json\nfrom benchmarks.harness import fit_score\nprint(json.dumps(fit_score({run!r}, {files!r})))"
    return run_python_measured(code, timeout=timeout)


def load_tool(tool: str, params: dict, train: str) -> None:
    """All a run does but train: import the tool, load its data, fit 256 rows (the tiny first fit
    of ``fit_score``: compiled kernels count in the baseline, not in training)."""
    if tool == "vw":
        import vowpalwabbit  # noqa: F401  (VW reads its data from the file while it trains)
        return
    X, y = load_csr(train)
    fit = _fit_widecross if tool == "widecross" else _fit_sklearn
    fit({"params": params, "epochs": 1}, X[:256], y[:256])


def baseline_child(tool: str, params: dict, files: dict) -> float:
    """Peak RSS of a process that loads a tool and its data and fits 256 rows: all but training."""
    code = f"import json\nfrom benchmarks.harness import load_tool\nload_tool({tool!r}, {params!r}, {files['train']!r})\nprint('{{}}')"
    return run_python_measured(code)["peak_rss_mb"]


def run_here(tools: dict[str, dict], jobs: list[tuple[dict, dict]]) -> tuple[float, list[dict]]:
    """Quick runs: the baseline work of every tool in ``tools`` (name -> params of one of its
    runs), then every run of ``jobs`` (``(run, files)``), in this process: the code of a full run
    without a process start per run. Returns the baseline peak RSS and each run's ``fit_score``;
    memory figures are then this process's high-water mark, not a run's own."""
    for tool, params in tools.items():
        load_tool(tool, params, jobs[0][1]["train"])
    baseline = peak_rss_mb()
    return baseline, [fit_score(run, files) for run, files in jobs]


def mem_available_mb() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return float("inf")


def estimated_mb(run: dict, n_train: int) -> float:
    """A generous guess of a run's peak, to skip runs this machine cannot hold."""
    width = width_of(run["bits"])
    data = n_train * 5 * 8 / 1e6
    if run["tool"] == "vw":
        return 4 * 4 * 2 ** vw_bits(run["bits"]) / 1e6 + 200  # weights and two state floats, stride 4
    if run["tool"] == "sklearn":
        return 3 * 8 * width / 1e6 + 2 * data + 300  # coef_, the L1 penalty record, a copy
    return 3 * data + 300  # training state grows with the columns seen, never the width
