"""The ``widecross`` command line: demo, gen, train, evaluate, predict, inspect, path, map.

Results go to stdout (``--json`` for machines); progress goes to stderr, only on a terminal and
never with ``--quiet``. Exit codes: 0 success, 1 a data or model error (one line naming the file,
column or row), 2 a usage error.

>>> main(["inspect", "model.wcm"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ._version import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
DEFAULT_CHUNK_ROWS = 1_000_000
# Data sets up to this many rows are read into memory and trained with `fit` (global shuffling
# across all rows); larger ones stream chunk by chunk.
DEFAULT_MEMORY_ROWS = 20_000_000


class CommandError(Exception):
    """An expected failure: reported as one line, exit code 1."""


class UsageError(Exception):
    """Options that do not go together: reported like argparse's errors, exit code 2."""


# ---------------------------------------------------------------------------------------------
# Output helpers


class Console:
    """Where each kind of output goes: results to stdout, progress and notes to stderr."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.quiet = bool(getattr(args, "quiet", False))
        self.as_json = bool(getattr(args, "json", False))

    def progress(self, total: int | None = None, label: str = "", unit: str = "rows") -> Any:
        from ._progress import Progress

        return Progress(total=total, label=label, unit=unit, enabled=None if not self.quiet else False)

    def note(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)

    def result(self, payload: dict[str, Any], text: str) -> None:
        if self.as_json:
            print(json.dumps(payload, indent=2, default=_json_default))
        else:
            print(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
                return f"{value:.3g}"
            return f"{value:.4f}"
        if isinstance(value, (int, np.integer)):
            return f"{value:,}"
        return str(value)

    body = [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in body)) if body else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in body]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _parse_resolutions(text: str) -> tuple[float, ...]:
    if text.strip().lower() == "none":
        return ()  # no lat/lon crosses: the other feature flags (or --spec) describe the columns
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"resolutions must be comma-separated minutes, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("resolutions must name at least one resolution")
    return tuple(int(v) if v == int(v) else v for v in values)


def _parse_bits(text: str) -> int | None:
    if text.lower() in ("exact", "none"):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--bits takes an integer or 'exact', got {text!r}") from None


def _bits_flag(text: str) -> str:
    """--bits as given (None stays "not given"), once the library has accepted it."""
    from .features.flags import parse_bits

    try:
        parse_bits(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    from .maps import parse_region

    try:
        return parse_region(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parse_l1_grid(text: str) -> np.ndarray:
    """``start:stop:count`` (log-spaced, either order) or a comma-separated list."""
    try:
        if ":" in text:
            start, stop, count = text.split(":")
            low, high, n = float(start), float(stop), int(count)
            if low <= 0 or high <= 0 or n < 2:
                raise ValueError
            grid = np.geomspace(low, high, n)
        else:
            grid = np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--l1 takes start:stop:count with positive bounds and count >= 2 (e.g. 1e-8:1e-3:12) "
            f"or a comma-separated list, got {text!r}"
        ) from None
    if np.any(grid < 0) or not np.all(np.isfinite(grid)):
        raise argparse.ArgumentTypeError(f"--l1 values must be finite and >= 0, got {text!r}")
    return np.sort(grid)[::-1]  # strongest first: warm starts then add weights gradually


def _build_spec(args: argparse.Namespace) -> Any:
    from .features.flags import SPEC_FLAGS, ConflictingOptions, spec_from_flags

    text = None
    if args.spec:
        try:
            text = Path(args.spec).read_text()
        except OSError as error:
            raise CommandError(f"{args.spec}: cannot read the spec ({error.strerror or error})") from None
    try:
        return spec_from_flags(text, **{name: getattr(args, name) for name in SPEC_FLAGS})
    except ConflictingOptions as error:
        raise UsageError(str(error)) from None
    except ValueError as error:
        raise CommandError(f"{args.spec}: not a valid feature spec: {error}" if text is not None else str(error)) from None


def _fit_spec(spec: Any, data: Any) -> None:
    """Learn the spec's vocabularies and scales (--categorical, --tokens, --numeric COL:standard)."""
    if spec.learns:
        spec.fit_chunks(data) if isinstance(data, Iterator) else spec.fit(data)


def _estimator(args: argparse.Namespace, spec: Any, loss: str) -> Any:
    from .estimators import WideClassifier, WideRegressor

    params: dict[str, Any] = dict(l1=args.l1, l2=args.l2, optimizer=args.optimizer, epochs=args.epochs, random_state=args.seed,
                                  schedule=args.schedule, polish=args.polish)
    if args.learning_rate is not None:
        # FTRL's per-coordinate rate is alpha / (beta + sqrt(n)): alpha is its learning rate.
        params["alpha" if args.optimizer == "ftrl" else "learning_rate"] = args.learning_rate
    if loss == "logistic":
        return WideClassifier(spec, **params)
    return WideRegressor(spec, loss=loss, **params)


def _target(chunk: dict[str, np.ndarray], column: str, source: Any) -> np.ndarray:
    values = chunk[column]
    if values.dtype.kind not in "biuf":
        raise CommandError(f"{source}: target column {column!r} is not numeric (dtype {values.dtype})")
    return values


def _source_name(source: Any) -> str:
    if isinstance(source, (list, tuple)):
        return ", ".join(str(p) for p in source) if len(source) <= 3 else f"{source[0]} (+{len(source) - 1} more files)"
    return str(source)


def _chunks(source: Any, columns: Sequence[str], chunk_rows: int) -> Any:
    """Yield ``(first_row, chunk)``: rows counted from 0 over the whole data set, file after file."""
    from . import io

    first = 0
    for chunk in io.iter_chunks(source, columns, chunk_rows):
        yield first, chunk
        first += len(next(iter(chunk.values())))


class _RowContext:
    """Re-raise a data error from one chunk with the data set's name and the chunk's row span.

    Messages from the library count rows within what it was given; here that is one chunk, so
    the span turns them into rows of the data set.
    """

    def __init__(self, source: Any, first: int, n_rows: int) -> None:
        self.source, self.first, self.n_rows = source, first, n_rows

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> bool:
        if isinstance(error, (ValueError, TypeError)) and not isinstance(error, CommandError):
            span = f"rows {self.first:,}-{self.first + self.n_rows - 1:,}"
            detail = f" (row numbers below count from row {self.first:,})" if self.first else ""
            raise CommandError(f"{_source_name(self.source)}: {span}{detail}: {error}") from None
        return False


def _check_labels(y: np.ndarray, column: str, source: Any, first_row: int = 0) -> None:
    """0/1 labels for logistic training, else name the first offending row of the data set."""
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        classes = np.unique(y[~np.isnan(y)] if y.dtype.kind == "f" else y)
        shown = ", ".join(repr(c.item()) for c in classes[:5]) + (", ..." if classes.size > 5 else "")
        raise CommandError(
            f"{_source_name(source)}: target column {column!r} must hold 0/1 labels (found {classes.size} classes: {shown}); "
            f"{int(bad.sum()):,} row(s) do not, first at row {first_row + row:,} ({y[row].item()!r})"
        )


def _split_holdout(n_rows: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    held_out = rng.random(n_rows) < fraction
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def _take(columns: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[rows] for name, values in columns.items()}


def _metrics(loss: str, y: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    from . import metrics

    if loss == "logistic":
        out = {"log_loss": metrics.log_loss(y, prediction), "accuracy": metrics.accuracy(y, (prediction > 0.5).astype(y.dtype))}
        try:
            out["auc"] = metrics.roc_auc(y, prediction)
        except ValueError:
            out["auc"] = float("nan")
        return out
    residual_var = float(np.var(y))
    rmse = metrics.rmse(y, prediction)
    return {"rmse": rmse, "mae": metrics.mae(y, prediction), "r2": 1.0 - rmse**2 / residual_var if residual_var > 0 else float("nan")}


def _predict_scores(model: Any, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Probability of class 1 for logistic models, the prediction otherwise."""
    if model.loss == "logistic":
        return model.predict_proba(columns)[:, 1]
    return model.predict(columns)


def _fit(estimator: Any, data: Any, y: np.ndarray, console: Console, label: str) -> float:
    """Fit with a per-epoch progress line when the estimator reports epochs; returns seconds."""
    start = time.perf_counter()
    epochs = int(getattr(estimator, "epochs", 1) or 1)
    with console.progress(total=epochs * len(y), label=label) as bar:
        callback = getattr(estimator, "set_epoch_callback", None)
        if callable(callback):
            callback(lambda epoch, rows, loss: bar.update(rows, loss=float(loss)))
        try:
            estimator.fit(data, y)
        finally:
            if callable(callback):
                callback(None)
    return time.perf_counter() - start


def _load_model(path: str) -> Any:
    from .export import load

    if not Path(path).exists():
        raise CommandError(f"{path}: no such model file")
    return load(path)


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_gen(args: argparse.Namespace) -> int:
    import data_gen

    console = Console(args)
    start = time.perf_counter()
    out = Path(args.out)
    if not out.name.lower().endswith((".parquet", ".pq", ".csv", ".csv.gz")):
        raise CommandError(f"{out}: the output must end in .parquet, .pq, .csv or .csv.gz")
    if out.name.lower().endswith((".csv", ".csv.gz")):
        from .io import TableWriter

        with TableWriter(out) as writer:
            for first in range(0, args.rows, args.chunk_rows):
                n = min(args.chunk_rows, args.rows - first)
                writer.write(data_gen.generate_housing(n, seed=args.seed, world_seed=args.world_seed, bad_fraction=args.bad_fraction, start=first))
    else:
        data_gen.write_parquet(out, args.rows, seed=args.seed, world_seed=args.world_seed, chunk_rows=args.chunk_rows, bad_fraction=args.bad_fraction)
    seconds = time.perf_counter() - start
    console.result(
        {"path": str(out), "rows": args.rows, "seconds": seconds, "bytes": out.stat().st_size},
        f"wrote {args.rows:,} rows to {out} ({_bytes(out.stat().st_size)}) in {seconds:.1f} s",
    )
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from . import io

    console = Console(args)
    spec = _build_spec(args)
    files = io.dataset_files(args.data)
    columns = list(dict.fromkeys([*spec.columns, args.target]))
    n_rows = io.count_rows(files)
    loss = args.loss or "logistic"
    estimator = _estimator(args, spec, loss)
    held_out: dict[str, Any] = {}
    if n_rows is None or n_rows <= args.memory_rows:
        data = io.read_columns(files, columns)
        if len(data[args.target]) == 0:
            raise CommandError(f"{args.data}: no rows")
        y_all = _target(data, args.target, args.data)
        if loss == "logistic":
            _check_labels(y_all, args.target, args.data)
        train_rows, test_rows = _split_holdout(len(y_all), args.validation_fraction, args.seed)
        features = {c: data[c] for c in spec.columns}
        _fit_spec(spec, _take(features, train_rows))
        try:
            seconds = _fit(estimator, _take(features, train_rows), y_all[train_rows], console, "train")
        except (ValueError, TypeError) as error:
            # Row numbers in the error count within the shuffled training split; featurizing the
            # data set in its own order names the row of the file instead.
            for first, chunk in _chunks(args.data, list(spec.columns), args.chunk_rows):
                with _RowContext(args.data, first, len(next(iter(chunk.values())))):
                    spec.transform(chunk)
            raise CommandError(f"{_source_name(args.data)}: {error}") from None
        rows_trained = len(train_rows) * int(args.epochs)
        if len(test_rows):
            test = _take({c: data[c] for c in spec.columns}, test_rows)
            held_out = _metrics(loss, y_all[test_rows], _predict_scores(estimator.model_, test))
    else:
        _fit_spec(spec, (chunk for _, chunk in _chunks(args.data, list(spec.columns), args.chunk_rows)))
        seconds, rows_trained, held_out = _train_streaming(estimator, files, spec, args, n_rows, console)
    model = estimator.model_
    model.save(args.output, values=args.values)
    size = Path(args.output).stat().st_size
    payload = {
        "model": str(args.output),
        "rows_per_second": rows_trained / seconds if seconds > 0 else float("nan"),
        "seconds": seconds,
        "n_features": int(model.n_features),
        "nnz": int(model.nnz),
        "bytes": size,
        "held_out": held_out,
    }
    lines = [
        f"trained on {args.data} ({rows_trained:,} example visits, {payload['rows_per_second']:,.0f} rows/s)",
        f"width {model.n_features:,}, nonzero weights {model.nnz:,} ({model.nnz / model.n_features:.4%})",
        f"model written to {args.output} ({_bytes(size)}, {args.values})",
    ]
    if held_out:
        lines.append("held-out " + ", ".join(f"{k} {v:.4f}" for k, v in held_out.items()))
    console.result(payload, "\n".join(lines))
    return EXIT_OK


def _train_streaming(estimator: Any, files: list[Path], spec: Any, args: argparse.Namespace, n_rows: int, console: Console) -> tuple[float, int, dict[str, float]]:
    """``fit`` streamed over the data set in chunks of --chunk-rows (see ``WideClassifier.fit``):
    row groups in a fresh order each epoch, a shuffle buffer of one chunk, streamed polish passes.
    Memory is set by the chunk size and the model; errors name the file and its rows."""
    classes = [0, 1] if (args.loss or "logistic") == "logistic" else None
    passes = int(getattr(estimator, "polish", 0) or 0)
    start = time.perf_counter()
    # the polish passes read the data again: the bar counts them as passes too
    with console.progress(total=n_rows * (args.epochs + passes), label="train (streaming)") as bar:
        estimator.set_epoch_callback(lambda epoch, rows, loss: bar.update(rows, loss=float(loss)))
        try:
            estimator.fit(files, y=args.target, classes=classes, chunk_rows=args.chunk_rows)
        except (ValueError, TypeError) as error:
            raise CommandError(str(error)) from None
        finally:
            estimator.set_epoch_callback(None)
    return time.perf_counter() - start, n_rows * args.epochs, {}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from . import io

    console = Console(args)
    model = _load_model(args.model)
    if model.spec is None:
        raise CommandError(f"{args.model}: the model has no feature spec, so it cannot read raw columns")
    columns = list(dict.fromkeys([*model.spec.columns, args.target]))
    ys, scores = [], []
    with console.progress(total=io.count_rows(args.data), label="evaluate") as bar:
        for first, chunk in _chunks(args.data, columns, args.chunk_rows):
            y = _target(chunk, args.target, args.data)
            with _RowContext(args.data, first, len(y)):
                if model.loss == "logistic":
                    _check_labels(y, args.target, args.data, first)
                scores.append(_predict_scores(model, {c: chunk[c] for c in model.spec.columns}))
            ys.append(y.astype(np.float64))
            bar.update(len(y))
    if not ys:
        raise CommandError(f"{args.data}: no rows")
    y, score = np.concatenate(ys), np.concatenate(scores)
    result = {"rows": int(y.size), **_metrics(model.loss, y, score)}
    console.result(result, "\n".join(f"{k:>10}  {v:,}" if isinstance(v, int) else f"{k:>10}  {v:.6f}" for k, v in result.items()))
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    from . import io

    console = Console(args)
    model = _load_model(args.model)
    if model.spec is None:
        raise CommandError(f"{args.model}: the model has no feature spec, so it cannot read raw columns")
    keep = [c for c in (args.keep or []) if c not in model.spec.columns]
    columns = [*model.spec.columns, *keep]
    with io.TableWriter(args.output) as writer, console.progress(total=io.count_rows(args.data), label="predict") as bar:
        for first, chunk in _chunks(args.data, columns, args.chunk_rows):
            features = {c: chunk[c] for c in model.spec.columns}
            out = {c: chunk[c] for c in keep}
            with _RowContext(args.data, first, len(next(iter(chunk.values())))):
                if model.loss == "logistic":
                    out["probability"] = model.predict_proba(features)[:, 1]
                out["prediction"] = model.predict(features)
            writer.write(out)
            bar.update(len(out["prediction"]))
    console.result({"path": str(args.output), "rows": writer.rows}, f"wrote {writer.rows:,} predictions to {args.output}")
    return EXIT_OK


def _top_weights(model: Any, k: int) -> list[dict[str, Any]]:
    if model.nnz == 0 or k <= 0:
        return []
    order = np.argsort(-np.abs(model.values), kind="stable")[:k]
    rows = []
    for i in order:
        column = int(model.indices[i])
        meaning = ""
        if model.spec is not None and model.spec.bits is None:
            meaning = "; ".join(model.spec.inverse(column))
        rows.append({"column": column, "weight": float(model.values[i]), "meaning": meaning})
    return rows


def cmd_inspect(args: argparse.Namespace) -> int:
    from .export import inspect_file

    console = Console(args)
    if not Path(args.model).exists():
        raise CommandError(f"{args.model}: no such model file")
    summary = inspect_file(args.model)
    model = _load_model(args.model)
    top = _top_weights(model, args.top)
    payload = {**summary, "top_weights": top}
    lines = [f"{key:>22}  {_format_value(value)}" for key, value in summary.items() if key not in ("spec", "metadata")]
    if model.spec is not None:
        lines.append(f"{'spec':>22}  {model.spec!r}")
    metadata = summary.get("metadata") or {}
    if metadata:
        lines.append(f"{'training':>22}  " + ", ".join(f"{k}={v}" for k, v in metadata.items() if not isinstance(v, (dict, list))))
    if top:
        lines.append("")
        lines.append(f"top {len(top)} weights by magnitude:")
        lines.append(_table(top, ["column", "weight", "meaning"]))
    console.result(payload, "\n".join(lines))
    return EXIT_OK


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return str(value)


def cmd_path(args: argparse.Namespace) -> int:
    from . import io

    console = Console(args)
    spec = _build_spec(args)
    columns = list(dict.fromkeys([*spec.columns, args.target]))
    data = io.read_columns(args.data, columns)
    y_all = _target(data, args.target, args.data)
    if len(y_all) < 10:
        raise CommandError(f"{args.data}: a regularization path needs at least 10 rows, found {len(y_all)}")
    if (args.loss or "logistic") == "logistic":
        _check_labels(y_all, args.target, args.data)
    fraction = args.validation_fraction or 0.2
    train_rows, test_rows = _split_holdout(len(y_all), fraction, args.seed)
    features = {c: data[c] for c in spec.columns}
    _fit_spec(spec, _take(features, train_rows))
    X_train = spec.transform(_take(features, train_rows))
    X_test = spec.transform(_take(features, test_rows))
    y_train, y_test = y_all[train_rows], y_all[test_rows]
    loss = args.loss or "logistic"
    rows = []
    previous = None
    with console.progress(total=len(args.l1), label="path", unit="fits") as bar:
        for l1 in args.l1:
            args_l1 = argparse.Namespace(**{**vars(args), "l1": float(l1)})
            estimator = _estimator(args_l1, None, loss)
            if previous is not None and "warm_start" in estimator.get_params():
                # Started next to the new optimum, one epoch before the polish lands as close as
                # a cold fit's --epochs do (objective within ~1 %), in about half the time.
                # The first fit's rate stays: the default would follow epochs=1 (short steps).
                sgd = previous.get_params()["optimizer"] == "sgd"
                pinned = {"learning_rate" if sgd else "alpha": previous.learning_rate_}
                estimator = previous.set_params(l1=float(l1), warm_start=True, epochs=1, **pinned)
            start = time.perf_counter()
            estimator.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            model = estimator.model_
            score = model.predict_proba(X_test)[:, 1] if loss == "logistic" else model.predict(X_test)
            rows.append({"l1": float(l1), "nnz": int(model.nnz), "seconds": seconds, **_metrics(loss, y_test, score)})
            previous = estimator
            bar.update(1)
    key = "log_loss" if loss == "logistic" else "rmse"
    best = min(range(len(rows)), key=lambda i: rows[i][key])
    # The sparsest model whose held-out loss is within 0.2 % of the best one.
    tolerance = rows[best][key] * 1.002
    sparse = min((i for i in range(len(rows)) if rows[i][key] <= tolerance), key=lambda i: rows[i]["nnz"])
    for i, row in enumerate(rows):
        row["regime"] = _regime(i, best, rows, key)
    payload = {"rows": rows, "best_l1": rows[best]["l1"], "sparsest_good_l1": rows[sparse]["l1"], "n_train": int(len(train_rows)), "n_held_out": int(len(test_rows))}
    text = [_table(rows, ["l1", "nnz", key, *(["auc"] if loss == "logistic" else []), "seconds", "regime"])]
    text.append(f"\nbest held-out {key}: l1 = {rows[best]['l1']:.3g} ({rows[best]['nnz']:,} nonzeros)")
    text.append(f"sparsest within 0.2 % of it: l1 = {rows[sparse]['l1']:.3g} ({rows[sparse]['nnz']:,} nonzeros)  <- recommended")
    if args.png:
        path = _plot_path(rows, key, best, sparse, Path(args.png), X_train, y_train, loss, args)
        payload["png"] = str(path)
        text.append(f"plot written to {path}")
    console.result(payload, "\n".join(text))
    return EXIT_OK


def _regime(i: int, best: int, rows: list[dict[str, Any]], key: str) -> str:
    if rows[i]["nnz"] == 0:
        return "too large (all zero)"
    if rows[i][key] <= rows[best][key] * 1.002:
        return "appropriate"
    return "too large" if i < best else "too small"


def _plot_path(rows: list[dict[str, Any]], key: str, best: int, sparse: int, path: Path, X_train: Any, y_train: np.ndarray, loss: str, args: argparse.Namespace) -> Path:
    plt = _pyplot()
    l1 = np.array([r["l1"] for r in rows])
    nnz = np.array([r["nnz"] for r in rows])
    held = np.array([r[key] for r in rows])
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 8))
    top.semilogx(l1, held, "o-", color="black")
    top.set_ylabel(f"held-out {key}")
    top.axvline(l1[sparse], color="green", linestyle="--", label=f"recommended l1 = {l1[sparse]:.2g}")
    appropriate = [i for i, r in enumerate(rows) if r["regime"] == "appropriate"]
    if appropriate:
        top.axvspan(l1[max(appropriate)], l1[min(appropriate)], color="green", alpha=0.08)
    top.text(0.02, 0.95, "too small l1: dense, overfits", transform=top.transAxes, va="top", fontsize=8)
    top.text(0.98, 0.95, "too large l1: (nearly) all zero, underfits", transform=top.transAxes, va="top", ha="right", fontsize=8)
    top.legend(loc="lower center", fontsize=8)
    top.set_title("regularization path")
    axis2 = bottom
    axis2.loglog(l1, np.maximum(nnz, 0.8), "s-", color="tab:blue")
    axis2.set_xlabel("l1")
    axis2.set_ylabel("nonzero weights")
    axis2.axvline(l1[sparse], color="green", linestyle="--")
    figure.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, path)
    if loss == "logistic":
        _plot_weight_histograms(path.with_name(path.stem + "_weights.png"), X_train, y_train, float(l1[sparse]), args)
    return path


def _plot_weight_histograms(path: Path, X_train: Any, y_train: np.ndarray, l1: float, args: argparse.Namespace) -> Path:
    """L1 vs L2 on the same data: exact zeros against a peak of small, nonzero weights."""
    plt = _pyplot()
    results = {}
    for name, penalties in (("L1", {"l1": l1, "l2": 0.0}), ("L2", {"l1": 0.0, "l2": max(l1 * 100, 1e-6)})):
        options = argparse.Namespace(**{**vars(args), **penalties})
        estimator = _estimator(options, None, "logistic")
        estimator.fit(X_train, y_train)
        model = estimator.model_
        touched = np.unique(X_train.indices).size
        weights = np.zeros(touched)
        present = np.isin(np.unique(X_train.indices), model.indices)
        weights[present] = model.get_weights(np.unique(X_train.indices)[present])
        results[name] = (penalties, weights)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for axis, (name, (penalties, weights)) in zip(axes, results.items()):
        zeros = int((weights == 0).sum())
        axis.hist(weights, bins=101, color="tab:red" if name == "L1" else "tab:blue", log=True)
        strength = penalties["l1"] if name == "L1" else penalties["l2"]
        axis.set_title(f"{name} ({name.lower()} = {strength:.2g}): {zeros:,} of {weights.size:,} touched weights exactly 0", fontsize=9)
        axis.set_xlabel("weight")
    axes[0].set_ylabel("count (log)")
    figure.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, path)
    return path


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CommandError("plots need matplotlib: pip install 'widecross[plot]'") from None
    return plt


def cmd_map(args: argparse.Namespace) -> int:
    from .maps import margin_layers, render_weight_map

    console = Console(args)
    model = _load_model(args.model)
    keys = None
    if model.spec is not None and model.spec.bits is not None:
        if not args.data:
            raise CommandError(
                f"{args.model}: the model hashes its features into 2**{model.spec.bits} columns; "
                "pass --data with (some of) the training data so that the cells can be recovered"
            )
        keys = None
        for first, chunk in _chunks(args.data, list(model.spec.columns), args.chunk_rows):
            with _RowContext(args.data, first, len(next(iter(chunk.values())))):
                keys = model.spec.record(chunk) if keys is None else keys.update(chunk)
    path, layers = render_weight_map(model, args.output, pixel_minutes=args.pixel_minutes, keys=keys, region=args.bbox)
    margins = margin_layers(model, keys)
    payload = {"path": str(path), "layers": {layer.name: layer.n_cells for layer in layers},
               "left_out": {layer.name: layer.left_out for layer in [*layers, *margins]},
               "marginals": {m.name: m.n_cells for m in margins}}
    lines = [f"map written to {path}: " + ", ".join(f"{layer.name} {layer.n_cells:,} cells" for layer in layers)]
    lines += [f"  marginal {m.name}: {m.n_cells:,} nonzero buckets (strip along the {'right' if m.axis == 'lat' else 'bottom'})"
              for m in margins]
    left_out = sum(payload["left_out"].values())
    if left_out:
        lines.append(f"  {left_out:,} nonzero cells left out: their hashed columns are shared with another recorded key")
    console.result(payload, "\n".join(lines))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    import data_gen

    from . import metrics
    from .estimators import WideClassifier
    from .features import geo_spec
    from .maps import render_weight_map

    console = Console(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_test = max(1, int(args.rows * 0.2))
    n_train = args.rows - n_test
    console.note(f"generating {args.rows:,} houses around real places (seed {args.seed}) ...")
    start = time.perf_counter()
    train = data_gen.generate_housing(n_train, seed=args.seed)
    test = data_gen.generate_housing(n_test, seed=args.seed, start=n_train)
    gen_seconds = time.perf_counter() - start
    spec = geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=args.bits)
    clf = WideClassifier(spec, l1=args.l1, optimizer=args.optimizer, epochs=args.epochs, random_state=args.seed)
    kind = "exact" if args.bits is None else f"hashed into 2^{args.bits}"
    console.note(f"training lat x lon crosses at 60', 10', 1' ({kind}, {spec.n_features:,} columns) with l1={args.l1}, {args.optimizer}, {args.epochs} epochs ...")
    fit_seconds = _fit(clf, {"lat": train["lat"], "lon": train["lon"]}, train["label"], console, "train")
    model = clf.model_
    model_path = model.save(out / "model.wcm", values=args.values)
    model_bytes = Path(model_path).stat().st_size
    test_columns = {"lat": test["lat"], "lon": test["lon"]}
    start = time.perf_counter()
    probability = model.predict_proba(test_columns)[:, 1]
    predict_seconds = time.perf_counter() - start
    base_rate = float(np.mean(train["label"]))
    report = {
        "rows_train": n_train,
        "rows_held_out": n_test,
        "width": int(model.n_features),
        "nnz": int(model.nnz),
        "fraction_kept": model.nnz / model.n_features,
        "model_bytes": model_bytes,
        "dense_float32_bytes": 4 * int(model.n_features),
        "bytes_per_nonzero": model_bytes / max(1, model.nnz),
        "train_rows_per_second": n_train * args.epochs / fit_seconds,
        "train_seconds": fit_seconds,
        "generate_seconds": gen_seconds,
        "predict_rows_per_second": n_test / predict_seconds if predict_seconds > 0 else float("nan"),
        "held_out_log_loss": metrics.log_loss(test["label"], probability),
        "held_out_auc": metrics.roc_auc(test["label"], probability),
        "held_out_accuracy": metrics.accuracy(test["label"], (probability > 0.5).astype(test["label"].dtype)),
        "base_rate_log_loss": metrics.log_loss(test["label"], np.full(n_test, base_rate)),
        "model_path": str(model_path),
    }
    try:
        map_path, _ = render_weight_map(model, out / "weights_map.png")
        report["map_path"] = str(map_path)
    except ValueError as error:  # a hashed spec cannot be drawn without recorded keys
        console.note(f"no map: {error}")
    text = f"""widecross demo: lat x lon crosses at 1 degree, 10' and 1' ({'exact' if args.bits is None else f'2^{args.bits} hashed'})
  rows              {n_train:,} train / {n_test:,} held out (generated in {gen_seconds:.1f} s)
  width             {report['width']:,} columns
  nonzero weights   {report['nnz']:,} ({report['fraction_kept']:.4%} of the width kept, L1 = {args.l1})
  model file        {_bytes(model_bytes)} ({report['bytes_per_nonzero']:.2f} B per nonzero, {args.values})
                    vs {_bytes(report['dense_float32_bytes'])} for a dense float32 vector ({report['dense_float32_bytes'] / model_bytes:,.0f}x smaller)
  training          {report['train_rows_per_second']:,.0f} rows/s ({args.epochs} epochs in {fit_seconds:.1f} s, compile included on a first run)
  held-out          log-loss {report['held_out_log_loss']:.4f} (base rate {report['base_rate_log_loss']:.4f}), AUC {report['held_out_auc']:.4f}, accuracy {report['held_out_accuracy']:.4f}
  prediction        {report['predict_rows_per_second']:,.0f} rows/s from raw lat/lon
  files             {model_path}""" + (f"\n                    {report['map_path']} (weights on the globe: red raises, blue lowers the odds)" if "map_path" in report else "")
    console.result(report, text)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# Parser


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def _add_spec_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("features")
    # Defaults live in features.spec_from_flags: None here means "not given" (--spec refuses the rest).
    group.add_argument("--spec", help="a FeatureSpec JSON file (schema: docs/spec.md); replaces every flag below")
    group.add_argument("--lat", help="latitude column (default: lat)")
    group.add_argument("--lon", help="longitude column (default: lon)")
    group.add_argument("--resolutions", type=_parse_resolutions, help="lat x lon cross resolutions in arc-minutes, or 'none' (default: 60,10,1)")
    group.add_argument("--bits", type=_bits_flag, help="hash into 2**BITS columns, or 'exact' (default: exact)")
    group.add_argument("--hash-seed", type=int, help="seed of the feature hash (default: 0)")
    group.add_argument("--out-of-range", choices=("error", "clip", "bucket"), help="lat/lon outside their range or NaN: stop, clip, or one extra bucket (default: error)")
    group.add_argument("--numeric", action="append", metavar="COL[:standard|:SCALE]", help="a real-valued column as a feature value (repeatable)")
    group.add_argument("--categorical", action="append", metavar="COL[:MIN_COUNT]", help="a string/integer column; its vocabulary is learned from the training rows (repeatable)")
    group.add_argument("--tokens", action="append", metavar="COL[:SEP]", help="a list column, or text split on SEP; vocabulary learned (repeatable)")
    group.add_argument("--cross", action="append", metavar="A,B[,C]", help="crosses between groups or features: geo, or a column named above (repeatable)")


def _add_region_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pixel-minutes", type=float, default=None, help="arc-minutes per pixel (default: 10 for the globe, fitted to --bbox)")
    parser.add_argument("--bbox", type=_parse_bbox, default=None, metavar="LAT0,LAT1,LON0,LON1", help="draw this region only (degrees: south, north, west, east)")


def _add_training_flags(parser: argparse.ArgumentParser, l1: bool = True) -> None:
    group = parser.add_argument_group("training")
    if l1:
        group.add_argument("--l1", type=float, default=1e-6, help="L1 strength on the mean loss (default: 1e-6)")
    group.add_argument("--l2", type=float, default=0.0, help="L2 strength (default: 0)")
    group.add_argument("--optimizer", choices=("sgd", "ftrl"), default="sgd", help="(default: sgd)")
    group.add_argument("--loss", choices=("logistic", "squared"), default=None, help="(default: logistic)")
    group.add_argument("--epochs", type=int, default=5, help="passes over the data (default: 5)")
    group.add_argument("--learning-rate", type=float, default=None, help="initial learning rate (default: the optimizer's)")
    group.add_argument("--schedule", choices=("adagrad", "newton", "constant", "invscaling"), default="adagrad",
                       help="SGD's rates; newton: per-coordinate Newton, for one pass over large data (--epochs 1 --polish 0) (default: adagrad)")
    group.add_argument("--polish", type=int, default=6, help="batch polish passes after the epochs (default: 6)")
    group.add_argument("--seed", type=int, default=0, help="shuffling and split seed (default: 0)")
    group.add_argument("--validation-fraction", type=float, default=0.0, help="share of rows held out and reported (default: 0)")
    group.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, help="rows read at a time")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="widecross", description="Sparse wide linear models on feature crosses.")
    parser.add_argument("--version", action="version", version=f"widecross {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    demo = commands.add_parser("demo", help="generate data, train the geo model, report, draw it", description="End to end: generate realistic global housing data, train an L1 lat x long model, save it, report size and held-out accuracy, and draw its weights on the globe.")
    demo.add_argument("--rows", type=int, default=1_000_000, help="rows to generate, 20%% held out (default: 1,000,000)")
    demo.add_argument("--out", default="widecross_demo", help="output directory (default: widecross_demo)")
    demo.add_argument("--bits", type=_parse_bits, default=None, help="hash into 2**BITS columns, or 'exact' (default: exact)")
    demo.add_argument("--l1", type=float, default=1e-6, help="(default: 1e-6)")
    demo.add_argument("--optimizer", choices=("sgd", "ftrl"), default="sgd")
    demo.add_argument("--epochs", type=int, default=5)
    demo.add_argument("--values", choices=("float32", "float16", "q8"), default="float16", help="weight encoding in the file (default: float16)")
    demo.add_argument("--seed", type=int, default=0)
    _add_output_flags(demo)
    demo.set_defaults(func=cmd_demo)

    gen = commands.add_parser("gen", help="write generated housing data to Parquet or CSV", description="Write seeded synthetic global housing data (data_gen) to a Parquet or CSV file.")
    gen.add_argument("--rows", type=int, required=True)
    gen.add_argument("-o", "--out", required=True, help="output file (.parquet or .csv)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--world-seed", type=int, default=0)
    gen.add_argument("--bad-fraction", type=float, default=0.0, help="share of rows with NaN/inf/out-of-range coordinates")
    gen.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    _add_output_flags(gen)
    gen.set_defaults(func=cmd_gen)

    train = commands.add_parser("train", help="train a model from Parquet/CSV", description="Train a wide model on a Parquet/CSV file, directory or list of files, and write it atomically.")
    train.add_argument("data", nargs="+", help="data file(s) or a directory")
    train.add_argument("--target", required=True, help="label column (0/1 for logistic)")
    train.add_argument("-o", "--output", required=True, help="model file to write (.wcm)")
    train.add_argument("--values", choices=("float32", "float16", "q8"), default="float32", help="weight encoding (default: float32, lossless)")
    train.add_argument("--memory-rows", type=int, default=DEFAULT_MEMORY_ROWS, help="above this many rows, stream instead of loading")
    _add_spec_flags(train)
    _add_training_flags(train)
    _add_output_flags(train)
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("evaluate", help="held-out metrics of a model on data", description="Log-loss, AUC and accuracy (logistic) or RMSE, MAE and R^2 (regression) of a model on data.")
    evaluate.add_argument("model")
    evaluate.add_argument("data", nargs="+")
    evaluate.add_argument("--target", required=True)
    evaluate.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    _add_output_flags(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)

    predict = commands.add_parser("predict", help="write predictions for data", description="Score data with a model; write probability/prediction columns to Parquet or CSV.")
    predict.add_argument("model")
    predict.add_argument("data", nargs="+")
    predict.add_argument("-o", "--output", required=True, help="output file (.parquet or .csv)")
    predict.add_argument("--keep", nargs="*", help="input columns to copy to the output (e.g. an id)")
    predict.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    _add_output_flags(predict)
    predict.set_defaults(func=cmd_predict)

    inspect = commands.add_parser("inspect", help="what a model file holds", description="Summarize a model file: nonzeros, width, bytes per nonzero, encoding, spec, top weights and the cells they stand for.")
    inspect.add_argument("model")
    inspect.add_argument("--top", type=int, default=10, help="how many of the largest weights to list (default: 10)")
    _add_output_flags(inspect)
    inspect.set_defaults(func=cmd_inspect)

    path = commands.add_parser("path", help="regularization path over an l1 grid", description="Fit along an l1 grid (strongest first), report nonzeros and held-out loss per l1, recommend one, and draw it. The first fit runs --epochs; each later one starts from the previous weights (warm start) and runs one epoch before the batch polish.")
    path.add_argument("data", nargs="+")
    path.add_argument("--target", required=True)
    path.add_argument("--l1", type=_parse_l1_grid, default=_parse_l1_grid("1e-8:1e-3:12"), help="start:stop:count (log-spaced) or a list (default: 1e-8:1e-3:12)")
    path.add_argument("--png", default=None, help="write the path plot here (and *_weights.png: L1 vs L2 weights)")
    _add_spec_flags(path)
    _add_training_flags(path, l1=False)
    _add_output_flags(path)
    path.set_defaults(func=cmd_path)

    map_ = commands.add_parser("map", help="draw a model's weights on the globe", description="Draw the nonzero weights of every lat x lon cross of a model as a PNG.")
    map_.add_argument("model")
    map_.add_argument("-o", "--output", required=True, help="PNG file to write")
    map_.add_argument("--data", nargs="*", help="data with the model's columns (needed for hashed models)")
    _add_region_flags(map_)
    map_.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    _add_output_flags(map_)
    map_.set_defaults(func=cmd_map)
    return parser


def _data_argument(args: argparse.Namespace) -> None:
    """`nargs="+"` gives a list; a single path stays a path so that directories work too."""
    data = getattr(args, "data", None)
    if isinstance(data, list) and len(data) == 1:
        args.data = data[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 data/model error, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _data_argument(args)
    if getattr(args, "pixel_minutes", None) is not None and not args.pixel_minutes > 0:
        parser.error(f"--pixel-minutes must be > 0, got {args.pixel_minutes}")
    for name in ("rows", "epochs", "chunk_rows", "top", "polish"):
        value = getattr(args, name, None)
        low = 0 if name in ("top", "polish") else 1
        if value is not None and value < low:
            parser.error(f"--{name.replace('_', '-')} must be >= {low}, got {value}")
    fraction = getattr(args, "validation_fraction", None)
    if fraction is not None and not 0.0 <= fraction < 1.0:
        parser.error(f"--validation-fraction must be in [0, 1), got {fraction}")
    from .export import ModelFormatError

    try:
        return args.func(args)
    except UsageError as error:
        parser.error(str(error))
    except KeyboardInterrupt:
        print("widecross: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ModelFormatError, ValueError, KeyError, TypeError, OSError, ImportError, FloatingPointError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        print(f"widecross {args.command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
