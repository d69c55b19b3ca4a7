"""The penalty of the objective, ``l1 ||w||_1 + l2 ||w||_2^2 / 2``, as one small record.

Every optimizer and solver applies it through the compiled steps of ``_penalty`` (the prox and
the exact flow), so the two strengths mean one thing everywhere: the penalty of the mean loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _penalty


@dataclass(frozen=True)
class Penalty:
    """Elastic-net strengths of the mean objective; the intercept is never penalized.

    >>> Penalty(l1=0.5, l2=2.0).value(np.array([1.0, -2.0]))
    6.5
    """

    l1: float = 0.0
    l2: float = 0.0

    def value(self, weights: np.ndarray) -> float:
        return float(_penalty.value(weights, self.l1, self.l2))
