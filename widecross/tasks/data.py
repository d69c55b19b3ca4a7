"""Reading what tasks need from files, with errors that name the file and the row."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from ..io import DataSet
from ..io.dataset import Chunk, prepared

T = TypeVar("T")


def spec_from_file(path: str | Path) -> Any:
    """The :class:`~widecross.FeatureSpec` stored as JSON in ``path``."""
    from ..features import FeatureSpec

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ValueError(f"{path}: cannot read the spec ({error.strerror or error})") from None
    try:
        return FeatureSpec.from_json(text)
    except ValueError as error:
        raise ValueError(f"{path}: not a valid feature spec: {error}") from None


def numeric_target(values: np.ndarray, column: str) -> np.ndarray:
    if values.dtype.kind not in "biuf":
        raise ValueError(f"target column {column!r} is not numeric (dtype {values.dtype})")
    return values


def check_binary_labels(y: np.ndarray, column: str) -> None:
    """0/1 labels, else name the first offending row (counted from 0 in ``y``)."""
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        classes = np.unique(y[~np.isnan(y)] if y.dtype.kind == "f" else y)
        shown = ", ".join(repr(c.item()) for c in classes[:5]) + (", ..." if classes.size > 5 else "")
        raise ValueError(
            f"target column {column!r} must hold 0/1 labels (found {classes.size} classes: {shown}); "
            f"{int(bad.sum()):,} row(s) do not, first at row {row:,} ({y[row].item()!r})"
        )


def named(source: str, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, its data errors prefixed with ``source`` (a data set's name)."""
    try:
        return call(*args)
    except (ValueError, TypeError) as error:
        raise type(error)(f"{source}: {error}") from None


def chunks(source: Any, columns: Sequence[str], chunk_rows: int, prepare: Callable[[Chunk], Any]) -> Any:
    """Chunks of a data set in file order with ``prepare`` applied; its errors name the file and rows."""
    return prepared(DataSet(source, columns), None, chunk_rows, prepare)


def take(columns: dict[str, np.ndarray], rows: np.ndarray | None) -> dict[str, np.ndarray]:
    return columns if rows is None else {name: values[rows] for name, values in columns.items()}
