"""The exact L1 / elastic-net solver against independent optima (liblinear, saga, scikit-learn's
Lasso / ElasticNet) and against its own optimality conditions, written again here in dense NumPy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from widecross.losses import LOSSES
from widecross.train import SGD, Penalty, Rows, SGDParams, Trainer
from widecross.train import exact as _solver
from widecross.train.exact import Exact


# -- problems and independent references ----------------------------------------------------------
def random_problem(seed=0, n=400, d=60, density=0.08, values=True, loss="logistic"):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    X.data = rng.normal(size=X.nnz) if values else np.ones(X.nnz)
    w = np.where(np.arange(d) < 8, 1.5, 0.0)
    m = X @ w + 0.3
    if loss == "logistic":
        y = (rng.random(n) < 1 / (1 + np.exp(-m))).astype(np.float64)
    else:
        y = m + rng.normal(scale=0.5, size=n)
    return X, y


def nested_problem(seed=0, n=3000):
    """Generated houses on the geo crosses (a 1' cell lies in a 10' cell, a 1 degree cell, a
    latitude and a longitude band): the nested columns the solver must handle."""
    import data_gen
    import widecross as wc

    rows = data_gen.generate_housing(n, seed=seed)
    spec = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10, 1), bits=16)
    X = spec.transform({"lat": rows["lat"], "lon": rows["lon"]})
    return compress(X), rows["label"].astype(np.float64)


def compress(X):
    """The used columns of ``X`` only (the solver works on slots)."""
    cols, inverse = np.unique(X.indices, return_inverse=True)
    return sp.csr_matrix((X.data.astype(np.float64), inverse.astype(np.int32), X.indptr), shape=(X.shape[0], cols.size))


def problem_of(X, y, sw=None, loss="logistic"):
    return _solver.make_problem(X.indptr, X.indices, X.data, y, np.empty(0) if sw is None else sw, loss, X.shape[1])


def mean_weights(y, sw):
    s = np.ones_like(y) if sw is None else sw
    return s / s.sum()


def objective(X, y, w, b, l1, l2, loss="logistic", sw=None):
    m = X @ w + b
    losses = np.logaddexp(0.0, m) - y * m if loss == "logistic" else 0.5 * (m - y) ** 2
    return float(mean_weights(y, sw) @ losses + l1 * np.abs(w).sum() + 0.5 * l2 * w @ w)


def kkt_violations(X, y, w, b, l1, l2, loss="logistic", sw=None):
    """(largest violation over the weights, |intercept gradient|), from the definitions."""
    m = X @ w + b
    d = 0.5 * (1 + np.tanh(0.5 * m)) - y if loss == "logistic" else m - y
    a = mean_weights(y, sw)
    g = X.T @ (a * d) + l2 * w
    viol = np.where(w > 0, np.abs(g + l1), np.where(w < 0, np.abs(g - l1), np.maximum(np.abs(g) - l1, 0)))
    return float(viol.max()), float(abs(a @ d))


def liblinear(X, y, l1, tol=1e-12, intercept_scaling=1e6, max_iter=100000):
    """liblinear penalizes the intercept as the weight of a constant column of value
    ``intercept_scaling``: a large one leaves it practically free. Its time depends on its seed
    by orders of magnitude (0.02 s or minutes on the nested problem), hence a fixed one."""
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(solver="liblinear", l1_ratio=1.0, C=1 / (len(y) * l1), tol=tol,
                                intercept_scaling=intercept_scaling, max_iter=max_iter, random_state=0).fit(X, y)
    return lr.coef_.ravel(), float(lr.intercept_[0])


def saga(X, y, l1, l2):
    """scikit-learn's saga (its intercept is unpenalized): C sum loss + (1-r)/2 |w|^2 + r |w|_1
    is n (l1 + l2) times F for C = 1 / (n (l1 + l2)), r = l1 / (l1 + l2)."""
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(solver="saga", l1_ratio=l1 / (l1 + l2), C=1 / (len(y) * (l1 + l2)), tol=1e-12,
                                max_iter=200000).fit(X, y)
    return lr.coef_.ravel(), float(lr.intercept_[0])


def solve(X, y, l1, l2=0.0, loss="logistic", sw=None, **kw):
    kw.setdefault("tol", 1e-12)
    s = _solver.solve(problem_of(X, y, sw, loss), l1, l2, **kw)
    return s


@pytest.mark.parametrize("n", [0, 1, 7, 20_001])
def test_dot_matches_numpy(n):
    from widecross.train import _cd

    rng = np.random.default_rng(n)
    a, b = rng.normal(size=n), rng.normal(size=n) * 1e3
    assert _cd.dot(a, b) == pytest.approx(float(np.dot(a, b)), rel=1e-12, abs=1e-9)


# -- logistic ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("values", [True, False])
@pytest.mark.parametrize("l1", [0.02, 0.004])
def test_logistic_reaches_the_liblinear_optimum_and_its_support(values, l1):
    X, y = random_problem(1, values=values)
    s = solve(X, y, l1)
    w_ref, b_ref = liblinear(X, y, l1)
    f, f_ref = objective(X, y, s.weights, s.intercept, l1, 0), objective(X, y, w_ref, b_ref, l1, 0)
    assert s.converged
    assert f <= f_ref + 1e-10 and f == pytest.approx(f_ref, rel=1e-8)
    assert s.objective == pytest.approx(f, rel=1e-12)  # the objective reported is the result's
    assert np.array_equal(s.weights != 0, np.abs(w_ref) > 1e-8)
    assert s.intercept == pytest.approx(b_ref, abs=1e-4)
    np.testing.assert_allclose(s.weights, w_ref, atol=1e-4)


@pytest.mark.parametrize("loss", ["logistic", "squared"])
@pytest.mark.parametrize("l1, l2", [(0.01, 0.0), (0.01, 0.05), (0.0, 0.05)])
def test_kkt_conditions_hold_at_the_solution(loss, l1, l2):
    X, y = random_problem(2, loss=loss)
    sw = np.random.default_rng(3).uniform(0.2, 3.0, size=len(y))
    s = solve(X, y, l1, l2, loss=loss, sw=sw)
    viol, intercept_grad = kkt_violations(X, y, s.weights, s.intercept, l1, l2, loss, sw)
    # a gap of g bounds the violations by ~sqrt(g) where the objective is strongly convex (l2 > 0)
    # and by ~g / (l1 |w|_1) where the lasso's rescaled dual point sets the gap (l2 = 0)
    assert viol < (1e-9 if l2 == 0 else 1e-6) and intercept_grad < 1e-6
    assert s.kkt == pytest.approx(viol, abs=1e-12)
    assert 0 <= s.gap <= 1e-12 * s.objective + 1e-15


def test_nested_geo_crosses_reach_the_liblinear_optimum():
    X, y = nested_problem()
    l1 = 2e-4
    s = solve(X, y, l1, tol=1e-10)
    # on nested columns liblinear needs minutes for tol 1e-10 or a scaling of 1e4: the l1 |b| / 1e3
    # it charges the intercept here moves its objective by ~1e-13
    w_ref, b_ref = liblinear(X, y, l1, tol=1e-7, intercept_scaling=1e3, max_iter=1000)
    f, f_ref = objective(X, y, s.weights, s.intercept, l1, 0), objective(X, y, w_ref, b_ref, l1, 0)
    assert s.converged and f <= f_ref + 1e-9
    assert f == pytest.approx(f_ref, rel=1e-7)
    viol, intercept_grad = kkt_violations(X, y, s.weights, s.intercept, l1, 0)
    assert viol < 1e-10 and intercept_grad < 1e-10
    assert s.nnz == pytest.approx(np.count_nonzero(np.abs(w_ref) > 1e-8), rel=0.02)


def test_logistic_elastic_net_matches_saga():
    X, y = random_problem(4, n=300, d=30)
    l1, l2 = 0.005, 0.02
    s = solve(X, y, l1, l2)
    w_ref, b_ref = saga(X, y, l1, l2)
    f, f_ref = objective(X, y, s.weights, s.intercept, l1, l2), objective(X, y, w_ref, b_ref, l1, l2)
    assert f <= f_ref + 1e-10 and f == pytest.approx(f_ref, rel=1e-7)
    assert np.array_equal(s.weights != 0, np.abs(w_ref) > 1e-6)


def test_separable_rows_converge():
    """A column whose rows all carry label 1 pulls its weight up while the loss flattens: the
    Newton model's trust region keeps the steps finite (the optimum exists: l1 > 0)."""
    X, y = random_problem(5, n=200, d=20, values=False)
    extra = sp.csr_matrix((np.ones(30), (np.arange(30), np.zeros(30, dtype=int))), shape=(200, 1))
    y = y.copy()
    y[:30] = 1.0
    X = sp.hstack([X, extra], format="csr")
    l1 = 1e-3
    s = solve(X, y, l1)
    w_ref, b_ref = liblinear(X, y, l1)
    assert s.converged and s.weights[-1] > 2
    assert objective(X, y, s.weights, s.intercept, l1, 0) <= objective(X, y, w_ref, b_ref, l1, 0) + 1e-10


# -- squared loss -----------------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("l1, l2", [(0.02, 0.0), (0.01, 0.03)])
def test_squared_matches_scikit_learn_lasso_and_elastic_net(weighted, l1, l2):
    from sklearn.linear_model import ElasticNet

    X, y = random_problem(6, loss="squared")
    sw = np.random.default_rng(7).uniform(0.2, 3.0, size=len(y)) if weighted else None
    s = solve(X, y, l1, l2, loss="squared", sw=sw)
    # ElasticNet: sum_i s_i (y - m)^2 / (2 sum s) + alpha r |w|_1 + alpha (1 - r) / 2 |w|^2
    ref = ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), tol=1e-14, max_iter=1000000).fit(X, y, sample_weight=sw)
    f = objective(X, y, s.weights, s.intercept, l1, l2, "squared", sw)
    f_ref = objective(X, y, ref.coef_, float(ref.intercept_), l1, l2, "squared", sw)
    assert f <= f_ref + 1e-12 and f == pytest.approx(f_ref, rel=1e-9)
    np.testing.assert_allclose(s.weights, ref.coef_, atol=1e-6)
    assert np.array_equal(s.weights != 0, ref.coef_ != 0)


# -- warm starts, weights, degenerate data ------------------------------------------------------------
@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_warm_starts_reach_the_same_optimum(loss):
    X, y = random_problem(8, loss=loss)
    p = problem_of(X, y, loss=loss)
    l1 = 0.01
    cold = _solver.solve(p, l1, tol=1e-12)
    rng = np.random.default_rng(9)
    starts = [(rng.normal(size=X.shape[1]), 2.0), (_solver.solve(p, 3 * l1, tol=1e-6).weights, -1.0)]
    for w0, b0 in starts:
        kept = w0.copy()
        warm = _solver.solve(p, l1, 0.0, w0, b0, tol=1e-12)
        assert warm.objective == pytest.approx(cold.objective, rel=1e-11)
        np.testing.assert_allclose(warm.weights, cold.weights, atol=1e-6)
        assert np.array_equal(warm.weights != 0, cold.weights != 0)
        assert np.array_equal(w0, kept)  # the caller's start is left alone


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_the_objective_never_increases(loss):
    """Every outer iteration starts from the last one's result: each Newton step passed an Armijo
    test on the true objective (or, squared, minimized an exact model), and the intercept moved to
    its exact minimizer. The history is recomputed from the definitions at a few points."""
    X, y = random_problem(21, loss=loss)
    p = problem_of(X, y, loss=loss)
    rng = np.random.default_rng(22)
    w0 = np.where(rng.random(X.shape[1]) < 0.3, rng.normal(size=X.shape[1]), 0.0)
    start = objective(X, y, w0, 0.7, 0.003, 0.01, loss)
    s = _solver.solve(p, 0.003, 0.01, w0, 0.7, tol=1e-10, start_size=4, growth=1.5)
    values = [h[0] for h in s.history]
    assert len(values) >= 4 and values[0] <= start
    assert all(b <= a * (1 + 1e-14) for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(objective(X, y, s.weights, s.intercept, 0.003, 0.01, loss), rel=1e-12)


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_integer_sample_weights_equal_repeated_rows(loss):
    X, y = random_problem(10, n=200, loss=loss)
    counts = np.random.default_rng(11).integers(0, 4, size=len(y))
    repeated = np.repeat(np.arange(len(y)), counts)
    l1 = 0.01
    weighted = solve(X, y, l1, loss=loss, sw=counts.astype(float))
    plain = solve(X[repeated], y[repeated], l1, loss=loss)
    assert weighted.objective == pytest.approx(plain.objective, rel=1e-11)
    np.testing.assert_allclose(weighted.weights, plain.weights, atol=1e-7)
    assert weighted.intercept == pytest.approx(plain.intercept, abs=1e-7)


def test_empty_rows_unused_slots_and_zero_columns():
    X, y = random_problem(12, n=300, d=40)
    X = X.tolil()
    X[:25] = 0  # empty rows: only the intercept sees them
    X = X.tocsr()
    X.eliminate_zeros()
    # slot 40 holds explicit zeros only (rows 30-34), slot 41 never appears
    coo = X.tocoo()
    rows = np.concatenate([coo.row, np.arange(30, 35)])
    cols = np.concatenate([coo.col, np.full(5, 40)])
    Xs = sp.coo_matrix((np.concatenate([coo.data, np.zeros(5)]), (rows, cols)), shape=(300, 42)).tocsr()
    assert Xs.nnz == X.nnz + 5
    l1 = 0.005
    p = problem_of(Xs, y)
    w0 = np.zeros(42)
    w0[40], w0[41] = 3.0, -2.0  # a warm start on columns the loss cannot see
    s = _solver.solve(p, l1, 0.0, w0, 0.0, tol=1e-12)
    assert s.weights[40] == 0 and s.weights[41] == 0
    w_ref, b_ref = liblinear(X, y, l1)
    assert s.objective == pytest.approx(objective(X, y, w_ref, b_ref, l1, 0), rel=1e-8)
    np.testing.assert_allclose(s.weights[:40], w_ref, atol=1e-4)


def test_l1_max_is_the_exact_threshold_of_the_all_zero_optimum():
    X, y = random_problem(13)
    sw = np.random.default_rng(14).uniform(0.5, 2.0, size=len(y))
    p = problem_of(X, y, sw)
    top = _solver.l1_max(p)
    # independent: the gradient at w = 0 with the best intercept (the weighted log-odds)
    a = sw / sw.sum()
    ybar = a @ y
    expected = np.abs(X.T @ (a * (ybar - y))).max()
    assert top == pytest.approx(expected, rel=1e-12)
    at = _solver.solve(p, top, tol=1e-12)
    assert at.nnz == 0 and at.intercept == pytest.approx(np.log(ybar / (1 - ybar)), rel=1e-12)
    assert _solver.solve(p, 2 * top).nnz == 0
    below = _solver.solve(p, 0.99 * top, tol=1e-12)
    assert below.nnz >= 1 and below.objective < at.objective


def test_stopping_rule_and_the_duality_gap_certificate():
    X, y = random_problem(15)
    l1 = 0.003
    p = problem_of(X, y)
    best = _solver.solve(p, l1, tol=1e-13).objective
    for tol in (1.0, 1e-2, 1e-4, 1e-6):
        s = _solver.solve(p, l1, tol=tol)
        viol, intercept_grad = kkt_violations(X, y, s.weights, s.intercept, l1, 0)
        assert s.converged and viol <= tol * l1 and intercept_grad < 1e-12
        assert best - 1e-14 <= s.objective <= best + s.gap + 1e-14  # the gap bounds the distance
    # elastic net: the violation is relative to the penalty's largest gradient
    l2 = 0.05
    s = _solver.solve(p, l1, l2, tol=1e-3)
    assert kkt_violations(X, y, s.weights, s.intercept, l1, l2)[0] <= 1e-3 * (l1 + l2 * np.abs(s.weights).max())
    capped = _solver.solve(p, l1, tol=1e-14, max_iter=1)
    assert not capped.converged and capped.iterations == 1


def test_repeated_slots_in_a_row_are_summed_and_unit_values_may_be_omitted():
    X, y = random_problem(16, values=False)
    l1 = 0.01
    s = solve(X, y, l1)
    # the same rows with every entry split in two halves, and with the values left out
    halves = sp.csr_matrix((np.repeat(X.data / 2, 2), np.repeat(X.indices, 2), X.indptr * 2), shape=X.shape)
    p_split = _solver.make_problem(halves.indptr, halves.indices, halves.data, y, np.empty(0), "logistic", X.shape[1])
    p_ones = _solver.make_problem(X.indptr, X.indices, np.empty(0), y, np.empty(0), "logistic", X.shape[1])
    for p in (p_split, p_ones):
        other = _solver.solve(p, l1, tol=1e-12)
        assert other.objective == pytest.approx(s.objective, rel=1e-12)
        np.testing.assert_allclose(other.weights, s.weights, atol=1e-8)


def test_path_equals_independent_solves():
    X, y = random_problem(17)
    p = problem_of(X, y)
    grid = _solver.l1_grid(_solver.l1_max(p), 1e-3, 6)
    path = _solver.solve_path(p, grid, tol=1e-10)
    assert path[0].nnz == 0 and all(a.nnz <= b.nnz + 2 for a, b in zip(path, path[1:]))
    for l1, point in zip(grid, path):
        alone = _solver.solve(p, l1, tol=1e-10)
        assert point.objective == pytest.approx(alone.objective, rel=1e-9)


def test_a_trainer_is_solved_from_its_sgd_state():
    X, y = random_problem(18, n=500)
    l1 = 0.004
    tr = Trainer(SGD(LOSSES["logistic"], SGDParams(eta0=0.2, l1=l1, rates="adagrad")))
    rows = tr.rows(X, y)
    tr.epoch(rows)
    s = tr.solve(Exact(tol=1e-12), lambda: (rows,))
    w_ref, b_ref = liblinear(X, y, l1)
    cols, values = tr.coefficients()
    w = np.zeros(X.shape[1])
    w[cols] = values
    assert s.passes > 0
    assert objective(X, y, w, tr.intercept(), l1, 0) == pytest.approx(objective(X, y, w_ref, b_ref, l1, 0), rel=1e-8)
    assert s.objective == pytest.approx(objective(X, y, w_ref, b_ref, l1, 0), rel=1e-8)
    assert tr.intercept() == pytest.approx(s.intercept)


def test_blocks_are_stacked_and_unseen_columns_left_out():
    """Rows in three blocks, with entries of slot -1 (columns unseen in training), solve as the
    same rows in one block without those entries."""
    X, y = random_problem(20, n=300, d=30)
    l1, penalty, loss = 0.01, Penalty(l1=0.01), LOSSES["logistic"]
    ref_w, ref_b = liblinear(X, y, l1)
    one = Rows(X.indptr.astype(np.int64), X.indices.astype(np.int32), X.data, y, np.empty(0))
    wide = sp.hstack([X, sp.csr_matrix(np.random.default_rng(0).random((300, 1)) < 0.3)]).tocsr()
    slots = np.where(wide.indices == 30, -1, wide.indices).astype(np.int32)
    blocks = []
    for lo, hi in ((0, 100), (100, 101), (101, 300)):
        a, b = wide.indptr[lo], wide.indptr[hi]
        blocks.append(Rows(wide.indptr[lo:hi + 1] - a, slots[a:b], wide.data[a:b], y[lo:hi], np.empty(0)))
    w_one, w_blocks = np.zeros(30), np.zeros(30)
    s_one = Exact(tol=1e-10).solve(lambda: [one], w_one, 0.0, penalty, loss)
    s_blocks = Exact(tol=1e-10).solve(lambda: iter(blocks), w_blocks, 0.0, penalty, loss)
    np.testing.assert_allclose(w_blocks, w_one, rtol=1e-9, atol=1e-12)
    assert s_blocks.intercept == pytest.approx(s_one.intercept, rel=1e-9)
    assert s_one.objective == pytest.approx(objective(X, y, ref_w, ref_b, l1, 0), rel=1e-8)
    assert not Exact().applies(LOSSES["hinge"]) and Exact().applies(LOSSES["squared"])


# -- bad input ----------------------------------------------------------------------------------------
def test_bad_input_is_named():
    X, y = random_problem(19, n=50, d=10)
    args = dict(indptr=X.indptr, slots=X.indices, data=X.data, y=y, sw=np.empty(0), loss="logistic", n_slots=10)

    def make(**changes):
        return _solver.make_problem(**{**args, **changes})

    with pytest.raises(ValueError, match="slot 10 of row"):
        make(slots=np.where(X.indices == X.indices[0], 10, X.indices).astype(np.int32))
    with pytest.raises(ValueError, match="labels must lie in"):
        make(y=np.where(np.arange(50) == 3, 2.0, y))
    with pytest.raises(ValueError, match="both labels"):
        make(y=np.zeros(50))
    with pytest.raises(ValueError, match="negative"):
        make(sw=np.where(np.arange(50) == 7, -1.0, 1.0))
    with pytest.raises(ValueError, match="y must be finite"):
        make(y=np.where(np.arange(50) == 1, np.nan, y), loss="squared")
    with pytest.raises(ValueError, match="one label per row"):
        make(y=y[:-1])
    with pytest.raises(ValueError, match="indptr"):
        make(indptr=X.indptr[::-1].copy())
    with pytest.raises(ValueError, match="handles the losses"):
        make(loss="hinge")
    p = make()
    with pytest.raises(ValueError, match="one per slot"):
        _solver.solve(p, 0.01, 0.0, np.zeros(3))
    with pytest.raises(ValueError, match="l1 and l2"):
        _solver.solve(p, -1.0)
    with pytest.raises(ValueError, match="needs a penalty"):
        _solver.solve(p, 0.0, 0.0)


# -- the sparse-matrix entry point ---------------------------------------------------------------------
def test_a_wide_csr_is_solved_on_its_used_columns_with_warm_starts_by_column():
    X, y = random_problem(20, n=300, d=30)
    width = 2**40  # only the used columns are held: nothing is sized by the width
    spread = np.arange(30, dtype=np.int64) * 2**33 + 5
    wide = sp.csr_matrix((X.data, spread[X.indices], X.indptr), shape=(300, width))
    l1 = 0.004
    s = _solver.solve_csr(wide, y, l1, tol=1e-12)
    cols, values = s.coefficients()
    w_ref, b_ref = liblinear(X, y, l1)
    assert np.array_equal(cols, spread[np.flatnonzero(w_ref)])
    np.testing.assert_allclose(values, w_ref[w_ref != 0], atol=1e-4)
    assert s.objective == pytest.approx(objective(X, y, w_ref, b_ref, l1, 0), rel=1e-8)
    # a warm start from a solution, or from pairs that name columns absent here (dropped)
    strong = _solver.solve_csr(wide, y, 3 * l1, tol=1e-6)
    for start in (strong, (np.append(cols, 3), np.append(values, 9.0), 0.5)):
        warm = _solver.solve_csr(wide, y, l1, start=start, tol=1e-12)
        assert warm.objective == pytest.approx(s.objective, rel=1e-11)
        assert np.array_equal(warm.coefficients()[0], cols)
    with pytest.raises(TypeError, match="SciPy sparse"):
        _solver.solve_csr(X.toarray(), y, l1)
    with pytest.raises(ValueError, match="one label per row of X"):
        _solver.solve_csr(wide, y[:-1], l1)
    with pytest.raises(ValueError, match="one value per column"):
        _solver.solve_csr(wide, y, l1, start=(cols, values[:-1], 0.0))
    bad = wide.copy()
    bad.indices = bad.indices.copy()
    bad.indices[7] = -3
    with pytest.raises(ValueError, match="outside its width"):
        _solver.solve_csr(bad, y, l1)


def test_penalty_change_of_a_tiny_step_keeps_its_digits():
    """A step of 1e-13 on a weight of 1.5: ``|w + d| - |w|`` would keep ~3 digits of it; the
    sign-held change is exact (by hand: l1 (d1 - d2) + the zero crossing of the last)."""
    from widecross.train import _cd

    w = np.array([1.5, -1.5, 2e-13])
    delta = np.array([1e-13, 3e-13, -5e-13])
    change = _cd.penalty_change(w, np.arange(3), delta, 1.0, 0.1, 0.0)
    assert change == pytest.approx(0.1 * (1e-13 - 3e-13 + (3e-13 - 2e-13)), rel=1e-12, abs=0.0)


@pytest.mark.parametrize("m", [-30.0, -3.0, -1e-3, 0.0, 0.7, 4.0, 25.0])
@pytest.mark.parametrize("d", [-1.0, -0.3, -1e-9, 1e-12, 0.05, 1.0])
@pytest.mark.parametrize("y", [0.0, 0.3, 1.0])
def test_the_line_search_step_matches_a_50_digit_logistic_loss(m, d, y):
    """The line search's fused change and derivative (``_rowpass.logistic_step``) against the loss
    computed in 50-digit decimals: the change to 1e-12 of itself (it is what the Armijo test
    compares, far below the loss's own rounding), the derivative to 1e-15 absolute."""
    from decimal import Decimal, localcontext

    from widecross.train import _rowpass

    with localcontext() as ctx:
        ctx.prec = 50
        M, D, Y = Decimal(m), Decimal(d), Decimal(y)

        def loss(v):
            return (1 + v.exp()).ln() - Y * v

        change = float(loss(M + D) - loss(M))
        e = (M + D).exp()
        derivative = float(e / (1 + e) - Y)
    got_change, got_derivative = _rowpass.logistic_step(y, m, d)
    assert got_change == pytest.approx(change, rel=1e-12, abs=1e-300)
    assert got_derivative == pytest.approx(derivative, rel=0.0, abs=1e-15)


def test_values_are_stored_in_the_fewest_exact_bytes_and_solve_as_given():
    """All-one values are dropped, small integers held as float32, others kept: the optimum and
    its KKT conditions (NumPy, from the float64 matrix) are those of the values as given."""
    X, y = random_problem(21, values=False)
    rng = np.random.default_rng(21)
    counts = X.copy()
    counts.data = rng.integers(1, 4, size=X.nnz).astype(np.float64)
    fractions = X.copy()
    fractions.data = rng.normal(size=X.nnz)
    split = sp.csr_matrix((np.repeat(counts.data / 3, 2) * 1.5, np.repeat(X.indices, 2), X.indptr * 2),
                          shape=X.shape)  # halves of counts: float32-exact each, summed in a row
    kept = [a.copy() for a in (split.data, split.indices, split.indptr)]
    l1 = 0.004
    for M, stored in ((X, None), (counts, np.float32), (fractions, np.float64), (split, np.float64)):
        p = problem_of(M, y)
        assert (p.data.size == 0) if stored is None else (p.data.dtype == stored and p.col_data.dtype == stored)
        s = _solver.solve(p, l1, tol=1e-12)
        viol, intercept_grad = kkt_violations(M, y, s.weights, s.intercept, l1, 0.0)
        assert viol <= 1e-9 and intercept_grad <= 1e-12
        assert s.objective == pytest.approx(objective(M, y, s.weights, s.intercept, l1, 0.0), rel=1e-12)
    # the repeats were summed in a copy: the caller's matrix is left alone
    assert all(np.array_equal(a, b) for a, b in zip(kept, (split.data, split.indices, split.indptr)))
    assert _solver.solve(problem_of(split, y), l1, tol=1e-12).objective == pytest.approx(
        _solver.solve(problem_of(counts, y), l1, tol=1e-12).objective, rel=1e-12)


@pytest.mark.parametrize("shift", [3e-3, 0.5])
def test_an_intercept_off_its_minimizer_is_centred_exactly(shift):
    """A start whose intercept is off by a small shift (Newton passes on the rows) or a large
    one (bracketed Newton) ends at the cold start's optimum, its intercept gradient (NumPy) ~0."""
    X, y = random_problem(22)
    p = problem_of(X, y)
    l1 = 0.01
    cold = _solver.solve(p, l1, tol=1e-12)
    warm = _solver.solve(p, l1, 0.0, cold.weights, cold.intercept + shift, tol=1e-12)
    assert warm.objective == pytest.approx(cold.objective, rel=1e-12)
    assert kkt_violations(X, y, warm.weights, warm.intercept, l1, 0.0)[1] <= 1e-12
    assert warm.intercept == pytest.approx(cold.intercept, abs=1e-9)


@pytest.mark.parametrize("inner, sweep_tol", [(0.1, 0.1), (0.5, 0.5), (0.8, 0.75), (0.95, 0.95)])
def test_inner_tolerances_change_the_work_not_the_optimum(inner, sweep_tol):
    # a loose working-set solve is corrected by the next scan: every setting reaches the one
    # optimal value of the nested columns, with the KKT conditions written in NumPy
    X, y = nested_problem()
    l1 = 2e-4
    s = solve(X, y, l1, tol=1e-10, inner=inner, sweep_tol=sweep_tol)
    tight = solve(X, y, l1, tol=1e-10, inner=0.1, sweep_tol=0.1)
    viol, intercept_grad = kkt_violations(X, y, s.weights, s.intercept, l1, 0)
    assert s.converged and viol < 1e-10 and intercept_grad < 1e-10
    assert s.objective == pytest.approx(tight.objective, rel=1e-12)
    # nested columns leave flat valleys: the optimum's value is unique, its support only nearly
    assert s.nnz == pytest.approx(tight.nnz, rel=0.01)


@pytest.mark.parametrize("shift", [3e-7, 4e-5, 1e-4])
@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_first_order_centring_stays_within_its_gradient_bound(shift, loss):
    """``Rows.center`` from an intercept ``shift`` below its minimizer, applied to first order:
    the intercept lands within O(shift^2) of the minimizer (exact for the squared loss), each
    column's gradient within ``first_order_shift``'s bound of the gradient recomputed in NumPy
    at the new margins, the mean loss within 1e-14."""
    from widecross.train import _newton, _rowpass

    X, y = random_problem(3, values=True, loss=loss)
    p = problem_of(X, y, loss=loss)
    w = np.zeros(p.n_slots)
    w[:8] = 0.7
    m = np.empty(p.n_rows)
    _rowpass.margins(p.indptr, p.slots, p.data, w, 0.0, m)
    best = _rowpass.center_intercept(p.y, p.sw, p.scale, m.copy(), p.loss, 100)  # the exact intercept
    state = _newton.Rows(m + (best - shift), np.empty((p.n_rows, _rowpass.N_ROW)), np.empty(p.n_rows), best - shift)
    state.fill(p)
    first_order = _newton.first_order_shift(p.loss, 1.0, 1.0)
    assert first_order == (np.inf if loss == "squared" else _newton.MAX_FIRST_ORDER_SHIFT)
    state.center(p, first_order)
    assert state.b == pytest.approx(best, rel=0, abs=0.5 * shift**2 + 1e-15)
    np.testing.assert_allclose(state.m, m + state.b, rtol=0, atol=1e-13)
    mm = state.m  # the reference, in NumPy at the new margins
    if loss == "logistic":
        g_rows = (1 / (1 + np.exp(-mm)) - p.y) / p.n_rows
        f = float(np.mean(np.logaddexp(0.0, mm) - p.y * mm))
        bound = _newton.HALF_THIRD_DERIVATIVE * float(np.max(np.abs(X.data))) * shift**2
    else:
        g_rows = (mm - p.y) / p.n_rows
        f = float(np.mean(0.5 * (mm - p.y) ** 2))
        bound = 0.0
    Xp = sp.csr_matrix((p.data if p.data.size else np.ones(p.slots.size), p.slots, p.indptr),
                       shape=(p.n_rows, p.n_slots))
    np.testing.assert_array_less(np.abs(Xp.T @ state.grads - Xp.T @ g_rows), bound + 1e-15)
    assert state.loss == pytest.approx(f, rel=0, abs=1e-14)
