"""Model file sizes, the loss of the lossy encodings, inference memory and prediction speed.

A geo model is trained on synthetic houses (data_gen) with ``geo_spec(bits=24)``: by widecross's
``WideClassifier`` when it is available, else by scikit-learn's ``SGDClassifier`` (L1), whose
nonzero weights become a ``SparseModel``. Then, per value encoding: file bytes, bytes per
nonzero (against a dense float32 vector of 2**24 weights and VW's 8 B per nonzero), save/load
times, held-out log-loss and its relative change. Also: the index codecs we considered, sized on
the same ids; RSS growth from loading and predicting with a 1e6-nonzero model in a fresh
process (budget 12 B per nonzero + 20 MB); rows per second predicted from raw lat/lon.

    python -m benchmarks.bench_export            # full run (a few minutes)
    python -m benchmarks.bench_export --quick    # seconds; what the test suite runs
"""

from __future__ import annotations

import argparse
import functools
import json
import lzma
import math
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import format_table, run_python_measured, save_results, timed

WIDTH = 2**24
VW_BYTES_PER_NNZ = 8.0  # VW --predict_only_model: uint32 index + float32 weight


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(np.where(y == 1, np.log(p), np.log1p(-p))))


# ---------------------------------------------------------------------- the model
def train_geo_model(n_train: int, trainer: str) -> tuple[Any, str, float]:
    import widecross as wc
    from data_gen import generate_housing

    spec = wc.geo_spec(bits=24)
    train = generate_housing(n_train, seed=1)
    data = {"lat": train["lat"], "lon": train["lon"]}
    if trainer == "auto":
        try:
            wc.WideClassifier  # noqa: B018
            trainer = "widecross"
        except (AttributeError, ImportError):
            trainer = "sklearn"
    start = time.perf_counter()
    if trainer == "widecross":
        clf = wc.WideClassifier(spec, l1=1e-6, epochs=5, random_state=0)
        clf.fit(data, train["label"])
        model = clf.model_
        name = "widecross WideClassifier(l1=1e-6, epochs=5)"
    else:
        from sklearn.linear_model import SGDClassifier

        X = spec.transform(data)
        clf = SGDClassifier(loss="log_loss", penalty="l1", alpha=1e-7, learning_rate="constant", eta0=0.2,
                            max_iter=5, tol=None, random_state=0)
        clf.fit(X, train["label"])
        coef = clf.coef_.ravel()
        nz = np.flatnonzero(coef)
        model = wc.SparseModel(nz, coef[nz], float(clf.intercept_[0]), spec.n_features, "logistic", spec=spec,
                               classes=[int(c) for c in clf.classes_],
                               metadata={"trainer": "sklearn SGDClassifier", "alpha": 1e-7, "epochs": 5})
        name = "scikit-learn SGDClassifier(l1, alpha=1e-7, eta0=0.2, 5 epochs)"
    return model, name, time.perf_counter() - start


@functools.lru_cache(maxsize=8)  # the sizes and the codecs read the same models
def synthetic_model(nnz: int, width: int, spread: str, seed: int = 0) -> Any:
    """Laplace weights on uniform ids (hashed features: the worst case for gap coding) or on ids
    clustered around populated cells (an exactly indexed geo model)."""
    import widecross as wc

    rng = np.random.default_rng(seed)
    if spread == "uniform":
        ids = np.unique(rng.integers(0, width, int(nnz * 1.05)))
    else:
        centers = rng.integers(0, width, max(nnz // 50, 1))
        ids = np.unique((centers[rng.integers(0, centers.size, 2 * nnz)] + rng.normal(0, 3000, 2 * nnz)).astype(np.int64) % width)
    ids = np.sort(rng.choice(ids, min(nnz, ids.size), replace=False))
    values = rng.laplace(0, 0.2, ids.size).astype(np.float32)
    values[values == 0] = 1e-3
    spec = wc.geo_spec(bits=int(math.log2(width))) if width & (width - 1) == 0 else None
    return wc.SparseModel(ids, values, 0.0, width, "logistic", spec=spec)


# ---------------------------------------------------------------------- sizes and loss
def size_rows(model: Any, label: str, held_out: tuple[dict, np.ndarray] | None, repeats: int, tmp: Path) -> list[dict]:
    import widecross as wc
    from widecross import export

    rows = []
    base_loss = None
    for encoding in ("float32", "float16", "q8"):
        path = tmp / f"model-{encoding}.wcm"
        save_s, _, _ = timed(lambda: export.save(model, path, values=encoding), repeats)
        load_s, _, loaded = timed(lambda: wc.load(path), repeats)
        data = path.read_bytes()
        meta_len, index_len, values_len = (int.from_bytes(data[16 + 16 * i + 4 : 16 + 16 * i + 12], "little") for i in range(3))
        size = len(data)
        row = {
            "model": label,
            "nnz": model.nnz,
            "encoding": encoding,
            "file_bytes": size,
            "B_per_nnz": size / model.nnz,
            "index_B_per_nnz": index_len / model.nnz,
            "values_B_per_nnz": values_len / model.nnz,
            "header_bytes": size - index_len - values_len,
            "x_smaller_than_dense_f32": 4 * model.n_features / size,
            "x_smaller_than_vw": VW_BYTES_PER_NNZ * model.nnz / size,
            "save_s": save_s,
            "load_s": load_s,
        }
        if held_out is not None:
            cols, y = held_out
            loss = log_loss(loaded.predict_proba(cols)[:, 1], y)
            if encoding == "float32":
                base_loss = loss
                exact = np.array_equal(loaded.predict_proba(cols), model.predict_proba(cols))
                row["predictions_equal_in_memory_model"] = bool(exact)
            row["held_out_log_loss"] = loss
            row["log_loss_rel_change"] = (loss - base_loss) / base_loss
        rows.append(row)
    return rows


def leb128(gaps: np.ndarray) -> bytes:
    """Unsigned LEB128 varints of non-negative int64 ``gaps``, vectorized."""
    g = gaps.astype(np.uint64)
    n_bytes = np.ones(g.size, dtype=np.int64)
    rest = g >> np.uint64(7)
    while np.any(rest):
        n_bytes += rest > 0
        rest >>= np.uint64(7)
    ends = np.cumsum(n_bytes)
    out = np.zeros(int(ends[-1]) if g.size else 0, dtype=np.uint8)
    starts = ends - n_bytes
    for j in range(int(n_bytes.max()) if g.size else 0):
        live = n_bytes > j
        byte = (g[live] >> np.uint64(7 * j)) & np.uint64(0x7F)
        more = (n_bytes[live] > j + 1).astype(np.uint64) << np.uint64(7)
        out[starts[live] + j] = (byte | more).astype(np.uint8)
    return out.tobytes()


def codec_rows(ids: np.ndarray, width: int, label: str) -> list[dict]:
    from widecross.model import _rice

    n = ids.size
    gaps = np.diff(ids.astype(np.int64), prepend=-1) - 1
    varints = leb128(gaps)
    low_bits = max(0, int(math.floor(math.log2(width / n))))
    elias_fano_bits = n * low_bits + n + (width >> low_bits) + 1
    p = n / width
    entropy_bits = -(p * math.log2(p) + (1 - p) * math.log2(1 - p)) / p  # geometric gaps
    sizes = {
        "entropy (geometric gaps)": entropy_bits / 8,
        "LEB128 varints": len(varints) / n,
        "LEB128 + zlib -9": len(zlib.compress(varints, 9)) / n,
        "LEB128 + lzma -9e": len(lzma.compress(varints, preset=9 | lzma.PRESET_EXTREME)) / n,
        "Elias-Fano": elias_fano_bits / 8 / n,
        "Rice, k per 64 gaps (chosen)": len(_rice.encode(ids)) / n,
    }
    return [{"ids": label, "nnz": n, "width": width, "codec": k, "B_per_id": v} for k, v in sizes.items()]


# ---------------------------------------------------------------------- memory (child process)
MEMORY_CHILD = r"""
import json, threading, time
import numpy as np
import widecross as wc

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * {page} / 1e6

rng = np.random.default_rng(0)
lat = rng.uniform(-60, 70, {rows}); lon = rng.uniform(-180, 180, {rows})
warm = wc.load({small!r})  # compile / load cached kernels before the baseline
warm.predict_proba({{"lat": lat[:100], "lon": lon[:100]}})
time.sleep(0.2)
baseline = rss()
peak = [baseline]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss()); time.sleep(0.001)
t = threading.Thread(target=sample); t.start()
model = wc.load({big!r})
after_load = rss()
acc = 0.0
for s in range(0, {rows}, 100_000):
    acc += float(model.predict_proba({{"lat": lat[s:s + 100_000], "lon": lon[s:s + 100_000]}})[:, 1].sum())
after = rss()
stop.set(); t.join()
peak[0] = max(peak[0], after)
print(json.dumps({{"nnz": model.nnz, "memory_bytes": model.memory_bytes, "baseline_mb": baseline,
                  "load_growth_mb": after_load - baseline, "growth_mb": after - baseline,
                  "peak_growth_mb": peak[0] - baseline, "checksum": acc}}))
"""


def memory_row(nnz: int, rows: int, tmp: Path) -> dict:
    import os

    big = synthetic_model(nnz, WIDTH, "uniform", seed=1)
    small = synthetic_model(1000, WIDTH, "uniform", seed=2)
    big_path, small_path = tmp / "big.wcm", tmp / "small.wcm"
    big.save(big_path)
    small.save(small_path)
    code = MEMORY_CHILD.format(page=os.sysconf("SC_PAGE_SIZE"), rows=rows, small=str(small_path), big=str(big_path))
    result = run_python_measured(code, timeout=900)
    budget = (12 * nnz + 20e6) / 1e6
    return {
        "nnz": result["nnz"],
        "file_MB": big_path.stat().st_size / 1e6,
        "rows_predicted": rows,
        "model_arrays_MB": result["memory_bytes"] / 1e6,
        "rss_growth_after_load_MB": result["load_growth_mb"],
        "rss_growth_after_predict_MB": result["growth_mb"],
        "rss_peak_growth_MB": result["peak_growth_mb"],
        "peak_B_per_nnz": result["peak_growth_mb"] * 1e6 / result["nnz"],
        "budget_MB": budget,
        "within_budget": result["peak_growth_mb"] <= budget,
    }


# ---------------------------------------------------------------------- prediction speed
def speed_rows(model_path: Path, n_rows: int, repeats: int) -> list[dict]:
    import widecross as wc
    from data_gen import generate_housing

    model = wc.load(model_path)
    houses = generate_housing(n_rows, seed=3)
    cols = {"lat": houses["lat"], "lon": houses["lon"]}
    model.predict_proba({"lat": cols["lat"][:10], "lon": cols["lon"][:10]})  # warm-up
    X = model.spec.transform(cols)
    cases = {
        "predict_proba from raw lat/lon (featurize + look up)": lambda: model.predict_proba(cols),
        "spec.transform only": lambda: model.spec.transform(cols),
        "decision_function on a ready CSR (look-ups only)": lambda: model.decision_function(X),
    }
    rows = []
    for name, fn in cases.items():
        wall, cpu, _ = timed(fn, repeats)
        rows.append({"case": name, "rows": n_rows, "nnz": model.nnz, "wall_s": wall, "cpu_s": cpu,
                     "rows_per_s": n_rows / wall, "rows_per_cpu_s": n_rows / cpu if cpu > 0 else float("nan")})
    return rows


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in seconds")
    parser.add_argument("--results-dir", type=Path, default=None, help="where JSON/Markdown results go")
    parser.add_argument("--trainer", choices=["auto", "widecross", "sklearn"], default="auto")
    args = parser.parse_args(argv)
    q = args.quick
    n_train, n_test = (10_000, 5_000) if q else (1_000_000, 250_000)
    synthetic_nnz = 100_000  # the size budgets are stated at >= 1e5 nonzeros
    memory_nnz, memory_rows = (100_000, 50_000) if q else (1_000_000, 1_000_000)
    speed_n = 10_000 if q else 1_000_000
    repeats = 1 if q else 3
    params = dict(n_train=n_train, n_test=n_test, synthetic_nnz=synthetic_nnz, memory_nnz=memory_nnz,
                  memory_rows=memory_rows, speed_rows=speed_n, repeats=repeats, width=WIDTH)

    from data_gen import generate_housing

    model, trainer, fit_s = train_geo_model(n_train, args.trainer)
    params.update(trainer=trainer, fit_seconds=fit_s)
    test = generate_housing(n_test, seed=2)
    held_out = ({"lat": test["lat"], "lon": test["lon"]}, test["label"])
    print(f"trained: {trainer}: nnz={model.nnz:,} in {fit_s:.1f} s", flush=True)

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        sizes = size_rows(model, "trained geo, 2^24", held_out, repeats, tmp)
        for spread in ("uniform", "clustered"):
            sizes += size_rows(synthetic_model(synthetic_nnz, WIDTH, spread), f"synthetic {spread}, 2^24", None, repeats, tmp)
        exact_width = 235_710_000  # geo_spec(bits=None)
        codecs = codec_rows(model.indices, WIDTH, "trained geo, 2^24")
        codecs += codec_rows(synthetic_model(synthetic_nnz, WIDTH, "uniform").indices, WIDTH, "uniform, 2^24")
        codecs += codec_rows(synthetic_model((1 if q else 3) * synthetic_nnz, exact_width, "clustered").indices, exact_width,
                             "clustered, exact 1' geo width")
        model.save(tmp / "speed.wcm", values="float16")
        speed = speed_rows(tmp / "speed.wcm", speed_n, repeats)
        memory = [memory_row(memory_nnz, memory_rows, tmp)]

    tables = {
        "export_sizes": sizes,
        "export_index_codecs": codecs,
        "export_memory": memory,
        "export_predict": speed,
    }
    for name, rows in tables.items():
        print(f"\n## {name}\n{format_table(rows)}")
        path = save_results(name, rows, params=params, quick=q, results_dir=args.results_dir)
        print(f"(saved {path})")
    trained = {r["encoding"]: r for r in sizes if r["model"].startswith("trained")}
    print(
        "\nTrained model, bytes per nonzero: "
        + ", ".join(f"{e} {r['B_per_nnz']:.2f}" for e, r in trained.items())
        + f"; float32 file is {trained['float32']['x_smaller_than_dense_f32']:.0f}x smaller than a dense float32 "
        f"2^24 vector and {trained['float32']['x_smaller_than_vw']:.2f}x smaller than VW's 8 B/nnz"
    )
    print(json.dumps({"memory_within_budget": memory[0]["within_budget"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
