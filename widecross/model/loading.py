"""Reading model files back: a binary or regression file gives a :class:`SparseModel`, a
multiclass file (K weight columns) a :class:`MulticlassModel`."""

from __future__ import annotations

import os
from typing import Any

from . import file_format
from .multiclass import MulticlassModel
from .sparse import SparseModel


def _model(decoded: file_format.Decoded) -> SparseModel:
    if decoded.mask is not None:
        return MulticlassModel._from_decoded(decoded)
    return SparseModel._from_decoded(decoded)


def load(path: str | os.PathLike[str]) -> SparseModel:
    """Read a model file written by :meth:`SparseModel.save`; raises ``ModelFormatError`` if it is
    bad (see :mod:`widecross.model.file_format`)."""
    return _model(file_format.read_file(path))


def loads(data: bytes | bytearray | memoryview) -> SparseModel:
    """Read a model from the bytes of a model file (see :func:`load`)."""
    return _model(file_format.read_bytes(data))


def inspect_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ``path`` (fully verified) and return its model's ``summary()``."""
    return load(path).summary()
