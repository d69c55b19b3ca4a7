"""Training from files: estimators from options, in memory or streamed, and the l1 path."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .. import metrics
from ..estimators import WideClassifier, WideRegressor
from ..estimators.inputs import split_holdout
from ..estimators.path import Choice, choose, fit_path
from ..io import DEFAULT_CHUNK_ROWS, count_rows, dataset_files, read_columns, source_name
from ..losses import get_loss
from ..train import optimizer_class
from .data import check_binary_labels, chunks, fit_spec, named, numeric_target, take

# Data sets up to this many rows are read into memory and trained with `fit` (global shuffling
# across all rows); larger ones stream chunk by chunk.
DEFAULT_MEMORY_ROWS = 20_000_000


def make_estimator(spec: Any, loss: str = "logistic", rate: float | None = None, **params: Any) -> Any:
    """A WideClassifier or WideRegressor (by the loss) with ``params``; ``rate`` sets the step
    size of the optimizer named in ``params`` (SGD's learning_rate, FTRL's alpha)."""
    if rate is not None:
        params[optimizer_class(params.get("optimizer", "sgd")).rate_param] = rate
    if get_loss(loss).classifier:
        return WideClassifier(spec, loss=loss, **params)
    return WideRegressor(spec, loss=loss, **params)


def parse_class_weight(text: str) -> Any:
    """``--class-weight``: "balanced", or ``label:weight,...`` with numeric labels.

    >>> parse_class_weight("0:1,2:3.5")
    {0: 1.0, 2: 3.5}
    """
    if text == "balanced":
        return text
    out: dict[Any, float] = {}
    for item in text.split(","):
        label, sep, weight = item.partition(":")
        try:
            out[int(label) if label.strip().lstrip("-").isdigit() else float(label)] = float(weight)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--class-weight must be 'balanced' or label:weight,... (numbers), got {text!r}")
    return out


@dataclass
class TrainResult:
    model: Any  # the fitted SparseModel
    seconds: float
    rows_trained: int  # example visits
    held_out: dict[str, float | None] = field(default_factory=dict)  # None: undefined (metrics.UNDEFINED)


def fit_reporting(estimator: Any, X: Any, y: Any, bar: Any = None, total: int | None = None, label: str | None = None,
                  **fit: Any) -> float:
    """``estimator.fit(X, y, **fit)`` reporting each epoch's rows to ``bar`` (relabelled ``label``
    unless None); returns seconds."""
    start = time.perf_counter()
    if bar is not None:
        bar.set_total(total, label)
        estimator.set_epoch_callback(lambda epoch, rows, loss: bar.update(rows, loss=float(loss)))
    try:
        estimator.fit(X, y, **fit)
    finally:
        if bar is not None:
            estimator.set_epoch_callback(None)
    return time.perf_counter() - start


def train_on_files(estimator: Any, data: Any, target: str, validation_fraction: float = 0.0, seed: int = 0,
                   memory_rows: int = DEFAULT_MEMORY_ROWS, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                   bar: Any = None, multiclass: bool = False) -> TrainResult:
    """Fit ``estimator`` (with a spec) on a data set: read into memory when it holds at most
    ``memory_rows`` rows (then ``validation_fraction`` of them, drawn with ``seed``, are held out
    and scored), else streamed in chunks of ``chunk_rows`` (see ``WideClassifier.fit``), which
    reads every row: a ``validation_fraction`` is then an error, not a split silently dropped.
    Classifier labels are 0/1 unless ``multiclass`` (then any numeric labels, K >= 2 classes)."""
    files = dataset_files(data)
    n_rows = count_rows(files)
    if n_rows is not None and n_rows > memory_rows:
        if validation_fraction > 0:
            raise ValueError(
                f"{source_name(data)}: {n_rows:,} rows are more than the {memory_rows:,} held in memory "
                "(--memory-rows), so they stream and no rows can be held out; drop the validation fraction "
                "(--validation-fraction; evaluate on a file kept apart) or raise --memory-rows"
            )
        spec = estimator.spec
        fit_spec(spec, (c.columns for c in chunks(files, list(spec.columns), chunk_rows, lambda chunk: chunk.columns)))
        classes = [0, 1] if get_loss(estimator.loss).classifier and not multiclass else None
        total = n_rows * (estimator.epochs + estimator.polish)  # the polish passes read the data too
        seconds = fit_reporting(estimator, files, target, bar, total, "train (streaming)", classes=classes,
                                chunk_rows=chunk_rows)
        return TrainResult(estimator.model_, seconds, n_rows * estimator.epochs)
    name, loss = source_name(data), get_loss(estimator.loss)
    spec = estimator.spec
    table = read_columns(files, list(dict.fromkeys([*spec.columns, target])))
    if len(table[target]) == 0:
        raise ValueError(f"{name}: no rows")
    y = named(name, numeric_target, table[target], target)
    if loss.classifier and not multiclass:
        named(name, check_binary_labels, y, target)
    train_rows, held_rows = None, None
    if validation_fraction > 0:
        train_rows, held_rows = split_holdout(len(y), validation_fraction, np.random.default_rng(seed))
    features = {c: table[c] for c in spec.columns}
    y_train = y if train_rows is None else y[train_rows]
    fit_spec(spec, take(features, train_rows))
    try:
        seconds = fit_reporting(estimator, take(features, train_rows), y_train, bar, estimator.epochs * len(y_train))
    except (ValueError, TypeError) as error:
        # Row numbers in the error count within the shuffled training split; featurizing the
        # data set in its own order names the row of the file instead.
        for _ in chunks(files, spec.columns, chunk_rows, lambda chunk: spec.transform(chunk.columns)):
            pass
        raise type(error)(f"{name}: {error}") from None
    result = TrainResult(estimator.model_, seconds, len(y_train) * estimator.epochs)
    if held_rows is not None:
        result.held_out = held_out_report(result.model, loss, take(features, held_rows), y[held_rows])
    return result


def held_out_report(model: Any, loss: Any, features: Any, y: np.ndarray) -> dict[str, float]:
    """``metrics.report`` of a binary or regression model; log-loss, accuracy and per-class AUC
    of a K-class one."""
    if getattr(model, "n_classes", 2) > 2:
        classes = np.asarray(model.classes)
        codes = np.searchsorted(classes, y).clip(0, classes.size - 1)
        known = classes[codes] == y  # held-out rows of a class unseen in training cannot be scored
        return metrics.multiclass_report(codes[known], model.predict_proba(take(features, np.flatnonzero(known))),
                                         classes.tolist())
    return metrics.report(loss, y, loss.mean(model.decision_function(features)))


@dataclass
class PathResult:
    points: list[dict[str, Any]]
    choice: Choice
    key: str  # the held-out figure compared: log_loss or rmse
    X_train: Any
    y_train: np.ndarray
    n_held_out: int


def path_on_files(estimator: Any, spec: Any, data: Any, target: str, grid: Sequence[float],
                  validation_fraction: float = 0.2, seed: int = 0, bar: Any = None) -> PathResult:
    """Fit ``estimator`` (without a spec) along ``grid`` on a data set featurized by ``spec``,
    holding out ``validation_fraction`` of the rows (drawn with ``seed``) to score each fit."""
    name, loss = source_name(data), get_loss(estimator.loss)
    if loss.classifier and loss.link != "sigmoid":
        raise ValueError(f"the path compares held-out log-loss or RMSE, not available with loss={loss.name!r}")
    table = read_columns(data, list(dict.fromkeys([*spec.columns, target])))
    y = named(name, numeric_target, table[target], target)
    if len(y) < 10:
        raise ValueError(f"{name}: a regularization path needs at least 10 rows, found {len(y)}")
    if loss.classifier:
        named(name, check_binary_labels, y, target)
    train_rows, held_rows = split_holdout(len(y), validation_fraction, np.random.default_rng(seed))
    features = {c: table[c] for c in spec.columns}
    fit_spec(spec, take(features, train_rows))
    X_train, X_held = spec.transform(take(features, train_rows)), spec.transform(take(features, held_rows))
    if bar is not None:
        bar.set_total(len(grid))
    points = fit_path(estimator, grid, X_train, y[train_rows], X_held, y[held_rows],
                      on_fit=None if bar is None else lambda point: bar.update(1))
    key = "log_loss" if loss.classifier else "rmse"
    return PathResult(points, choose(points, key), key, X_train, y[train_rows], int(len(held_rows)))
