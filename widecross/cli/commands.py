"""One function per command: call the task (``widecross.tasks``), print what it returns."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..estimators.auto import summary as auto_summary
from ..tasks import demo, scoring, summary, training, weight_map
from ..train.params import default_epochs
from .._text import size, table
from .output import Console, figure

OK = 0


def _spec(args: argparse.Namespace) -> Any:
    from ..features.flags import SPEC_FLAGS
    from ..tasks.data import spec_from_options

    return spec_from_options(args.spec, **{name: getattr(args, name) for name in SPEC_FLAGS})


def _estimator(args: argparse.Namespace, spec: Any, **change: Any) -> Any:
    params = dict(l1=args.l1, l2=args.l2, optimizer=args.optimizer, epochs=_epochs(args),
                  random_state=args.seed, schedule=args.schedule, polish=args.polish, n_jobs=args.jobs)
    return training.make_estimator(spec, args.loss, rate=args.learning_rate, **{**params, **change})


def _epochs(args: argparse.Namespace) -> int:
    return default_epochs(args.optimizer) if args.epochs is None else args.epochs


def gen(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    out = demo.generate(args.out, args.rows, args.seed, args.world_seed, args.chunk_rows, args.bad_fraction)
    seconds, n_bytes = time.perf_counter() - start, out.stat().st_size
    Console(args).result({"path": str(out), "rows": args.rows, "seconds": seconds, "bytes": n_bytes},
                         f"wrote {args.rows:,} rows to {out} ({size(n_bytes)}) in {seconds:.1f} s")
    return OK


def _l1_text(l1: Any, estimator: Any) -> str:
    """How the l1 of a fit reads in a message: the number given, or what auto chose."""
    if isinstance(l1, str):
        return f"--l1 auto (it chose {getattr(estimator, 'l1_', float('nan')):g})"
    return f"--l1 {l1:g}"


def _training_estimator(args: argparse.Namespace) -> tuple[Any, bool]:
    """The estimator ``train`` fits, and whether its labels may be K classes."""
    if args.resume:
        from ..estimators import load_checkpoint

        estimator = load_checkpoint(args.resume).set_params(warm_start=True)
        return estimator, len(getattr(estimator, "classes_", ())) > 2 or bool(args.multi_class)
    change = {}
    if args.multi_class:
        change["multi_class"] = args.multi_class
    if args.class_weight:
        change["class_weight"] = training.parse_class_weight(args.class_weight)
    return _estimator(args, _spec(args), **change), bool(args.multi_class)


def train(args: argparse.Namespace) -> int:
    console = Console(args)
    estimator, multiclass = _training_estimator(args)
    with console.progress("train") as bar:
        result = training.train_on_files(estimator, args.data, args.target, args.validation_fraction, args.seed,
                                         args.memory_rows, args.chunk_rows, bar, multiclass=multiclass)
    model = result.model
    if model.nnz == 0:  # a warning, not --quiet's progress: always shown
        print(f"widecross train: warning: {_l1_text(args.l1, estimator)} removed every weight: the model predicts "
              "its intercept alone; try a smaller --l1 (`widecross path` scans a grid)", file=sys.stderr)
    model.save(args.output, values=args.values)
    if args.checkpoint:
        estimator.save_checkpoint(args.checkpoint)
    n_bytes = Path(args.output).stat().st_size
    rate = result.rows_trained / result.seconds if result.seconds > 0 else float("nan")
    payload = {"model": str(args.output), "rows_per_second": rate, "seconds": result.seconds,
               "n_features": int(model.n_features), "nnz": int(model.nnz), "bytes": n_bytes, "held_out": result.held_out}
    if getattr(model, "n_classes", 2) > 2:
        payload.update(n_classes=model.n_classes, n_indices=model.n_indices)
    lines = [
        f"trained on {args.data} ({result.rows_trained:,} example visits, {rate:,.0f} rows/s)",
        f"width {model.n_features:,}, nonzero weights {model.nnz:,} ({model.nnz / model.n_features:.4%})",
        f"model written to {args.output} ({size(n_bytes)}, {args.values})",
    ]
    if getattr(estimator, "l1_path_", None) is not None:
        lines.insert(0, auto_summary(estimator.l1_path_, estimator.l1_))
        payload["l1"] = estimator.l1_
        payload["l1_path"] = {k: v.tolist() if hasattr(v, "tolist") else v for k, v in estimator.l1_path_.items()}
    if result.held_out:
        lines.append("held-out " + ", ".join(f"{k} {figure(k, v, 4)}" for k, v in result.held_out.items()))
    console.result(payload, "\n".join(lines))
    return OK


def evaluate(args: argparse.Namespace) -> int:
    console = Console(args)
    with console.progress("evaluate") as bar:
        result = scoring.evaluate(args.model, args.data, args.target, args.chunk_rows, bar, args.jobs)
    console.result(result, "\n".join(f"{k:>10}  {figure(k, v, 6)}" for k, v in result.items()))
    return OK


def predict(args: argparse.Namespace) -> int:
    console = Console(args)
    with console.progress("predict") as bar:
        rows = scoring.predict_to_file(args.model, args.data, args.output, args.keep or (), args.chunk_rows, bar,
                                       args.jobs)
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
    one_se = result.choice.one_se
    text = [table(points, ["l1", "nnz", key, *(["auc"] if "auc" in points[0] else []), "seconds", "regime"]),
            f"\nbest held-out {key}: l1 = {points[best]['l1']:.3g} ({points[best]['nnz']:,} nonzeros)  <- chosen "
            "(the rule of l1='auto')",
            f"sparsest within one standard error of it: l1 = {points[one_se]['l1']:.3g} ({points[one_se]['nnz']:,} nonzeros)",
            f"sparsest within 0.2 % of it: l1 = {points[sparse]['l1']:.3g} ({points[sparse]['nnz']:,} nonzeros)"]
    payload["one_se_l1"] = points[one_se]["l1"]
    if args.png:
        png = plots.plot_path(points, key, best, one_se, Path(args.png))
        if key == "log_loss":
            plots.plot_weight_histograms(png.with_name(png.stem + "_weights.png"), result.X_train, result.y_train,
                                         points[best]["l1"], lambda l1, l2: _estimator(args, None, l1=l1, l2=l2))
        payload["png"] = str(png)
        text.append(f"plot written to {png}")
    console.result(payload, "\n".join(text))
    return OK


def map_(args: argparse.Namespace) -> int:
    model, keys = scoring.open_model(args.model), None
    if model.spec is not None and model.spec.bits is not None:
        if not args.data:
            raise ValueError(f"{args.model}: the model hashes its features into 2**{model.spec.bits} columns; "
                             "pass --data with (some of) the training data so that the cells can be recovered")
        keys = scoring.record_keys(model, args.data, args.chunk_rows)
    if getattr(model, "n_classes", 2) > 2:  # one map per class: <output stem>_class-<label>.png
        output = Path(args.output)
        labels = model.classes if model.classes is not None else range(model.n_classes)
        results = {str(label): weight_map.draw_map(model.class_model(k), output.with_name(f"{output.stem}_class-{label}.png"),
                                                   args.pixel_minutes, keys, args.bbox)
                   for k, label in enumerate(labels)}
        Console(args).result({"paths": {label: str(r["path"]) for label, r in results.items()}},
                             "maps written, one per class:\n" + "\n".join(
                                 f"class {label}: " + weight_map.describe_map(r) for label, r in results.items()))
        return OK
    result = weight_map.draw_map(model, args.output, args.pixel_minutes, keys, args.bbox)
    Console(args).result(result, weight_map.describe_map(result))
    return OK


def run_demo(args: argparse.Namespace) -> int:
    console = Console(args)
    with console.progress("train") as bar:
        report = demo.demo(args.out, args.rows, args.bits, args.l1, args.optimizer, _epochs(args), args.values, args.seed,
                           bar, console.note)
    console.result(report, demo.describe(report))
    return OK


RUN = {"demo": run_demo, "gen": gen, "train": train, "evaluate": evaluate, "predict": predict, "inspect": inspect,
       "path": path, "map": map_}
