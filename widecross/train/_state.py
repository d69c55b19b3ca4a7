"""What every optimizer's kernels agree on about their state, so that callers need not know which.

An optimizer's state is plain arrays: ``records`` (one float64 row per slot) and ``scalars``
(float64). The scalars below sit at the same place for every optimizer; each optimizer's kernel
module names its own in the remaining positions.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

STEPS = 0  # examples processed so far (drives the schedules)
# 1, 2, 3: the optimizer's own running scalars
LOSS_SUM = 4  # progressive weighted loss summed over the last kernel call
WEIGHT_SUM = 5  # sum of sample weights over the last kernel call
N_SCALARS = 6

# Weights are published as float32: anything larger in magnitude means training diverged.
WEIGHT_LIMIT = float(np.finfo(np.float32).max)


@jit
def store(scalars, steps, first, second, third, loss_sum, weight_sum):
    """Where every epoch kernel leaves its running scalars when it returns."""
    scalars[STEPS] = steps
    scalars[1] = first
    scalars[2] = second
    scalars[3] = third
    scalars[LOSS_SUM] = loss_sum
    scalars[WEIGHT_SUM] = weight_sum
