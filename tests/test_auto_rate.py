"""l1="auto"'s step size: chosen on the validation split with l1; partial_fit keeps its one-pass default."""

from __future__ import annotations

import numpy as np
import pytest

from test_estimators import model_bytes, sparse_problem
from widecross import WideClassifier
from widecross.estimators.auto import select_l1
from widecross.estimators.rates import FACTOR, MAX_STEPS, choose_rate, pick
from widecross.train.sgd import default_learning_rate, row_scale


def log_loss(y, margin):
    """The mean log-loss from the margins (no clipping: a too large rate saturates some)."""
    return float(np.mean(np.logaddexp(0.0, -np.where(y == 1, margin, -margin))))


@pytest.fixture(scope="module")
def problem():
    X, y = sparse_problem(21, n=4000)
    return X[:3000], y[:3000], X[3000:], y[3000:]


def one_pass(rate):
    return WideClassifier(learning_rate=rate, l1=1e-4, epochs=1, polish=0, random_state=0)


@pytest.mark.parametrize("default, direction", [(0.3 / 64, 1), (0.3 * 64, -1)])
def test_choose_rate_walks_to_the_lowest_held_out_loss(problem, default, direction):
    """A default 64x too small (too large): the candidates walk up (down) to the farthest step,
    and each candidate's loss is that of an independent fit scored with a plain log-loss."""
    X, y, Xt, yt = problem
    choice = choose_rate(one_pass, default, X, y, None, Xt, yt, None)
    expected = [default * FACTOR ** k for k in sorted({0, 1, -1, *range(direction, direction * (MAX_STEPS + 1), direction)})]
    np.testing.assert_allclose(choice.rates, expected, rtol=1e-12)
    reference = [log_loss(yt, one_pass(r).fit(X, y).decision_function(Xt)) for r in choice.rates]
    np.testing.assert_allclose(choice.losses, reference, rtol=1e-6)
    assert choice.rate == choice.rates[int(np.argmin(reference))] == default * FACTOR ** (direction * MAX_STEPS)
    assert choice.default == default and choice.seconds >= 0


@pytest.mark.parametrize("default", [0.3 / 64, 0.3 * 64])
def test_candidates_side_by_side_are_those_of_one_at_a_time(problem, default):
    """Fitted up to n_jobs at once (the idle threads of the first round on the next candidates
    ahead of being asked): the same candidates, losses and choice as one at a time; a candidate
    fitted ahead but never asked for is not counted (walking down, the one fitted ahead at 2 and
    5 threads is the default times FACTOR ** 2)."""
    X, y, Xt, yt = problem
    one = choose_rate(one_pass, default, X, y, None, Xt, yt, None)
    for n_jobs in (2, 3, 5):
        got = choose_rate(one_pass, default, X, y, None, Xt, yt, None, n_jobs=n_jobs)
        assert (got.rate, got.rates.tobytes(), got.losses.tobytes()) == (one.rate, one.rates.tobytes(),
                                                                           one.losses.tobytes())


def test_pick_keeps_the_default_within_noise():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.8, 2000)
    noise = rng.normal(0, 0.05, 2000)
    # the same loss up to noise: a lower mean is not enough to leave the default
    tied = [base, base + noise - noise.mean() - 1e-4]
    assert np.mean(tied[1]) < np.mean(tied[0]) and pick(tied, 0) == 0
    clear = [base, base + noise - noise.mean() - 0.01, base - 0.005]
    assert pick(clear, 0) == 1 and pick(clear, 2) == 1
    # weights: the rows where candidate 1 is worse count most
    worse = np.where(np.arange(2000) < 1000, -0.01, 0.03)
    assert pick([base, base + worse], 0) == 0
    assert pick([base, base + worse], 0, np.where(np.arange(2000) < 1000, 100.0, 1.0)) == 1
    assert pick([np.full(3, np.inf), base[:3]], 0) == 1  # a diverged default is never kept


def test_auto_chooses_the_rate_reproducibly_and_refits_with_it(problem):
    X, y, _, _ = problem
    est = WideClassifier(epochs=2, random_state=0).fit(X, y)
    path = est.l1_path_
    assert path["rate_default"] == default_learning_rate("adagrad", 2) * row_scale(X.getnnz() / X.shape[0])
    assert path["rate"] in path["rate_candidates"] and path["rate_default"] in path["rate_candidates"]
    assert path["rate_held_out_loss"].shape == path["rate_candidates"].shape and path["rate_seconds"] > 0
    assert est.learning_rate_ == path["rate"]
    again = WideClassifier(epochs=2, random_state=0).fit(X, y)
    assert model_bytes(again) == model_bytes(est) and again.l1_path_["rate"] == path["rate"]
    np.testing.assert_array_equal(again.l1_path_["rate_held_out_loss"], path["rate_held_out_loss"])
    # the final fit is the fit at the chosen l1 and rate
    fixed = WideClassifier(epochs=2, l1=est.l1_, learning_rate=path["rate"], random_state=0).fit(X, y)
    assert model_bytes(fixed) == model_bytes(est)
    # a rate given is kept, and nothing is tried
    given = WideClassifier(epochs=2, learning_rate=0.2, random_state=0).fit(X, y)
    assert given.learning_rate_ == 0.2 and given.l1_path_["rate_candidates"].size == 0


def test_select_l1_keeps_its_positional_signature(problem):
    X, y, _, _ = problem
    est = WideClassifier(epochs=1, random_state=0)
    yf = y.astype(np.float64)
    plain = select_l1(est, X, yf, np.empty(0), 0.3, 6000, False)
    assert plain.rate in plain.path["rate_candidates"] and plain.l1 > 0
    fixed = select_l1(est, X, yf, np.empty(0), 0.3, 6000, False, tune_rate=False)
    assert fixed.rate is None and fixed.path["rate"] == 0.3 and fixed.l1 == plain.l1


def test_partial_fit_keeps_the_one_pass_default_after_an_auto_fit(problem):
    """No held-out rows to choose on: partial_fit's rate is the normalized one-pass default,
    whatever rate the fit before it chose for its epochs."""
    X, y, _, _ = problem
    wide = X[:, np.repeat(np.arange(X.shape[1]), 4)]  # ~20 entries per row: a quarter of the rate
    est = WideClassifier(random_state=0).fit(wide, y)
    one_pass_default = default_learning_rate("adagrad", 1) * row_scale(wide.getnnz() / wide.shape[0])
    assert one_pass_default == 0.3 / 4 and est.learning_rate_ == est.l1_path_["rate"] != one_pass_default
    assert est.partial_fit(wide[:500], y[:500]).learning_rate_ == one_pass_default
    stream = WideClassifier(random_state=0).partial_fit(wide, y, classes=[0, 1])
    assert stream.learning_rate_ == one_pass_default
