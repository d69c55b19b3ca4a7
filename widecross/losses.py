"""Losses: one description per loss that every layer reads, and its compiled scalar functions.

Margins are ``m = x . w + b``.

| name     | labels   | loss(y, m)             | d loss / d m        | mean (inverse link) | curvature bound |
|----------|----------|------------------------|---------------------|---------------------|-----------------|
| logistic | {0, 1}   | log(1 + e^m) - y m     | sigmoid(m) - y      | sigmoid(m)          | 1/4             |
| squared  | real     | (m - y)^2 / 2          | m - y               | m                   | 1               |
| hinge    | {0, 1}   | max(0, 1 - (2y - 1) m) | -(2y-1) if margin<1 | m (a score)         | none            |
| poisson  | y >= 0   | e^m - y m              | e^m - y             | e^m                 | none            |
| multinomial | 0..K-1 | logsumexp(m) - m_y   | softmax(m)_k - [k=y] | softmax(m)         | 1/2             |

The multinomial (softmax) loss has K margins ``m_k = x . w_k + b_k``, one per class; its
curvature bound is Boehning's (the Hessian in the margins is below (I - 11'/K) / 2). A
multiclass fit with ``multi_class="ovr"`` uses a binary loss (logistic, hinge) on each of its
K columns, the class against the rest; ``multi_class="multinomial"`` this one. It is not one of
the ``loss=`` choices: the estimators pick it from ``multi_class``.

A :class:`Loss` record holds every fact about a loss that Python code needs: the estimators
(which losses a classifier takes, the label domain), the batch polish (the curvature bound its
majorizer needs; hinge is not differentiable and Poisson's curvature is unbounded, so they have
none), the model (the link of its predictions) and the command line (the choices). Kernels
cannot take Python objects: they receive ``Loss.code`` and branch on it once per example, which
costs nothing next to the memory traffic of a sparse update. Those compiled functions (value,
derivative, curvature, the implicit step) live with the training kernels, in
``widecross.train._loss``: a model never needs them.

>>> LOSSES["logistic"].classifier, LOSSES["poisson"].mean(np.array([0.0])).tolist()
(True, [1.0])
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

# the codes the kernels branch on
LOGISTIC = 0
SQUARED = 1
HINGE = 2
POISSON = 3
MULTINOMIAL = 4


@dataclass(frozen=True)
class Loss:
    """What a loss is: its kernel code, link, curvature bound, labels and kind."""

    name: str
    code: int  # what the kernels branch on
    link: str  # "sigmoid", "identity", "exp" or "softmax": the mean prediction of margins
    curvature_bound: float  # sup of d^2 loss / d m^2; 0 where there is none
    labels: str  # "binary" ({0, 1} after encoding), "class" (0..K-1), "real" or "count" (y >= 0)
    classifier: bool

    def mean(self, margin: np.ndarray) -> np.ndarray:
        """The mean prediction of margins: P(class 1), the value, the rate, or (softmax, margins
        of shape (n, K)) the class probabilities."""
        if self.link == "softmax":
            from scipy.special import softmax

            return softmax(margin, axis=-1)
        if self.link == "sigmoid":
            from scipy.special import expit

            return expit(margin)
        if self.link == "exp":
            return np.exp(margin)
        return margin

    def constant_margin(self, mean: float) -> float | None:
        """The margin of the best constant predictor of labels whose weighted mean is ``mean``:
        the link of the mean, for the losses whose derivative is ``mean(m) - y`` (logistic,
        squared, Poisson); None for the others and where the mean sits on the link's edge.

        >>> round(LOSSES["logistic"].constant_margin(0.25), 12), LOSSES["hinge"].constant_margin(0.25)
        (-1.098612288668, None)
        """
        if self.name == "squared":
            return float(mean)
        if self.name == "logistic" and 0.0 < mean < 1.0:
            return math.log(mean) - math.log1p(-mean)
        if self.name == "poisson" and mean > 0.0:
            return math.log(mean)
        return None

    def check_target(self, y: np.ndarray) -> None:
        """Raise ``ValueError`` naming the first row whose target lies outside the loss's domain."""
        if self.labels == "count" and (y < 0).any():
            raise ValueError(f"loss={self.name!r} needs y >= 0, got {y.min()} (row {int(np.argmin(y))})")


LOSSES: dict[str, Loss] = {
    "logistic": Loss("logistic", LOGISTIC, "sigmoid", 0.25, "binary", True),
    "squared": Loss("squared", SQUARED, "identity", 1.0, "real", False),
    "hinge": Loss("hinge", HINGE, "identity", 0.0, "binary", True),
    "poisson": Loss("poisson", POISSON, "exp", 0.0, "count", False),
    "multinomial": Loss("multinomial", MULTINOMIAL, "softmax", 0.5, "class", True),
}
# what ``loss=`` may say (the multinomial loss comes with ``multi_class="multinomial"``)
CLASSIFICATION_LOSSES = tuple(name for name, loss in LOSSES.items() if loss.classifier and loss.labels == "binary")
REGRESSION_LOSSES = tuple(name for name, loss in LOSSES.items() if not loss.classifier)


def get_loss(name: str) -> Loss:
    """The :class:`Loss` named ``name``; ``ValueError`` listing the known ones otherwise."""
    loss = LOSSES.get(name) if isinstance(name, str) else None
    if loss is None:
        raise ValueError(f"unknown loss {name!r}; choose one of {list(LOSSES)}")
    return loss
