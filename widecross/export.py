"""The model file's public names (the format itself is :mod:`widecross.model.file_format`).

>>> import numpy as np, tempfile, os
>>> m = SparseModel(np.array([3, 70]), np.array([0.5, -1.5]), 0.25, 2**24, "logistic")
>>> path = os.path.join(tempfile.mkdtemp(), "m.wcm")
>>> load(save(m, path)).values.tolist()
[0.5, -1.5]
"""

from __future__ import annotations

from .losses import LOSSES
from .model.file_format import (FORMAT_VERSION, INDEX_CODEC, MAGIC, MAX_META_BYTES, SECTIONS, ModelFormatError, dumps,
                                save)
from .model.loading import inspect_file, load, loads
from .model.multiclass import MulticlassModel
from .model.sparse import SparseModel

__all__ = ["FORMAT_VERSION", "INDEX_CODEC", "LOSSES", "MAGIC", "MAX_META_BYTES", "ModelFormatError", "MulticlassModel",
           "SECTIONS", "SparseModel", "dumps", "inspect_file", "load", "loads", "save"]
