"""What a model file holds: its summary and its largest weights with the cells they stand for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._text import table, value

from .scoring import open_model


def top_weights(model: Any, k: int) -> list[dict[str, Any]]:
    """The ``k`` weights of largest magnitude: column, weight and (exact specs) its cells."""
    if model.nnz == 0 or k <= 0:
        return []
    values = model.values.reshape(model.values.shape[0], -1)  # (n_indices, K): one column unless multiclass
    order = np.argsort(-np.abs(values).ravel(), kind="stable")[:k]
    labels = getattr(model, "classes", None) or list(range(values.shape[1]))
    rows = []
    for position in order:
        i, k_class = divmod(int(position), values.shape[1])
        column = int(model.indices[i])
        meaning = ""
        if model.spec is not None and model.spec.bits is None:
            meaning = "; ".join(model.spec.inverse(column))
        row = {"column": column, "weight": float(values[i, k_class]), "meaning": meaning}
        if values.shape[1] > 1:
            row = {"class": labels[k_class], **row}
        rows.append(row)
    return rows


def describe(path: str | Path, top: int = 10) -> tuple[Any, dict[str, Any]]:
    """(the model, its ``summary()`` with ``top_weights`` added) of a model file."""
    model = open_model(path)
    return model, {**model.summary(), "top_weights": top_weights(model, top)}


def describe_text(model: Any, payload: dict[str, Any]) -> str:
    """:func:`describe`'s result as text: the summary, the spec, the training facts, the top weights."""
    lines = [f"{key:>22}  {value(v)}" for key, v in payload.items() if key not in ("spec", "metadata", "top_weights")]
    if model.spec is not None:
        lines.append(f"{'spec':>22}  {model.spec!r}")
    metadata = payload.get("metadata") or {}
    if metadata:
        facts = ", ".join(f"{k}={v}" for k, v in metadata.items() if not isinstance(v, (dict, list)))
        lines.append(f"{'training':>22}  {facts}")
    top = payload["top_weights"]
    if top:
        lines += ["", f"top {len(top)} weights by magnitude:", table(top, list(top[0]))]
    return "\n".join(lines)
