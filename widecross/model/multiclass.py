"""MulticlassModel: K weight columns over one shared set of column ids.

A multiclass linear model scores a row with K margins ``m_k = x . w_k + b_k``. Its weights are
kept as one sorted index of the columns where *any* class has a nonzero weight and an
(n_indices, K) float32 table: a row's active columns are looked up once for all K classes, and
the file codes each index once (a column that every class zeroes is not stored at all). The
prediction rule follows the loss: one-vs-rest columns (``logistic``: the K sigmoids normalized
to sum to 1, scikit-learn's one-vs-rest rule; ``hinge``: scores only) or the softmax
(``multinomial``); the class is the one with the largest margin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..losses import LOSSES
from . import _lookup, file_format
from .sparse import SparseModel, _check_weights, _check_width

if TYPE_CHECKING:  # pragma: no cover
    import scipy.sparse

    from ..features import FeatureSpec

MAX_CLASSES = 1 << 16


class MulticlassModel(SparseModel):
    """K weight columns ``W`` (n_indices x K, float32) over sorted column ids, and K intercepts.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> m = MulticlassModel([2, 7], [[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]], [0.0, 0.0, 0.0], 10, "multinomial",
    ...                     classes=["a", "b", "c"])
    >>> X = sp.csr_matrix(([1.0, 1.0], ([0, 1], [2, 7])), shape=(2, 10))
    >>> m.predict(X).tolist(), m.nnz, m.n_indices
    (['a', 'b'], 3, 2)
    >>> m.predict_proba(X).sum(axis=1).round(6).tolist()
    [1.0, 1.0]
    """

    def __init__(
        self,
        indices: Any,
        values: Any,
        intercept: Any,
        n_features: int,
        loss: str,
        spec: FeatureSpec | None = None,
        classes: Sequence[Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.n_features = _check_width(n_features)
        table = np.asarray(values, dtype=np.float64)
        if table.ndim != 2 or not 3 <= table.shape[1] <= MAX_CLASSES:
            raise ValueError(f"values must have shape (n_indices, K) with 3 <= K <= {MAX_CLASSES}, got {table.shape}")
        self.n_classes = int(table.shape[1])
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.shape[0] != table.shape[0]:
            raise ValueError(f"indices has shape {idx.shape}, expected ({table.shape[0]},) to match values")
        if not np.isfinite(table).all() or (np.abs(table) > np.finfo(np.float32).max).any():
            raise ValueError("values must be finite and within float32's range")
        table32 = table.astype(np.float32)
        keep = (table32 != 0).any(axis=1)  # an index row that every class zeroes is not stored
        # the binary checks of the ids (sorted, unique, in range) on a stand-in value per id
        self.indices, _ = _check_ids(idx[keep], self.n_features)
        self.values = np.ascontiguousarray(table32[keep])
        self._setup(intercept, loss, spec, classes, metadata)

    @classmethod
    def _from_decoded(cls, decoded: file_format.Decoded) -> MulticlassModel:
        meta = decoded.meta
        self = cls.__new__(cls)
        try:
            self.n_features = _check_width(meta["n_features"])
            self.n_classes = int(meta["n_classes"])
            table = np.zeros(decoded.mask.shape, dtype=np.float32)
            table[decoded.mask] = decoded.values
            self.indices, self.values = decoded.indices, table
            self._setup(meta["intercepts"], meta["loss"], decoded.spec, meta["classes"], meta["metadata"])
        except (ValueError, TypeError) as exc:
            raise file_format.ModelFormatError(f"{decoded.name}: inconsistent model: {exc}") from None
        self.source = decoded.source
        return self

    def _check_intercept(self, intercept: Any) -> np.ndarray:
        try:
            values = np.array(intercept, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise TypeError(f"intercepts must be {self.n_classes} numbers, got {intercept!r}") from None
        if values.shape != (self.n_classes,) or not np.isfinite(values).all():
            raise ValueError(f"intercepts must be {self.n_classes} finite numbers, got {intercept!r}")
        return values

    @staticmethod
    def _check_loss(loss: str) -> None:
        if loss not in LOSSES or not LOSSES[loss].classifier:
            raise ValueError(f"a multiclass model's loss is a classification loss or 'multinomial', got {loss!r}")

    # ------------------------------------------------------------------ properties
    @property
    def nnz(self) -> int:
        """Number of nonzero weights, all classes together."""
        return int(np.count_nonzero(self.values))

    @property
    def n_indices(self) -> int:
        """Number of stored column ids (where any class has a nonzero weight)."""
        return int(self.indices.shape[0])

    @property
    def nnz_per_class(self) -> list[int]:
        return np.count_nonzero(self.values, axis=0).tolist()

    @property
    def coef_(self) -> scipy.sparse.csr_matrix:
        """The weights as a K x n_features CSR matrix (float32, nonzeros only)."""
        import scipy.sparse

        rows, cols = np.nonzero(self.values.T)
        return scipy.sparse.csr_matrix((self.values.T[rows, cols], (rows, self.indices[cols])),
                                       shape=(self.n_classes, self.n_features))

    def __repr__(self) -> str:
        return (f"MulticlassModel(n_classes={self.n_classes}, nnz={self.nnz:,}, n_indices={self.n_indices:,}, "
                f"n_features={self.n_features:,}, loss={self.loss!r}, spec={'yes' if self.spec is not None else 'no'})")

    # ------------------------------------------------------------------ prediction
    def _new_scores(self, n_rows: int) -> np.ndarray:
        return np.empty((n_rows, self.n_classes), dtype=np.float64)

    def _score_kernel(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, out: np.ndarray) -> int:
        return _lookup.decision_csr_multi(indptr, indices, data, self.indices, self.values, self._directory,
                                          np.int64(self._shift), np.int64(self.n_features), self.intercept, out)

    def probabilities(self, margins: np.ndarray) -> np.ndarray:
        """Class probabilities (n, K) of margins (n, K): softmax, or normalized sigmoids (OvR)."""
        link = LOSSES[self.loss].link
        if link == "softmax":
            return LOSSES[self.loss].mean(margins)
        if link != "sigmoid":
            raise ValueError(f"predict_proba needs loss='logistic' or 'multinomial'; this model's loss is {self.loss!r}")
        p = LOSSES[self.loss].mean(margins)
        total = p.sum(axis=1, keepdims=True)
        # all K sigmoids can underflow to 0 far from every class: then the margins' softmax
        return np.where(total > 0, p / np.where(total > 0, total, 1.0), LOSSES["multinomial"].mean(margins))

    def predict_proba(self, X: Any, n_jobs: int = 1) -> np.ndarray:
        """Class probabilities, shape (n_rows, K), each row summing to 1."""
        return self.probabilities(self.decision_function(X, n_jobs))

    def predict(self, X: Any, n_jobs: int = 1) -> np.ndarray:
        """The class of the largest margin (its label, or its position without labels)."""
        best = np.argmax(self.decision_function(X, n_jobs), axis=1)
        return best if self.classes is None else np.asarray(self.classes)[best]

    def get_weights(self, columns: Any) -> np.ndarray:
        """Weights (float32, shape columns.shape + (K,)) of the given column ids (0 where not stored)."""
        cols = np.asarray(columns)
        if cols.dtype.kind not in "iu":
            raise TypeError(f"columns must be integers, got dtype {cols.dtype}")
        flat = cols.astype(np.int64, copy=False).ravel()
        if flat.size and (flat.min() < 0 or flat.max() >= self.n_features):
            raise ValueError(f"columns must be in [0, {self.n_features})")
        pos = np.searchsorted(self.indices, flat)
        pos = np.minimum(pos, max(self.n_indices - 1, 0))
        found = (self.n_indices > 0) & (self.indices[pos] == flat) if self.n_indices else np.zeros(flat.shape, bool)
        out = np.zeros((flat.shape[0], self.n_classes), dtype=np.float32)
        out[found] = self.values[pos[found]]
        return out.reshape(np.shape(columns) + (self.n_classes,))

    def class_model(self, k: int) -> SparseModel:
        """Class ``k``'s column as a one-column model (its nonzero weights and intercept), e.g. to
        draw its weight map; its decision is the class's margin."""
        keep = self.values[:, k] != 0
        return SparseModel(self.indices[keep], self.values[keep, k], float(self.intercept[k]), self.n_features,
                           "squared" if self.loss == "multinomial" else self.loss, spec=self.spec,
                           metadata={"class": k if self.classes is None else self.classes[k]})

    def summary(self) -> dict[str, Any]:
        """``SparseModel.summary`` plus the classes' facts and bytes per shared index."""
        out = super().summary()
        file_bytes = out["file_bytes"]
        out.update(
            intercept=self.intercept.tolist(),
            n_classes=self.n_classes,
            n_indices=self.n_indices,
            nnz_per_class=self.nnz_per_class,
            density=self.n_indices / self.n_features,
            bytes_per_index=(file_bytes / self.n_indices) if file_bytes and self.n_indices else None,
        )
        return out

    @property
    def intercept_(self) -> np.ndarray:
        return self.intercept


def _check_ids(indices: np.ndarray, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    return _check_weights(indices, np.ones(indices.shape[0]), n_features)

