"""SparseModel: a fitted linear model kept as its nonzero weights only.

A model over 2**24..2**40 columns with a few hundred thousand nonzeros costs a few bytes per
nonzero here: sorted column ids (int32 when they fit), float32 weights, and a radix directory of
about one byte per nonzero for fast look-up. Nothing of the model's width is ever allocated, not
even while predicting: each active column of a row is looked up among the stored ids.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .._parallel import BLOCK_ROWS, check_jobs, run_blocks
from ..losses import LOSSES
from . import _lookup, file_format
from .inputs import as_csr, is_columns, slice_columns

if TYPE_CHECKING:  # pragma: no cover
    import scipy.sparse

    from ..features import FeatureSpec

# Rows featurized per chunk when predicting from raw columns: bounds the intermediate CSR
# (~6 active columns x 8 bytes x rows) to a few MB whatever the number of rows.
PREDICT_CHUNK_ROWS = 1 << 17

_MAX_WIDTH = 2**63 - 1


class SparseModel:
    """A linear model ``f(x) = x . w + intercept`` stored as its nonzero weights.

    Parameters
    ----------
    indices : array of int, shape (nnz,)
        Strictly increasing column ids in ``[0, n_features)``.
    values : array of float, shape (nnz,)
        The weights of those columns, kept as float32; zeros are dropped.
    intercept : float
    n_features : int
        The model's width (``spec.n_features`` when a spec is given).
    loss : {"logistic", "squared", "hinge", "poisson"}
        Sets the inverse link: sigmoid, identity, identity (decision only), exp.
    spec : widecross.FeatureSpec, optional
        Lets the model score raw columns (a dict / DataFrame / pyarrow Table).
    classes : sequence of 2 JSON-able scalars, optional
        Original labels of a classifier (negative class first); ``None`` means 0 and 1.
    metadata : dict, optional
        JSON-able facts (training parameters, ...), stored in the model file.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> m = SparseModel([2, 7], [0.5, -1.0], intercept=0.1, n_features=2**40, loss="logistic")
    >>> X = sp.csr_matrix(([1.0, 1.0], ([0, 1], [2, 7])), shape=(2, 2**40))
    >>> m.decision_function(X).round(3).tolist()
    [0.6, -0.9]
    >>> m.predict(X).tolist()
    [1, 0]
    """

    def __init__(
        self,
        indices: Any,
        values: Any,
        intercept: float,
        n_features: int,
        loss: str,
        spec: FeatureSpec | None = None,
        classes: Sequence[Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.n_features = _check_width(n_features)
        self.indices, self.values = _check_weights(indices, values, self.n_features)
        self._setup(intercept, loss, spec, classes, metadata)

    @classmethod
    def _from_decoded(cls, decoded: file_format.Decoded) -> SparseModel:
        """Adopt the arrays of a file the decoder checked (sorted in-range int ids, finite nonzero
        float32 values) without the copies and scans of ``__init__``: loading a large model then
        costs no transient memory beyond the arrays themselves."""
        meta = decoded.meta
        self = cls.__new__(cls)
        try:
            self.n_features = _check_width(meta["n_features"])
            index_dtype = np.int32 if self.n_features <= 2**31 else np.int64
            indices, values = decoded.indices, decoded.values
            if indices.dtype != index_dtype or values.dtype != np.float32 or indices.shape != values.shape:
                raise ValueError("internal: unexpected array types for a checked model")
            self.indices, self.values = indices, values
            self._setup(meta["intercept"], meta["loss"], decoded.spec, meta["classes"], meta["metadata"])
        except (ValueError, TypeError, OverflowError) as exc:
            raise file_format.ModelFormatError(f"{decoded.name}: inconsistent model: {exc}") from None
        self.source = decoded.source
        return self

    def _setup(
        self,
        intercept: Any,
        loss: str,
        spec: FeatureSpec | None,
        classes: Sequence[Any] | None,
        metadata: Mapping[str, Any] | None,
    ) -> None:
        if spec is not None:
            spec_width = getattr(spec, "n_features", None)
            if spec_width is not None and int(spec_width) != self.n_features:
                raise ValueError(
                    f"n_features={self.n_features} does not match spec.n_features={int(spec_width)}"
                )
        self.intercept = self._check_intercept(intercept)
        self._check_loss(loss)
        self.loss = loss
        self.spec = spec
        self.classes = _check_classes(classes, loss, self.n_classes)
        self.metadata = _check_metadata(metadata)
        self._directory, self._shift = _lookup.build_directory(self.indices, self.n_features)
        # Facts about the file this model was loaded from (set by widecross.export.load).
        self.source: dict[str, Any] | None = None

    n_classes = 2  # the labels a classifier's ``classes`` names (a regressor has none)

    @staticmethod
    def _check_intercept(intercept: Any) -> Any:
        try:
            value = float(intercept)
        except (TypeError, ValueError):
            raise TypeError(f"intercept must be a number, got {intercept!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"intercept must be finite, got {value}")
        return value

    @staticmethod
    def _check_loss(loss: str) -> None:
        if loss not in LOSSES or LOSSES[loss].link == "softmax":  # one margin per row here
            raise ValueError(f"loss must be one of {sorted(k for k, v in LOSSES.items() if v.link != 'softmax')}, got {loss!r}")

    # ------------------------------------------------------------------ properties
    @property
    def nnz(self) -> int:
        """Number of stored (nonzero) weights."""
        return int(self.indices.shape[0])

    @property
    def is_classifier(self) -> bool:
        return LOSSES[self.loss].classifier

    @property
    def coef_(self) -> scipy.sparse.csr_matrix:
        """The weights as a 1 x n_features CSR row (shares memory with ``indices``/``values``)."""
        import scipy.sparse

        index_dtype = self.indices.dtype
        indptr = np.array([0, self.nnz], dtype=index_dtype)
        return scipy.sparse.csr_matrix(
            (self.values, self.indices, indptr), shape=(1, self.n_features), copy=False
        )

    @property
    def intercept_(self) -> float:
        return self.intercept

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the arrays this model needs to predict."""
        return int(self.indices.nbytes + self.values.nbytes + self._directory.nbytes)

    def __repr__(self) -> str:
        spec = "yes" if self.spec is not None else "no"
        return (
            f"SparseModel(nnz={self.nnz:,}, n_features={self.n_features:,}, loss={self.loss!r}, "
            f"intercept={self.intercept:.6g}, spec={spec})"
        )

    # ------------------------------------------------------------------ prediction
    def decision_function(self, X: Any, n_jobs: int = 1) -> np.ndarray:
        """Raw scores ``X . w + intercept`` as float64, shape (n_rows,).

        ``X`` is a CSR matrix of width ``n_features`` (other SciPy sparse formats and 2-D arrays
        are converted), or, when the model has a spec, raw columns (dict / DataFrame / pyarrow
        Table) that are featurized in chunks of ``PREDICT_CHUNK_ROWS`` rows. ``n_jobs``: threads
        over blocks of rows (-1: all cores); every row's score is the same for any number.
        """
        n_jobs = check_jobs(n_jobs, "decision_function")
        if is_columns(X):
            if self.spec is None:
                raise TypeError(
                    "this model has no FeatureSpec, so it cannot score raw columns; "
                    "pass a CSR matrix of width n_features"
                )
            from .._validation import get_columns

            columns, n_rows = get_columns(X, self.spec.columns)
            out = self._new_scores(n_rows)
            if n_jobs > 1 and n_rows > PREDICT_CHUNK_ROWS:
                self._score_columns(columns, n_rows, out, n_jobs)
                return out
            starts = range(0, n_rows, PREDICT_CHUNK_ROWS)
            chunks = (slice_columns(columns, start, min(start + PREDICT_CHUNK_ROWS, n_rows)) for start in starts)
            # transform_chunks numbers rows across chunks in its error messages.
            for start, csr in zip(starts, self.spec.transform_chunks(chunks)):
                self._score_csr(csr, out[start : start + csr.shape[0]], row_offset=start)
            return out
        csr = scored_csr(X, self.n_features)
        out = self._new_scores(csr.shape[0])
        if n_jobs > 1 and out.shape[0] > BLOCK_ROWS:  # as_csr checked the row pointer: blocks can be cut
            run_blocks(lambda s, e: self._score_rows(_RowBlock(csr, s, e), out[s:e], s), out.shape[0], n_jobs)
            _check_finite(out, 0)
        else:
            self._score_csr(csr, out)
        return out

    def _score_columns(self, columns: dict[str, Any], n_rows: int, out: np.ndarray, n_jobs: int) -> None:
        """Featurize and score the chunks of ``decision_function`` on threads; the first error
        in row order is raised, as the serial loop would."""
        assert self.spec is not None
        spec = self.spec

        def chunk(start: int, stop: int) -> None:
            csr = spec._transform(slice_columns(columns, start, stop), stop - start, start,
                                  start // PREDICT_CHUNK_ROWS, None)
            self._score_csr(csr, out[start:stop], row_offset=start)

        run_blocks(chunk, n_rows, n_jobs, PREDICT_CHUNK_ROWS)

    def _new_scores(self, n_rows: int) -> np.ndarray:
        return np.empty(n_rows, dtype=np.float64)

    def predict_proba(self, X: Any, n_jobs: int = 1) -> np.ndarray:
        """Class probabilities, shape (n_rows, 2): column 1 is P(class ``classes[1]``)."""
        if LOSSES[self.loss].link != "sigmoid":
            raise ValueError(
                f"predict_proba needs loss='logistic'; this model's loss is {self.loss!r} "
                "(use predict or decision_function)"
            )
        n_jobs = check_jobs(n_jobs, "predict_proba")
        scores = self.decision_function(X, n_jobs)
        proba = np.empty((scores.shape[0], 2), dtype=np.float64)

        def fill(start: int, stop: int) -> None:
            p1 = LOSSES[self.loss].mean(scores[start:stop])  # elementwise: the same bits in any block
            proba[start:stop, 1] = p1
            proba[start:stop, 0] = 1.0 - p1

        if n_jobs > 1:
            run_blocks(fill, scores.shape[0], n_jobs)  # the link and the output's first touch on threads
        else:
            fill(0, scores.shape[0])
        return proba

    def predict(self, X: Any, n_jobs: int = 1) -> np.ndarray:
        """Classes for classifiers (decision > 0 gives ``classes[1]``); the mean for regressors."""
        d = self.decision_function(X, n_jobs)
        if not self.is_classifier:
            return LOSSES[self.loss].mean(d)
        positive = d > 0
        if self.classes is None:
            return positive.astype(np.int64)
        return np.asarray(self.classes)[positive.astype(np.intp)]

    def get_weights(self, columns: Any) -> np.ndarray:
        """Weights of the given column ids as float32 (0 where not stored).

        >>> SparseModel([3], [2.0], 0.0, 10, "squared").get_weights([3, 4]).tolist()
        [2.0, 0.0]
        """
        cols = np.asarray(columns)
        if cols.dtype.kind not in "iu":
            raise TypeError(f"columns must be integers, got dtype {cols.dtype}")
        cols = cols.astype(np.int64, copy=False).ravel()
        out = np.empty(cols.shape[0], dtype=np.float32)
        bad = _lookup.gather_weights(
            cols, self.indices, self.values, self._directory, np.int64(self._shift), np.int64(self.n_features), out
        )
        if bad >= 0:
            raise ValueError(f"column {int(cols[bad])} is outside [0, {self.n_features})")
        return out.reshape(np.shape(columns))

    def _score_csr(self, csr: Any, out: np.ndarray, row_offset: int = 0) -> None:
        self._score_rows(csr, out, row_offset)
        _check_finite(out, row_offset)

    def _score_rows(self, csr: Any, out: np.ndarray, row_offset: int = 0) -> None:
        indices = csr.indices
        if indices.dtype not in (np.int32, np.int64):
            indices = indices.astype(np.int64)
        indptr = csr.indptr
        if indptr.dtype not in (np.int32, np.int64):
            indptr = indptr.astype(np.int64)
        data = csr.data
        if data.dtype not in (np.float32, np.float64):
            data = data.astype(np.float64)
        status = self._score_kernel(indptr, indices, data, out)
        if status >= 0:
            row = int(np.searchsorted(indptr, status, side="right")) - 1 + row_offset
            raise ValueError(
                f"row {row}: column index {int(indices[status])} is outside [0, {self.n_features})"
            )
        if status <= -2:
            raise ValueError(f"invalid CSR row pointer (indptr) at row {-status - 2 + row_offset}")

    def _score_kernel(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, out: np.ndarray) -> int:
        return _lookup.decision_csr(indptr, indices, data, self.indices, self.values, self._directory,
                                    np.int64(self._shift), np.int64(self.n_features), self.intercept, out)

    # ------------------------------------------------------------------ export
    def save(self, path: str | os.PathLike[str], values: str = "float32") -> Path:
        """Write the model atomically to ``path``; see :mod:`widecross.export` for the format.

        ``values``: "float32" (lossless), "float16" or "q8" (8-bit codebook). Returns the path.
        """
        return file_format.save(self, path, values=values)

    def summary(self) -> dict[str, Any]:
        """JSON-able facts for ``widecross inspect``: nnz, width, loss, encoding, sizes, spec."""
        source = self.source or {}
        file_bytes = source.get("file_bytes")
        spec_json = None
        if self.spec is not None:
            spec_json = json.loads(self.spec.to_json())
        return {
            "nnz": self.nnz,
            "n_features": self.n_features,
            "density": self.nnz / self.n_features,
            "loss": self.loss,
            "intercept": self.intercept,
            "classes": self.classes,
            "path": source.get("path"),
            "format_version": source.get("format_version"),
            "value_encoding": source.get("value_encoding"),
            "index_codec": source.get("index_codec"),
            "file_bytes": file_bytes,
            "bytes_per_nonzero": (file_bytes / self.nnz) if file_bytes and self.nnz else None,
            "memory_bytes": self.memory_bytes,
            "library_version": source.get("library_version"),
            "spec": spec_json,
            "metadata": self.metadata,
        }


def scored_csr(X: Any, n_features: int) -> scipy.sparse.csr_matrix:
    """``X`` as the CSR matrix a model of ``n_features`` columns scores: checked by ``as_csr``
    (the row pointer, the columns, finite values) and of that width."""
    csr = as_csr(X)
    if csr.shape[1] != n_features:
        raise ValueError(f"X has {csr.shape[1]:,} columns but the model has n_features={n_features:,}")
    return csr


def decision_by_slots(csr: Any, slots: np.ndarray, slot_values: np.ndarray, intercept: float,
                      n_jobs: int = 1) -> np.ndarray:
    """The scores ``decision_function`` gives the rows of ``csr`` under a model whose nonzero
    weights are ``slot_values`` (float32) indexed by slot, each entry's slot in ``slots`` (-1:
    none), bit for bit: the same products added in the same order, without a column search.
    For a trainer's rows: ``csr`` checked (``as_csr``, float data), ``slots`` its slot map's
    look-up of ``csr.indices``, each below ``slot_values.shape[0]``."""
    indptr, data, out = csr.indptr, csr.data, np.empty(csr.shape[0])

    def block(lo: int, hi: int) -> None:  # each row's score is its own: the same bits on any blocks
        _lookup.decision_slots(indptr[lo : hi + 1], slots, data, slot_values, intercept, out[lo:hi])

    run_blocks(block, out.shape[0], n_jobs)
    _check_finite(out, 0)
    return out


# ---------------------------------------------------------------------- validation helpers
def _check_finite(out: np.ndarray, row_offset: int) -> None:
    # Finite inputs can still overflow (|x_k * w_k| near float64's limit, or inf - inf):
    # a score of inf or NaN is reported rather than returned as a prediction.
    finite = np.isfinite(out) if out.ndim == 1 else np.isfinite(out).all(axis=1)  # (n,) or (n, K) scores
    bad = np.flatnonzero(~finite)
    if bad.size:
        row = int(bad[0])
        raise ValueError(
            f"row {row + row_offset}: the decision value overflows to {out[row]} "
            f"({bad.size} row{'s' if bad.size > 1 else ''}); rescale the feature values of X"
        )


class _RowBlock:
    """Rows ``start:stop`` of a CSR matrix as the arrays the scoring kernel reads (views)."""

    def __init__(self, csr: Any, start: int, stop: int) -> None:
        first, last = int(csr.indptr[start]), int(csr.indptr[stop])
        self.indptr = csr.indptr[start : stop + 1] - csr.indptr[start]
        self.indices = csr.indices[first:last]
        self.data = csr.data[first:last]



def _check_width(n_features: Any) -> int:
    if isinstance(n_features, (bool, np.bool_)) or not isinstance(n_features, (int, np.integer)):
        raise TypeError(f"n_features must be an integer, got {n_features!r}")
    n = int(n_features)
    if not 1 <= n <= _MAX_WIDTH:
        raise ValueError(f"n_features must be in [1, 2**63 - 1], got {n}")
    return n


def _check_weights(indices: Any, values: Any, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.asarray(indices)
    val = np.asarray(values)
    if idx.ndim != 1 or val.ndim != 1:
        raise ValueError(f"indices and values must be 1-D, got shapes {idx.shape} and {val.shape}")
    if idx.shape[0] != val.shape[0]:
        raise ValueError(f"indices has {idx.shape[0]} entries but values has {val.shape[0]}")
    if idx.shape[0] and idx.dtype.kind not in "iu":
        raise TypeError(f"indices must be integers, got dtype {idx.dtype}")
    if val.shape[0] and val.dtype.kind not in "fiub":
        raise TypeError(f"values must be real numbers, got dtype {val.dtype}")
    index_dtype = np.int32 if n_features <= 2**31 else np.int64
    if idx.shape[0]:
        if idx.dtype.kind == "u" and int(idx.max()) > _MAX_WIDTH:
            raise ValueError(f"indices must be < n_features={n_features}, got {int(idx.max())}")
        idx64 = idx.astype(np.int64, copy=False)
        if int(idx64[0]) < 0:
            raise ValueError(f"indices must be >= 0, got {int(idx64[0])} at position 0")
        steps = np.flatnonzero(idx64[1:] <= idx64[:-1])
        if steps.size:
            p = int(steps[0]) + 1
            raise ValueError(
                f"indices must be strictly increasing (sorted, unique): indices[{p - 1}]="
                f"{int(idx64[p - 1])} >= indices[{p}]={int(idx64[p])}"
            )
        if int(idx64[-1]) >= n_features:
            raise ValueError(
                f"indices must be < n_features={n_features}, got {int(idx64[-1])} at position {idx.shape[0] - 1}"
            )
    val64 = val.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(val64))
    if bad.size:
        p = int(bad[0])
        raise ValueError(f"values must be finite, got {val64[p]} at position {p} (column {int(idx[p])})")
    bad = np.flatnonzero(np.abs(val64) > np.finfo(np.float32).max)
    if bad.size:
        p = int(bad[0])
        raise ValueError(f"value {val64[p]} at position {p} (column {int(idx[p])}) overflows float32")
    val32 = val.astype(np.float32)  # always a private copy: the model owns its arrays
    keep = val32 != 0
    if not keep.all():
        idx, val32 = idx[keep], val32[keep]
    return np.array(idx, dtype=index_dtype), np.ascontiguousarray(val32)


def _check_classes(classes: Sequence[Any] | None, loss: str, n_classes: int = 2) -> list[Any] | None:
    if classes is None:
        return None
    if not LOSSES[loss].classifier:
        raise ValueError(f"classes are only meaningful for classifiers; loss {loss!r} is a regression loss")
    labels = [c.item() if isinstance(c, np.generic) else c for c in classes]
    if len(labels) != n_classes:
        raise ValueError(f"classes must hold exactly {n_classes} labels, got {len(labels)}: {labels!r}")
    for c in labels:
        if not isinstance(c, (str, int, float, bool)):
            raise TypeError(f"class labels must be str, int, float or bool, got {type(c).__name__}: {c!r}")
    if n_classes == 2 and labels[0] == labels[1]:
        raise ValueError(f"the 2 class labels must differ, got {labels!r}")
    if len({(type(c), c) for c in labels}) != len(labels):
        raise ValueError(f"the {n_classes} class labels must differ, got {labels!r}")
    return labels


def _check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    out = dict(metadata)
    for key, value in out.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be strings, got {key!r}")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"metadata[{key!r}] is not JSON-serializable: {exc}") from None
    return out
