"""Training speed, width independence, streaming and memory against scikit-learn (and VW).

All on the same CSR (generated houses; the 1 degree, 10' and 1' lat x lon crosses and the 1'
marginals, hashed into 2^bits columns), measured side by side in one run:

1. ``width``: widecross ``fit`` (defaults, 5 epochs) and one bare epoch at 2^18, 2^24, 2^28
   columns: the time must not depend on the width (ratio 2^28 / 2^18).
2. ``fit``: examples per second of a 5-epoch ``fit`` (setup and polish included) against
   scikit-learn's ``SGDClassifier(penalty="l1")`` (the settings of the peer table: log loss,
   alpha 1e-7, constant rate 0.2), and held-out log-loss / AUC after one epoch, also against
   Vowpal Wabbit ``--l1`` when the ``vowpalwabbit`` package is installed.
3. ``stream``: 1,000 ``partial_fit`` calls of 1,000 rows at 2^26 columns. scikit-learn pays for
   the whole width on every call, so only its first calls are timed and the per-call median is
   scaled to 1,000 calls (said so in the row).
4. ``rss``: peak resident memory of a fresh process that loads the CSR and trains (5 epochs) at
   2^26 columns, next to a process that only loads it.

Times are medians over ``--repeats`` runs of wall-clock and CPU seconds (single-threaded work).

    python benchmarks/bench_train.py            # 1e6 training rows (several minutes)
    python benchmarks/bench_train.py --quick    # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import format_table, peak_rss_mb, run_python_measured, save_results, timed  # noqa: E402

SKLEARN_PARAMS = dict(loss="log_loss", penalty="l1", alpha=1e-7, learning_rate="constant", eta0=0.2)
VW_ARGS = "--loss_function logistic --l1 1e-7"


def housing(n_rows: int, seed: int = 0) -> dict:
    import data_gen

    return data_gen.generate_housing(n_rows, seed=seed)


def features(rows: dict, bits: int):
    import widecross as wc

    spec = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=bits)
    return spec.transform({"lat": rows["lat"], "lon": rows["lon"]})


def held_out(proba: np.ndarray, y: np.ndarray) -> dict:
    from widecross.metrics import log_loss, roc_auc

    return {"log_loss": log_loss(y, proba), "auc": roc_auc(y, proba)}


def sklearn_sgd(**extra):
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(**SKLEARN_PARAMS, random_state=0, **extra)


def bench_width(train, y, bits_list, repeats) -> list[dict]:
    from widecross import WideClassifier

    # The ratios compare one code path: the sparse layout (slots for touched columns) at every
    # width. layout="auto" picks the dense layout at the smallest width, a faster special case
    # (no slot map; 262k columns hold all the state), shown in its own row.
    out = []
    for bits in bits_list:
        X = features(train, bits)
        for layout in ("sparse", "auto") if bits == bits_list[0] else ("sparse",):
            wall, cpu, clf = timed(lambda: WideClassifier(random_state=0, layout=layout).fit(X, y), repeats)
            wall1, cpu1, _ = timed(
                lambda: WideClassifier(random_state=0, epochs=1, polish=0, layout=layout).fit(X, y), repeats)
            out.append(dict(section="width", tool=f"widecross sgd layout={clf.layout_}", bits=bits, rows=X.shape[0],
                            fit5_wall_s=wall, fit5_cpu_s=cpu, epoch_wall_s=wall1, epoch_cpu_s=cpu1,
                            nnz=clf.model_.nnz, slots=clf._trainer.n_slots))
            print(format_table(out[-1:]).splitlines()[-1], flush=True)
        del X
    base = out[0]
    for row in out:  # CPU seconds: the machine is shared, and wall time counts the neighbours too
        row["fit5_vs_2^18"] = row["fit5_cpu_s"] / base["fit5_cpu_s"]
        row["epoch_vs_2^18"] = row["epoch_cpu_s"] / base["epoch_cpu_s"]
    return out


def vw_rows(X, y, path: Path) -> None:
    """VW text format; integer feature names are used as indices (masked to -b bits)."""
    with open(path, "w") as f:
        for r in range(X.shape[0]):
            cols = X.indices[X.indptr[r] : X.indptr[r + 1]]
            f.write(("1" if y[r] else "-1") + " |f " + " ".join(map(str, cols.tolist())) + "\n")


def bench_vw(X, y, Xt, yt, bits) -> dict | None:
    try:
        import vowpalwabbit
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        vw_rows(X, y, tmp / "train.vw")
        vw_rows(Xt, yt, tmp / "test.vw")
        w0, c0 = time.perf_counter(), time.process_time()
        ws = vowpalwabbit.Workspace(f"-d {tmp / 'train.vw'} {VW_ARGS} -b {bits} -f {tmp / 'm.vw'} --quiet")
        ws.run_parser()
        ws.finish()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        ws = vowpalwabbit.Workspace(f"-t -i {tmp / 'm.vw'} -d {tmp / 'test.vw'} -p {tmp / 'p.txt'} --link logistic --quiet")
        ws.run_parser()
        ws.finish()
        proba = np.loadtxt(tmp / "p.txt", usecols=0)
    return dict(section="fit", tool=f"vw {VW_ARGS} (own parser)", epochs=1, wall_s=wall, cpu_s=cpu,
                examples_per_s=X.shape[0] / cpu, **held_out(proba, yt))


def bench_fit(train, y, test, yt, bits, repeats) -> list[dict]:
    from widecross import WideClassifier

    X, Xt = features(train, bits), features(test, bits)
    n = X.shape[0]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at max_iter
        wall, cpu, sk5 = timed(lambda: sklearn_sgd(max_iter=5, tol=None).fit(X, y), repeats)
        out.append(dict(section="fit", tool="sklearn SGDClassifier l1", epochs=5, wall_s=wall, cpu_s=cpu,
                        examples_per_s=5 * n / cpu, nnz=int(np.count_nonzero(sk5.coef_)),
                        **held_out(sk5.predict_proba(Xt)[:, 1], yt)))
        _, _, sk1 = timed(lambda: sklearn_sgd(max_iter=1, tol=None).fit(X, y), 1)
        out.append(dict(section="fit", tool="sklearn SGDClassifier l1", epochs=1, nnz=int(np.count_nonzero(sk1.coef_)),
                        **held_out(sk1.predict_proba(Xt)[:, 1], yt)))
    sk_rate = out[0]["examples_per_s"]
    for optimizer in ("sgd", "ftrl"):
        for l1 in (1e-6, 1e-7):
            # the default fit (its polish included), then the same without the polish: as many
            # passes over the data as scikit-learn's; one epoch likewise (polish=0: one pass)
            for polish in (None, 0):
                extra = {} if polish is None else {"polish": polish}
                name = f"widecross {optimizer} l1={l1:g}" + ("" if polish is None else " polish=0")
                wall, cpu, clf = timed(
                    lambda: WideClassifier(optimizer=optimizer, l1=l1, random_state=0, **extra).fit(X, y), repeats)
                out.append(dict(section="fit", tool=name, epochs=5, wall_s=wall, cpu_s=cpu,
                                examples_per_s=5 * n / cpu, vs_sklearn=5 * n / cpu / sk_rate, nnz=clf.model_.nnz,
                                **held_out(clf.predict_proba(Xt)[:, 1], yt)))
                one = WideClassifier(optimizer=optimizer, l1=l1, epochs=1, random_state=0, **extra).fit(X, y)
                out.append(dict(section="fit", tool=name, epochs=1, nnz=one.model_.nnz,
                                **held_out(one.predict_proba(Xt)[:, 1], yt)))
                print(format_table(out[-2:]).splitlines()[-1], flush=True)
    # the best single pass: per-coordinate Newton rates, at the peers' l1
    one = WideClassifier(schedule="newton", l1=1e-7, epochs=1, polish=0, random_state=0).fit(X, y)
    out.append(dict(section="fit", tool="widecross sgd newton l1=1e-07 polish=0", epochs=1, nnz=one.model_.nnz,
                    **held_out(one.predict_proba(Xt)[:, 1], yt)))
    vw = bench_vw(X, y, Xt, yt, bits)
    if vw is not None:
        out.append(vw)
    return out


def bench_stream(train, y, bits, calls, batch, sklearn_calls) -> list[dict]:
    from widecross import WideClassifier

    X = features(train, bits)
    chunks = [(X[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]) for i in range(calls)]
    clf = WideClassifier(random_state=0)
    w0, c0 = time.perf_counter(), time.process_time()
    for Xc, yc in chunks:
        clf.partial_fit(Xc, yc, classes=[0, 1])
    nnz = clf.model_.nnz  # publishing included
    ours_wall, ours_cpu = time.perf_counter() - w0, time.process_time() - c0
    sk = sklearn_sgd()
    per_call = []
    for Xc, yc in chunks[:sklearn_calls]:
        t = time.perf_counter()
        sk.partial_fit(Xc, yc, classes=[0, 1])
        per_call.append(time.perf_counter() - t)
    sk_total = statistics.median(per_call) * calls
    return [
        dict(section="stream", tool="widecross sgd", bits=bits, calls=calls, batch=batch, wall_s=ours_wall,
             cpu_s=ours_cpu, per_call_ms=1e3 * ours_wall / calls, nnz=nnz),
        dict(section="stream", tool="sklearn SGDClassifier l1", bits=bits, calls=calls, batch=batch,
             wall_s=sk_total, per_call_ms=1e3 * statistics.median(per_call),
             note=f"median of the first {sklearn_calls} calls x {calls}", speedup=sk_total / ours_wall),
    ]


def rss_runs(path: str, tools: list[str]) -> list[dict]:
    """Load the CSR saved at ``path``, then train each of ``tools`` in turn (5 epochs): seconds and
    the process's peak RSS after each ("data only" trains nothing)."""
    import scipy.sparse as sp

    with np.load(path) as data:
        X = sp.csr_matrix((data["data"], data["indices"], data["indptr"]), shape=tuple(data["shape"]))
        y = data["y"]
    results = []
    for tool in tools:
        t = time.perf_counter()
        if tool == "widecross":
            import widecross as wc

            wc.WideClassifier(random_state=0).fit(X, y)
        elif tool == "sklearn":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sklearn_sgd(max_iter=5, tol=None).fit(X, y)
        # VmHWM belongs to this process image (it restarts at exec), whereas ru_maxrss after fork
        # + exec starts from the parent's peak: a big parent would hide the child's own figure.
        results.append({"seconds": time.perf_counter() - t, "vm_hwm_mb": peak_rss_mb()})
    return results


RSS_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
from benchmarks.bench_train import rss_runs
print(json.dumps({{"results": rss_runs({path!r}, {tools!r})}}))
"""


def bench_rss(train, y, bits, quick: bool = False) -> list[dict]:
    """Peak RSS of fresh processes that load the same CSR from disk and train on it (5 epochs).

    The data is built here and saved, so that each child's peak is its loading plus training,
    not the data generator's; "data only" loads and stops. ``quick``: the three one after another
    in this process (the code of a full run; its peaks are then this process's, not measurements).
    """
    root = str(Path(__file__).resolve().parents[1])
    X = features(train, bits)
    tools = ["data only", "widecross", "sklearn"]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "csr.npz")
        np.savez(path, data=X.data, indices=X.indices, indptr=X.indptr, shape=np.array(X.shape), y=y)
        if quick:
            results = rss_runs(path, tools)
        else:
            results = [run_python_measured(RSS_CHILD.format(root=root, path=path, tools=[tool]))["results"][0]
                       for tool in tools]
        for tool, res in zip(tools, results):
            out.append(dict(section="rss", tool=tool, bits=bits, rows=X.shape[0], peak_rss_mb=res["vm_hwm_mb"],
                            train_s=res["seconds"]))
    base = out[0]["peak_rss_mb"]
    for row in out[1:]:
        row["training_overhead_mb"] = row["peak_rss_mb"] - base
    out[1]["vs_sklearn"] = out[1]["peak_rss_mb"] / out[2]["peak_rss_mb"]
    return out


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data (for tests)")
    parser.add_argument("--rows", type=int, default=None, help="training rows (default 1e6)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--skip", default="", help="comma-separated sections to skip: width,fit,stream,rss")
    args = parser.parse_args(argv)
    quick = args.quick
    n = args.rows or (10_000 if quick else 1_000_000)
    repeats = args.repeats or (1 if quick else 3)
    skip = set(filter(None, args.skip.split(",")))
    data = housing(n + n // 4)
    train = {k: v[:n] for k, v in data.items()}
    test = {k: v[n:] for k, v in data.items()}
    y, yt = train["label"].astype(np.float64), test["label"].astype(np.float64)
    rows: list[dict] = []
    if "width" not in skip:
        rows += bench_width(train, y, (18, 24, 28) if not quick else (18, 28), repeats)
    if "fit" not in skip:
        rows += bench_fit(train, y, test, yt, 24 if not quick else 20, repeats)
    if "stream" not in skip:
        calls, batch = (1000, 1000) if not quick else (20, 500)
        rows += bench_stream(train, y, 26 if not quick else 22, calls, batch, 20 if not quick else 3)
    if "rss" not in skip:
        rows += bench_rss(train, y, 26 if not quick else 20, quick=quick)
    for section in ("width", "fit", "stream", "rss"):
        part = [r for r in rows if r["section"] == section]
        if part:
            columns = list(dict.fromkeys(k for r in part for k in r))
            print(f"\n## {section}\n" + format_table(part, columns))
    params = dict(rows=n, test_rows=n // 4, repeats=repeats, sklearn=SKLEARN_PARAMS, vw=VW_ARGS)
    path = save_results("bench_train", rows, params, quick=quick, results_dir=args.results_dir)
    print(f"saved {path}")
    return rows


if __name__ == "__main__":
    main()
