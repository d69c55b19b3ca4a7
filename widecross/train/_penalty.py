"""The L1 / L2 (elastic-net) penalty ``l1 |w| + l2 w^2 / 2`` as compiled scalar steps.

Every optimizer applies the penalty through these two functions, so it is written once:

- ``prox(v, scale, l1, l2)``: the minimizer of ``scale w^2 / 2 - v w + l1 |w| + l2 w^2 / 2``,
  i.e. ``ST(v, l1) / (scale + l2)``, exactly 0 where ``|v| <= l1``. FTRL-Proximal's closed form
  is ``prox(-z, (beta + sqrt(n)) / alpha, lam1, lam2)``; the batch polish's majorized step is
  ``prox(L w - g, L, l1, l2)``.
- ``flow(w, a, l1, l2)``: the exact flow of ``dw/da = -l1 sign(w) - l2 w`` for a length ``a``,
  stopping at zero: ``|w| <- max(0, |w| e^(-l2 a) - l1 a phi(l2 a))``, ``phi(x) = (1 - e^-x) / x``.
  For l2 = 0 it is the soft-threshold ST(w, l1 a); for l2 > 0 the prox of the same penalty with
  the slightly longer step (e^(l2 a) - 1) / l2. Flows compose by adding their lengths, which is
  what lets lazy SGD catch an idle coordinate up in one step.
"""

from __future__ import annotations

import math

from .._jit import jit


@jit
def prox(v: float, scale: float, l1: float, l2: float) -> float:
    """``ST(v, l1) / (scale + l2)``: exactly 0 when ``|v| <= l1``; NaN stays NaN."""
    if abs(v) <= l1:
        return 0.0
    shrunk = v - l1 if v > 0.0 else v + l1
    return shrunk / (scale + l2)


@jit
def flow(w: float, a: float, l1: float, l2: float) -> float:
    """Penalty flow of length ``a`` applied to ``w`` (see the module docstring); exact zero at 0."""
    if w == 0.0 or a <= 0.0:
        return w
    aw = abs(w)
    if l2 > 0.0:
        x = l2 * a
        new = aw * math.exp(-x) + l1 * math.expm1(-x) / l2
    else:
        new = aw - l1 * a
    if new <= 0.0:
        return 0.0
    return new if w > 0.0 else -new


@jit
def value(w, l1: float, l2: float) -> float:
    """``l1 ||w||_1 + l2 ||w||^2 / 2`` of a weight array."""
    a = 0.0
    q = 0.0
    for j in range(w.shape[0]):
        a += abs(w[j])
        q += w[j] * w[j]
    return l1 * a + 0.5 * l2 * q
