"""The exact L1 solver against liblinear and skglm, and the regularization path.

Data: generated houses (``data_gen.generate_housing(rows, seed=0)``) on the geo crosses
(``wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=22)``); every tool reads the
same CSR restricted to the columns in use (the peers' best case: their time grows with the
width). Objective: F(w, b) = mean logistic loss + l1 ||w||_1, intercept unpenalized.

- ``exact``, for l1 in {1e-6, 1e-5}:
  - liblinear (scikit-learn, L1, tol ``--liblinear-tol``, C = 1 / (n l1), intercept scaling
    1e4 so that its intercept is practically free): its optimum is the reference. At 1M rows it
    takes 10-25 minutes on a shared 2-core machine, so ``--reference DIR`` keeps it in
    ``DIR/liblinear_<l1>.npz`` (w, b, f, cpu) and reuses it when its objective, recomputed on
    this run's data, is the stored one (the same data and the same optimum);
  - skglm ``SparseLogisticRegression(alpha=l1, tol=1e-6)`` (working sets, prox-Newton), as it
    comes and with the BLAS held to one thread (``threadpoolctl``: the threaded BLAS's idle
    threads spin on the other core and count in its CPU time); ``cpu_over_skglm`` and
    ``cpu_over_skglm_1blas`` are widecross's CPU time over each;
  - widecross ``cd``: the exact solver from zero, stopping on skglm's own criterion (its
    ``tol=1e-6`` bounds the largest KKT violation; widecross's ``tol`` is relative to l1, so
    ``tol = 1e-6 / l1``); its time includes building the problem (the row order, identical rows
    folded into one weighted row, the column view): ``build_cpu_s`` and ``solve_cpu_s`` split
    it, ``problem_rows`` are the rows left after folding; ``cd unfolded`` is the same with
    folding turned off (``make_problem(fold=False)``);
  - widecross ``sgd1+cd``: one SGD epoch of the default estimator (``polish=0``), then ``cd``;
  - widecross's default fit (5 epochs + polish) for reference.
  The last four run ``--repeats`` times, alternated in one process (side by side); CPU seconds
  are medians. ``gap`` is F / F_liblinear - 1, ``nnz_ratio`` the nonzeros over liblinear's,
  ``certified_gap`` the duality gap widecross returns over F (an upper bound on F / F* - 1).
- ``path``: ``--path-points`` l1 values from l1_max (the smallest that zeroes every weight) down
  to ``--path-min``, each started from the previous solution, on skglm's criterion at each point
  (``kkt_over_l1``: the largest violation over l1; where 1e-6 exceeds l1 that criterion is
  looser than l1 itself and a point can be accepted as it comes); time per point, nonzeros and
  objective, against one skglm fit at the smallest l1 (its BLAS held to one thread), run in a
  child process that is stopped after ``--skglm-timeout`` seconds (then its CPU so far is a
  lower bound).

    python benchmarks/bench_solver.py --reference DIR   # 1M rows
    python benchmarks/bench_solver.py --quick           # seconds
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, save_results  # noqa: E402
from benchmarks.harness import objective  # noqa: E402

SKGLM_TOL = 1e-6
SKGLM_ONE_BLAS = "skglm tol 1e-6, BLAS 1 thread"


def geo_data(n_rows: int, bits: int) -> tuple[sp.csr_matrix, np.ndarray]:
    import data_gen
    import widecross as wc

    rows = data_gen.generate_housing(n_rows, seed=0)
    spec = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=bits)
    return spec.transform({"lat": rows["lat"], "lon": rows["lon"]}), rows["label"].astype(np.float64)


def used_columns(X: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """``X`` restricted to its used columns (float64) and their ids."""
    cols, inverse = np.unique(X.indices, return_inverse=True)
    Xc = sp.csr_matrix((X.data.astype(np.float64), inverse.astype(np.int32), X.indptr), shape=(X.shape[0], cols.size))
    return Xc, cols


def cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


# ---------------------------------------------------------------------------------- the tools
def liblinear(X, y, l1: float, tol: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(solver="liblinear", l1_ratio=1.0, C=1.0 / (X.shape[0] * l1), tol=tol,
                                intercept_scaling=1e4, max_iter=1000, random_state=0).fit(X, y)
    return lr.coef_.ravel(), float(lr.intercept_[0])


def liblinear_reference(X, y, l1: float, tol: float, directory: Path | None) -> tuple[np.ndarray, float, float, str]:
    """liblinear's optimum (w, b), its CPU seconds and where it came from: ``directory``'s copy
    when its objective on these rows is the stored one to 1e-12, else a fresh fit (saved there)."""
    path = directory / f"liblinear_{l1:g}.npz" if directory is not None else None
    if path is not None and path.exists():
        kept = np.load(path)
        w, b = kept["w"], float(kept["b"])
        if w.shape == (X.shape[1],) and abs(objective(X, y, w, b, l1) / float(kept["f"]) - 1) < 1e-12:
            return w, b, float(kept["cpu"]), "kept from an earlier run"
        print(f"{path} does not match this data: fitting liblinear again", flush=True)
    seconds, (w, b) = cpu(lambda: liblinear(X, y, l1, tol))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, w=w, b=b, f=objective(X, y, w, b, l1), cpu=seconds)
    return w, b, seconds, "this run"


def skglm_fit(X, y, l1: float) -> tuple[np.ndarray, float]:
    from skglm import SparseLogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = SparseLogisticRegression(alpha=l1, tol=SKGLM_TOL, max_iter=50).fit(X, y)
    return est.coef_.ravel(), float(np.ravel(est.intercept_)[0])


def skglm_fit_one_blas_thread(X, y, l1: float) -> tuple[np.ndarray, float]:
    """``skglm_fit`` with the BLAS held to one thread: NumPy products of long vectors call the
    threaded BLAS, whose idle threads spin on the other core and count in the process's CPU
    time (the exact solver avoids them); this is skglm without that cost."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return skglm_fit(X, y, l1)


def cd_fit(X, y, l1: float, weights=None, intercept=None, fold: bool = True):
    from widecross.train import exact as _solver

    p = _solver.make_problem(X.indptr, X.indices, X.data, y, np.empty(0), "logistic", X.shape[1], fold=fold)
    s = _solver.solve(p, l1, 0.0, weights, intercept, tol=SKGLM_TOL / l1)
    return s.weights, s.intercept, s, p.n_rows


def sgd_then_cd(X, y, l1: float):
    """One epoch of the default estimator on the used columns, then the exact solver from there."""
    import widecross as wc
    from widecross.train import exact as _solver

    est = wc.WideClassifier(l1=l1, epochs=1, polish=0, random_state=0).fit(X, y)
    trainer = est._trainer
    rows = trainer.lookup(X, y)
    problem = _solver.make_problem(*rows.arrays, "logistic", trainer.n_slots)
    s = _solver.solve(problem, l1, 0.0, trainer.slot_weights(), trainer.intercept(), tol=SKGLM_TOL / l1)
    columns, values = trainer.coefficients(s.weights)
    w = np.zeros(X.shape[1])
    w[columns] = values
    return w, s.intercept, s


AGAINST_CHILD = """
import json, sys, time
import numpy as np, scipy.sparse as sp
# the exported package first, an editable install of the working tree bypassed
sys.meta_path = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path.insert(0, sys.argv[1])
from widecross.train import exact as solver
assert solver.__file__.startswith(sys.argv[1]), solver.__file__
d = np.load(sys.argv[2])
X = sp.csr_matrix((d["data"], d["indices"], d["indptr"]), shape=tuple(d["shape"]))
y, l1 = d["y"], float(sys.argv[3])

def fit(X, y, l1):
    p = solver.make_problem(X.indptr, X.indices, X.data, y, np.empty(0), "logistic", X.shape[1])
    return solver.solve(p, l1, 0.0, tol=float(d["tol"]) / l1)

fit(X[:2000], y[:2000], 1e-3)  # compile (or load) outside the timing
t = time.process_time()
s = fit(X, y, l1)
seconds = time.process_time() - t
np.savez(sys.argv[4], w=s.weights, b=s.intercept)
print(json.dumps(dict(cpu_s=seconds)), flush=True)
"""


def against_fit(root: Path, data: Path, l1: float) -> tuple[float, tuple]:
    """``cd_fit`` of another version of widecross (its package under ``root``) in a child
    process on the rows saved in ``data``: (its CPU seconds for the fit alone, (w, b)).
    (``common.run_at_revision`` exports the package afresh per call: its kernels would compile
    in every round; here one export serves every round.)"""
    out = data.with_name("against_out.npz")
    text = subprocess.run([sys.executable, "-c", AGAINST_CHILD, str(root), str(data), repr(l1), str(out)],
                          capture_output=True, text=True, check=True).stdout
    seconds = [json.loads(line) for line in text.splitlines() if line.startswith("{")][-1]["cpu_s"]
    kept = np.load(out)
    return seconds, (kept["w"], float(kept["b"]))


def against_version(rev: str, directory: Path, X, y) -> tuple[Path, Path]:
    """The package of git revision ``rev`` and this run's rows, written under ``directory``."""
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev, "widecross"], capture_output=True, check=True)
    root = directory / "against"
    root.mkdir()
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    data = directory / "rows.npz"
    np.savez(data, data=X.data, indices=X.indices, indptr=X.indptr, shape=np.array(X.shape), y=y, tol=SKGLM_TOL)
    return root, data


def default_fit(X_wide, y, l1: float, cols: np.ndarray):
    import widecross as wc

    model = wc.WideClassifier(l1=l1, random_state=0).fit(X_wide, y).model_
    w = np.zeros(cols.size)
    w[np.searchsorted(cols, model.indices)] = model.values
    return w, float(model.intercept)


def warm_up(X, y, X_wide, cols, have_skglm: bool) -> None:
    """Compile (or load) every tool's kernels on a small sample, outside the timings."""
    n = min(2000, X.shape[0])
    Xs, ys = X[:n], y[:n]
    cd_fit(Xs, ys, 1e-3)
    copies = np.arange(n) % max(n // 2, 1)
    cd_fit(Xs[copies], ys[copies], 1e-3)  # the folding kernels too
    sgd_then_cd(Xs, ys, 1e-3)
    default_fit(X_wide[:n], ys, 1e-3, cols)
    if have_skglm:
        skglm_fit(Xs, ys, 1e-3)


# ---------------------------------------------------------------------------------- sections
def exact_section(X, y, X_wide, cols, l1s, repeats: int, liblinear_tol: float, have_skglm: bool,
                  reference: Path | None, against: tuple[str, Path, Path] | None = None,
                  only: str | None = None) -> list[dict]:
    rows: list[dict] = []
    for l1 in l1s:
        w_ref, b_ref, seconds, source = liblinear_reference(X, y, l1, liblinear_tol, reference)
        f_ref, nnz_ref = objective(X, y, w_ref, b_ref, l1), int(np.count_nonzero(w_ref))
        rows.append(dict(section="exact", l1=l1, tool=f"liblinear tol {liblinear_tol:g} ({source})", objective=f_ref,
                         gap=0.0, nnz=nnz_ref, nnz_ratio=1.0, cpu_s=seconds))
        print(format_table(rows[-1:]).splitlines()[-1], flush=True)
        tools: dict[str, Callable[[], tuple]] = {}
        if have_skglm:
            tools["skglm tol 1e-6"] = lambda: skglm_fit(X, y, l1)
            tools[SKGLM_ONE_BLAS] = lambda: skglm_fit_one_blas_thread(X, y, l1)
        tools["widecross cd"] = lambda: cd_fit(X, y, l1)
        tools["widecross cd unfolded"] = lambda: cd_fit(X, y, l1, fold=False)
        self_timed = set()
        if against is not None:  # the same solver at another revision, alternated with this one
            rev, root, data = against
            self_timed.add(f"widecross cd at {rev}")
            tools[f"widecross cd at {rev}"] = lambda: against_fit(root, data, l1)
        tools["widecross sgd1+cd"] = lambda: sgd_then_cd(X, y, l1)
        tools["widecross default fit"] = lambda: default_fit(X_wide, y, l1, cols)
        if only:
            keep = tuple(only.split(","))
            tools = {name: fit for name, fit in tools.items() if name.startswith(keep)}
        times: dict[str, list[float]] = {name: [] for name in tools}
        solve_times: dict[str, list[float]] = {name: [] for name in tools}
        last: dict[str, tuple] = {}
        for _ in range(repeats):
            for name, fit in tools.items():  # side by side: one run of each tool per round
                last[name] = None
                seconds, last[name] = fit() if name in self_timed else cpu(fit)
                times[name].append(seconds)
                if len(last[name]) > 3:  # the solve's own time: the rest built the problem
                    solve_times[name].append(last[name][2].cpu_seconds)
        for name, out in last.items():
            w, b = out[0], out[1]
            f = objective(X, y, w, b, l1)
            row = dict(section="exact", l1=l1, tool=name, objective=f, gap=f / f_ref - 1,
                       nnz=int(np.count_nonzero(w)), nnz_ratio=np.count_nonzero(w) / nnz_ref,
                       cpu_s=statistics.median(times[name]), cpu_runs=[round(t, 3) for t in times[name]])
            if len(out) > 2:
                row.update(certified_gap=out[2].gap / out[2].objective, iterations=out[2].iterations,
                           newton_steps=out[2].newton_steps, sweeps=out[2].cd_sweeps)
            if len(out) > 3:
                solve = statistics.median(solve_times[name])
                build = statistics.median(t - u for t, u in zip(times[name], solve_times[name]))
                row.update(problem_rows=out[3], build_cpu_s=build, solve_cpu_s=solve)
            if name.startswith("widecross"):
                for peer, column in (("skglm tol 1e-6", "cpu_over_skglm"), (SKGLM_ONE_BLAS, "cpu_over_skglm_1blas")):
                    if peer in times:
                        row[column] = row["cpu_s"] / statistics.median(times[peer])
            rows.append(row)
            print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    return rows


SKGLM_CHILD = """
import json, sys, time, warnings
import numpy as np, scipy.sparse as sp
from skglm import SparseLogisticRegression
d = np.load(sys.argv[1])
X = sp.csr_matrix((d["data"], d["indices"], d["indptr"]), shape=tuple(d["shape"]))
y, l1 = d["y"], float(d["l1"])
warnings.simplefilter("ignore")
SparseLogisticRegression(alpha=1e-3, tol=1e-4).fit(X[:2000], y[:2000])  # compile outside the timing
print(json.dumps(dict(setup_cpu_s=time.process_time())), flush=True)
t = time.process_time()
est = SparseLogisticRegression(alpha=l1, tol=float(d["tol"]), max_iter=50).fit(X, y)
seconds = time.process_time() - t
w, b = est.coef_.ravel(), float(np.ravel(est.intercept_)[0])
m = X @ w + b
f = float(np.mean(np.logaddexp(0.0, m) - y * m) + l1 * np.abs(w).sum())
print(json.dumps(dict(cpu_s=seconds, objective=f, nnz=int(np.count_nonzero(w)))), flush=True)
"""


def skglm_child(X, y, l1: float, timeout: float) -> dict:
    """One skglm fit in a child process, stopped after ``timeout`` wall seconds: then its CPU
    seconds so far (from the kernel's account of the reaped child, less its set-up) are a
    lower bound of its time."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.npz"
        np.savez(path, data=X.data, indices=X.indices, indptr=X.indptr, shape=np.array(X.shape), y=y, l1=l1,
                 tol=SKGLM_TOL)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            # the BLAS held to one thread: its idle threads would spin and count as skglm's CPU
            # time (``skglm_fit_one_blas_thread``), which would flatter the comparison
            out = subprocess.run([sys.executable, "-c", SKGLM_CHILD, str(path)], capture_output=True, text=True,
                                 timeout=timeout, check=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1")).stdout
            lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
            return dict(lines[-1], finished=True)
        except subprocess.TimeoutExpired as stopped:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            text = stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else (stopped.stdout or "")
            setup = [json.loads(line)["setup_cpu_s"] for line in text.splitlines() if "setup_cpu_s" in line]
            used = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            return dict(cpu_s=used - (setup[0] if setup else 0.0), finished=False)


def path_section(X, y, points: int, smallest: float, have_skglm: bool, skglm_timeout: float) -> list[dict]:
    from widecross.train import exact as _solver

    rows: list[dict] = []
    t0 = time.process_time()
    p = _solver.make_problem(X.indptr, X.indices, X.data, y, np.empty(0), "logistic", X.shape[1])
    grid = _solver.l1_grid(_solver.l1_max(p), smallest, points)
    setup = time.process_time() - t0
    total = setup
    w, b = None, None
    for l1 in grid:
        s = _solver.solve(p, float(l1), 0.0, w, b, tol=SKGLM_TOL / l1)
        w, b = s.weights, s.intercept
        total += s.cpu_seconds
        rows.append(dict(section="path", tool="widecross cd path", l1=float(l1), objective=s.objective, nnz=s.nnz,
                         cpu_s=s.cpu_seconds, cumulative_cpu_s=total, kkt_over_l1=s.kkt / l1,
                         certified_gap=s.gap / s.objective, iterations=s.iterations, sweeps=s.cd_sweeps))
        print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    rows.append(dict(section="path", tool=f"widecross cd path, {points} points (with set-up)", l1=float(smallest),
                     cpu_s=total, setup_cpu_s=setup))
    if have_skglm:
        out = skglm_child(X, y, smallest, skglm_timeout)
        name = "skglm tol 1e-6, one fit" + ("" if out.pop("finished") else f" (stopped after {skglm_timeout:g} s wall)")
        rows.append(dict(section="path", tool=name, l1=float(smallest), **out))
    print(format_table(rows[-2:]), flush=True)
    return rows


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data, one repeat (for tests)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--bits", type=int, default=22)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--liblinear-tol", type=float, default=1e-6)
    parser.add_argument("--reference", type=Path, default=None, help="keep / reuse liblinear's optima here")
    parser.add_argument("--skglm-timeout", type=float, default=None,
                        help="wall seconds for skglm's fit at the path's smallest l1 (default 1800, quick 30)")
    parser.add_argument("--path-points", type=int, default=20)
    parser.add_argument("--path-min", type=float, default=None)
    parser.add_argument("--sections", default="exact,path")
    parser.add_argument("--against", default=None, metavar="REV",
                        help="also time the exact solver of this git revision (a child process), alternated")
    parser.add_argument("--tools", default=None,
                        help="comma-separated prefixes of the exact section's tools to run (default: all)")
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--name", default=None, help="save the results under this name (default: from the sections)")
    args = parser.parse_args(argv)
    n_rows = args.rows or (20_000 if args.quick else 1_000_000)
    repeats = args.repeats or (1 if args.quick else 3)
    # at a twentieth of the rows the same per-row penalty is 20 times the l1
    l1s = (1e-4, 1e-3) if args.quick else (1e-6, 1e-5)
    smallest = args.path_min or (1e-6 if args.quick else 1e-8)
    skglm_timeout = args.skglm_timeout or (30.0 if args.quick else 1800.0)
    try:
        import skglm  # noqa: F401

        have_skglm = True
    except ImportError:
        have_skglm = False
        print("skglm is not installed (pip install skglm): its rows are left out", flush=True)

    load_start = [round(v, 2) for v in os.getloadavg()]
    X_wide, y = geo_data(n_rows, args.bits)
    X, cols = used_columns(X_wide)
    print(f"{n_rows:,} rows, {X.nnz:,} entries, {cols.size:,} columns in use of 2^{args.bits}", flush=True)
    warm_up(X, y, X_wide, cols, have_skglm)
    rows: list[dict] = []
    sections = args.sections.split(",")
    if "exact" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            against = (args.against, *against_version(args.against, Path(tmp), X, y)) if args.against else None
            rows += exact_section(X, y, X_wide, cols, l1s, repeats, args.liblinear_tol, have_skglm, args.reference,
                                  against, args.tools)
    if "path" in sections:
        rows += path_section(X, y, args.path_points, smallest, have_skglm, skglm_timeout)
    columns = ["section", "l1", "tool", "objective", "gap", "nnz", "nnz_ratio", "cpu_s", "build_cpu_s", "solve_cpu_s",
               "problem_rows", "cpu_over_skglm",
               "cumulative_cpu_s", "kkt_over_l1", "certified_gap", "iterations", "sweeps"]
    print(format_table(rows, columns))
    params = dict(rows=n_rows, bits=args.bits, repeats=repeats, columns_in_use=int(cols.size), entries=int(X.nnz),
                  liblinear_tol=args.liblinear_tol, skglm_tol=SKGLM_TOL, path_points=args.path_points,
                  path_min=smallest, sections=sections, against=args.against, tools=args.tools, data="data_gen.generate_housing(rows, seed=0)",
                  spec="geo_spec(resolutions=(60, 10, 1), bits)",
                  machine="2-core shared machine, other work running beside (CPU seconds, not wall)",
                  load_average_start=load_start, load_average_end=[round(v, 2) for v in os.getloadavg()])
    # a partial or comparing run is saved apart, never over the full run's figures
    name = args.name or "bench_solver" + ("" if sections == ["exact", "path"] else "_" + "_".join(sections)) \
        + (f"_against_{args.against}" if args.against else "")
    path = save_results(name, rows, params, quick=args.quick, results_dir=args.results_dir)
    print(f"saved {path}")
    return rows


if __name__ == "__main__":
    main()
