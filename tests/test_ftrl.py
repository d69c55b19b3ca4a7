"""FTRL-Proximal equals the per-coordinate dict reference; exact zeros; mean-objective scaling."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import reference as ref
import trainers
from widecross.train import _ftrl


def run(X, y, orders, sample_weight=None, loss="logistic", **hp):
    tr = trainers.ftrl(loss, **hp)
    rows = tr.rows(X, y, None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64))
    for order in orders:
        tr.epoch(rows, np.asarray(order, dtype=np.int64))
    cols, vals = tr.coefficients()
    return dict(zip(cols.tolist(), vals.tolist())), tr.intercept(), tr


def data(seed, n=70, d=25):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, format="csr", random_state=seed, dtype=np.float64)
    X.data = rng.normal(size=X.nnz)
    y = (rng.random(n) < 0.5).astype(np.float64)
    return X, y, rng


@pytest.mark.parametrize("l1,l2", [(0.0, 0.0), (0.003, 0.0), (0.0, 0.01), (0.003, 0.01), (0.05, 0.0)])
def test_matches_dict_reference(l1, l2):
    X, y, rng = data(1)
    orders = [rng.permutation(X.shape[0]) for _ in range(4)]
    sw = rng.uniform(0.2, 2.0, size=X.shape[0])
    for weights in (None, sw):
        w, b, _ = run(X, y, orders, sample_weight=weights, alpha=0.4, beta=1.0, l1=l1, l2=l2)
        wr, br = ref.dict_ftrl(X, y, orders, alpha=0.4, beta=1.0, l1=l1, l2=l2, sample_weight=weights)
        assert sorted(w) == sorted(wr)
        for j in wr:
            assert abs(w[j] - wr[j]) < 1e-12
        assert abs(b - br) < 1e-12


def test_squared_loss_matches_reference():
    X, y, rng = data(2)
    y = rng.normal(size=X.shape[0])
    orders = [rng.permutation(X.shape[0]) for _ in range(2)]
    w, b, _ = run(X, y, orders, loss="squared", alpha=0.2, beta=1.0, l1=0.01, l2=0.0)
    wr, br = ref.dict_ftrl(X, y, orders, loss_name="squared", alpha=0.2, beta=1.0, l1=0.01)
    assert sorted(w) == sorted(wr) and all(abs(w[j] - wr[j]) < 1e-12 for j in wr) and abs(b - br) < 1e-12


def test_weight_returns_to_exactly_zero():
    """A coordinate pushed away from zero and back inside the threshold is exactly 0 again."""
    X = sp.csr_matrix(np.array([[1.0]] * 6))
    y = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    tr = trainers.ftrl("logistic", alpha=1.0, beta=1.0, l1=0.2)
    rows = tr.rows(X, y)
    seen = []
    for r in range(6):
        tr.epoch(rows, np.array([r], dtype=np.int64))
        seen.append(tr.slot_weights()[0])
    assert seen[0] > 0 and seen[1] > 0  # positive labels pull it up
    assert seen[2:] == [0.0] * 4  # negatives bring |z| back under the threshold: exactly zero


def test_threshold_grows_with_examples_seen():
    """l1 means the mean objective: the same data repeated k times keeps about the same zero set."""
    X, y, rng = data(4, n=300, d=60)
    orders = [np.arange(300)]
    one, _, _ = run(X, y, orders, alpha=0.3, beta=1.0, l1=0.01)
    many, _, tr = run(X, y, orders * 6, alpha=0.3, beta=1.0, l1=0.01)
    assert tr.scalars[_ftrl.S_SEEN] == 1800
    # a threshold fixed at one epoch's size (what an unscaled l1 amounts to) keeps far more
    unscaled, _, _ = run(X, y, orders * 6, alpha=0.3, beta=1.0, l1=0.01 / 6)
    assert len(many) <= len(one) < 25 < 40 < len(unscaled)
