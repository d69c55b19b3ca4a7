"""l1="auto", partial_fit's one-pass defaults and the rates that follow the rows' size."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc

from test_estimators import model_bytes, sparse_problem
from widecross import WideClassifier, WideRegressor
from widecross.estimators.auto import ROWS_EXPONENT, l1_max, summary
from widecross.train.sgd import default_learning_rate, row_scale


def log_loss(y, p):
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


@pytest.fixture(scope="module")
def problem():
    X, y = sparse_problem(21, n=4000)
    return X[:3000], y[:3000], X[3000:], y[3000:]


@pytest.fixture(scope="module")
def fitted(problem):
    X, y, _, _ = problem
    return WideClassifier(random_state=0).fit(X, y)


def test_auto_beats_the_constant_and_a_bad_l1_on_held_out_rows(problem, fitted):
    X, y, Xt, yt = problem
    auto = log_loss(yt, fitted.predict_proba(Xt)[:, 1])
    assert auto < log_loss(yt, np.full(yt.shape, y.mean())) - 0.05
    # within 1 % of the best of a grid of fixed-l1 fits, and sparser than the weakest of them
    grid = [WideClassifier(l1=l1, random_state=0).fit(X, y) for l1 in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)]
    best = min(log_loss(yt, est.predict_proba(Xt)[:, 1]) for est in grid)
    assert auto <= 1.01 * best
    assert 0 < fitted.model_.nnz < grid[-1].model_.nnz


def test_the_path_record(fitted):
    path = fitted.l1_path_
    n = len(path["l1"])
    assert n >= 3
    for key in ("held_out_loss", "held_out_loss_se", "nnz", "seconds"):
        assert path[key].shape == (n,), key
    assert np.all(np.diff(path["l1"]) < 0)  # strongest first
    assert path["nnz"][0] <= 1 and path["nnz"][-1] > path["nnz"][0]
    assert path["chosen"] == path["best"] == int(np.argmin(path["held_out_loss"]))
    one_se = path["one_se"]  # the sparsest point within one standard error of the best
    assert path["held_out_loss"][one_se] <= path["held_out_loss"][path["best"]] + path["held_out_loss_se"][path["best"]]
    assert path["nnz"][one_se] <= path["nnz"][path["best"]]
    assert path["folds"] == 1 and path["held_out_rows"] == 300 and path["path_rows"] == 2700
    assert path["path_wall_seconds"] >= path["wall_seconds"].sum() > 0  # one chain: its fits and their scoring
    # the chosen point (refined between its neighbours: the vertex of the parabola through the
    # three held-out losses in log l1), rescaled from the path's 2,700 rows to all 3,000
    i = path["chosen"]
    if 0 < i < n - 1:
        a, b, c = path["held_out_loss"][i - 1: i + 2]
        x = np.log(path["l1"][i - 1: i + 2])
        top = x[1] - 0.5 * ((x[1] - x[0]) ** 2 * (b - c) - (x[1] - x[2]) ** 2 * (b - a)) / (
            (x[1] - x[0]) * (b - c) - (x[1] - x[2]) * (b - a))
        assert np.log(path["chosen_l1"]) == pytest.approx(top, rel=1e-9)
    step = path["l1"][0] / path["l1"][1]
    assert path["l1"][i] / step ** 0.5 <= path["chosen_l1"] * (1 + 1e-12) and path["chosen_l1"] <= path["l1"][i] * step ** 0.5 * (1 + 1e-12)
    assert fitted.l1_ == pytest.approx(path["chosen_l1"] * (2700 / 3000) ** ROWS_EXPONENT, rel=1e-12)
    assert "l1 auto" in summary(path, fitted.l1_)


def test_l1_max_against_a_dense_reference(problem):
    X, y, _, _ = problem
    yf = y.astype(np.float64)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    dense = X.toarray()
    mean = np.average(yf, weights=sw)
    reference = np.max(np.abs(dense.T @ (sw * (mean - yf)))) / sw.sum()
    assert l1_max(X, yf, sw, "logistic") == pytest.approx(reference, rel=1e-12)
    # above it the optimum is all zero, below it is not
    assert WideClassifier(l1=2 * reference, random_state=0).fit(X, y, sample_weight=sw).model_.nnz == 0
    assert WideClassifier(l1=0.5 * reference, random_state=0).fit(X, y, sample_weight=sw).model_.nnz > 0


def test_l1_max_is_the_bits_of_the_sorted_column_numbering(problem):
    """l1_max numbers the columns by first appearance (a slot map), not by sorting them: bincount
    adds each column's entries in entry order either way, so the threshold keeps its bits."""
    X, y, _, _ = problem
    X = X.tocsr().copy()
    X.indices = (X.indices.astype(np.int64) * 7_919 + 3) % 235_700_000  # wide ids, out of order
    X.data = np.random.default_rng(1).uniform(0.5, 2.0, X.nnz)
    yf, sw = y.astype(np.float64), np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0])
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    _, column = np.unique(X.indices, return_inverse=True)
    for w in (sw, np.ones(X.shape[0])):
        gradient = np.bincount(column.ravel(), weights=X.data * (w * (np.average(yf, weights=w) - yf))[rows]) / w.sum()
        assert l1_max(X, yf, w, "logistic") == float(np.max(np.abs(gradient)))


@pytest.mark.parametrize("loss", ["logistic", "squared", "poisson", "hinge"])
def test_held_out_losses_on_threads_are_the_one_thread_bits(loss):
    from widecross.estimators.path import held_out_losses, pointwise_loss
    from widecross.losses import LOSSES

    rng = np.random.default_rng(3)
    margin = rng.standard_normal(150_001) * 4
    y = rng.poisson(2.0, margin.size).astype(np.float64) if loss == "poisson" else (rng.random(margin.size) < 0.4) * 1.0

    class Margins:  # a model that scores every row with the margins above
        def decision_function(self, X, n_jobs=1):
            return margin

    want = pointwise_loss(LOSSES[loss], y, margin)
    for n_jobs in (1, 2, 3, 7):
        got, m = held_out_losses(Margins(), LOSSES[loss], None, y, n_jobs)
        assert got.tobytes() == want.tobytes() and m is margin


@pytest.mark.parametrize("n_jobs", [2, 3])
def test_auto_on_threads_walks_the_one_thread_path(problem, fitted, n_jobs):
    """Below PATH_TWIN_MIN_ROWS path rows (the problem's 2,700) two and three threads train the
    path's one-epoch points on one thread (polish and scoring on the threads give the same
    bits): every n_jobs walks the one-thread path and picks its l1; the rate candidates train on
    one thread each, side by side, and pick its rate; the refit trains on the threads,
    reproducibly."""
    X, y, Xt, yt = problem
    a, b = (WideClassifier(random_state=0, n_jobs=n_jobs).fit(X, y) for _ in range(2))
    one = fitted.l1_path_
    for key in ("l1", "held_out_loss", "held_out_loss_se", "nnz", "held_out_gain", "rate_candidates",
                "rate_held_out_loss"):
        assert a.l1_path_[key].tobytes() == one[key].tobytes()
    assert a.l1_path_["chosen_l1"] == one["chosen_l1"] and a.l1_path_["rate"] == one["rate"]
    assert one["rate_candidates"].size >= 3  # the rate was chosen: candidates fitted side by side
    assert a.l1_ == b.l1_ and model_bytes(a) == model_bytes(b)
    assert a._trainer.epochs_on_threads  # the refit's epochs on the threads


@pytest.mark.parametrize("n_jobs", [4, 5])
def test_a_path_of_many_rows_trains_its_points_on_the_shards(problem, fitted, monkeypatch, n_jobs):
    """From PATH_SHARD_MIN_JOBS threads and PATH_SHARD_MIN_ROWS rows the path's points train on
    n_jobs shards, the rows dealt once for the whole path: reproducible for that n_jobs, its own
    l1 near one thread's and the same held-out quality."""
    import widecross.estimators.auto as auto
    import widecross.train.shards as shards
    from widecross.metrics import log_loss as wc_log_loss

    X, y, Xt, yt = problem
    monkeypatch.setattr(auto, "PATH_SHARD_MIN_ROWS", 2000)  # the problem's path: 2,700 rows
    plans = []
    deal = shards._Plan.__init__

    def counted(self, rows, *args):
        plans.append(rows.n_rows)
        deal(self, rows, *args)

    monkeypatch.setattr(shards._Plan, "__init__", counted)
    a = WideClassifier(random_state=0, n_jobs=n_jobs).fit(X, y)
    path_plans, plans[:] = list(plans), []
    b = WideClassifier(random_state=0, n_jobs=n_jobs).fit(X, y)
    one = fitted.l1_path_
    assert path_plans.count(2700) == 1 and len(a.l1_path_["l1"]) > 3  # dealt once for all the points
    assert a.l1_path_["held_out_loss"].tobytes() != one["held_out_loss"].tobytes()  # trained on the shards
    assert a.l1_path_["held_out_loss"].tobytes() == b.l1_path_["held_out_loss"].tobytes()
    assert a.l1_ == b.l1_ and model_bytes(a) == model_bytes(b)
    assert a.l1_ == pytest.approx(fitted.l1_, rel=0.5)  # shards of ~600 rows: far from one thread's epochs
    assert abs(wc_log_loss(yt, a.predict_proba(Xt)[:, 1]) - wc_log_loss(yt, fitted.predict_proba(Xt)[:, 1])) < 0.005


def test_two_chains_walk_the_path_each_point_its_own_chains(problem):
    """``fit_path``'s twin: the even points are one walk's of the even grid points, the odd ones
    another's of the odd points, bit for bit; ``stop`` ends the path where it would end one walk
    of those points, and nothing past it is reported."""
    from widecross.estimators.path import fit_path

    X, y, _, _ = problem
    Xt, yt, Xh, yh = X[:2400], y[:2400], X[2400:], y[2400:]
    grid = 3e-2 * 10 ** (-np.arange(9) / 3)

    def walker():
        return WideClassifier(None, epochs=1, random_state=0, n_jobs=1)

    keys = ("l1", "nnz", "loss", "loss_se", "gain")
    even = fit_path(walker(), grid[0::2], Xt, yt, Xh, yh, figures=False)
    odd = fit_path(walker(), grid[1::2], Xt, yt, Xh, yh, figures=False)
    alone = [None] * len(grid)
    alone[0::2], alone[1::2] = even, odd
    reported = []
    twins = fit_path(walker(), grid, Xt, yt, Xh, yh, figures=False, twin=walker(), on_fit=reported.append)
    assert [[p[k] for k in keys] for p in twins] == [[p[k] for k in keys] for p in alone]
    assert reported == twins  # reported in grid order

    def patience(points):  # l1="auto"'s rule: two points after the lowest loss
        return len(points) - 1 - int(np.argmin([p["loss"] for p in points])) >= 2

    stopped = fit_path(walker(), grid, Xt, yt, Xh, yh, figures=False, twin=walker(), stop=patience)
    length = next(n for n in range(1, len(grid) + 1) if patience(alone[:n]))
    assert length < len(grid) and [p["loss"] for p in stopped] == [p["loss"] for p in alone[:length]]


def test_a_failing_chain_raises_at_its_pair(problem, monkeypatch):
    from widecross.estimators import path as path_module

    X, y, _, _ = problem
    point = path_module._Walk.point
    started = []

    def failing(self, l1):
        started.append(l1)
        if l1 == grid[2]:
            raise FloatingPointError("diverged")
        return point(self, l1)

    monkeypatch.setattr(path_module._Walk, "point", failing)
    grid = 3e-2 * 10 ** (-np.arange(12) / 3)
    with pytest.raises(FloatingPointError, match="diverged"):
        path_module.fit_path(WideClassifier(None, n_jobs=1), grid, X[:2400], y[:2400], X[2400:], y[2400:],
                             twin=WideClassifier(None, n_jobs=1))
    assert sorted(started, reverse=True) == list(grid[:4])  # the chains stopped with the pair that failed


@pytest.mark.parametrize("n_jobs", [2, 3])
def test_auto_on_two_or_three_threads_walks_two_chains(problem, fitted, monkeypatch, n_jobs):
    """From PATH_TWIN_MIN_ROWS path rows, two and three threads walk the path in two one-thread
    chains of one more polish pass per point: reproducible, an l1 near one thread's, the same
    held-out quality; one thread, and K classes, walk one chain."""
    import widecross.estimators.auto as auto
    from widecross.estimators import path as path_module
    from widecross.metrics import log_loss as wc_log_loss

    X, y, Xt, yt = problem
    monkeypatch.setattr(auto, "PATH_TWIN_MIN_ROWS", 2000)  # the problem's path: 2,700 rows
    walks = []
    walk = path_module._Walk.__init__

    def counted(self, estimator, *args, **kwargs):
        walks.append((estimator.n_jobs, estimator.polish))
        walk(self, estimator, *args, **kwargs)

    monkeypatch.setattr(path_module._Walk, "__init__", counted)
    a, b = (WideClassifier(random_state=0, n_jobs=n_jobs).fit(X, y) for _ in range(2))
    assert walks[:2] == [(1, auto.PATH_POLISH + 1)] * 2 and len(walks) == 4
    assert a.l1_path_["held_out_loss"].tobytes() != fitted.l1_path_["held_out_loss"].tobytes()
    assert a.l1_path_["held_out_loss"].tobytes() == b.l1_path_["held_out_loss"].tobytes()
    assert a.l1_ == b.l1_ and model_bytes(a) == model_bytes(b)
    assert a.l1_ == pytest.approx(fitted.l1_, rel=0.3)
    assert abs(wc_log_loss(yt, a.predict_proba(Xt)[:, 1]) - wc_log_loss(yt, fitted.predict_proba(Xt)[:, 1])) < 0.005
    walks.clear()
    WideClassifier(random_state=0, n_jobs=1).fit(X, y)
    assert walks == [(1, auto.PATH_POLISH)]
    walks.clear()  # K classes: one chain (the two chains' l1 was measured off by 12-17 % there)
    WideClassifier(random_state=0, n_jobs=n_jobs).fit(X, np.asarray(y, dtype=int) + (np.arange(len(y)) % 3 == 0))
    assert walks == [(n_jobs, auto.PATH_POLISH)]


def test_auto_is_reproducible_and_refits_as_a_fixed_l1_would(problem, fitted):
    X, y, _, _ = problem
    again = WideClassifier(random_state=0).fit(X, y)
    assert model_bytes(again) == model_bytes(fitted) and again.l1_ == fitted.l1_
    # the path draws from its own generator: the final fit is the fit at the chosen l1
    fixed = WideClassifier(l1=fitted.l1_, random_state=0).fit(X, y)
    assert model_bytes(fixed) == model_bytes(fitted)
    other = WideClassifier(random_state=1).fit(X, y)
    assert other.l1_path_["held_out_loss"][0] != fitted.l1_path_["held_out_loss"][0]  # another split


def test_auto_with_folds_and_a_regressor():
    rng = np.random.default_rng(3)
    X = sp.random(1500, 40, density=0.1, format="csr", random_state=3)
    w = np.zeros(40)
    w[:5] = [2.0, -1.5, 1.0, 3.0, -2.0]
    y = X @ w + rng.normal(0, 0.5, 1500)
    reg = WideRegressor(cv=3, random_state=0).fit(X, y)
    path = reg.l1_path_
    assert path["folds"] == 3 and path["held_out_rows"] == 1500 and path["path_rows"] == 1000
    assert reg.l1_ > 0 and reg.score(X, y) > 0.5
    assert model_bytes(WideRegressor(cv=3, random_state=0).fit(X, y)) == model_bytes(reg)
    with pytest.raises(ValueError, match="cv"):
        WideRegressor(cv=1).fit(X, y)


def test_explicit_l1_is_kept_and_tiny_data_falls_back(problem):
    X, y, _, _ = problem
    est = WideClassifier(l1=1e-4, random_state=0).fit(X, y)
    assert est.l1_ == 1e-4 and not hasattr(est, "l1_path_")
    tiny = WideClassifier(random_state=0).fit(X[:20], y[:20])
    assert tiny.l1_ == 1e-7 and len(tiny.l1_path_["l1"]) == 0


def test_partial_fit_takes_one_pass_defaults(problem):
    X, y, _, _ = problem
    stream = WideClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])
    assert stream.learning_rate_ == default_learning_rate("adagrad", 1) == 0.3
    # one partial_fit call is fit's one pass, bit for bit
    one = WideClassifier(epochs=1, polish=0, l1=stream.l1_, random_state=0).fit(X, y)
    assert model_bytes(one) == model_bytes(stream)
    assert WideClassifier(epochs=5).partial_fit(X, y, classes=[0, 1]).learning_rate_ == 1.5  # passes named


def test_default_rate_follows_the_rows_size(problem):
    """Each column repeated four times (rows of ~20 entries, the same information): the default
    rate is a quarter, and one pass moves the margins about as on the original rows (the
    weights' part exactly; the intercept's steps are a quarter), where the unscaled rate does not."""
    X, y, Xt, yt = problem
    assert row_scale(X.getnnz() / X.shape[0]) == 1.0
    wide, wide_t = sp.hstack([X] * 4, format="csr"), sp.hstack([Xt] * 4, format="csr")
    base = WideClassifier(epochs=1, polish=0, l1=1e-4, random_state=0).fit(X, y)
    repeated = WideClassifier(epochs=1, polish=0, l1=1e-4, random_state=0).fit(wide, y)
    unscaled = WideClassifier(epochs=1, polish=0, l1=1e-4, learning_rate=0.3, random_state=0).fit(wide, y)
    assert repeated.learning_rate_ == base.learning_rate_ / 4
    gap = np.abs(repeated.decision_function(wide_t) - base.decision_function(Xt)).mean()
    assert gap < 0.1 < np.abs(unscaled.decision_function(wide_t) - base.decision_function(Xt)).mean()
    # the plain schedules follow the squared norm: values 3x larger, rate 1/9 (up to a power of 2)
    plain = WideClassifier(schedule="constant", epochs=1, l1=1e-4).fit(X * 3.0, y)
    assert plain.learning_rate_ == default_learning_rate("constant") / 8
    assert WideClassifier(learning_rate=0.7, epochs=1, l1=1e-4).fit(wide, y).learning_rate_ == 0.7  # given: kept


def test_auto_on_a_data_set_on_disk_and_with_ftrl(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    import data_gen
    import widecross as wc

    rows = data_gen.generate_housing(3000, seed=9)
    path = tmp_path / "houses.parquet"
    pq.write_table(pa.table({k: rows[k] for k in ("lat", "lon", "label")}), path, row_group_size=1000)
    spec = wc.geo_spec(bits=18)
    streamed = WideClassifier(spec, epochs=2, random_state=0).fit(path, y="label", chunk_rows=3000)
    # the path holds at most one chunk of rows: memory stays set by the chunk size
    small = WideClassifier(spec, epochs=2, random_state=0).fit(path, y="label", chunk_rows=1000)
    assert small.l1_path_["path_rows"] == 900 and small.l1_path_["rows_scale"] == (900 / 3000) ** ROWS_EXPONENT
    # 100 held-out rows: too few to call the best point's gain noise (0.0034, standard error 0.007)
    assert small.l1_path_["rule"] == "best held-out loss"
    # the path reads the whole (small) data set: the same choice as in memory, where all rows are known
    memory = WideClassifier(spec, epochs=2, random_state=0).fit({"lat": rows["lat"], "lon": rows["lon"]}, rows["label"])
    assert streamed.l1_path_["path_rows"] == memory.l1_path_["path_rows"] == 2700
    assert streamed.l1_ > 0 and len(streamed.l1_path_["l1"]) == len(memory.l1_path_["l1"])
    ftrl = WideClassifier(spec, optimizer="ftrl", epochs=2, random_state=0).fit(
        {"lat": rows["lat"], "lon": rows["lon"]}, rows["label"])
    assert ftrl.l1_ > 0 and ftrl.model_.nnz > 0 and ftrl.learning_rate_ == 0.8  # FTRL's alpha for 2 passes


def test_auto_on_more_than_two_classes_beats_the_class_frequencies():
    """K classes: the path scores held-out rows by the cross-entropy of the class probabilities
    and starts at the largest one-vs-rest threshold, for both ways of training K columns."""
    rng = np.random.default_rng(3)
    n, d = 6000, 400
    X = sp.random(n, d, density=0.02, format="csr", random_state=4, data_rvs=lambda k: np.ones(k))
    signal = np.asarray(X[:, :12].sum(axis=1)).ravel()
    y = np.minimum((signal + rng.random(n) * 1.5).astype(int), 2)
    train, held = slice(0, 4500), slice(4500, None)
    frequencies = np.bincount(y[train], minlength=3) / 4500
    constant = -np.mean(np.log(frequencies[y[held]]))
    for multi_class in ("ovr", "multinomial"):
        clf = wc.WideClassifier(multi_class=multi_class, random_state=0).fit(X[train], y[train])
        proba = clf.predict_proba(X[held])
        ours = -np.mean(np.log(proba[np.arange(proba.shape[0]), y[held]]))
        assert ours < constant - 0.02, (multi_class, ours, constant)
        path = clf.l1_path_
        # the path starts where (nearly) every weight is zero: l1_max is exact at the optimum, the
        # stochastic fit on that threshold may keep one weight
        assert path["l1"].size >= 3 and np.all(np.diff(path["l1"]) < 0) and path["nnz"][0] <= 1 < path["nnz"][-1]
        assert np.isfinite(path["held_out_loss"]).all()


def noise_problem(n=6000, seed=4):
    """Rows with features and labels drawn independently: no signal."""
    X, _ = sparse_problem(seed, n=n)
    y = (np.random.default_rng([seed, 9]).random(n) < 0.3).astype(np.float64)
    return X[: n // 2], y[: n // 2], X[n // 2:], y[n // 2:]


def test_path_points_record_their_gain_over_the_constant(fitted, problem):
    """``gain``: the held-out loss of the best constant minus the point's, recomputed here, and
    its standard error from the row by row differences."""
    path = fitted.l1_path_
    X, y, _, _ = problem
    held = path["held_out_loss"]
    assert path["held_out_gain"].shape == held.shape and np.all(path["held_out_gain_se"] > 0)
    # the same held-out rows: the constant's loss is each point's loss plus its gain
    constant = held + path["held_out_gain"]
    np.testing.assert_allclose(constant, constant[0], rtol=1e-12)
    assert path["rule"] == "best held-out loss" and path["held_out_gain"][path["best"]] > 0.05


def test_auto_without_signal_is_the_constant():
    """Labels independent of the features: the best point's gain over the constant is within
    its noise, so the fit is the constant, exactly: no weight, the intercept the link of the
    labels' mean, the held-out loss the constant's."""
    X, y, Xt, yt = noise_problem(24_000)  # 1,200 held-out rows: enough to call a gain noise
    est = WideClassifier(random_state=0).fit(X, y)
    path = est.l1_path_
    assert path["rule"].startswith("no signal") and path["chosen"] == 0
    assert est.model_.nnz == 0
    assert est.model_.intercept == pytest.approx(np.log(y.mean() / (1 - y.mean())), abs=1e-12)
    assert log_loss(yt, est.predict_proba(Xt)[:, 1]) == pytest.approx(log_loss(yt, np.full(yt.shape, y.mean())),
                                                                      rel=1e-12)
    assert "no feature kept" in summary(path, est.l1_)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_a_fit_that_keeps_no_weight_ends_at_the_best_constant(n_jobs, weighted):
    """The polish's intercept of an all-zero model: the link of the weighted label mean (the
    prox steps alone leave it short), logistic and squared, any n_jobs."""
    X, y, _, _ = noise_problem(2000, seed=5)
    sw = np.random.default_rng(5).random(y.size) + 0.5 if weighted else None
    mean = float(np.average(y, weights=sw))
    clf = WideClassifier(l1=1.0, n_jobs=n_jobs, random_state=0).fit(X, y, sample_weight=sw)
    assert clf.model_.nnz == 0
    assert clf.model_.intercept == pytest.approx(np.log(mean / (1 - mean)), abs=1e-12)
    target = 3.0 * y + 1.0
    reg = WideRegressor(l1=10.0, n_jobs=n_jobs, random_state=0).fit(X, target, sample_weight=sw)
    assert reg.model_.nnz == 0
    assert reg.model_.intercept == pytest.approx(float(np.average(target, weights=sw)), abs=1e-12)


def _walk(est, fit, l1s):
    """A path's calls: the first at l1s[0], each later one warm at the last fit's rate, one epoch."""
    models = []
    for i, l1 in enumerate(l1s):
        if i:
            est.set_params(l1=l1, warm_start=True, epochs=1,
                           **{est._trainer.optimizer.rate_param: est.learning_rate_})
        fit()
        models.append((model_bytes(est), est.objective_, est.n_iter_, est.loss_curve_))
    return models


@pytest.mark.parametrize("kind, params", [
    ("classifier", {}), ("classifier", {"optimizer": "ftrl"}), ("classifier", {"optimizer": "cd"}),
    ("classifier", {"early_stopping": True, "epochs": 4}), ("classifier", {"n_jobs": 2}),
    ("classifier", {"n_jobs": 3, "optimizer": "ftrl"}), ("regressor", {"l2": 1e-3}), ("multiclass", {}),
])
def test_a_path_fitter_gives_the_models_of_fit_bit_for_bit(problem, kind, params):
    """The path's fits on rows mapped once and one trainer continued in place: the same models,
    objectives and loss curves as a fit per point (a warm start from a copy of the trainer)."""
    X, y, _, _ = problem
    sw = np.random.default_rng(1).random(X.shape[0]) + 0.5
    target = {"classifier": y, "regressor": y * 2.0 + np.asarray(X.sum(axis=1)).ravel(),
              "multiclass": y + (np.asarray(X[:, 3].todense()).ravel() > 0)}[kind]
    make = WideRegressor if kind == "regressor" else WideClassifier
    l1s = [3e-2, 1e-2, 3e-3, 1e-3]

    def walked(with_fitter):
        est = make(**{"random_state": 0, "l1": l1s[0], "epochs": 2, **params})
        fit = est._path_fitter(X, target, sw) if with_fitter else (lambda: est.fit(X, target, sw))
        return _walk(est, fit, l1s)

    a, b = walked(True), walked(False)
    assert a == b and len({m[0] for m in a}) == len(l1s)  # and every point a model of its own


def test_a_path_fitter_that_fails_leaves_the_estimator_unfitted():
    rng = np.random.default_rng(0)
    X, y = sp.csr_matrix(rng.normal(size=(200, 5)) * 30), rng.normal(size=200)
    reg = WideRegressor(l1=1e-3, learning_rate=1e-7, schedule="constant", implicit=False, random_state=0)
    fit = reg._path_fitter(X, y * 1e6)
    fit()
    reg.set_params(warm_start=True, learning_rate=1e6)
    with pytest.raises(FloatingPointError, match="learning_rate=1e\\+06"):
        fit()  # the trainer was changed in place: nothing to roll back to
    with pytest.raises(Exception, match="not fitted"):
        reg.predict(X)
    reg.set_params(learning_rate=1e-7)
    fit()  # the next call starts over from a new trainer, on the rows mapped again for it
    again = WideRegressor(l1=1e-3, learning_rate=1e-7, schedule="constant", implicit=False, random_state=0)
    assert model_bytes(reg) == model_bytes(again.fit(X, y * 1e6))


@pytest.mark.parametrize("kind", ["classifier", "regressor", "multiclass"])
def test_held_out_rows_score_each_point_as_its_model_does(kind):
    """The path scores its points from the trainer's slots: the margins and nonzero count of
    each point's model (``decision_function``, a binary search per column), bit for bit, on
    held-out rows with columns the training rows never had, real values, stored zeros and
    unsorted columns, on any n_jobs; K classes score through the model."""
    from widecross.estimators.path import HeldOutRows

    rng = np.random.default_rng(5)
    n, held, d = 3000, 700, 120
    X = sp.random(n + held, d, density=0.05, format="csr", random_state=5, dtype=np.float64)
    X.data = np.round(rng.normal(size=X.nnz), 1)  # some stored zeros
    Xt, Xh = X[:n], X[n:].copy()
    Xt = Xt[:, : d - 20]  # the last 20 columns only in the held-out rows (no slot)
    Xt = sp.csr_matrix((Xt.data, Xt.indices, Xt.indptr), shape=(n, d))
    Xh.indices, Xh.data = Xh.indices.copy(), Xh.data.copy()
    for r in range(held):  # each row's columns reversed: a non-canonical CSR
        lo, hi = Xh.indptr[r], Xh.indptr[r + 1]
        Xh.indices[lo:hi], Xh.data[lo:hi] = Xh.indices[lo:hi][::-1].copy(), Xh.data[lo:hi][::-1].copy()
    signal = np.asarray(Xt[:, :10].sum(axis=1)).ravel()
    y = {"classifier": (signal + rng.normal(size=n) > 0) * 1, "regressor": signal + rng.normal(size=n),
         "multiclass": np.digitize(signal + rng.normal(size=n), [-1.0, 1.0])}[kind]
    make = WideRegressor if kind == "regressor" else WideClassifier
    for n_jobs in (1, 2, 3):
        est = make(random_state=0, l1=3e-2, n_jobs=n_jobs)
        fit, scorer = est._path_fitter(Xt, y), HeldOutRows(Xh)
        for i, l1 in enumerate((3e-2, 1e-2, 3e-3, 1e-4)):
            if i:
                est.set_params(l1=l1, warm_start=True, epochs=1)
            fit()
            margin, nnz, model = scorer.score(est, n_jobs)
            want = est.model_.decision_function(Xh)
            assert margin.tobytes() == want.tobytes() and nnz == est.model_.nnz
            assert (model is None) == (kind != "multiclass")  # K classes: the model's scores
        assert nnz > 20


def test_held_out_rows_are_checked_as_the_model_checks_them():
    from widecross.estimators.path import HeldOutRows

    X, y = sparse_problem(4, n=400)
    est = WideClassifier(random_state=0, l1=1e-3)
    est._path_fitter(X, y)()
    bad = X[:50].copy()
    bad.indices[7] = X.shape[1] + 3  # a column beyond the width
    with pytest.raises(ValueError, match="row 2: column index 83 is outside"):
        HeldOutRows(bad).score(est, 1)
    bad = X[:50].astype(np.float64)
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        HeldOutRows(bad).score(est, 1)
    with pytest.raises(ValueError, match="columns but the model has n_features=80"):
        HeldOutRows(sp.csr_matrix((5, 81))).score(est, 1)
