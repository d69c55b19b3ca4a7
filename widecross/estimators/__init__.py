"""WideClassifier and WideRegressor: scikit-learn style estimators over the trainers.

- :mod:`.classifier`, :mod:`.regressor`: the two estimators (thin: labels, predictions, scores);
- :mod:`.base`: what they share: ``fit``, ``partial_fit``, warm starts, the fitted model;
- :mod:`.sources`: rows in memory or streamed from a data set on disk;
- :mod:`.inputs`: the one conversion of ``X``, ``y`` and ``sample_weight``;
- :mod:`.protocol`: scikit-learn's conventions (parameters, tags), without scikit-learn.

scikit-learn is not needed at run time: parameters, cloning and tags follow its conventions, and
``check_estimator`` passes for the spec-less estimators.
"""

from __future__ import annotations

from ..io import DEFAULT_CHUNK_ROWS
from ..losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES
from ..train import DENSE_AUTO_MAX_WIDTH, LAYOUTS
from ..train import OPTIMIZERS as _OPTIMIZERS
from ..train.ftrl import FTRL_DEFAULT_ALPHA, FTRL_MAX_DEFAULT_ALPHA, default_alpha
from ..train.sgd import ADAGRAD_MAX_DEFAULT_RATE, DEFAULT_RATE, default_learning_rate
from ..train.sgd import SCHEDULES as _SCHEDULES
from ..train.params import DENSE_MAX_WIDTH
from typing import Any

from . import checkpoint
from .base import WideEstimator
from .classifier import WideClassifier
from .inputs import DataConversionWarning
from .protocol import EstimatorNotFittedError, NotFittedError
from .regressor import WideRegressor

OPTIMIZERS = tuple(_OPTIMIZERS)


def load_checkpoint(path: Any) -> WideEstimator:
    """The WideClassifier or WideRegressor a checkpoint holds (``ModelFormatError`` if bad)."""
    return checkpoint.load({"WideClassifier": WideClassifier, "WideRegressor": WideRegressor}, path)
SCHEDULES = tuple(_SCHEDULES)

__all__ = [
    "ADAGRAD_MAX_DEFAULT_RATE", "CLASSIFICATION_LOSSES", "DEFAULT_CHUNK_ROWS", "DEFAULT_RATE", "DENSE_AUTO_MAX_WIDTH",
    "DENSE_MAX_WIDTH", "DataConversionWarning", "REGRESSION_LOSSES",
    "EstimatorNotFittedError", "FTRL_DEFAULT_ALPHA", "FTRL_MAX_DEFAULT_ALPHA", "LAYOUTS", "NotFittedError", "OPTIMIZERS",
    "SCHEDULES", "WideClassifier", "WideEstimator", "WideRegressor", "default_alpha", "default_learning_rate", "load_checkpoint",
]
