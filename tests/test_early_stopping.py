"""Early stopping stops at the exact epoch its rule names, on a validation curve made to order.

The data set is built so that, trained in a fixed row order at a small constant rate without
L1, the validation loss falls for a few epochs and then rises every epoch (few rows per column,
noisy labels: the weights overfit). A fit that never stops records the whole curve; fits with
``n_iter_no_change=k`` must stop exactly ``k`` epochs after its minimum, and publish the very
model a fit of that many epochs publishes.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc

EPOCHS = 16
PARAMS = dict(l1=0.0, learning_rate=0.03, schedule="constant", shuffle=False, polish=2, random_state=0,
              early_stopping=True, validation_fraction=0.2)


def overfitting_problem(seed: int = 0, n: int = 600, d: int = 150, k: int = 3) -> tuple[sp.csr_matrix, np.ndarray]:
    """``k`` of ``d`` binary columns per row, labels drawn from a random logistic model."""
    rng = np.random.default_rng(seed)
    cols = np.sort(np.stack([rng.choice(d, k, replace=False) for _ in range(n)]), axis=1)
    X = sp.csr_matrix((np.ones(n * k), cols.ravel(), np.arange(0, n * k + 1, k)), shape=(n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ rng.normal(0, 0.7, d))))).astype(np.int64)
    return X, y


def weights(clf: wc.WideClassifier) -> bytes:
    """The fitted model's columns, float32 weights and intercept, bit for bit (the file's metadata
    also records the parameters, which differ between the fits compared)."""
    m = clf.model_
    return m.indices.tobytes() + m.values.tobytes() + np.float64(m.intercept).tobytes()


def expected_stop(curve: list[float], tol: float, patience: int) -> int:
    """The documented rule, written out: stop once the loss has not improved on the best by more
    than ``tol`` for ``patience`` epochs in a row; returns the number of epochs run."""
    best, stale = np.inf, 0
    for epoch, loss in enumerate(curve, start=1):
        if loss < best - tol:
            best, stale = loss, 0
        else:
            stale += 1
            if stale == patience:
                return epoch
    return len(curve)


@pytest.fixture(scope="module")
def curve() -> dict:
    X, y = overfitting_problem()
    full = wc.WideClassifier(**PARAMS, epochs=EPOCHS, n_iter_no_change=EPOCHS + 1).fit(X, y)
    losses = list(full.validation_loss_curve_)
    return dict(X=X, y=y, losses=losses, minimum=int(np.argmin(losses)) + 1)


def test_the_scripted_curve_is_a_valley(curve):
    losses, m = np.array(curve["losses"]), curve["minimum"]
    assert len(losses) == EPOCHS and 4 <= m <= EPOCHS - 5
    assert np.all(np.diff(losses[:m]) < 0) and np.all(np.diff(losses[m - 1 :]) > 0)


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_stops_exactly_patience_epochs_after_the_minimum(curve, patience):
    stop = curve["minimum"] + patience
    clf = wc.WideClassifier(**PARAMS, epochs=EPOCHS, n_iter_no_change=patience, tol=0.0).fit(curve["X"], curve["y"])
    assert clf.n_iter_ == stop and len(clf.loss_curve_) == stop
    assert clf.validation_loss_curve_ == curve["losses"][:stop]
    assert clf.t_ == stop * (curve["X"].shape[0] - 120) and clf.model_.metadata["epochs_run"] == stop
    # the published model is the one of a fit that ran exactly `stop` epochs (same split), not one more
    fixed = {**PARAMS, "n_iter_no_change": EPOCHS + 1}
    exact = wc.WideClassifier(**fixed, epochs=stop).fit(curve["X"], curve["y"])
    late = wc.WideClassifier(**fixed, epochs=stop + 1).fit(curve["X"], curve["y"])
    assert weights(clf) == weights(exact) and weights(late) != weights(exact)


def test_tol_decides_what_counts_as_an_improvement(curve):
    losses = curve["losses"]
    gains = np.sort(-np.diff(losses[: curve["minimum"]]))[::-1]  # the improvements on the way down
    # between two of them: an epoch that falls short of tol, then one that (with it) clears it
    middle = float(gains[2] + gains[3]) / 2
    assert expected_stop(losses, middle, 1) < expected_stop(losses, middle, 2) - 1  # the count restarts
    cases = {middle: None, float(gains.max()) + 1.0: 1}
    for tol, after_first in cases.items():
        for patience in (1, 2):
            clf = wc.WideClassifier(**PARAMS, epochs=EPOCHS, n_iter_no_change=patience, tol=tol).fit(curve["X"], curve["y"])
            stop = expected_stop(losses, tol, patience)
            assert clf.n_iter_ == stop, (tol, patience)
            if after_first is not None:  # nothing improves by more than tol: the first epoch is the best
                assert stop == after_first + patience
    assert expected_stop(losses, 0.0, 2) == curve["minimum"] + 2  # the rule as written agrees with the valley


def test_without_early_stopping_every_epoch_runs(curve):
    params = {**PARAMS, "early_stopping": False}
    clf = wc.WideClassifier(**params, epochs=EPOCHS, n_iter_no_change=1).fit(curve["X"], curve["y"])
    assert clf.n_iter_ == EPOCHS and not hasattr(clf, "validation_loss_curve_")
