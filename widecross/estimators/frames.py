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
from .auto import PATH_ROWS, Selection, select_l1, summary
from .class_weights import balanced_weights, class_weights
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
    class_weights: np.ndarray | None = None  # one per label (WideClassifier's class_weight), or None

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
            if self.class_weights is not None:  # the in-memory rule: the class's weight times the row's
                by_class = self.class_weights[y.astype(np.int64)]
                sw = by_class * sw if sw.size else by_class
        except ValueError as exc:  # rows are counted within the partition: say which one
            first = frame.index[0]
            first = first.item() if isinstance(first, np.generic) else first  # 7, not np.int64(7)
            raise ValueError(f"the partition whose first row has index {first!r}: {exc}") from None
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


def _class_weights(est: WideEstimator, frame: Any, y: str, labels: Any) -> np.ndarray | None:
    """``class_weight`` as one weight per label; "balanced" counts the classes on the cluster
    first (``n / (K n_k)``, as in memory)."""
    if labels is None or getattr(est, "class_weight", None) is None:
        return None
    if isinstance(est.class_weight, str) and est.class_weight == "balanced":
        found = frame[y].value_counts().compute()
        return balanced_weights(np.array([found.get(label, 0) for label in labels]))
    return class_weights(est.class_weight, labels, None)


def _seed(random_state: Any) -> int:
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    return int(generator(random_state).integers(0, 2**63))



def fit_dask_frame(est: WideEstimator, frame: Any, y: Any, sample_weight: Any, classes: Any) -> Any:
    """``est.fit(frame, y=...)`` on the current Dask cluster (see ``WideEstimator.fit``).

    ``l1="auto"``: the in-memory path (:func:`.auto.select_l1`) on a seeded sample of at most
    ``auto.PATH_ROWS`` rows drawn from all partitions, its choice scaled to the total rows as in
    memory; then the fit on the cluster with that l1.
    """
    from ..cluster import driver
    from ..cluster.client import connect, partitions

    _check(est, frame, y, sample_weight)
    owner = type(est).__name__
    if est._params().optimizer == EXACT:
        raise ValueError(f"{owner}: optimizer='cd' is not available on a Dask DataFrame (the exact solver holds "
                         "every row in one process); use optimizer='sgd'")
    labels = _labels(est, frame, y, classes)
    featurize = FrameFeatures(type(est)(**est.get_params()), y, sample_weight, labels,
                              _class_weights(est, frame, y, labels))
    columns = [*est.spec.columns, y] + ([sample_weight] if sample_weight is not None else [])
    width, seed = int(est.spec.n_features), _seed(est.random_state)
    client, close = connect()
    try:
        parts = partitions(frame, columns)
        selection, entries = _auto_l1(est, client, parts, featurize, seed, labels)
        params = est._params(None if selection is None else selection.l1, entries,
                             rate=None if selection is None else selection.rate)
        optimizer = params.make_optimizer(_n_classes(labels))
        plan = driver.Plan(optimizer, params.layout_for(width, owner), width, params.epochs, params.polish,
                           params.shuffle, seed)
        try:
            result = driver.fit_frame(client, parts, featurize, plan, _progress(est))
        except FloatingPointError:
            raise diverged(owner, Trainer(optimizer), "a round of fit on the cluster") from None
    finally:
        close()
    _publish(est, result, params, width, labels, selection)
    return est


ENTRIES_ROWS = 20_000  # rows sampled for the mean row size when l1 is given


def _n_classes(labels: Any) -> int:
    return 2 if labels is None else len(labels)


def _auto_l1(est: WideEstimator, client: Any, parts: list[Any], featurize: FrameFeatures, seed: int,
             labels: Any) -> tuple[Selection | None, float | None]:
    """``l1="auto"``: the path's choice on a sample of the rows, and the rows' mean entries (what
    the default rates follow); for an l1 given, no path and the mean entries of a smaller sample
    (the default rate is a power of two of it, as in memory: ``ENTRIES_ROWS`` rows settle it)."""
    from ..cluster.sample import sample_rows

    if not is_auto(est.l1):
        if est._rate_given():
            return None, None
        return None, est._row_entries(sample_rows(client, parts, featurize, ENTRIES_ROWS, seed)[0])
    X, y, sw, n_total = sample_rows(client, parts, featurize, PATH_ROWS, seed)
    entries = est._row_entries(X)
    rate = est._params(entries=entries).make_optimizer(_n_classes(labels)).rate
    selection = select_l1(est, X, y, sw, rate, n_total, bool(est.verbose))
    if est.verbose:
        print(summary(selection.path, selection.l1), file=sys.stderr)
    return selection, entries


def _publish(est: WideEstimator, result: Any, params: Any, width: int, labels: Any, selection: Selection | None) -> None:
    """The merged (and polished) model as the estimator's fitted state."""
    from ..cluster import mixed

    owner = type(est).__name__
    trainer = est._new_trainer(params, width, labels)
    if not (np.isfinite(result.weights).all() and np.isfinite(result.intercept).all()):
        raise diverged(owner, trainer, "the polish of fit on the cluster")
    w = result.weights
    # the state is the merged one (FTRL: its z and n), then the polished weights as in memory
    slots = trainer.slot_map.map(result.columns)
    trainer.grow()
    mixed.write(trainer, slots, *result.merged)
    if result.polish_passes:
        weights = np.zeros((trainer.n_slots,) + w.shape[1:])
        weights[slots] = w
        trainer.set_weights(weights, result.intercept)
    nonzero = np.flatnonzero(w) if w.ndim == 1 else np.flatnonzero((w != 0).any(axis=1))
    coefficients = result.columns[nonzero], w[nonzero]
    model = est._make_model(trainer, params, width, labels, len(result.losses), result.polish_passes,
                            coefficients=coefficients, examples=result.n_rows * len(result.losses))
    est._publish(trainer, generator(est.random_state), params, width, labels)
    est.l1_ = params.l1
    if selection is not None:
        est.l1_path_ = selection.path
    elif hasattr(est, "l1_path_"):
        del est.l1_path_
    est.t_ = result.n_rows * len(result.losses)
    est.n_iter_, est.loss_curve_, est.polish_passes_, est.objective_ = len(result.losses), result.losses, \
        result.polish_passes, None
    est.cluster_ = {"shards": result.n_shards, "rows": result.n_rows, "rounds": result.rounds,
                    "polish_bytes": result.polish_bytes, "polish_seconds": result.polish_seconds,
                    "shard_bytes": result.shard_bytes}
    trainer.published = model


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
