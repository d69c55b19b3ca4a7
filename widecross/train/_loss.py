"""Compiled scalar functions of the losses, by their code (see :mod:`widecross.losses`).

Margins are ``m = x . w + b``; ``y`` is the label (0/1 for the classifiers), ``g`` a derivative.
"""

from __future__ import annotations

import math

from .._jit import jit
from ..losses import HINGE, LOGISTIC, MULTINOMIAL, POISSON, SQUARED


@jit
def sigmoid(m: float) -> float:
    """1 / (1 + e^-m) without overflow for either sign of ``m``."""
    if m >= 0.0:
        return 1.0 / (1.0 + math.exp(-m))
    e = math.exp(m)
    return e / (1.0 + e)


@jit
def loss_value(code: int, y: float, m: float) -> float:
    """Loss of margin ``m`` for label ``y``; logistic via log1p on the non-overflowing side."""
    if code == LOGISTIC:
        if m > 0.0:
            return m + math.log1p(math.exp(-m)) - y * m
        return math.log1p(math.exp(m)) - y * m
    if code == SQUARED:
        d = m - y
        return 0.5 * d * d
    if code == HINGE:
        h = 1.0 - (2.0 * y - 1.0) * m
        return h if h > 0.0 else 0.0
    return math.exp(m) - y * m


@jit
def loss_derivative(code: int, y: float, m: float) -> float:
    """d loss / d m (for hinge, the subgradient -(2y-1) where the margin is below 1, else 0)."""
    if code == LOGISTIC:
        return sigmoid(m) - y
    if code == SQUARED:
        return m - y
    if code == HINGE:
        ys = 2.0 * y - 1.0
        return -ys if ys * m < 1.0 else 0.0
    return math.exp(m) - y


@jit
def loss_and_derivative(code: int, y: float, m: float) -> tuple[float, float]:
    """``(loss_value, loss_derivative)`` at once: logistic shares one exponential between them.

    Equal to the two functions called apart, bit for bit (the same expressions).
    """
    if code == LOGISTIC:
        if m >= 0.0:
            e = math.exp(-m)
            return m + math.log1p(e) - y * m, 1.0 / (1.0 + e) - y
        e = math.exp(m)
        return math.log1p(e) - y * m, e / (1.0 + e) - y
    return loss_value(code, y, m), loss_derivative(code, y, m)


@jit
def curvature(code: int, y: float, m: float, g: float) -> float:
    """d^2 loss / d m^2 at ``m`` given ``g = loss'(y, m)`` (hinge: 0, it has none)."""
    if code == LOGISTIC:
        p = g + y  # sigmoid(m)
        return p * (1.0 - p)
    if code == SQUARED:
        return 1.0
    if code == POISSON:
        return g + y  # e^m
    return 0.0


@jit
def implicit_derivative(code: int, y: float, m: float, reach: float, g: float) -> float:
    """The derivative ``d`` a proximal-point (implicit) step on one row uses instead of ``g``.

    A step of per-coordinate lengths ``a_j`` along ``-d x`` moves the margin by ``-reach * d``
    (``reach`` = sum of ``a_j x_j^2``, intercept included) and costs ``reach d^2 / 2`` of squared
    distance in the metric of the rates. Minimizing the row's loss plus that distance gives
    ``d = loss'(y, m - reach d)``: the derivative where the step lands, which (solved exactly)
    never overshoots the label however long the steps are, and tends to the plain
    ``g = loss'(y, m)`` as ``reach`` goes to 0 (so the fixed points, the optimum, are unchanged).

    - squared: exact, ``g / (1 + reach)``;
    - logistic: the exact step for the second-order expansion of the loss at ``m``,
      ``g / (1 + reach * sigmoid'(m))`` (the first Newton iterate of the equation from 0): no
      extra exponential, since ``sigmoid(m) = g + y`` (the exact solve was measured to cost ~30 %
      of an epoch for no gain, see docs/tuning.md);
    - Poisson (no curvature bound): the exact ``d``, by a monotone Newton iteration;
    - hinge: the largest step that stops at the margin 1.
    """
    if g == 0.0 or reach <= 0.0:
        return g
    if code == SQUARED:
        return g / (1.0 + reach)
    if code == LOGISTIC:
        return g / (1.0 + reach * curvature(code, y, m, g))
    if code == HINGE:
        ys = 2.0 * y - 1.0
        room = (1.0 - ys * m) / reach  # step fraction that brings ys * margin to 1
        return g * room if room < 1.0 else g
    # Poisson: solve for the landing margin u: F(u) = u + reach (e^u - y) - m = 0, F convex and
    # increasing. Newton from a point where F >= 0 descends monotonically to the root (no
    # overshoot, no overflow): from m when g > 0, else from log(y) (u <= log y since d < 0).
    u = m if g > 0.0 else math.log(y)
    for _ in range(500):
        e = math.exp(u)
        f = u + reach * (e - y) - m
        step = f / (1.0 + reach * e)
        if not step > 1e-15 * (1.0 + abs(u)):
            break
        u -= step
    # d = e^u - y = (m - u) / reach at the root; take the form without cancellation
    e = math.exp(u)
    if reach * (e + abs(y)) > 1.0 + abs(u):
        return (m - u) / reach
    return e - y


@jit
def class_losses(code: int, label: int, m, g) -> float:
    """Loss of the K margins ``m`` of a row of class ``label``; their derivatives into ``g``.

    ``code`` MULTINOMIAL: the softmax loss ``logsumexp(m) - m[label]`` and ``g_k = p_k - [k =
    label]``; any other (one-vs-rest): class k's binary loss on margin ``m_k`` with label
    ``[k = label]``, summed over the classes, each term computed exactly as the binary kernels do.
    """
    total = 0.0
    n = m.shape[0]
    if code == MULTINOMIAL:
        top = m[0]
        for k in range(1, n):
            if m[k] > top:
                top = m[k]
        z = 0.0
        for k in range(n):
            g[k] = math.exp(m[k] - top)
            z += g[k]
        for k in range(n):
            g[k] = g[k] / z - (1.0 if k == label else 0.0)
        return math.log(z) + top - m[label]
    for k in range(n):
        value, gk = loss_and_derivative(code, 1.0 if k == label else 0.0, m[k])
        total += value
        g[k] = gk
    return total


@jit
def class_curvature(code: int, label: int, k: int, m: float, g: float) -> float:
    """d^2 loss / d m_k^2 of class ``k``'s margin (the diagonal of the softmax Hessian,
    ``p_k (1 - p_k)``, or the binary loss's curvature)."""
    yk = 1.0 if k == label else 0.0
    if code == MULTINOMIAL:
        p = g + yk
        return p * (1.0 - p)
    return curvature(code, yk, m, g)


@jit
def class_implicit_derivative(code: int, label: int, k: int, m: float, reach: float, g: float) -> float:
    """The implicit step's derivative for class ``k`` (see ``implicit_derivative``); the softmax
    takes the logistic form on its diagonal: ``g / (1 + reach p_k (1 - p_k))``."""
    yk = 1.0 if k == label else 0.0
    if code == MULTINOMIAL:
        if g == 0.0 or reach <= 0.0:
            return g
        return g / (1.0 + reach * class_curvature(code, label, k, m, g))
    return implicit_derivative(code, yk, m, reach, g)
