"""Metrics against scikit-learn (test-only dependency) and hand-computed cases."""

import numpy as np
import pytest
from sklearn import metrics as skm

from widecross import metrics


def test_auc_hand_computed_with_ties():
    # Positives 0.35 and 0.8; negatives 0.1 and 0.35: pairs (0.35>0.1)=1, (0.35=0.35)=0.5,
    # (0.8>0.1)=1, (0.8>0.35)=1 -> 3.5 / 4.
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.35, 0.35, 0.8])
    assert metrics.roc_auc(y, s) == pytest.approx(0.875)


@pytest.mark.parametrize("weighted", [False, True])
def test_metrics_match_sklearn(weighted):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = np.clip(rng.random(500) * 0.6 + 0.4 * y, 0, 1)
    p[::7] = np.round(p[::7], 1)  # ties
    w = rng.random(500) if weighted else None
    assert metrics.log_loss(y, p, w) == pytest.approx(skm.log_loss(y, p, sample_weight=w), rel=1e-12)
    assert metrics.roc_auc(y, p, w) == pytest.approx(skm.roc_auc_score(y, p, sample_weight=w), rel=1e-12)
    assert metrics.accuracy(y, p > 0.5, w) == pytest.approx(skm.accuracy_score(y, p > 0.5, sample_weight=w))
    assert metrics.rmse(y, p, w) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p, sample_weight=w)))
    assert metrics.mae(y, p, w) == pytest.approx(skm.mean_absolute_error(y, p, sample_weight=w))


def test_metric_errors_are_specific():
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="3 rows but predictions have 2"):
        metrics.log_loss([1, 0, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="zero rows"):
        metrics.log_loss([], [])
