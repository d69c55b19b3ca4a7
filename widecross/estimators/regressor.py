"""WideRegressor: a linear regressor on sparse, wide features."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..losses import LOSSES, REGRESSION_LOSSES
from ..metrics import r2_score
from .base import WideEstimator
from .frames import is_dask_frame, score_frame
from .inputs import scoring_target
from .protocol import constructor


class WideRegressor(WideEstimator):
    """Linear regressor on sparse, wide features (squared loss by default; Poisson also).

    Same parameters and attributes as :class:`WideClassifier`, except ``loss`` in
    {"squared", "poisson"} and no classes. Squared loss is ``(y - f)^2 / 2``; standardize a
    target whose scale is far from 1 (the default rates assume weights of order 1).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_matrix(np.eye(4))
    >>> reg = WideRegressor(l1=0.0, epochs=50, random_state=0).fit(X, [1.0, -1.0, 0.5, 2.0])
    >>> np.round(reg.predict(X), 2).tolist()
    [1.0, -1.0, 0.5, 2.0]
    """

    _kind = "regressor"
    _losses = REGRESSION_LOSSES

    __init__ = constructor("squared")

    def _encode(self, y: np.ndarray, fitting: bool, classes: Any = None) -> tuple[np.ndarray, None]:
        if classes is not None:
            raise ValueError("classes is only meaningful for WideClassifier")
        try:
            yy = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"y must be real numbers for a regressor, got dtype {y.dtype}") from None
        if not np.isfinite(yy).all():
            raise ValueError(f"y contains NaN or infinity (row {int(np.flatnonzero(~np.isfinite(yy))[0])})")
        if self.loss in LOSSES:
            LOSSES[self.loss].check_target(yy)
        return yy, None

    def predict(self, X: Any) -> np.ndarray:
        """Predicted mean: the decision (squared) or its exponential (Poisson), from ``model_`` (a
        Dask Series for a Dask DataFrame, computed on the cluster)."""
        if is_dask_frame(X):
            return score_frame(self, X, "predict")
        return self.model_.predict(self._scoring_input(X), self._jobs())

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """(Weighted) coefficient of determination R^2 of ``predict(X)``."""
        prediction = self.predict(X)
        y, sw = scoring_target(y, sample_weight, prediction.shape[0], type(self).__name__)
        return r2_score(y.astype(np.float64), prediction, None if sw.size == 0 else sw)
