"""The fitted model: its nonzero weights, their file format, and prediction without densifying.

- :mod:`~widecross.model.sparse`: :class:`SparseModel`; :mod:`~widecross.model.multiclass`:
  :class:`MulticlassModel` (K weight columns over one index set); :mod:`~widecross.model.loading`:
  :func:`load`, :func:`loads`;
- :mod:`~widecross.model.file_format`: the bytes of a model file, written atomically, read
  safely (no pickle, every size checked before anything is allocated);
- :mod:`~widecross.model.inputs`: what a model scores (raw columns or a CSR matrix), checked;
- ``_rice``, ``_values``, ``_lookup``: the index and value codecs, the compiled look-up.

Nothing here imports the training code: a saved model loads and predicts with this package, the
feature spec and the loss table alone.
"""

from __future__ import annotations

from ..losses import LOSSES
from .file_format import ModelFormatError
from .loading import inspect_file, load, loads
from .multiclass import MulticlassModel
from .sparse import PREDICT_CHUNK_ROWS, SparseModel

__all__ = ["LOSSES", "ModelFormatError", "MulticlassModel", "PREDICT_CHUNK_ROWS", "SparseModel", "inspect_file", "load",
           "loads"]
