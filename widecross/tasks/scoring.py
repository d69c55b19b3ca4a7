"""Scoring data with a model file: held-out figures, predictions written to a file, and the keys
of hashed columns (to draw a hashed model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import metrics
from ..io import DEFAULT_CHUNK_ROWS, TableWriter, count_rows, source_name
from ..losses import LOSSES
from ..model import SparseModel, load
from .data import check_binary_labels, chunks, numeric_target


def open_model(path: str | Path) -> SparseModel:
    """The model in ``path``; ``FileNotFoundError`` saying so when there is none."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such model file")
    return load(path)


def _needs_spec(model: SparseModel, path: Any) -> None:
    if model.spec is None:
        raise ValueError(f"{path}: the model has no feature spec, so it cannot read raw columns")


def evaluate(model_path: str | Path, data: Any, target: str, chunk_rows: int = DEFAULT_CHUNK_ROWS,
             bar: Any = None, n_jobs: int = 1) -> dict[str, Any]:
    """The model's held-out figures on a data set (``metrics.report``), and its rows; chunks are
    scored on ``n_jobs`` threads (the same figures for any number)."""
    model = open_model(model_path)
    _needs_spec(model, model_path)
    loss = LOSSES[model.loss]
    if getattr(model, "n_classes", 2) > 2:
        return _evaluate_classes(model, data, target, chunk_rows, bar)

    def score(chunk: Any) -> tuple[np.ndarray, np.ndarray]:
        y = numeric_target(chunk.columns[target], target)
        if loss.classifier:
            check_binary_labels(y, target)
        features = {c: chunk.columns[c] for c in model.spec.columns}
        return y.astype(np.float64), loss.mean(model.decision_function(features, n_jobs))

    y, predictions = _scored(model, data, target, chunk_rows, bar, score)
    return {"rows": int(y.size), **metrics.report(loss, y, predictions)}


def _scored(model: Any, data: Any, target: str, chunk_rows: int, bar: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    """``score(chunk)``'s (targets, predictions) over every chunk of ``data``, concatenated."""
    if bar is not None:
        bar.set_total(count_rows(data))
    ys, predictions = [], []
    for chunk in chunks(data, [*model.spec.columns, target], chunk_rows, score):
        ys.append(chunk.columns[0])
        predictions.append(chunk.columns[1])
        if bar is not None:
            bar.update(chunk.n_rows)
    if not ys:
        raise ValueError(f"{source_name(data)}: no rows")
    return np.concatenate(ys), np.concatenate(predictions)


def _evaluate_classes(model: Any, data: Any, target: str, chunk_rows: int, bar: Any) -> dict[str, Any]:
    """``evaluate`` of a K-class model: log-loss, accuracy, per-class AUC of its probabilities."""
    classes = np.asarray(model.classes if model.classes is not None else np.arange(model.n_classes))

    def score(chunk: Any) -> tuple[np.ndarray, np.ndarray]:
        y = numeric_target(chunk.columns[target], target)
        codes = np.searchsorted(classes, y).clip(0, classes.size - 1)
        bad = classes[codes] != y
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"target {target!r} holds {y[row].item()!r}, not one of the model's classes "
                             f"{classes.tolist()} (row {row} of the chunk)")
        features = {c: chunk.columns[c] for c in model.spec.columns}
        return codes, model.predict_proba(features)

    codes, probabilities = _scored(model, data, target, chunk_rows, bar, score)
    return {"rows": int(codes.size), **metrics.multiclass_report(codes, probabilities, classes.tolist())}


def predict_to_file(model_path: str | Path, data: Any, output: str | Path, keep: Sequence[str] = (),
                    chunk_rows: int = DEFAULT_CHUNK_ROWS, bar: Any = None, n_jobs: int = 1) -> int:
    """Write ``probability`` (logistic models) and ``prediction`` for each row of a data set, with
    the ``keep`` columns copied, to a Parquet or CSV file that appears atomically; chunks are
    scored on ``n_jobs`` threads. Returns the rows."""
    model = open_model(model_path)
    _needs_spec(model, model_path)
    keep = [c for c in keep if c not in model.spec.columns]

    def predict(chunk: Any) -> dict[str, np.ndarray]:
        features = {c: chunk.columns[c] for c in model.spec.columns}
        out = {c: chunk.columns[c] for c in keep}
        if getattr(model, "n_classes", 2) > 2:
            if LOSSES[model.loss].link in ("sigmoid", "softmax"):
                proba = model.predict_proba(features, n_jobs)
                labels = model.classes if model.classes is not None else range(model.n_classes)
                out.update({f"probability_{label}": proba[:, k] for k, label in enumerate(labels)})
        elif LOSSES[model.loss].link == "sigmoid":
            out["probability"] = model.predict_proba(features, n_jobs)[:, 1]
        out["prediction"] = model.predict(features, n_jobs)
        return out

    with TableWriter(output) as writer:
        if bar is not None:
            bar.set_total(count_rows(data))
        for chunk in chunks(data, [*model.spec.columns, *keep], chunk_rows, predict):
            writer.write(chunk.columns)
            if bar is not None:
                bar.update(chunk.n_rows)
    return writer.rows


def record_keys(model: SparseModel, data: Any, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Any:
    """The keys (cells) of the model's hashed columns seen in ``data`` (a ``KeyRecord``)."""
    keys = None

    def record(chunk: Any) -> None:
        nonlocal keys
        keys = model.spec.record(chunk.columns) if keys is None else keys.update(chunk.columns)

    for _ in chunks(data, list(model.spec.columns), chunk_rows, record):
        pass
    return keys
