"""One function per command: call the task (``widecross.tasks``), print what it returns."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..tasks import demo, scoring, summary, training
from .._text import size, table
from .output import Console, figure

OK = 0


def _spec(args: argparse.Namespace) -> Any:
    from ..features import geo_spec
    from ..tasks.data import spec_from_file

    if getattr(args, "spec", None):
        return spec_from_file(args.spec)
    return geo_spec(lat=args.lat, lon=args.lon, resolutions=args.resolutions, bits=args.bits, seed=args.hash_seed)


def _estimator(args: argparse.Namespace, spec: Any, **change: Any) -> Any:
    params = dict(l1=args.l1, l2=args.l2, optimizer=args.optimizer, epochs=args.epochs,
                  random_state=args.seed, schedule=args.schedule, polish=args.polish)
    return training.make_estimator(spec, args.loss, rate=args.learning_rate, **{**params, **change})


def gen(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    out = demo.generate(args.out, args.rows, args.seed, args.world_seed, args.chunk_rows, args.bad_fraction)
    seconds, n_bytes = time.perf_counter() - start, out.stat().st_size
    Console(args).result({"path": str(out), "rows": args.rows, "seconds": seconds, "bytes": n_bytes},
                         f"wrote {args.rows:,} rows to {out} ({size(n_bytes)}) in {seconds:.1f} s")
    return OK


def train(args: argparse.Namespace) -> int:
    console = Console(args)
    estimator = _estimator(args, _spec(args))
    with console.progress("train") as bar:
        result = training.train_on_files(estimator, args.data, args.target, args.validation_fraction, args.seed,
                                         args.memory_rows, args.chunk_rows, bar)
    model = result.model
    if model.nnz == 0 and args.l1 > 0:  # a warning, not --quiet's progress: always shown
        print(f"widecross train: warning: --l1 {args.l1:g} removed every weight: the model predicts its "
              "intercept alone; try a smaller --l1 (`widecross path` scans a grid)", file=sys.stderr)
    model.save(args.output, values=args.values)
    n_bytes = Path(args.output).stat().st_size
    rate = result.rows_trained / result.seconds if result.seconds > 0 else float("nan")
    payload = {"model": str(args.output), "rows_per_second": rate, "seconds": result.seconds,
               "n_features": int(model.n_features), "nnz": int(model.nnz), "bytes": n_bytes, "held_out": result.held_out}
    lines = [
        f"trained on {args.data} ({result.rows_trained:,} example visits, {rate:,.0f} rows/s)",
        f"width {model.n_features:,}, nonzero weights {model.nnz:,} ({model.nnz / model.n_features:.4%})",
        f"model written to {args.output} ({size(n_bytes)}, {args.values})",
    ]
    if result.held_out:
        lines.append("held-out " + ", ".join(f"{k} {figure(k, v, 4)}" for k, v in result.held_out.items()))
    console.result(payload, "\n".join(lines))
    return OK


def evaluate(args: argparse.Namespace) -> int:
    console = Console(args)
    with console.progress("evaluate") as bar:
        result = scoring.evaluate(args.model, args.data, args.target, args.chunk_rows, bar)
    console.result(result, "\n".join(f"{k:>10}  {figure(k, v, 6)}" for k, v in result.items()))
    return OK


def predict(args: argparse.Namespace) -> int:
    console = Console(args)
    with console.progress("predict") as bar:
        rows = scoring.predict_to_file(args.model, args.data, args.output, args.keep or (), args.chunk_rows, bar)
    console.result({"path": str(args.output), "rows": rows}, f"wrote {rows:,} predictions to {args.output}")
    return OK


def inspect(args: argparse.Namespace) -> int:
    model, payload = summary.describe(args.model, args.top)
    Console(args).result(payload, summary.describe_text(model, payload))
    return OK


def path(args: argparse.Namespace) -> int:
    from .. import plots

    console = Console(args)
    with console.progress("path", unit="fits") as bar:
        result = training.path_on_files(_estimator(args, None, l1=float(args.l1[0])), _spec(args), args.data, args.target, args.l1,
                                        args.validation_fraction or 0.2, args.seed, bar)
    points, key, best, sparse = result.points, result.key, result.choice.best, result.choice.sparsest
    payload = {"rows": points, "best_l1": points[best]["l1"], "sparsest_good_l1": points[sparse]["l1"],
               "n_train": int(result.X_train.shape[0]), "n_held_out": result.n_held_out}
    text = [table(points, ["l1", "nnz", key, *(["auc"] if "auc" in points[0] else []), "seconds", "regime"]),
            f"\nbest held-out {key}: l1 = {points[best]['l1']:.3g} ({points[best]['nnz']:,} nonzeros)",
            f"sparsest within 0.2 % of it: l1 = {points[sparse]['l1']:.3g} ({points[sparse]['nnz']:,} nonzeros)  <- recommended"]
    if args.png:
        png = plots.plot_path(points, key, best, sparse, Path(args.png))
        if key == "log_loss":
            plots.plot_weight_histograms(png.with_name(png.stem + "_weights.png"), result.X_train, result.y_train,
                                         points[sparse]["l1"], lambda l1, l2: _estimator(args, None, l1=l1, l2=l2))
        payload["png"] = str(png)
        text.append(f"plot written to {png}")
    console.result(payload, "\n".join(text))
    return OK


def map_(args: argparse.Namespace) -> int:
    from ..maps import render_weight_map

    model, keys = scoring.open_model(args.model), None
    if model.spec is not None and model.spec.bits is not None:
        if not args.data:
            raise ValueError(f"{args.model}: the model hashes its features into 2**{model.spec.bits} columns; "
                             "pass --data with (some of) the training data so that the cells can be recovered")
        keys = scoring.record_keys(model, args.data, args.chunk_rows)
    out, layers = render_weight_map(model, args.output, pixel_minutes=args.pixel_minutes, keys=keys)
    Console(args).result({"path": str(out), "layers": {layer.name: layer.n_cells for layer in layers}},
                         f"map written to {out}: " + ", ".join(f"{layer.name} {layer.n_cells:,} cells" for layer in layers))
    return OK


def run_demo(args: argparse.Namespace) -> int:
    console = Console(args)
    with console.progress("train") as bar:
        report = demo.demo(args.out, args.rows, args.bits, args.l1, args.optimizer, args.epochs, args.values, args.seed,
                           bar, console.note)
    console.result(report, demo.describe(report))
    return OK


RUN = {"demo": run_demo, "gen": gen, "train": train, "evaluate": evaluate, "predict": predict, "inspect": inspect,
       "path": path, "map": map_}
