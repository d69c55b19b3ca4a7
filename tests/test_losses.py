"""Losses: finite-difference derivatives, stability at extreme margins, agreement with reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

import reference as ref
from scipy import optimize

from widecross.losses import LOSSES
from widecross.train._loss import implicit_derivative, loss_and_derivative, loss_derivative, loss_value, sigmoid

# the scalar functions of one margin (the softmax loss's K margins: tests/test_multiclass.py)
LOSS_CODES = {name: loss.code for name, loss in LOSSES.items() if loss.link != "softmax"}

MARGINS = [-30.0, -5.0, -1.3, -0.2, 0.0, 0.15, 0.9, 2.5, 12.0, 35.0]
LABELS = {"logistic": [0.0, 1.0], "squared": [-2.0, 0.0, 3.5], "hinge": [0.0, 1.0], "poisson": [0.0, 1.0, 4.0]}


@pytest.mark.parametrize("name", sorted(LOSS_CODES))
def test_derivative_matches_central_differences(name):
    code = LOSS_CODES[name]
    h = 1e-6
    for y in LABELS[name]:
        for m in MARGINS:
            if name == "poisson" and m > 5:
                continue  # e^m: absolute differences lose all digits
            if name == "hinge" and abs((2 * y - 1) * m - 1.0) < 1e-3:
                continue  # kink
            numeric = (loss_value(code, y, m + h) - loss_value(code, y, m - h)) / (2 * h)
            analytic = loss_derivative(code, y, m)
            assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-7), (name, y, m)


@pytest.mark.parametrize("name", sorted(LOSS_CODES))
def test_matches_reference_definitions(name):
    code = LOSS_CODES[name]
    for y in LABELS[name]:
        for m in MARGINS:
            if name == "poisson" and m > 20:
                continue
            assert loss_value(code, y, m) == pytest.approx(ref.loss(name, y, m), rel=1e-12, abs=1e-12)
            assert loss_derivative(code, y, m) == pytest.approx(ref.dloss(name, y, m), rel=1e-12, abs=1e-12)


def test_logistic_is_stable_at_extreme_margins():
    code = LOSS_CODES["logistic"]
    for m in (-1e4, -800.0, 800.0, 1e4):
        for y in (0.0, 1.0):
            v = loss_value(code, y, m)
            assert math.isfinite(v) and v >= 0.0
            assert math.isfinite(loss_derivative(code, y, m))
    # the loss of a confidently right prediction is tiny but not rounded up to 0 too early
    assert 0.0 < loss_value(code, 1.0, 30.0) == pytest.approx(math.exp(-30.0), rel=1e-9)
    assert loss_value(code, 0.0, 1e4) == pytest.approx(1e4)
    assert sigmoid(-800.0) == 0.0 and sigmoid(800.0) == 1.0


def test_inverse_links():
    for m in (-3.0, 0.0, 2.0):
        margin = np.array([m])
        assert LOSSES["logistic"].mean(margin)[0] == pytest.approx(1 / (1 + np.exp(-m)), rel=1e-14)
        assert LOSSES["squared"].mean(margin)[0] == m
        assert LOSSES["poisson"].mean(margin)[0] == pytest.approx(np.exp(m), rel=1e-14)


def test_the_loss_table_states_each_fact_once():
    # every layer reads these: the polish (curvature bound), the model (link), the estimators (kind)
    assert {n: (l.classifier, l.link, l.curvature_bound) for n, l in LOSSES.items()} == {
        "logistic": (True, "sigmoid", 0.25), "squared": (False, "identity", 1.0),
        "hinge": (True, "identity", 0.0), "poisson": (False, "exp", 0.0), "multinomial": (True, "softmax", 0.5)}
    assert sorted(l.code for l in LOSSES.values()) == list(range(len(LOSSES)))
    for name in LOSS_CODES:  # the bound holds where there is one
        loss = LOSSES[name]
        for m in MARGINS:
            for y in LABELS[name]:
                assert ref.d2loss(name, y, m) <= loss.curvature_bound + 1e-15 or loss.curvature_bound == 0.0


@pytest.mark.parametrize("name", ["squared", "poisson"])
def test_implicit_derivative_solves_its_equation(name):
    """d = loss'(y, m - reach d), from tiny to huge steps, both signs of the gradient."""
    code = LOSS_CODES[name]
    for y in (0.0, 1.0, 3.0):
        for m in (-4.0, -0.3, 0.0, 0.7, 2.5):
            for reach in (1e-9, 1e-3, 0.5, 7.0, 1e4):
                g = loss_derivative(code, y, m)
                d = implicit_derivative(code, y, m, reach, g)
                assert d == pytest.approx(ref.dloss(name, y, m - reach * d), rel=1e-12, abs=1e-12)
                assert d == pytest.approx(ref.implicit_step(name, y, m, reach, g), rel=1e-12, abs=1e-14)
                assert abs(d) <= abs(g) and d * g >= 0.0  # a shorter step, same direction


def test_implicit_derivative_logistic_and_hinge():
    code = LOSS_CODES["logistic"]
    for y in (0.0, 1.0):
        for m in (-30.0, -2.0, 0.0, 0.4, 9.0):
            for reach in (0.0, 1e-6, 0.8, 50.0):
                g = loss_derivative(code, y, m)
                d = implicit_derivative(code, y, m, reach, g)
                assert d == pytest.approx(ref.implicit_step("logistic", y, m, reach, g), rel=1e-13, abs=1e-300)
                assert abs(d) <= abs(g) and d * g >= 0.0
    # the linearized step approaches the exact implicit one as the step shrinks
    y, m, reach = 1.0, -1.0, 1e-3
    g = loss_derivative(code, y, m)
    exact = optimize.brentq(lambda d: d - ref.dloss("logistic", y, m - reach * d), g, 0.0, xtol=1e-16)
    assert abs(implicit_derivative(code, y, m, reach, g) - exact) < 1e-6 * abs(g)
    hinge = LOSS_CODES["hinge"]
    # a step that would carry the margin past 1 stops at 1; a short one is the plain step
    d = implicit_derivative(hinge, 1.0, 0.2, 4.0, -1.0)
    assert 0.2 - 4.0 * d == pytest.approx(1.0)
    assert implicit_derivative(hinge, 1.0, 0.2, 0.5, -1.0) == -1.0
    assert implicit_derivative(hinge, 0.0, -0.5, 1.0, 1.0) == pytest.approx(0.5)


def test_implicit_poisson_survives_an_overflowing_first_guess():
    code = LOSS_CODES["poisson"]
    g = loss_derivative(code, 50.0, -3.0)  # far below the count: a large negative gradient
    d = implicit_derivative(code, 50.0, -3.0, 1e6, g)
    assert np.isfinite(d) and g < d < 0.0
    assert d == pytest.approx(ref.dloss("poisson", 50.0, -3.0 - 1e6 * d), rel=1e-9)


@pytest.mark.parametrize("name", sorted(LOSS_CODES))
def test_loss_and_derivative_together_equal_them_apart(name):
    code = LOSS_CODES[name]
    for y in LABELS[name]:
        for m in MARGINS + [-0.0, 1e-300, -745.0, 710.0]:
            if name == "poisson" and m > 700:
                continue
            assert loss_and_derivative(code, y, m) == (loss_value(code, y, m), loss_derivative(code, y, m))
