"""Reading what tasks need from files, with errors that name the file and the row."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import numpy as np

from ..io import DataSet
from ..io.dataset import Chunk, prepared

T = TypeVar("T")


def spec_from_options(path: str | Path | None = None, **flags: Any) -> Any:
    """The :class:`~widecross.FeatureSpec` of the command line's feature options: the JSON file
    ``path`` (``--spec``), or the feature ``flags`` (see :func:`widecross.features.spec_from_flags`,
    whose ``ConflictingOptions`` error passes through: options that cannot go together)."""
    from ..features.flags import ConflictingOptions, spec_from_flags

    text = None
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise ValueError(f"{path}: cannot read the spec ({error.strerror or error})") from None
    try:
        return spec_from_flags(text, **flags)
    except ConflictingOptions:
        raise
    except ValueError as error:
        if text is None:
            raise
        raise ValueError(f"{path}: not a valid feature spec: {error}") from None


def fit_spec(spec: Any, columns: Any) -> None:
    """Learn ``spec``'s vocabularies and scales (when it has any) from the training ``columns``:
    a mapping of columns, or an iterator of such chunks (a data set too large for memory)."""
    if spec.learns:
        spec.fit_chunks(columns) if isinstance(columns, Iterator) else spec.fit(columns)


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
