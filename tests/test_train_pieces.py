"""The pieces of the training layer on their own: penalty, rows, optimizers' state, epoch loop,
resolved parameters, and the estimators' not-fitted error. References are brute force or written
out by hand; the kernels' exactness against dense references is in test_sgd / test_ftrl / test_batch.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import trainers
import widecross as wc
from widecross.losses import LOSSES
from widecross.train import (FTRL, SGD, EpochRunner, FTRLParams, Polish, SGDParams, Trainer, optimizer_from_record,
                             resolve)
from widecross.train import _penalty
from widecross.train.rows import Rows, stack_rows, take_rows


@settings(max_examples=80, deadline=None)
@given(v=st.floats(-5, 5), scale=st.floats(0.01, 4), l1=st.sampled_from([0.0, 0.05, 1.0]), l2=st.sampled_from([0.0, 0.3]))
def test_prox_minimizes_its_objective(v, scale, l1, l2):
    """The optimality condition of min_x scale x^2 / 2 - v x + l1 |x| + l2 x^2 / 2, and a brute check."""
    x = _penalty.prox(v, scale, l1, l2)
    if x == 0.0:
        assert abs(v) <= l1  # 0 is optimal exactly when the subgradient interval holds v
    else:
        assert abs((scale + l2) * x - v + l1 * np.sign(x)) <= 1e-9 * (1 + abs(v))
    f = lambda t: 0.5 * scale * t * t - v * t + l1 * abs(t) + 0.5 * l2 * t * t  # noqa: E731
    grid = x + np.linspace(-1, 1, 2001)
    assert f(x) <= min(f(t) for t in grid) + 1e-12


def test_prox_keeps_nan_so_that_divergence_shows():
    assert np.isnan(_penalty.prox(float("nan"), 1.0, 0.1, 0.0))


def test_ftrl_closed_form_is_the_penalty_prox():
    # FTRL-Proximal's weight (McMahan et al. 2013), written out: 0 if |z| <= l1 else -(z - sign(z) l1) / ((b + sqrt(n)) / a + l2)
    from widecross.train._ftrl import ftrl_weight

    for z in (-2.0, -0.3, -0.1, 0.0, 0.1, 0.25, 3.0):
        for n in (0.0, 0.7, 9.0):
            expected = 0.0 if abs(z) <= 0.2 else -(z - np.sign(z) * 0.2) / ((1.0 + np.sqrt(n)) / 0.5 + 0.1)
            assert ftrl_weight(z, n, 0.2, 0.1, 0.5, 1.0) == expected


def rows_of(ids, data=True, weights=True):
    n = len(ids)
    return Rows(np.arange(n + 1, dtype=np.int32), np.array(ids, dtype=np.int32),
                -np.array(ids, dtype=np.float32) if data else np.empty(0, np.float32),
                np.array(ids, dtype=np.float32), np.array(ids, dtype=np.float64) + 1 if weights else np.empty(0))


def test_stacked_and_taken_rows_match_a_dense_reference():
    a, b = rows_of([3, 1, 4]), rows_of([1, 5], data=False, weights=False)
    stacked = stack_rows(a, b)
    assert stacked.slots.tolist() == [3, 1, 4, 1, 5] and stacked.y.tolist() == [3, 1, 4, 1, 5]
    assert stacked.data.tolist() == [-3, -1, -4, 1, 1] and stacked.sw.tolist() == [4, 2, 5, 1, 1]  # ones stand in
    taken = take_rows(stacked, np.array([4, 0, 2]))
    assert taken.indptr.tolist() == [0, 1, 2, 3] and taken.slots.tolist() == [5, 3, 4] and taken.sw.tolist() == [1, 4, 5]


def test_optimizer_state_is_plain_arrays_and_a_record():
    """What a checkpoint or a shard needs: records, scalars and the parameter record, nothing else."""
    X = sp.random(200, 30, density=0.2, format="csr", random_state=1)
    y = (np.random.default_rng(1).random(200) < 0.5).astype(np.float64)
    for optimizer in (SGD(LOSSES["logistic"], SGDParams(0.3, 1e-3, rates="adagrad")),
                      FTRL(LOSSES["logistic"], FTRLParams(0.5, l1=1e-3))):
        tr = Trainer(optimizer)
        rows = tr.rows(X, y)
        tr.epoch(rows, np.arange(200))
        assert tr.records.dtype == np.float64 and tr.records.shape[1] == len(optimizer.fields)
        rebuilt = Trainer(optimizer_from_record(optimizer.describe()))
        rebuilt.slot_map, rebuilt.records, rebuilt.scalars = tr.slot_map, tr.records.copy(), tr.scalars.copy()
        assert rebuilt.slot_weights().tobytes() == tr.slot_weights().tobytes()
        tr.epoch(rows, np.arange(200))
        rebuilt.epoch(rows, np.arange(200))
        assert rebuilt.records.tobytes() == tr.records.tobytes()  # it continues exactly


def test_a_solver_changes_the_weights_only_when_it_ran():
    X = sp.csr_matrix(np.eye(3))
    tr = trainers.sgd("hinge", 0.5)  # no curvature bound: the polish cannot majorize it
    rows = tr.rows(X, np.array([1.0, 0.0, 1.0]))
    tr.epoch(rows)
    before = tr.records.copy()
    assert tr.solve(Polish(5), lambda: (rows,)).passes == 0 and np.array_equal(tr.records, before)


def test_the_epoch_loop_names_what_went_wrong():
    X = sp.csr_matrix(np.ones((4, 2)))
    tr = trainers.sgd("squared", 1e300)
    runner = EpochRunner(tr, "Owner", source="data.parquet")
    with pytest.raises(FloatingPointError, match=r"Owner: training diverged in epoch 1 of fit.*learning_rate=1e\+300"):
        runner.run_epoch([(tr.rows(X, np.full(4, 1e300)), None)], 0, "epoch 1 of fit")
    with pytest.raises(ValueError, match="data.parquet: no rows"):
        runner.run_epoch([], 0, "epoch 1 of fit")
    fresh = trainers.sgd("squared", 0.1)
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        EpochRunner(fresh, "Owner").run_epoch([(fresh.rows(X, np.zeros(4), np.zeros(4)), None)], 0, "epoch 1 of fit")


def test_progress_counts_the_rows_of_each_block():
    X = sp.csr_matrix(np.eye(6))
    tr = trainers.ftrl("logistic", alpha=0.5)
    calls = []
    runner = EpochRunner(tr, "Owner", progress=lambda *args: calls.append(args))
    blocks = [(tr.rows(X[:4], np.array([0.0, 1, 0, 1])), None), (tr.rows(X[4:], np.array([1.0, 0])), np.array([1, 0]))]
    loss = runner.run_epoch(blocks, 2, "epoch 3 of fit")
    assert [(e, n) for e, n, _ in calls] == [(2, 4), (2, 2)] and calls[-1][2] == loss


def test_resolved_parameters_fill_the_defaults_and_record_what_shapes_the_model():
    params = resolve(wc.WideClassifier(epochs=2, optimizer="ftrl").get_params(), "WideClassifier", ("logistic",))
    assert (params.learning_rate, params.alpha, params.layout) == (0.6, 0.8, "auto")
    recorded = params.recorded()
    assert "layout" not in recorded and "shuffle" not in recorded and recorded["alpha"] == 0.8
    assert params.layout_for(2**18, "X") == "dense" and params.layout_for(2**18 + 1, "X") == "sparse"
    assert isinstance(params.make_optimizer(), FTRL)
    with pytest.raises(ValueError, match="WideClassifier: unknown optimizer 'adam'"):
        resolve(wc.WideClassifier(optimizer="adam").get_params(), "WideClassifier", ("logistic",))


def test_not_fitted_is_one_class_that_scikit_learn_also_recognizes():
    from sklearn.exceptions import NotFittedError as SklearnNotFitted

    from widecross.estimators import EstimatorNotFittedError, NotFittedError

    with pytest.raises(EstimatorNotFittedError) as info:
        wc.WideClassifier().predict(np.eye(2))
    assert isinstance(info.value, (SklearnNotFitted, ValueError, AttributeError)) and NotFittedError is EstimatorNotFittedError
    assert isinstance(info.value, SklearnNotFitted)  # scikit-learn is loaded here


def test_weighted_r2_matches_scikit_learn():
    from sklearn.metrics import r2_score as sk_r2

    from widecross.metrics import r2_score

    rng = np.random.default_rng(0)
    y, p, w = rng.normal(size=50), rng.normal(size=50), rng.uniform(0.1, 2, 50)
    assert r2_score(y, p, w) == pytest.approx(sk_r2(y, p, sample_weight=w), rel=1e-12)
    assert r2_score(y, p) == pytest.approx(sk_r2(y, p), rel=1e-12)
