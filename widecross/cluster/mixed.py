"""What a shard's state contributes to the merge, per optimizer: the mixed fields of each column
and the mixed scalars, and how the merged ones are put back and turned into a model.

- SGD: each column's weight (K of them with K classes) and the intercept(s). Its records' other
  fields (stamp, rate sums) stay the shard's own: the merged weight is set at the shard's clock.
- FTRL: each column's ``z`` and ``n`` (per class), and the scalars they are read with: the weight
  seen ``S`` (which sets the threshold ``l1 S``) and the intercept's ``z`` and ``n``. The weights
  then follow from the merged ``(z, n)`` by FTRL's closed form (exact zeros included), as the
  threads' mixing does (:mod:`widecross.train.shards`); merging FTRL's weights instead would keep
  each shard's own ``n`` (its per-coordinate rates) and move ``z`` to fit a mean weight.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..train import Optimizer, Trainer, _state
from ..train import _ftrl


def _mixes_records(optimizer: Optimizer) -> bool:
    return optimizer.name == "ftrl"


def n_fields(optimizer: Optimizer) -> int:
    """Mixed fields per column."""
    return optimizer.record_width if _mixes_records(optimizer) else optimizer.columns


def _scalar_slots(optimizer: Optimizer) -> np.ndarray:
    """Positions in the scalars of FTRL's mixed ones: S, then each class's intercept (z, n)."""
    if optimizer.columns == 1:
        return np.array([_ftrl.S_SEEN, _ftrl.S_BIAS_Z, _ftrl.S_BIAS_N])
    pairs = _state.N_SCALARS + np.arange(2 * optimizer.columns)
    return np.concatenate([[_ftrl.S_SEEN], pairs])


def read(trainer: Trainer, touched: np.ndarray) -> np.ndarray:
    """The mixed fields (n, f) float64 of slots ``touched``; raises ``NonFiniteError`` where a
    weight is not finite."""
    if _mixes_records(trainer.optimizer):
        trainer.slot_weights()  # the check
        return trainer.records[touched]
    return trainer.slot_weights()[touched].reshape(touched.shape[0], -1)


def read_scalars(trainer: Trainer) -> np.ndarray:
    """The mixed scalars (float64 vector)."""
    if _mixes_records(trainer.optimizer):
        return trainer.scalars[_scalar_slots(trainer.optimizer)].copy()
    return np.atleast_1d(np.asarray(trainer.intercept(), dtype=np.float64)).copy()


def write(trainer: Trainer, slots: np.ndarray, values: np.ndarray, scalars: np.ndarray) -> None:
    """Put merged ``values`` (one row per slot of ``slots``) and ``scalars`` into the state."""
    optimizer = trainer.optimizer
    if _mixes_records(optimizer):
        trainer.records[slots] = values
        trainer.scalars[_scalar_slots(optimizer)] = scalars
        return
    records = trainer.records[slots]
    weights = np.ascontiguousarray(values[:, 0] if optimizer.columns == 1 else values)
    optimizer.set_weights(records, slots.shape[0], trainer.scalars, weights, _intercept(optimizer, scalars))
    trainer.records[slots] = records


def _intercept(optimizer: Optimizer, scalars: np.ndarray) -> Any:
    return float(scalars[0]) if optimizer.columns == 1 else scalars.copy()


def to_model(optimizer: Optimizer, fields: np.ndarray, scalars: np.ndarray) -> tuple[np.ndarray, Any]:
    """The weights ((n,) or (n, K) float64) and intercept(s) that merged fields and scalars mean."""
    if not _mixes_records(optimizer):
        weights = fields[:, 0].copy() if optimizer.columns == 1 else fields.copy()
        return weights, _intercept(optimizer, scalars)
    state = optimizer.new_scalars()
    state[_scalar_slots(optimizer)] = scalars
    records = np.ascontiguousarray(fields)
    weights = np.zeros(fields.shape[0] if optimizer.columns == 1 else (fields.shape[0], optimizer.columns))
    if optimizer.weights(records, fields.shape[0], state, weights) < 0:
        raise FloatingPointError("training diverged: the merged weights are not finite")
    return weights, optimizer.intercept(state)


def n_scalars(optimizer: Optimizer) -> int:
    """Mixed scalars."""
    return _scalar_slots(optimizer).shape[0] if _mixes_records(optimizer) else optimizer.columns
