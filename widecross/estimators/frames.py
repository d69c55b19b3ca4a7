"""Fitting on a Dask DataFrame: the estimators' side (the cluster's side is ``widecross.cluster``).

``fit(ddf, y="label")`` checks the arguments, finds the classes, builds the featurizing function
the workers apply to their partitions and the training plan, runs them on the cluster, and
publishes the merged model like any fit. Dask is imported only here, and only when the user
passed a Dask DataFrame (which means it is installed and loaded already).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..train import EXACT, Trainer
from ..train.epochs import diverged
from ..train.params import is_auto
from .auto import FIXED_L1
from .inputs import as_features, as_sample_weight, as_target, generator

if TYPE_CHECKING:  # pragma: no cover
    from .base import WideEstimator


def is_dask_frame(X: Any) -> bool:
    """True for a ``dask.dataframe.DataFrame`` (without importing Dask when it is not loaded)."""
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(X, dd.DataFrame)


@dataclass(frozen=True)
class FrameFeatures:
    """What a worker applies to each partition: (CSR, encoded target, sample weights), or None
    for an empty partition. Errors name the partition (its first index), the column and the row
    within the partition."""

    est: Any  # an unfitted copy of the estimator: its spec and label encoding
    target: str
    weight: str | None
    labels: Any

    def __call__(self, frame: Any) -> tuple[Any, np.ndarray, np.ndarray] | None:
        n = len(frame)
        if n == 0:
            return None
        est, owner = self.est, type(self.est).__name__
        try:
            X, _ = as_features({c: frame[c].to_numpy() for c in est.spec.columns}, est.spec, owner, fitting=True)
            y, _ = est._encode(as_target(frame[self.target].to_numpy(), n, owner), fitting=True, classes=self.labels)
            sw = np.empty(0, dtype=np.float64)
            if self.weight is not None:
                sw = as_sample_weight(frame[self.weight].to_numpy(), n, whole=False)
        except ValueError as exc:  # rows are counted within the partition: say which one
            raise ValueError(f"the partition whose first row has index {frame.index[0]!r}: {exc}") from None
        return X, y, sw


def _check(est: WideEstimator, frame: Any, y: Any, sample_weight: Any) -> None:
    owner = type(est).__name__
    if est.spec is None:
        raise TypeError(f"{owner} needs a spec to fit on a Dask DataFrame: the spec names the columns to featurize")
    for name, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None and not isinstance(value, str) or name == "y" and value is None:
            raise TypeError(f"{owner}: with a Dask DataFrame, {name} must name one of its columns, got {value!r}")
    missing = [c for c in [*est.spec.columns, y, sample_weight] if c is not None and c not in frame.columns]
    if missing:
        raise ValueError(f"{owner}: the Dask DataFrame has no column {missing[0]!r} (it has {list(frame.columns)})")
    if est.early_stopping:
        raise ValueError(f"{owner}: early_stopping is not available on a Dask DataFrame; evaluate a held-out set apart")
    if est.warm_start and hasattr(est, "_trainer"):
        raise ValueError(f"{owner}: warm_start cannot continue a fit on a Dask DataFrame; set warm_start=False")


def _labels(est: WideEstimator, frame: Any, y: str, classes: Any) -> Any:
    if est._kind != "classifier":
        if classes is not None:
            raise ValueError("classes is only meaningful for WideClassifier")
        return None
    if classes is None:
        classes = np.asarray(frame[y].drop_duplicates(split_out=1).compute())
        if classes.dtype.kind == "f":
            classes = classes[np.isfinite(classes)]  # such rows fail later, naming their row
    return est._encode(np.asarray(classes), fitting=True, classes=classes)[1]


def _seed(random_state: Any) -> int:
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return int(generator(random_state).integers(0, 2**63))



def fit_dask_frame(est: WideEstimator, frame: Any, y: Any, sample_weight: Any, classes: Any) -> Any:
    """``est.fit(frame, y=...)`` on the current Dask cluster (see ``WideEstimator.fit``)."""
    from ..cluster.client import connect, partitions
    from ..cluster import driver

    _check(est, frame, y, sample_weight)
    owner = type(est).__name__
    # the held-out l1 path runs in memory; on a cluster "auto" is the former fixed default for now
    l1 = FIXED_L1 if is_auto(est.l1) else None
    params = est._params(l1)
    if params.optimizer == EXACT:
        raise ValueError(f"{owner}: optimizer='cd' is not available on a Dask DataFrame (the exact solver holds "
                         "every row in one process); use optimizer='sgd'")
    width = int(est.spec.n_features)
    optimizer = params.make_optimizer()
    plan = driver.Plan(optimizer, params.layout_for(width, owner), width, params.epochs, params.polish, params.shuffle,
                _seed(est.random_state))
    labels = _labels(est, frame, y, classes)
    if labels is not None and len(labels) > 2:
        raise ValueError(f"{owner}: a Dask DataFrame fit trains two classes for now; the target {y!r} has "
                         f"{len(labels)}: fit K classes in memory or from files on disk")
    featurize = FrameFeatures(type(est)(**est.get_params()), y, sample_weight, labels)
    columns = [*est.spec.columns, y] + ([sample_weight] if sample_weight is not None else [])
    client, close = connect()
    try:
        result = driver.fit_frame(client, partitions(frame, columns), featurize, plan, _progress(est))
    except FloatingPointError:
        raise diverged(owner, Trainer(optimizer), "a round of fit on the cluster") from None
    finally:
        close()
    if not (np.isfinite(result.weights).all() and np.isfinite(result.intercept)):
        raise diverged(owner, Trainer(optimizer), "the polish of fit on the cluster")
    nonzero = np.flatnonzero(result.weights)
    coefficients = result.columns[nonzero], result.weights[nonzero]
    trainer = est._new_trainer(params, width)
    weights = np.zeros(trainer.n_slots if trainer.layout == "dense" else nonzero.shape[0])
    slots = trainer.slot_map.map(coefficients[0])
    trainer.grow()
    weights[slots] = coefficients[1]
    trainer.set_weights(weights, result.intercept)
    model = est._make_model(trainer, params, width, labels, len(result.losses), result.polish_passes,
                            coefficients=coefficients, examples=result.n_rows * len(result.losses))
    est._publish(trainer, generator(est.random_state), params, width, labels)
    est.l1_ = params.l1
    est.t_ = result.n_rows * len(result.losses)
    est.n_iter_, est.loss_curve_, est.polish_passes_, est.objective_ = len(result.losses), result.losses, \
        result.polish_passes, None
    est.cluster_ = {"shards": result.n_shards, "rows": result.n_rows, "rounds": result.rounds,
                    "polish_bytes": result.polish_bytes, "shard_bytes": result.shard_bytes}
    trainer.published = model
    return est


def _progress(est: WideEstimator) -> Any:
    callback = getattr(est, "_epoch_callback", None)
    if not est.verbose:
        return callback

    def report(epoch: int, rows: int, loss: float) -> None:
        print(f"{type(est).__name__}: epoch {epoch + 1}, mean training loss {loss:.6g}", file=sys.stderr)
        if callback is not None:
            callback(epoch, rows, loss)

    return report


def score_frame(est: WideEstimator, frame: Any, method: str) -> Any:
    """``method``'s scores of a Dask DataFrame's rows, computed partition by partition where the
    partitions are: a Dask Series (``predict``, ``decision_function``) or, for ``predict_proba``,
    a Dask DataFrame with one column per class. Lazy, like any Dask collection."""
    import pandas as pd

    owner = type(est).__name__
    if est.spec is None:
        raise TypeError(f"{owner} needs a spec to score a Dask DataFrame: the spec names the columns to featurize")
    model, classes = est.model_, getattr(est, "classes_", None)
    score = _PartitionScores(model, method, None if classes is None else np.asarray(classes), tuple(est.spec.columns))
    if method == "predict_proba":
        meta: Any = pd.DataFrame({str(c): pd.Series(dtype=np.float64) for c in classes})
    else:
        dtype = classes.dtype if method == "predict" and classes is not None else np.float64
        meta = pd.Series(dtype=dtype, name=method)
    return frame.map_partitions(score, meta=meta)


@dataclass(frozen=True)
class _PartitionScores:
    model: Any
    method: str
    classes: np.ndarray | None
    columns: tuple[str, ...]

    def __call__(self, frame: Any) -> Any:
        import pandas as pd

        data = {c: frame[c].to_numpy() for c in self.columns}
        if self.method == "predict_proba":
            proba = self.model.predict_proba(data) if len(frame) else np.empty((0, len(self.classes)))
            return pd.DataFrame(proba, index=frame.index, columns=[str(c) for c in self.classes])
        if self.method == "predict" and self.classes is not None:
            decision = self.model.decision_function(data) if len(frame) else np.empty(0)
            values = self.classes[(decision > 0).astype(np.intp)]
        elif len(frame) == 0:
            values = np.empty(0)
        else:
            values = getattr(self.model, self.method)(data)
        return pd.Series(values, index=frame.index, name=self.method)
