"""The batch polish: plain majorized steps descend, accelerated ones get there faster, both reach the optimum."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import reference as ref
import trainers
from widecross.train import Polish


def problem(seed=0, n=400, d=60):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.08, format="csr", random_state=seed, dtype=np.float64)
    X.data = rng.normal(size=X.nnz)
    w = np.where(np.arange(d) < 6, 2.0, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w)))).astype(np.float64)
    return X, y, rng


def run_polish(X, y, w0, b0, l1, l2, passes, loss="logistic", sw=None, accelerated=True):
    tr = trainers.sgd(loss, 0.1, l1, l2)
    rows = tr.rows(X, y, sw)
    weights = w0[tr.slot_map.columns[: tr.n_slots]].astype(np.float64)
    optimizer = tr.optimizer
    solution = Polish(passes, measure=True, accelerated=accelerated).solve(
        lambda: (rows,), weights, b0, optimizer.penalty, optimizer.loss)
    w = np.zeros(X.shape[1])
    w[tr.slot_map.columns[: tr.n_slots]] = weights
    return w, solution.intercept, solution.objective


def test_each_pass_descends_and_reports_the_reference_objective():
    X, y, rng = problem(1)
    w, b = rng.normal(size=X.shape[1]) * 0.5, 0.3
    values = []
    values = [ref.objective(X, y, w, b, 0.01, 0.02)]
    for passes in range(1, 8):
        wp, bp, f = run_polish(X, y, w, b, 0.01, 0.02, passes, accelerated=False)
        values.append(ref.objective(X, y, wp, bp, 0.01, 0.02))
        assert f == pytest.approx(values[-1], rel=1e-12)  # the objective reported is the result's
    assert all(b < a for a, b in zip(values, values[1:]))


def test_acceleration_closes_the_gap_faster_and_keeps_exact_zeros():
    X, y, rng = problem(4)
    l1 = 0.01
    w0, b0 = rng.normal(size=X.shape[1]) * 0.5, 0.3
    w_opt, b_opt, _ = run_polish(X, y, w0, b0, l1, 0.0, 3000)
    f_opt = ref.objective(X, y, w_opt, b_opt, l1, 0.0)
    for passes in (5, 10, 20, 40):
        gaps = {}
        for accelerated in (False, True):
            w, b, f = run_polish(X, y, w0, b0, l1, 0.0, passes, accelerated=accelerated)
            assert f == pytest.approx(ref.objective(X, y, w, b, l1, 0.0), rel=1e-12)
            gaps[accelerated] = f - f_opt
        assert 0.0 <= gaps[True] < 0.7 * gaps[False], (passes, gaps)
    # the result is a prox iterate, not an extrapolated point: the optimum's zeros, exactly
    w, _, _ = run_polish(X, y, w0, b0, l1, 0.0, 200)
    assert np.array_equal(w == 0.0, w_opt == 0.0) and (w_opt == 0.0).sum() > X.shape[1] // 3


def test_converges_to_the_liblinear_optimum_with_its_zeros():
    from sklearn.linear_model import LogisticRegression

    X, y, _ = problem(2, n=300, d=40)
    l1 = 0.02
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(
            solver="liblinear", penalty="l1", C=1 / (len(y) * l1), tol=1e-10, intercept_scaling=1e6, max_iter=100000
        ).fit(X, y)
    w_opt, b_opt = lr.coef_.ravel(), float(lr.intercept_[0])
    w, b, _ = run_polish(X, y, np.zeros(X.shape[1]), 0.0, l1, 0.0, 4000)
    f, f_opt = ref.objective(X, y, w, b, l1, 0.0), ref.objective(X, y, w_opt, b_opt, l1, 0.0)
    assert abs(f - f_opt) < 1e-6 * f_opt
    assert np.array_equal(w == 0, np.abs(w_opt) < 1e-8)
    np.testing.assert_allclose(w, w_opt, atol=1e-3)


def test_squared_loss_with_sample_weights_matches_the_normal_equations():
    X, _, rng = problem(3, n=200, d=15)
    X = sp.csr_matrix(X.toarray() + sp.random(200, 15, density=0.3, random_state=4).toarray())
    y = rng.normal(size=200)
    sw = rng.uniform(0.5, 2.0, size=200)
    l2 = 0.1
    w, b, _ = run_polish(X, y, np.zeros(15), 0.0, 0.0, l2, 5000, loss="squared", sw=sw)
    # weighted ridge with an unpenalized intercept, solved exactly
    A = np.hstack([X.toarray(), np.ones((200, 1))])
    S = sw / sw.sum()
    P = np.diag([l2] * 15 + [0.0])
    exact = np.linalg.solve(A.T @ (S[:, None] * A) + P, A.T @ (S * y))
    np.testing.assert_allclose(np.append(w, b), exact, atol=1e-6)


def test_mean_loss_skips_unseen_columns():
    X, y, _ = problem(5)
    tr = trainers.sgd("logistic", 0.1)
    tr.epoch(tr.rows(X[:200], y[:200]), np.arange(200, dtype=np.int64))
    w = np.zeros(X.shape[1])
    cols, vals = tr.coefficients()
    w[cols] = vals
    expected = ref.objective(X[200:], y[200:], w, tr.intercept(), 0.0, 0.0)
    assert tr.mean_loss(tr.lookup(X[200:], y[200:])) == pytest.approx(expected, rel=1e-12)
