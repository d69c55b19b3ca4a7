"""WideClassifier and WideRegressor: scikit-learn style estimators over the Numba trainers.

Both minimize the same objective, whatever the optimizer::

    F(w, b) = sum_i s_i loss(y_i, x_i . w + b) / sum_i s_i + l1 ||w||_1 + l2 / 2 ||w||_2^2

(``s_i`` sample weights, intercept ``b`` unpenalized), so ``l1`` and ``l2`` mean one thing.

``fit`` runs ``epochs`` passes of the chosen optimizer over the rows in a fresh seeded random
order each, then ``polish`` passes of an accelerated batch majorized proximal-gradient step (see
``_batch``) that removes the small weights the last stochastic gradients left behind and closes
most of the remaining objective gap (measured in ``benchmarks/bench_convergence.py``).
``partial_fit`` runs one pass over the given rows and never polishes (it cannot see the other
rows); with ``polish=0``, ``fit`` equals the same sequence of ``partial_fit`` calls bit for bit.

SGD's default step is implicit (``implicit=True``, see ``_losses.implicit_derivative``) and its
default AdaGrad rate follows the passes asked for (``default_learning_rate``): short steps for
one pass, which generalizes best, long ones for several, which reach the optimum sooner. For a
single pass over data at a weak ``l1``, ``polish=0`` keeps it a single pass: the polish moves
towards the optimum of the objective, which overfits when ``l1`` is too weak for the rows.

Training state has two layouts (``layout``): ``"sparse"`` keeps records only for the columns
actually seen, in slots handed out by a hash map (memory grows with the touched columns, never
with the width: the exact 235.7M-column geo cross trains in a few hundred MB); ``"dense"`` keeps
a record for every column of the width (slot == column). Both give the same weights, bit for
bit; ``"auto"`` picks dense up to ``DENSE_AUTO_MAX_WIDTH`` columns. The fitted ``model_`` is a
:class:`widecross.SparseModel` of the nonzero weights as float32: ``predict*`` go through it, so
a saved and reloaded model predicts exactly the same.

Data sets larger than memory: ``fit("houses/", y="label")`` streams a Parquet (or CSV) file,
directory or list of files chunk by chunk (see ``_stream``): epochs visit the row groups in a
fresh order and pass the rows through a bounded shuffle buffer, the polish passes stream too,
and the peak memory is set by ``chunk_rows``, ``buffer_rows`` and the model, not by the data.

scikit-learn is not needed at run time: parameters, cloning and tags follow its conventions, and
``check_estimator`` passes for the spec-less estimators.

Threads: ``fit`` and ``partial_fit`` on one estimator are serialized by a lock of its own (it is
neither pickled nor copied: each copy or clone gets a fresh one), so calls from several threads
run one after another and no row is lost; which thread goes first is up to the threads.
``predict*``, ``decision_function`` and ``score`` from many threads at once run in parallel
(the kernels release the GIL) and return the same bits as serial calls; during a
``partial_fit`` they see the model as it was before the call.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import math
import numbers
import sys
import threading
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import _ftrl, _sgd, _stream
from ._csr_check import checked_csr
from ._losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES
from ._order import visit_order
from ._slots import DENSE_MAX_WIDTH
from ._trainer import Batch, NonFiniteError, Trainer
from .model import SparseModel

OPTIMIZERS = ("sgd", "ftrl")
SCHEDULES = ("adagrad", "newton", "constant", "invscaling")
# Default SGD rates per schedule, tuned on generated geo data. AdaGrad's per-coordinate rates are eta0 / (delta + sqrt(sum of squared gradients)), so
# its eta0 is a step length, not a gradient scale, and the best one depends on the passes: one
# pass generalizes best with short steps (2M geo rows, l1 1e-7, held-out 0.4612 at 0.3 vs 0.4624
# at 0.4 and 0.4648 at 0.5), while reaching the optimum in more passes needs long ones (30 epochs
# on 3e5 rows at l1 1e-6: objective gap 2.7 % at 0.3, 0.5 % at 1.5; a warm-started l1 path at 5
# epochs per point stays 0.4 % behind cold fits at 0.67, none at 1.5), and at 5 epochs the
# held-out loss hardly cares (0.4625 at 0.7, 0.4627 at 1.5). So the AdaGrad default is
# 0.3 x epochs, up to 1.5 from 5 epochs on. ``partial_fit`` reads ``epochs`` too (how many times
# a stream revisits its rows), so that ``fit`` equals the same ``partial_fit`` calls.
#
# "newton" divides by the summed curvature instead (a per-coordinate Newton step with a prior of
# precision delta / eta0): the step of a column shrinks as 1 / (rows that saw it), like a running
# mean, which is what one pass over noisy labels wants. One pass at l1 1e-7, polish=0, held-out
# (benchmarks/bench_train.py, 1M rows at 2^24 / bench_peers.py, 2M rows at 2^22): newton 0.46558 /
# 0.4600, AdaGrad 0.46642 / 0.4615, Vowpal Wabbit --l1 1e-7 0.46639 / 0.4618. eta0 1.0 and
# delta 2.0 were the best of a 0.5-2 x 1-12 grid on both data sets.
DEFAULT_RATE = {"adagrad": 0.3, "newton": 1.0, "constant": 0.1, "invscaling": 0.5}
ADAGRAD_MAX_DEFAULT_RATE = 1.5
# The per-coordinate rates' delta. AdaGrad's is small, so that a rare column's first steps are not
# damped below its later ones (one pass at 2M rows, l1 1e-7: held-out 0.4612 at 0.1, 0.4626 at 1).
_DELTA = {"adagrad": 0.1, "newton": 2.0}


def default_learning_rate(schedule: str, epochs: int = 1) -> float:
    """The SGD rate ``learning_rate=None`` stands for, given the schedule and the passes of ``fit``.

    >>> [default_learning_rate("adagrad", e) for e in (1, 2, 5, 30)], default_learning_rate("newton", 5)
    ([0.3, 0.6, 1.5, 1.5], 1.0)
    """
    rate = DEFAULT_RATE[schedule]
    if schedule == "adagrad":
        rate = min(ADAGRAD_MAX_DEFAULT_RATE, round(rate * epochs, 12))
    return rate


# FTRL's alpha follows the passes the same way: one pass at l1 1e-7, polish=0, held-out 0.4677
# at alpha 0.3, 0.4686 at 0.5, 0.4805 at 1.0 and 0.5169 at 2.0 (1M geo rows, 2^24), while 30 epochs
# reach the optimum at 2.0 (gap 0.13 % at l1 1e-6 on 3e5 rows). 0.4 x epochs, up to 2.0 from 5
# epochs on (the default fit's 5 epochs keep their 2.0).
FTRL_DEFAULT_ALPHA = 0.4
FTRL_MAX_DEFAULT_ALPHA = 2.0


def default_alpha(epochs: int = 1) -> float:
    """FTRL's alpha that ``alpha=None`` stands for, given the passes of ``fit``.

    >>> [default_alpha(e) for e in (1, 2, 5, 30)]
    [0.4, 0.8, 2.0, 2.0]
    """
    return min(FTRL_MAX_DEFAULT_ALPHA, round(FTRL_DEFAULT_ALPHA * epochs, 12))


LAYOUTS = ("auto", "sparse", "dense")
# layout="auto" keeps a record per column up to this width (6 MB of AdaGrad records): there the
# dense layout, which skips the slot map, is as fast or a little faster; from 2^20 on it costs
# more (a 5-epoch fit on 1e6 geo rows: 0.97x the sparse time at 2^16, 1.01x at 2^20, 1.33x at
# 2^22, 2.4x at 2^24; on 2e4 rows 3x at 2^20, the width-long sweeps dominating). See
# benchmarks/bench_scale.py, section "layout".
DENSE_AUTO_MAX_WIDTH = 2**18
# Rows read, featurized and trained at a time when fitting on a data set on disk.
DEFAULT_CHUNK_ROWS = 1_000_000


class DataConversionWarning(UserWarning):
    """A column-vector ``y`` was raveled (the name scikit-learn's checks look for)."""


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` or ``partial_fit``."""


def _not_fitted(name: str) -> Exception:
    msg = f"This {name} instance is not fitted yet. Call 'fit' or 'partial_fit' with appropriate arguments first."
    # When scikit-learn is already loaded (its tools are in use), raise its own class so that
    # its helpers recognize the error; never import it ourselves.
    sk = sys.modules.get("sklearn.exceptions")
    if sk is not None:
        return sk.NotFittedError(msg)
    return NotFittedError(msg)


def _generator(random_state: Any) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int or a numpy Generator, got {random_state!r}")


class _AvailableIf:
    """Method descriptor that hides the method (AttributeError) when ``check(self)`` is false."""

    def __init__(self, check, reason: str):
        self.check = check
        self.reason = reason

    def __call__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__
        return self

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is not None and not self.check(obj):
            raise AttributeError(f"{type(obj).__name__} has no {self.name}: {self.reason}")
        return self.fn if obj is None else self.fn.__get__(obj, owner)


def _serialized(method):
    """Run ``method`` under the estimator's lock (see "Threads" in the module docstring)."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._state_lock():
            return method(self, *args, **kwargs)

    return locked


class _WideBase:
    """Shared machinery; see WideClassifier / WideRegressor for the parameters."""

    _kind = "regressor"
    _losses: tuple[str, ...] = REGRESSION_LOSSES

    # -- scikit-learn parameter protocol ---------------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters by name (as stored, never modified by ``fit``)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any):
        """Set constructor parameters; unknown names are an error. Returns self."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; valid: {valid}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = []
        for name in self._get_param_names():
            value = getattr(self, name)
            default = defaults.get(name)
            same = value is default or (
                type(value) is type(default) and not isinstance(value, np.ndarray) and value == default
            )
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        tags = Tags(
            estimator_type=self._kind,
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(multi_class=False) if self._kind == "classifier" else None,
            regressor_tags=RegressorTags() if self._kind == "regressor" else None,
        )
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_trainer")

    # -- threads ---------------------------------------------------------------------------------
    def _state_lock(self) -> threading.RLock:
        """The lock serializing changes of the training state; made on first use, not in
        ``__init__`` (which stores parameters only)."""
        lock = self.__dict__.get("_lock")
        if lock is None:
            lock = self.__dict__.setdefault("_lock", threading.RLock())  # atomic: one lock wins
        return lock

    def __getstate__(self) -> dict[str, Any]:
        # A lock cannot be pickled, and a copy must not share it: copies make their own.
        state = self.__dict__.copy()
        state.pop("_lock", None)
        return state

    # -- hyperparameters -------------------------------------------------------------------------
    def _resolved(self) -> dict[str, Any]:
        """Validated hyperparameters with defaults filled in; the attributes stay untouched."""
        name = type(self).__name__

        def number(key: str, low: float, low_open: bool, value: Any = None) -> float:
            v = getattr(self, key) if value is None else value
            if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.floating, np.integer)):
                raise ValueError(f"{name}: {key} must be a number, got {v!r}")
            v = float(v)
            if not math.isfinite(v) or v < low or (low_open and v == low):
                bound = ">" if low_open else ">="
                raise ValueError(f"{name}: {key} must be finite and {bound} {low}, got {v!r}")
            return v

        def integer(key: str, low: int) -> int:
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) or v < low:
                raise ValueError(f"{name}: {key} must be an integer >= {low}, got {v!r}")
            return int(v)

        if self.loss not in self._losses:
            raise ValueError(f"{name}: unknown loss {self.loss!r}; choose one of {list(self._losses)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"{name}: unknown optimizer {self.optimizer!r}; choose one of {list(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"{name}: unknown schedule {self.schedule!r}; choose one of {list(SCHEDULES)}")
        if not isinstance(self.layout, str) or self.layout not in LAYOUTS:
            raise ValueError(f"{name}: unknown layout {self.layout!r}; choose one of {list(LAYOUTS)}")
        out: dict[str, Any] = dict(
            loss=self.loss,
            optimizer=self.optimizer,
            schedule=self.schedule,
            layout=self.layout,
            l1=number("l1", 0.0, False),
            l2=number("l2", 0.0, False),
            epochs=integer("epochs", 1),
            polish=integer("polish", 0),
            beta=number("beta", 0.0, False),
            power_t=number("power_t", 0.0, True),
            t0=number("t0", 0.0, True),
            n_iter_no_change=integer("n_iter_no_change", 1),
            tol=number("tol", 0.0, False),
        )
        rate = default_learning_rate(self.schedule, out["epochs"]) if self.learning_rate is None else self.learning_rate
        out["learning_rate"] = number("learning_rate", 0.0, True, rate)
        alpha = default_alpha(out["epochs"]) if self.alpha is None else self.alpha
        out["alpha"] = number("alpha", 0.0, True, alpha)
        vf = number("validation_fraction", 0.0, True)
        if vf >= 1.0:
            raise ValueError(f"{name}: validation_fraction must be in (0, 1), got {vf!r}")
        out["validation_fraction"] = vf
        for flag in ("shuffle", "early_stopping", "warm_start", "implicit"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ValueError(f"{name}: {flag} must be True or False, got {getattr(self, flag)!r}")
        out["implicit"] = bool(self.implicit)
        return out

    def _new_trainer(self, hp: dict[str, Any], width: int | None = None) -> Trainer:
        """A fresh trainer; ``width`` (the model's) chooses the layout (None: sparse, for ``hp`` only)."""
        layout = "sparse" if width is None else self._layout(hp, width)
        if hp["optimizer"] == "ftrl":
            vector = _ftrl.make_hp(hp["alpha"], hp["beta"], hp["l1"], hp["l2"])
            return Trainer("ftrl", hp["loss"], vector, layout=layout, width=width)
        schedule = "invscaling" if hp["schedule"] == "invscaling" else "constant"
        vector = _sgd.make_hp(
            hp["learning_rate"], hp["l1"], hp["l2"], power=hp["power_t"], t0=hp["t0"],
            delta=_DELTA.get(hp["schedule"], 1.0), implicit=hp["implicit"],
        )
        adaptive = {"adagrad": _sgd.ADAGRAD, "newton": _sgd.NEWTON}.get(hp["schedule"], _sgd.PLAIN)
        return Trainer("sgd", hp["loss"], vector, schedule, adaptive=adaptive, layout=layout, width=width)

    def _layout(self, hp: dict[str, Any], width: int) -> str:
        if hp["layout"] == "auto":
            return "dense" if width <= DENSE_AUTO_MAX_WIDTH else "sparse"
        if hp["layout"] == "dense" and width > DENSE_MAX_WIDTH:
            raise ValueError(
                f"{type(self).__name__}: layout='dense' holds at most {DENSE_MAX_WIDTH:,} columns, the model has "
                f"{width:,}; use layout='sparse' (records for the touched columns only)"
            )
        return hp["layout"]

    # -- input -----------------------------------------------------------------------------------
    def _features(self, X: Any, fitting: bool) -> tuple[sp.csr_matrix, int]:
        """Canonical CSR (float values, no duplicates) of X and the model width; never modifies X."""
        if self.spec is not None:
            if sp.issparse(X) or isinstance(X, np.ndarray) and X.dtype.names is None:
                raise TypeError(
                    f"{type(self).__name__} has a spec, so X must be raw columns (a dict, DataFrame or "
                    f"pyarrow Table with columns {list(self.spec.columns)}), got {type(X).__name__}"
                )
            X = self.spec.transform(X)
            width = int(self.spec.n_features)
        if not sp.issparse(X):
            if hasattr(X, "__array__") or isinstance(X, (list, tuple)):
                arr = np.asarray(X)
            else:
                raise TypeError(f"X must be a scipy sparse matrix or a 2-D array, got {type(X).__name__}")
            if arr.dtype.kind == "c":
                raise ValueError("Complex data not supported")
            if arr.dtype.kind not in "fiub":
                try:
                    arr = arr.astype(np.float64)
                except TypeError as exc:
                    raise TypeError(f"X must hold real numbers: {exc}") from None
                except ValueError as exc:
                    raise ValueError(f"X must hold real numbers: {exc}") from None
            if arr.ndim != 2:
                raise ValueError(
                    f"Expected 2D array, got {arr.ndim}D array instead. Reshape your data with "
                    "X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample."
                )
            X = sp.csr_matrix(arr.astype(np.float64, copy=False))
        # Every index a kernel will read is checked here, in O(nnz), whatever the format (and
        # even for the spec's own output): in range, a valid row pointer, no duplicates, finite.
        X = checked_csr(X)
        n, d = X.shape
        if d == 0:
            raise ValueError(f"Found array with 0 feature(s) (shape=({n}, 0)) while a minimum of 1 is required.")
        if fitting and n == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape=(0, {d})) while a minimum of 1 is required.")
        if self.spec is None:
            width = d
        expected = getattr(self, "n_features_in_", None) if not fitting else None
        if self.spec is None and expected is not None and d != expected:
            raise ValueError(f"X has {d} features, but {type(self).__name__} is expecting {expected} features as input.")
        return X, width

    def _sample_weight(self, sample_weight: Any, n: int, whole: bool = True) -> np.ndarray:
        if sample_weight is None:
            return np.empty(0, dtype=np.float64)
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.ndim == 0:
            sw = np.full(n, float(sw))
        if sw.ndim != 1 or sw.shape[0] != n:
            raise ValueError(f"sample_weight has shape {sw.shape}, expected ({n},) to match X")
        if not np.isfinite(sw).all():
            raise ValueError(f"sample_weight contains NaN or infinity (row {int(np.flatnonzero(~np.isfinite(sw))[0])})")
        if (sw < 0).any():
            raise ValueError(f"sample_weight must be >= 0, got {sw.min()} (row {int(np.argmin(sw))})")
        if whole and sw.sum() <= 0:  # a chunk of a data set may weigh 0; the whole may not
            raise ValueError("sample_weight sums to zero: nothing to learn from")
        return sw

    def _scoring_target(self, y: Any, sample_weight: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``y`` and the sample weights of ``score`` (empty: unweighted), checked against ``n`` rows."""
        if n == 0:
            raise ValueError("score needs at least one row, X has none")
        labels = np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:  # a column of labels, as scikit-learn's scorers pass
            labels = labels.ravel()
        return self._target(labels, n), self._sample_weight(sample_weight, n)

    def _target(self, y: Any, n: int) -> np.ndarray:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            # scikit-learn's own class when it is loaded, so that its warning filters apply
            sk = sys.modules.get("sklearn.exceptions")
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please change the shape "
                "of y to (n_samples, ), for example using ravel().",
                sk.DataConversionWarning if sk is not None else DataConversionWarning,
                stacklevel=3,
            )
            arr = arr.ravel()
        if arr.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {arr.shape}")
        if arr.shape[0] != n:
            raise ValueError(f"X has {n} rows but y has {arr.shape[0]}: inconsistent numbers of samples")
        return arr

    # -- training --------------------------------------------------------------------------------
    @_serialized
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        classes: Any = None,
        chunk_rows: int | None = None,
        buffer_rows: int | None = None,
    ):
        """Fit from scratch: ``epochs`` shuffled passes, then the batch polish. Returns self.

        ``X``: raw columns when the estimator has a spec, else a sparse matrix or 2-D array.

        ``X`` may also be a data set on disk (needs a spec): a Parquet or CSV file, a directory
        of them, or a list of files. Then ``y`` (and ``sample_weight``, if any) name columns of
        it, and the data set is streamed: ``chunk_rows`` rows (default 1,000,000) are read,
        featurized and trained at a time, each epoch visits the row groups in a fresh random
        order through a shuffle buffer of ``buffer_rows`` rows (default ``chunk_rows``; 0 shuffles
        within chunks only), and the polish passes stream the data again (``polish=0`` skips
        them). ``classes`` (classifier only) names the two labels and saves the pass over the
        target column that otherwise finds them. Errors name the file and its rows. Same data,
        chunking and seed give the same model, bit for bit; ``objective_`` is None (measuring it
        would cost one more pass).

        >>> clf = WideClassifier(geo_spec(bits=None)).fit("houses/", y="label")  # doctest: +SKIP
        """
        if _stream.is_source(X):
            return self._fit_stream(X, y, sample_weight, classes, chunk_rows, buffer_rows)
        for key, value in (("classes", classes), ("chunk_rows", chunk_rows), ("buffer_rows", buffer_rows)):
            if value is not None:
                raise TypeError(f"{key} applies to fitting on a data set on disk (X a path or a list of paths)")
        hp = self._resolved()
        Xc, width = self._features(X, fitting=True)
        yy, labels = self._encode(self._target(y, Xc.shape[0]), fitting=True)
        sw = self._sample_weight(sample_weight, Xc.shape[0])
        rng = _generator(self.random_state)
        trainer = self._warm_trainer(hp, width, labels)
        train_rows = val_rows = None
        if self.early_stopping:
            n_val = max(1, int(round(hp["validation_fraction"] * Xc.shape[0])))
            if n_val >= Xc.shape[0]:
                raise ValueError(f"validation_fraction={hp['validation_fraction']} leaves no training rows")
            split = rng.permutation(Xc.shape[0])
            val_rows, train_rows = np.sort(split[:n_val]), np.sort(split[n_val:])
            Xv, yv, swv = Xc[val_rows], yy[val_rows], sw[val_rows] if sw.size else sw
            Xc, yy, sw = Xc[train_rows], yy[train_rows], sw[train_rows] if sw.size else sw
        batch = trainer.map(Xc)
        val_batch = trainer.lookup(Xv) if val_rows is not None else None
        n = Xc.shape[0]
        del Xc  # the batch keeps what training needs; drop the column ids (8 bytes per entry)
        losses: list[float] = []
        val_losses: list[float] = []
        best, stale, epochs_run = math.inf, 0, 0
        callback = getattr(self, "_epoch_callback", None)
        for epoch in range(hp["epochs"]):
            order = visit_order(rng, n, self.shuffle)
            try:
                losses.append(trainer.epoch(batch, yy, sw, order))
            except NonFiniteError:
                raise self._diverged(hp, f"epoch {epoch + 1} of fit") from None
            epochs_run += 1
            if callback is not None:
                callback(epoch, n, losses[-1])
            if self.verbose:
                print(f"{type(self).__name__}: epoch {epoch + 1}, mean training loss {losses[-1]:.6g}", file=sys.stderr)
            if val_batch is not None:
                val_losses.append(self._checked_loss(trainer, val_batch, yv, swv, hp, epoch))
                if val_losses[-1] < best - hp["tol"]:
                    best, stale = val_losses[-1], 0
                else:
                    stale += 1
                    if stale >= hp["n_iter_no_change"]:
                        break
        if not math.isfinite(losses[-1]):
            raise self._diverged(hp, "fit")
        try:
            objective, passes = trainer.polish(batch, yy, sw, hp["polish"])
        except NonFiniteError:  # weights beyond float32 read at the start of the polish
            raise self._diverged(hp, "the polish of fit") from None
        if passes and not math.isfinite(objective):
            raise self._diverged(hp, "the polish of fit")
        return self._publish_fit(
            trainer, hp, width, labels, rng, losses, passes, objective if passes else None,
            val_losses if val_batch is not None else None,
        )

    def _publish_fit(self, trainer: Trainer, hp: dict[str, Any], width: int, labels: Any, rng: np.random.Generator,
                     losses: list[float], passes: int, objective: float | None, val_losses: list[float] | None):
        try:
            model = self._make_model(trainer, hp, width, labels, len(losses), passes)
        except NonFiniteError:
            raise self._diverged(hp, "fit") from None
        # publish only now: a failed fit leaves a previously fitted estimator as it was
        self._publish_labels(labels)
        self._set_fit_hp(hp)
        self._trainer = trainer
        self._rng = trainer.rng = rng
        self.n_iter_ = len(losses)
        self.t_ = trainer.steps
        self.loss_curve_ = losses
        self.polish_passes_ = passes
        self.objective_ = objective
        self.layout_ = trainer.layout
        if val_losses is not None:
            self.validation_loss_curve_ = val_losses
        elif hasattr(self, "validation_loss_curve_"):
            del self.validation_loss_curve_
        self._set_shape_attributes(width)
        trainer.published = model
        return self

    def _fit_stream(self, source: Any, target: Any, sample_weight: Any, classes: Any, chunk_rows: Any, buffer_rows: Any):
        """``fit`` on a data set on disk, streamed in chunks (see ``fit`` and ``_stream``)."""
        name = type(self).__name__
        hp = self._resolved()
        if self.spec is None:
            raise TypeError(
                f"{name} needs a spec to fit on a data set on disk: the spec names the columns to read and featurize"
            )
        if self.early_stopping:
            raise ValueError(
                f"{name}: early_stopping is not available when fitting on a data set on disk; "
                "keep a validation file apart and evaluate the fitted model on it"
            )
        chunk_rows = _count("chunk_rows", DEFAULT_CHUNK_ROWS if chunk_rows is None else chunk_rows, 1)
        buffer_rows = _count("buffer_rows", chunk_rows if buffer_rows is None else buffer_rows, 0)
        data = _stream.DataSet(source, self.spec.columns, target, sample_weight)
        labels = None
        if self._kind == "classifier":
            if classes is None:
                classes = data.distinct(target, chunk_rows)
                if classes.dtype.kind == "f":
                    classes = classes[np.isfinite(classes)]  # such rows fail later, naming their row
            _, labels = self._encode(np.asarray(classes), fitting=True, classes=classes)
        elif classes is not None:
            raise ValueError("classes is only meaningful for WideClassifier")
        width = int(self.spec.n_features)
        rng = _generator(self.random_state)
        trainer = self._warm_trainer(hp, width, labels)
        features = list(self.spec.columns)

        def featurize(chunk: _stream.Chunk) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
            # runs in the reader thread: reads self.spec only
            columns = chunk.columns
            Xc, _ = self._features({c: columns[c] for c in features}, fitting=True)
            yy, _ = self._encode(self._target(columns[target], Xc.shape[0]), fitting=True, classes=labels)
            sw = np.empty(0, dtype=np.float64)
            if sample_weight is not None:
                sw = self._sample_weight(columns[sample_weight], Xc.shape[0], whole=False)
            return Xc, yy, sw

        def prepare(chunk: _stream.Chunk) -> _stream.Rows:
            # the reader thread alone inserts into the slot map; the records grow in this thread
            Xc, yy, sw = featurize(chunk)
            batch = trainer.map_only(Xc)
            return _stream.Rows(batch.indptr, batch.slots, batch.data, yy, sw)

        losses: list[float] = []
        callback = getattr(self, "_epoch_callback", None)
        units = len(data.units)
        for epoch in range(hp["epochs"]):
            order = rng.permutation(units) if self.shuffle else np.arange(units)
            buffer = _stream.ShuffleBuffer(buffer_rows, rng) if self.shuffle else None
            sums = [0.0, 0.0]  # weighted loss, weight

            def train(rows: _stream.Rows) -> None:
                trainer.fit_capacity()  # for the columns the reader has mapped so far
                batch = Batch(rows.indptr, rows.slots, rows.data, rows.n_rows)
                visit = np.arange(rows.n_rows, dtype=np.int32 if rows.n_rows < 2**31 else np.int64)
                try:
                    trainer.epoch(batch, rows.y, rows.sw, visit)
                except NonFiniteError:
                    raise self._diverged(hp, f"epoch {epoch + 1} of fit") from None
                loss_sum, weight_sum = trainer.last_sums()
                sums[0] += loss_sum
                sums[1] += weight_sum
                if callback is not None:
                    callback(epoch, rows.n_rows, sums[0] / sums[1] if sums[1] > 0 else 0.0)

            # closing: on an error the reader thread is stopped and joined before we go on
            with contextlib.closing(_stream.training_rows(data, order, chunk_rows, prepare, buffer)) as blocks:
                for rows in blocks:
                    train(rows)
                    del rows
            if trainer.steps == 0:
                raise ValueError(f"{_stream_name(source)}: no rows")
            if sums[1] <= 0:
                raise ValueError("sample_weight sums to zero: nothing to learn from")
            losses.append(sums[0] / sums[1])
            if not math.isfinite(losses[-1]):
                raise self._diverged(hp, f"epoch {epoch + 1} of fit")
            if self.verbose:
                print(f"{name}: epoch {epoch + 1}, mean training loss {losses[-1]:.6g}", file=sys.stderr)

        def look_up(chunk: _stream.Chunk) -> tuple[Batch, np.ndarray, np.ndarray]:
            Xc, yy, sw = featurize(chunk)
            batch = trainer.lookup(Xc)  # read-only: safe beside the polish in the main thread
            if batch.slots.size and batch.slots.min() < 0:
                raise ValueError("the data set changed during fit (columns unseen in the epochs)")
            return batch, yy, sw

        passes_begun = [0]

        def polish_chunks():
            passes_begun[0] += 1
            with contextlib.closing(_stream.read_prepared(data, range(units), chunk_rows, look_up)) as chunks:
                for chunk in chunks:
                    n_rows = chunk.n_rows
                    batch, yy, sw = chunk.columns
                    del chunk  # keep only the batch alive while it is accumulated
                    yield batch, yy, sw
                    if callback is not None:  # the chunk is accumulated once we are back here
                        callback(len(losses) + passes_begun[0] - 1, n_rows, losses[-1])

        try:
            passes = trainer.polish_stream(polish_chunks, hp["polish"])
        except NonFiniteError:
            raise self._diverged(hp, "the polish of fit") from None
        return self._publish_fit(trainer, hp, width, labels, rng, losses, passes, None, None)

    def set_epoch_callback(self, callback: Any) -> None:
        """Report training progress to ``callback(epoch, rows, loss)`` (None: stop reporting).

        Called after each epoch of an in-memory ``fit`` and after each trained chunk of a
        streamed one: ``rows`` rows of epoch ``epoch`` (from 0) were just trained, ``loss`` is
        the epoch's mean progressive training loss so far. A streamed fit also reports the rows
        of its polish passes, numbered on from ``epochs`` (they read the data again), with the
        last epoch's loss. Not a parameter: cloning drops it.
        """
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
        self._epoch_callback = callback

    @property
    def state_nbytes_(self) -> int:
        """Bytes of training state held (records, spare capacity included, and the slot map)."""
        if not hasattr(self, "_trainer"):
            raise _not_fitted(type(self).__name__)
        return self._trainer.nbytes

    @_serialized
    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None):
        """One pass over the given rows, continuing from the current state. Returns self.

        On any error the estimator keeps its last good state (the state touched by this call is
        restored from a snapshot of O(batch) size).
        """
        hp = self._resolved()
        first = not hasattr(self, "_trainer")
        Xc, width = self._features(X, fitting=first)
        if not first and width != self._model_width:
            raise ValueError(f"X has width {width} but the estimator was fitted with width {self._model_width}")
        yy, labels = self._encode(self._target(y, Xc.shape[0]), fitting=first, classes=classes)
        sw = self._sample_weight(sample_weight, Xc.shape[0])
        if first:
            trainer, rng = self._new_trainer(hp, width), _generator(self.random_state)
        else:
            trainer, rng = self._trainer, self._rng
            self._check_same_hyperparameters(hp)
        if Xc.shape[0] == 0:
            return self
        batch = trainer.map(Xc)
        snap = trainer.snapshot(batch)
        rng_state = rng.bit_generator.state
        order = visit_order(rng, Xc.shape[0], self.shuffle)
        try:
            loss = trainer.epoch(batch, yy, sw, order)
            if not math.isfinite(loss):
                raise NonFiniteError(-1)
        except BaseException as exc:  # any failure, even an interrupt: back to the last good state
            trainer.restore(snap)
            rng.bit_generator.state = rng_state
            if isinstance(exc, NonFiniteError):
                raise self._diverged(hp, "partial_fit") from None
            raise
        if first:
            self._publish_labels(labels)
            self._set_fit_hp(hp)
            self._trainer, self._rng = trainer, rng
            trainer.rng = rng
            self.n_iter_ = 0
            self.loss_curve_ = []
            self.polish_passes_ = 0
            self.objective_ = None
            self.layout_ = trainer.layout
            self._set_shape_attributes(width)
        trainer.published = None
        self.n_iter_ += 1
        self.t_ = trainer.steps
        self.loss_curve_.append(loss)
        return self

    def _set_fit_hp(self, hp: dict[str, Any]) -> None:
        self._fit_hp = hp
        self.learning_rate_ = hp["alpha"] if hp["optimizer"] == "ftrl" else hp["learning_rate"]

    def _set_shape_attributes(self, width: int) -> None:
        self._model_width = width
        if self.spec is None:
            self.n_features_in_ = width
        else:
            self.n_features_in_ = len(self.spec.columns)
            self.feature_names_in_ = np.asarray(self.spec.columns, dtype=object)

    def _publish_labels(self, labels: Any) -> None:
        if labels is not None:
            self.classes_ = labels

    def _check_same_hyperparameters(self, hp: dict[str, Any]) -> None:
        before = getattr(self, "_fit_hp", hp)
        changed = [k for k in ("loss", "optimizer", "schedule") if before[k] != hp[k]]
        if self._layout(hp, self._model_width) != self._trainer.layout:
            changed.append("layout")
        if changed:
            raise ValueError(
                f"{', '.join(changed)} changed since the estimator was fitted; call fit to start over"
            )
        if self._settle(self._trainer, before, hp):
            self._trainer.published = None
            self._set_fit_hp(hp)

    def _settle(self, trainer: Trainer, before: dict[str, Any], hp: dict[str, Any]) -> bool:
        """Move ``trainer`` to the rates and penalties of ``hp``; True if any changed."""
        rates = ("alpha", "beta") if hp["optimizer"] == "ftrl" else ("learning_rate", "power_t", "t0", "implicit")
        if all(before[k] == hp[k] for k in ("l1", "l2", *rates)):
            return False
        # Continuing with new rates or penalties is allowed. The idle coordinates still owe the
        # penalty of the steps taken under the old values: settle it first (O(touched), once),
        # so that the new values apply from now on only.
        weights, intercept = trainer.slot_weights(), trainer.intercept()
        trainer.hp[:] = self._new_trainer(hp).hp
        trainer.set_weights(weights, intercept)
        return True

    def _warm_trainer(self, hp: dict[str, Any], width: int, labels: Any) -> Trainer:
        """The trainer ``fit`` starts from: fresh, or with ``warm_start`` a copy of the fitted one.

        A copy, so that a failed fit leaves the fitted estimator as it was; it costs O(slots),
        less than one epoch.
        """
        if not (self.warm_start and hasattr(self, "_trainer")):
            return self._new_trainer(hp, width)
        name = type(self).__name__
        if width != self._model_width:
            raise ValueError(
                f"{name}: warm_start needs the width the estimator was fitted with ({self._model_width}), "
                f"X has width {width}; set warm_start=False to start over"
            )
        before = self._fit_hp
        changed = [k for k in ("loss", "optimizer", "schedule") if before[k] != hp[k]]
        if self._layout(hp, width) != self._trainer.layout:
            changed.append("layout")
        if changed:
            raise ValueError(
                f"{name}: {', '.join(changed)} changed since the estimator was fitted, so warm_start "
                "cannot continue from its state; set warm_start=False to start over"
            )
        old = getattr(self, "classes_", None)
        if labels is not None and old is not None and not np.array_equal(np.asarray(labels), np.asarray(old)):
            raise ValueError(
                f"{name}: warm_start needs the classes the estimator was fitted with {list(old)}, "
                f"y has {list(labels)}; set warm_start=False to start over"
            )
        trainer = self._trainer
        keep = trainer.published, trainer.rng
        trainer.published = trainer.rng = None  # the copy needs neither
        try:
            warm = copy.deepcopy(trainer)
        finally:
            trainer.published, trainer.rng = keep
        self._settle(warm, before, hp)
        return warm

    def _checked_loss(self, trainer: Trainer, batch: Batch, y, sw, hp, epoch: int) -> float:
        try:
            value = trainer.mean_loss(batch, y, sw)
        except NonFiniteError:
            raise self._diverged(hp, f"epoch {epoch + 1} of fit") from None
        if not math.isfinite(value):
            raise self._diverged(hp, f"epoch {epoch + 1} of fit")
        return value

    def _diverged(self, hp: dict[str, Any], where: str) -> FloatingPointError:
        if hp["optimizer"] == "ftrl":
            rate = f"alpha={hp['alpha']:g}"
            hint = f"alpha={hp['alpha'] / 10:g}"
        else:
            rate = f"learning_rate={hp['learning_rate']:g} (schedule {hp['schedule']!r})"
            hint = f"learning_rate={hp['learning_rate'] / 10:g}"
        return FloatingPointError(
            f"{type(self).__name__}: training diverged in {where}: the weights became NaN or infinite "
            f"with {rate}. Use a smaller rate, e.g. {hint}, or rescale the features / target."
        )

    # -- fitted model ----------------------------------------------------------------------------
    @property
    def model_(self) -> SparseModel:
        """The fitted :class:`SparseModel` (nonzero weights as float32), built on first access."""
        if not hasattr(self, "_trainer"):
            raise _not_fitted(type(self).__name__)
        # cached on the trainer (not in the estimator's __dict__): predicting never mutates the
        # estimator, and partial_fit only invalidates, so streaming calls stay O(batch)
        model = self._trainer.published
        if model is None:
            with self._state_lock():  # not while a partial_fit moves the state (or its arrays)
                trainer = self._trainer
                if trainer.published is None:
                    labels = getattr(self, "classes_", None)
                    trainer.published = self._make_model(
                        trainer, self._fit_hp, self._model_width, labels, self.n_iter_, self.polish_passes_
                    )
                model = trainer.published
        return model

    def _make_model(self, trainer: Trainer, hp: dict[str, Any], width: int, labels: Any, epochs_run: int,
                    passes: int) -> SparseModel:
        columns, values = trainer.coefficients()
        metadata = {
            "estimator": type(self).__name__,
            # the layout shapes the training memory, not the model: same file either way
            "params": {k: v for k, v in hp.items() if k != "layout"},
            "random_state": self.random_state if isinstance(self.random_state, int) else None,
            "epochs_run": epochs_run,
            "examples_seen": trainer.steps,
            "polish_passes": passes,
        }
        return SparseModel(
            columns, values, trainer.intercept(), width, hp["loss"],
            spec=self.spec, classes=self._model_classes(labels), metadata=metadata,
        )

    @property
    def coef_(self) -> sp.csr_matrix:
        """Weights as a 1 x n_features sparse row (float32, nonzeros only)."""
        return self.model_.coef_

    @property
    def intercept_(self) -> float:
        return self.model_.intercept

    def _model_classes(self, labels: Any):
        return None

    def _scoring_input(self, X: Any) -> Any:
        """Validate X for prediction; raw columns go to the model (which holds the spec)."""
        if not hasattr(self, "_trainer"):
            raise _not_fitted(type(self).__name__)
        if self.spec is not None:
            return X
        return self._features(X, fitting=False)[0]



class WideClassifier(_WideBase):
    """Binary linear classifier on sparse, wide features (logistic loss by default).

    Parameters
    ----------
    spec : FeatureSpec, optional
        With a spec, ``X`` is raw columns (dict / DataFrame / pyarrow Table) featurized by
        ``spec.transform``; without, ``X`` is a sparse matrix or a 2-D array of features.
    loss : {"logistic", "hinge"}
    optimizer : {"sgd", "ftrl"}
        Lazy proximal SGD (exact catch-up of the penalty) or FTRL-Proximal.
    l1, l2 : float
        Penalty strengths of the mean objective (see the module docstring).
    learning_rate : float, optional
        SGD's eta0; None picks the tuned default (``default_learning_rate``): adagrad
        0.3 x epochs up to 1.5 (short steps generalize best in one pass, long ones reach the
        optimum in several), newton 1.0, constant 0.1, invscaling 0.5. ``learning_rate_`` is
        the one used.
    schedule : {"adagrad", "newton", "constant", "invscaling"}
        SGD rates: per-coordinate AdaGrad eta0 / (0.1 + sqrt(G_j)); per-coordinate Newton
        eta0 / (2 + H_j) with H_j the column's summed loss curvature (the best single pass
        measured on 1M-2M geo rows, a tie with AdaGrad on 200k:
        ``WideClassifier(schedule="newton", epochs=1, polish=0)``); eta0; or
        eta0 * (1 + t / t0) ** -power_t with t the examples seen.
    implicit : bool
        SGD's loss step takes the derivative at the margin it lands on (the implicit, or
        importance-aware, update): a row of several fresh columns cannot overshoot its label,
        and a too-large rate slows training instead of diverging. False: the plain gradient step.
    power_t, t0 : float
        Inverse scaling's exponent and time constant (examples).
    alpha, beta : float
        FTRL-Proximal's per-coordinate rate alpha / (beta + sqrt(n_j)); alpha None picks
        ``default_alpha(epochs)``: 0.4 x epochs up to 2.0 (from 5 epochs on).
    epochs : int
        Passes over the data in ``fit``.
    polish : int
        Batch polish passes at the end of ``fit`` (0: none): accelerated majorized
        proximal-gradient steps on the whole objective (FISTA with restarts), which zero the
        small weights the last stochastic steps left and close most of the remaining gap. Each
        costs about a quarter of an epoch.
    shuffle : bool
        Visit rows in a fresh random order each epoch (else in the given order).
    random_state : None, int or numpy Generator
        Seeds the row orders (and the validation split): same seed, same bytes.
    early_stopping : bool
        Hold out ``validation_fraction`` of the rows and stop when their loss has not improved by
        ``tol`` for ``n_iter_no_change`` epochs.
    verbose : int
        Print the mean training loss of each epoch to stderr.
    layout : {"auto", "sparse", "dense"}
        Training state: records for the touched columns only (a hash map gives them slots;
        memory grows with the columns seen, never with the width), or a record for every column
        (slot == column). Same weights either way; "auto" is dense up to 2^18 columns.
    warm_start : bool
        ``fit`` continues from the fitted weights, intercept and optimizer state (AdaGrad sums,
        FTRL's z and n) instead of zero, under the current parameters: e.g. along an l1 grid,
        strongest first. Loss, optimizer, schedule, layout, width and classes must not change.

    Attributes
    ----------
    model_ : SparseModel
    classes_ : ndarray of shape (2,)
    coef_ : scipy.sparse.csr_matrix of shape (1, n_features)
    intercept_ : float
    n_features_in_ : int
    n_iter_ : int (epochs run by ``fit``, plus one per ``partial_fit``)
    t_ : int (examples processed)
    loss_curve_ : list of float (mean progressive training loss per pass)
    polish_passes_ : int
    learning_rate_ : float (SGD's eta0 in use, the default resolved; FTRL's alpha)
    objective_ : float or None (the objective F(w, b) on the training rows after the polish)
    layout_ : str ("sparse" or "dense", the layout chosen)
    state_nbytes_ : int (bytes of training state held)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]] * 50))
    >>> y = np.array([1, 0] * 50)
    >>> clf = WideClassifier(l1=1e-4, random_state=0).fit(X, y)
    >>> clf.predict(X[:2]).tolist(), clf.model_.nnz
    ([1, 0], 2)
    """

    _kind = "classifier"
    _losses = CLASSIFICATION_LOSSES

    def __init__(
        self,
        spec: Any = None,
        *,
        loss: str = "logistic",
        optimizer: str = "sgd",
        l1: float = 1e-6,
        l2: float = 0.0,
        learning_rate: float | None = None,
        schedule: str = "adagrad",
        implicit: bool = True,
        power_t: float = 0.5,
        t0: float = 1e4,
        alpha: float | None = None,
        beta: float = 1.0,
        epochs: int = 5,
        polish: int = 6,
        shuffle: bool = True,
        random_state: Any = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 3,
        tol: float = 1e-4,
        verbose: int = 0,
        layout: str = "auto",
        warm_start: bool = False,
    ) -> None:
        self.spec = spec
        self.loss = loss
        self.optimizer = optimizer
        self.l1 = l1
        self.l2 = l2
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.implicit = implicit
        self.power_t = power_t
        self.t0 = t0
        self.alpha = alpha
        self.beta = beta
        self.epochs = epochs
        self.polish = polish
        self.shuffle = shuffle
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.verbose = verbose
        self.layout = layout
        self.warm_start = warm_start

    def _encode(self, y: np.ndarray, fitting: bool, classes: Any = None) -> np.ndarray:
        """Labels -> {0.0, 1.0} by position in ``classes_`` (set when fitting)."""
        if y.dtype.kind == "f" and y.size and not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity")
        if y.dtype.kind == "O":
            kinds = {type(v) for v in y.tolist()}
            if len(kinds) > 1:
                raise ValueError(f"Unknown label type: mixed types in y ({sorted(k.__name__ for k in kinds)})")
        if fitting:
            if classes is not None:
                found = np.unique(np.asarray(classes))
            else:
                found = np.unique(y)
            if y.dtype.kind == "f" and found.size > 2 and not np.all(found == np.round(found)):
                raise ValueError(
                    "Unknown label type: continuous. WideClassifier needs two classes; "
                    "use WideRegressor for a real-valued target"
                )
            if found.size == 1:
                raise ValueError(
                    f"y has only one class ({found[0]!r}): a classifier needs exactly two classes "
                    "(partial_fit accepts classes=[negative, positive] for a batch holding one)"
                )
            if found.size != 2:
                raise ValueError(
                    f"Only binary classification is supported. y has {found.size} classes "
                    f"({found[:5].tolist()}...); WideClassifier needs exactly two"
                    if found.size > 2
                    else "y is empty: a classifier needs exactly two classes"
                )
        else:
            found = self.classes_
            if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), found):
                raise ValueError(f"classes={list(classes)} differ from the classes seen before {found.tolist()}")
        codes = np.clip(np.searchsorted(found, y), 0, 1)
        bad = found[codes] != y
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = y[i].item() if isinstance(y[i], np.generic) else y[i]
            raise ValueError(f"y[{i}] = {value!r} is not one of the classes {found.tolist()}")
        # 0/1 are exact in float32: half the memory of the label stream
        return codes.astype(np.float32), (found if fitting else None)

    def _model_classes(self, labels: Any):
        labels = [c.item() if isinstance(c, np.generic) else c for c in labels]
        return labels if all(isinstance(c, (str, int, float, bool)) for c in labels) else None

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores ``x . w + b`` (float64, shape (n_rows,)) from ``model_``."""
        return self.model_.decision_function(self._scoring_input(X))

    def predict(self, X: Any) -> np.ndarray:
        """Class labels: ``classes_[1]`` where the model's decision is > 0."""
        d = self.decision_function(X)
        return self.classes_[(d > 0).astype(np.intp)]

    @_AvailableIf(lambda self: self.loss == "logistic", "probabilities need loss='logistic'")
    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_`` (shape (n_rows, 2)) from ``model_``."""
        return self.model_.predict_proba(self._scoring_input(X))

    @_AvailableIf(lambda self: self.loss == "logistic", "probabilities need loss='logistic'")
    def predict_log_proba(self, X: Any) -> np.ndarray:
        d = self.decision_function(X)
        out = np.empty((d.shape[0], 2))
        out[:, 1] = -np.logaddexp(0.0, -d)
        out[:, 0] = -np.logaddexp(0.0, d)
        return out

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """(Weighted) accuracy of ``predict(X)``."""
        pred = self.predict(X)
        y, sw = self._scoring_target(y, sample_weight, pred.shape[0])
        hit = (pred == y).astype(np.float64)
        return float(hit.mean() if sw.size == 0 else np.average(hit, weights=sw))


class WideRegressor(_WideBase):
    """Linear regressor on sparse, wide features (squared loss by default; Poisson also).

    Same parameters and attributes as :class:`WideClassifier`, except ``loss`` in
    {"squared", "poisson"} and no classes. Squared loss is ``(y - f)^2 / 2``; standardize a
    target whose scale is far from 1 (the default rates assume weights of order 1).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_matrix(np.eye(4))
    >>> reg = WideRegressor(l1=0.0, epochs=50, random_state=0).fit(X, [1.0, -1.0, 0.5, 2.0])
    >>> np.round(reg.predict(X), 2).tolist()
    [1.0, -1.0, 0.5, 2.0]
    """

    _kind = "regressor"
    _losses = REGRESSION_LOSSES

    def __init__(
        self,
        spec: Any = None,
        *,
        loss: str = "squared",
        optimizer: str = "sgd",
        l1: float = 1e-6,
        l2: float = 0.0,
        learning_rate: float | None = None,
        schedule: str = "adagrad",
        implicit: bool = True,
        power_t: float = 0.5,
        t0: float = 1e4,
        alpha: float | None = None,
        beta: float = 1.0,
        epochs: int = 5,
        polish: int = 6,
        shuffle: bool = True,
        random_state: Any = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 3,
        tol: float = 1e-4,
        verbose: int = 0,
        layout: str = "auto",
        warm_start: bool = False,
    ) -> None:
        self.spec = spec
        self.loss = loss
        self.optimizer = optimizer
        self.l1 = l1
        self.l2 = l2
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.implicit = implicit
        self.power_t = power_t
        self.t0 = t0
        self.alpha = alpha
        self.beta = beta
        self.epochs = epochs
        self.polish = polish
        self.shuffle = shuffle
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.verbose = verbose
        self.layout = layout
        self.warm_start = warm_start

    def _encode(self, y: np.ndarray, fitting: bool, classes: Any = None) -> np.ndarray:
        if classes is not None:
            raise ValueError("classes is only meaningful for WideClassifier")
        try:
            yy = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"y must be real numbers for a regressor, got dtype {y.dtype}") from None
        if not np.isfinite(yy).all():
            raise ValueError(f"y contains NaN or infinity (row {int(np.flatnonzero(~np.isfinite(yy))[0])})")
        if self.loss == "poisson" and (yy < 0).any():
            raise ValueError(f"loss='poisson' needs y >= 0, got {yy.min()} (row {int(np.argmin(yy))})")
        return yy, None

    def predict(self, X: Any) -> np.ndarray:
        """Predicted mean: the decision (squared) or its exponential (Poisson), from ``model_``."""
        return self.model_.predict(self._scoring_input(X))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """(Weighted) coefficient of determination R^2 of ``predict(X)``."""
        pred = self.predict(X)
        y, w = self._scoring_target(y, sample_weight, pred.shape[0])
        y = y.astype(np.float64)
        w = np.ones_like(y) if w.size == 0 else w
        mean = np.average(y, weights=w)
        ss_res = float(w @ (y - pred) ** 2)
        ss_tot = float(w @ (y - mean) ** 2)
        if ss_tot == 0.0:
            return 1.0 if ss_res == 0.0 else 0.0
        return 1.0 - ss_res / ss_tot


def _count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _stream_name(source: Any) -> str:
    if isinstance(source, (list, tuple)):
        return str(source[0]) if len(source) == 1 else f"{source[0]} (+{len(source) - 1} more files)"
    return str(source)
