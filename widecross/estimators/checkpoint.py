"""Checkpoints: an estimator's whole training state in a file, to continue in another process.

``est.save_checkpoint(path)`` stores the optimizer's records of the touched columns (sparse
layout: every slot, in slot order, so that slots are handed out again in the same order; dense
layout: the records that are not all zero), its scalars, the parameters, the fitted attributes
and the random generator's state (:mod:`widecross.model.checkpoint_file` has the bytes).
``WideClassifier.load_checkpoint(path)`` rebuilds the estimator; training on from it gives the
same model, bit for bit, as never stopping. Every field read back is checked first: a damaged or
foreign file raises ``ModelFormatError``.
"""

from __future__ import annotations

import dataclasses
import math
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..model import ModelFormatError, checkpoint_file
from ..train import LAYOUTS, FitParams, Trainer, optimizer_from_record
from .protocol import not_fitted

# the bit generators whose state is plain JSON (a Generator of another kind is refused on save)
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
FITTED = ("n_iter_", "loss_curve_", "polish_passes_", "objective_")


def save(est: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``est``'s training state to ``path`` (atomically)."""
    if not hasattr(est, "_trainer"):
        raise not_fitted(type(est).__name__)
    trainer, rng = est._trainer, est._rng
    if type(rng.bit_generator).__name__ not in BIT_GENERATORS:
        raise ValueError(f"cannot checkpoint a random generator of kind {type(rng.bit_generator).__name__}")
    params = {k: v for k, v in est.get_params().items() if k != "spec"}
    params["random_state"] = params["random_state"] if isinstance(params["random_state"], int) else None
    if isinstance(params.get("class_weight"), dict):
        params["class_weight"] = [[_plain(k), float(v)] for k, v in params["class_weight"].items()]
    classes = getattr(est, "classes_", None)
    if trainer.layout == "sparse":
        columns = trainer.slot_map.columns
        records = trainer.records[: trainer.n_slots]
    else:
        columns = np.flatnonzero(trainer.records.any(axis=1))
        records = trainer.records[columns]
    meta = {
        "kind": "widecross checkpoint",
        "estimator": type(est).__name__,
        "params": params,
        "spec": None if est.spec is None else json.loads(est.spec.to_json()),
        "classes": None if classes is None else [_plain(c) for c in classes],
        "width": est._model_width,
        "layout": trainer.layout,
        "optimizer": trainer.optimizer.describe(),
        "fit_params": dataclasses.asdict(est._fit_params),
        "rng": rng.bit_generator.state,
        "fitted": {k: getattr(est, k) for k in FITTED},
        # what later partial_fit calls follow: the l1 that "auto" chose, the rows' size behind the rates
        "resolved": {"l1_": est.__dict__.get("l1_"), "stream_entries": est.__dict__.get("_stream_entries")},
    }
    return checkpoint_file.save(path, meta, columns, records, trainer.scalars)


def load(cls: type | dict[str, type], path: str | os.PathLike[str]) -> Any:
    """The estimator of class ``cls`` (or of the class the file names among a dict of them) that
    ``save`` wrote to ``path``."""
    meta, columns, records, scalars = checkpoint_file.load(path)
    if isinstance(cls, dict):
        cls = cls.get(meta.get("estimator"), object)
    try:
        return _rebuild(cls, meta, columns, records, scalars)
    except ModelFormatError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise ModelFormatError(f"{path}: not a usable checkpoint: {type(exc).__name__}: {exc}") from None


def _rebuild(cls: type, meta: dict[str, Any], columns: np.ndarray, records: np.ndarray, scalars: np.ndarray) -> Any:
    if meta.get("kind") != "widecross checkpoint" or meta["estimator"] != cls.__name__:
        raise ValueError(f"it holds a {meta.get('estimator')!r}, not a {cls.__name__}")
    params = dict(meta["params"])
    if isinstance(params.get("class_weight"), list):
        params["class_weight"] = {k: w for k, w in params["class_weight"]}
    spec = None
    if meta["spec"] is not None:
        from ..features import FeatureSpec

        spec = FeatureSpec.from_json(json.dumps(meta["spec"]))
    est = cls(spec, **params)
    fit = FitParams(**meta["fit_params"])
    width, layout = int(meta["width"]), meta["layout"]
    if layout not in LAYOUTS or width < 1 or (spec is not None and spec.n_features != width):
        raise ValueError(f"layout {layout!r} or width {width} is impossible")
    optimizer = optimizer_from_record(meta["optimizer"])
    _check_layout(fit, layout, width, cls.__name__, optimizer.record_width)
    trainer = Trainer(optimizer, layout=layout, width=width if layout == "dense" else None)
    _restore_state(trainer, width, columns, records, scalars)
    rng = _generator(meta["rng"])
    classes = None if meta["classes"] is None else np.asarray(meta["classes"])
    if classes is not None and len(classes) != (optimizer.columns if optimizer.columns > 1 else 2):
        raise ValueError(f"{len(classes)} classes for {optimizer.columns} weight columns")
    est._publish(trainer, rng, fit, width, classes)
    for key in FITTED:
        setattr(est, key, meta["fitted"][key])
    resolved = meta.get("resolved") or {}
    l1 = _optional_number(resolved, "l1_")
    if l1 is not None:
        est.l1_ = l1
    est._stream_entries = _optional_number(resolved, "stream_entries")
    est.loss_curve_ = list(est.loss_curve_)
    return est


def _check_layout(fit: FitParams, layout: str, width: int, owner: str, record_width: int) -> None:
    """Refuse a layout that no fit under the stored parameters chose, and a dense state larger
    than this machine's memory: a dense restore allocates a record per column of the claimed
    width (144 GiB at 2**31 columns), and the file holds only the nonzero records, so its size
    cannot vouch for the width."""
    chosen = fit.layout_for(width, owner)
    if layout != chosen:
        raise ValueError(f"the state's layout is {layout!r} for a width of {width:,}, but its parameters "
                         f"(layout={fit.layout!r}) give {chosen!r} there")
    need, memory = width * record_width * 8, _physical_memory()
    if layout == "dense" and memory is not None and need > memory:
        raise ValueError(f"its dense state of {width:,} columns needs {need / 2**30:,.1f} GiB, more than this "
                         f"machine's {memory / 2**30:,.1f} GiB of memory")


def _physical_memory() -> int | None:
    """Bytes of physical memory (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def _optional_number(resolved: dict[str, Any], key: str) -> float | None:
    value = resolved.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"the checkpoint's {key} must be a finite number >= 0 or null, got {value!r}")
    return float(value)


def _restore_state(trainer: Trainer, width: int, columns: np.ndarray, records: np.ndarray,
                   scalars: np.ndarray) -> None:
    if records.shape[1] != trainer.records.shape[1] or scalars.shape != trainer.scalars.shape:
        raise ValueError(f"state of shape {records.shape[1:]} / {scalars.shape} does not fit the optimizer")
    if columns.size and (columns.min() < 0 or columns.max() >= width or np.unique(columns).size != columns.size):
        raise ValueError("the stored column ids are out of range or repeated")
    if trainer.layout == "sparse":
        slots = trainer.slot_map.map(columns)
        if not np.array_equal(slots, np.arange(columns.shape[0])):  # unique ids: always true
            raise ValueError("the slot map could not be rebuilt")
        trainer.grow()
        trainer.records[: columns.shape[0]] = records
    else:
        trainer.records[columns] = records
    trainer.scalars[:] = scalars


def _generator(state: dict[str, Any]) -> np.random.Generator:
    kind = state.get("bit_generator") if isinstance(state, dict) else None
    if kind not in BIT_GENERATORS:
        raise ValueError(f"unknown random generator {kind!r}")
    bit_generator = getattr(np.random, kind)()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def _plain(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    if not isinstance(value, (str, int, float, bool)):
        raise TypeError(f"cannot checkpoint the class label {value!r} (str, int, float or bool only)")
    return value
