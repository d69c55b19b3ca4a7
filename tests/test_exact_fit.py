"""``optimizer="cd"``: the estimators' fit ends with the exact solver and reaches the optimum that
liblinear (logistic) and scikit-learn's ElasticNet (squared) find on the same rows."""

from __future__ import annotations

import numpy as np
import pytest
from test_estimators import model_bytes
from test_solver import liblinear, objective, random_problem

import widecross as wc
from widecross.train.params import CD_TOL, EARLY_STOPPING_TOL


def dense_coef(est, width):
    return np.asarray(est.coef_.todense()).ravel()[:width]


def test_a_logistic_fit_reaches_the_liblinear_optimum_and_its_support():
    X, y = random_problem(21, n=500)
    l1 = 0.004
    est = wc.WideClassifier(optimizer="cd", l1=l1, tol=1e-10, random_state=0).fit(X, y)
    w_ref, b_ref = liblinear(X, y, l1)
    f_ref = objective(X, y, w_ref, b_ref, l1, 0.0)
    assert est.objective_ == pytest.approx(f_ref, rel=1e-9)
    w = dense_coef(est, X.shape[1])  # float32 weights of the model
    assert objective(X, y, w, est.intercept_, l1, 0.0) == pytest.approx(f_ref, rel=1e-6)
    assert np.array_equal(w != 0, w_ref != 0)
    np.testing.assert_allclose(w, w_ref, atol=1e-4)
    assert est.n_iter_ == 1 and est.polish_passes_ > 0


def test_a_squared_elastic_net_fit_matches_scikit_learn():
    from sklearn.linear_model import ElasticNet

    X, y = random_problem(22, loss="squared")
    l1, l2 = 0.01, 0.03
    est = wc.WideRegressor(optimizer="cd", l1=l1, l2=l2, tol=1e-10, random_state=0).fit(X, y)
    ref = ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), tol=1e-14, max_iter=1000000).fit(X, y)
    f_ref = objective(X, y, ref.coef_, float(ref.intercept_), l1, l2, "squared")
    assert est.objective_ == pytest.approx(f_ref, rel=1e-9)
    np.testing.assert_allclose(dense_coef(est, X.shape[1]), ref.coef_, atol=1e-5)


def test_same_seed_same_bytes_and_the_model_saves_and_loads(tmp_path):
    X, y = random_problem(23, n=300)
    fits = [wc.WideClassifier(optimizer="cd", l1=0.003, random_state=5).fit(X, y) for _ in range(2)]
    assert model_bytes(fits[0]) == model_bytes(fits[1])
    path = fits[0].model_.save(tmp_path / "cd.wcm")
    loaded = wc.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), fits[0].predict_proba(X))


def test_defaults_and_errors_are_named():
    X, y = random_problem(24, n=200)
    sgd = wc.WideClassifier(l1=0.003)._params()
    cd = wc.WideClassifier(optimizer="cd", l1=0.003)._params()
    assert (sgd.epochs, sgd.tol, cd.epochs, cd.tol) == (5, EARLY_STOPPING_TOL, 1, CD_TOL)
    with pytest.raises(ValueError, match=r"optimizer='cd' .* takes loss in \['logistic', 'squared'\], not 'hinge'"):
        wc.WideClassifier(optimizer="cd", loss="hinge", l1=0.003).fit(X, y)
    with pytest.raises(ValueError, match="not 'poisson'"):
        wc.WideRegressor(optimizer="cd", loss="poisson", l1=0.003).fit(X, y)
    with pytest.raises(ValueError, match=r"WideClassifier: optimizer='cd' needs a penalty"):
        wc.WideClassifier(optimizer="cd", l1=0.0).fit(X, y)
    with pytest.raises(ValueError, match=r"needs tol > 0"):
        wc.WideClassifier(optimizer="cd", l1=0.003, tol=0.0).fit(X, y)
    with pytest.raises(ValueError, match=r"unknown optimizer 'newton'; choose one of \['sgd', 'ftrl', 'cd'\]"):
        wc.WideClassifier(optimizer="newton").fit(X, y)


def test_three_classes_are_refused_by_name():
    X, _ = random_problem(25, n=150)
    labels = np.arange(150) % 3
    with pytest.raises(ValueError, match="optimizer='cd' .* not 3 classes; use optimizer='sgd'"):
        wc.WideClassifier(optimizer="cd", l1=0.003).fit(X, labels)
