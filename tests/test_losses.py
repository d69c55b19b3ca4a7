"""Losses: finite-difference derivatives, stability at extreme margins, agreement with reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

import reference as ref
from widecross._losses import LOSS_CODES, inverse_link, loss_derivative, loss_value, sigmoid

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
        assert inverse_link(LOSS_CODES["logistic"], m) == pytest.approx(1 / (1 + np.exp(-m)), rel=1e-14)
        assert inverse_link(LOSS_CODES["squared"], m) == m
        assert inverse_link(LOSS_CODES["poisson"], m) == pytest.approx(np.exp(m), rel=1e-14)
