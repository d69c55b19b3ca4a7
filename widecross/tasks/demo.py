"""Generated data and the end-to-end demo: both need ``data_gen``, the package of seeded
synthetic housing data shipped next to widecross (``pip install widecross[demo]`` installs the
rest). widecross itself never needs it: it is imported here, on use only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import metrics
from .._text import size
from ..io import DEFAULT_CHUNK_ROWS, TableWriter
from .training import fit_reporting


def data_gen() -> Any:
    """The ``data_gen`` package, or an ``ImportError`` that says what it is and how to get it."""
    try:
        import data_gen
    except ImportError:
        raise ImportError(
            "generating data needs the data_gen package, which ships with widecross's source "
            "(install widecross from its source tree, e.g. pip install -e '.[demo]')"
        ) from None
    return data_gen


def generate(path: str | Path, rows: int, seed: int = 0, world_seed: int = 0, chunk_rows: int = DEFAULT_CHUNK_ROWS,
             bad_fraction: float = 0.0) -> Path:
    """Write ``rows`` generated houses to a Parquet or CSV file (by suffix), atomically."""
    gen = data_gen()
    path = Path(path)
    if not path.name.lower().endswith((".parquet", ".pq", ".csv", ".csv.gz")):
        raise ValueError(f"{path}: the output must end in .parquet, .pq, .csv or .csv.gz")
    if path.name.lower().endswith((".csv", ".csv.gz")):
        with TableWriter(path) as writer:
            for first in range(0, rows, chunk_rows):
                n = min(chunk_rows, rows - first)
                writer.write(gen.generate_housing(n, seed=seed, world_seed=world_seed, bad_fraction=bad_fraction,
                                                  start=first))
        return path
    return gen.write_parquet(path, rows, seed=seed, world_seed=world_seed, chunk_rows=chunk_rows,
                             bad_fraction=bad_fraction)


def demo(out: str | Path, rows: int = 1_000_000, bits: int | None = None, l1: float | str = "auto",
         optimizer: str = "sgd", epochs: int = 5, values: str = "float16", seed: int = 0, bar: Any = None,
         note: Callable[[str], None] = lambda message: None) -> dict[str, Any]:
    """Generate houses (20 % held out), train the exact (or hashed) 1 degree / 10' / 1' lat x lon
    model, save it, score it and draw its weights on the globe. Returns the figures."""
    from ..estimators import WideClassifier
    from ..features import geo_spec
    from ..maps import render_weight_map

    gen = data_gen()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_test = max(1, int(rows * 0.2))
    n_train = rows - n_test
    note(f"generating {rows:,} houses around real places (seed {seed}) ...")
    start = time.perf_counter()
    train = gen.generate_housing(n_train, seed=seed)
    test = gen.generate_housing(n_test, seed=seed, start=n_train)
    gen_seconds = time.perf_counter() - start
    spec = geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=bits)
    clf = WideClassifier(spec, l1=l1, optimizer=optimizer, epochs=epochs, random_state=seed)
    kind = "exact" if bits is None else f"hashed into 2^{bits}"
    note(f"training lat x lon crosses at 60', 10', 1' ({kind}, {spec.n_features:,} columns) with l1={l1}, "
         f"{optimizer}, {epochs} epochs ...")
    fit_seconds = fit_reporting(clf, {"lat": train["lat"], "lon": train["lon"]}, train["label"], bar, epochs * n_train)
    model = clf.model_
    model_path = model.save(out / "model.wcm", values=values)
    settings = {"bits": bits, "l1": l1, "l1_fitted": clf.l1_, "epochs": epochs, "values": values}
    model_bytes = Path(model_path).stat().st_size
    start = time.perf_counter()
    probability = model.predict_proba({"lat": test["lat"], "lon": test["lon"]})[:, 1]
    predict_seconds = time.perf_counter() - start
    y = test["label"]
    report = {
        "rows_train": n_train, "rows_held_out": n_test, "width": int(model.n_features), "nnz": int(model.nnz),
        "fraction_kept": model.nnz / model.n_features, "model_bytes": model_bytes,
        "dense_float32_bytes": 4 * int(model.n_features), "bytes_per_nonzero": model_bytes / max(1, model.nnz),
        "train_rows_per_second": n_train * epochs / fit_seconds, "train_seconds": fit_seconds,
        "generate_seconds": gen_seconds,
        "predict_rows_per_second": n_test / predict_seconds if predict_seconds > 0 else float("nan"),
        "held_out_log_loss": metrics.log_loss(y, probability), "held_out_auc": metrics.roc_auc(y, probability),
        "held_out_accuracy": metrics.accuracy(y, (probability > 0.5).astype(y.dtype)),
        "base_rate_log_loss": metrics.log_loss(y, np.full(n_test, float(np.mean(train["label"])))),
        "model_path": str(model_path), "settings": settings,
    }
    if getattr(clf, "l1_path_", None) is not None:
        from ..estimators.auto import summary

        report["l1_auto"] = summary(clf.l1_path_, clf.l1_)
        try:
            from ..plots import plot_l1_path

            report["l1_path_png"] = str(plot_l1_path(clf, out / "l1_path.png"))
        except (ImportError, ValueError) as error:
            note(f"no path picture: {error}")
    try:
        report["map_path"] = str(render_weight_map(model, out / "weights_map.png")[0])
    except ValueError as error:  # a hashed spec cannot be drawn without recorded keys
        note(f"no map: {error}")
    return report


def describe(report: dict[str, Any]) -> str:
    """The demo's report as text."""
    r, s = report, report["settings"]
    kind = "exact" if s["bits"] is None else f"2^{s['bits']} hashed"
    text = f"""widecross demo: lat x lon crosses at 1 degree, 10' and 1' ({kind})
  rows              {r['rows_train']:,} train / {r['rows_held_out']:,} held out (generated in {r['generate_seconds']:.1f} s)
  width             {r['width']:,} columns
  nonzero weights   {r['nnz']:,} ({r['fraction_kept']:.4%} of the width kept, L1 = {s['l1_fitted']:.3g}{' (auto)' if s['l1'] == 'auto' else ''})
  model file        {size(r['model_bytes'])} ({r['bytes_per_nonzero']:.2f} B per nonzero, {s['values']})
                    vs {size(r['dense_float32_bytes'])} for a dense float32 vector ({r['dense_float32_bytes'] / r['model_bytes']:,.0f}x smaller)
  training          {r['train_rows_per_second']:,.0f} rows/s ({s['epochs']} epochs in {r['train_seconds']:.1f} s{', the l1 path included' if s['l1'] == 'auto' else ''}, compile included on a first run)
  held-out          log-loss {r['held_out_log_loss']:.4f} (base rate {r['base_rate_log_loss']:.4f}), AUC {r['held_out_auc']:.4f}, accuracy {r['held_out_accuracy']:.4f}
  prediction        {r['predict_rows_per_second']:,.0f} rows/s from raw lat/lon
  files             {r['model_path']}"""
    if "l1_auto" in r:
        text += f"\n  {r['l1_auto']}"
    if "l1_path_png" in r:
        text += f"\n                    {r['l1_path_png']} (the l1 path, the chosen l1 marked)"
    if "map_path" in r:
        text += f"\n                    {r['map_path']} (weights on the globe: red raises, blue lowers the odds)"
    return text
