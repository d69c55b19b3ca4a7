"""What WideClassifier and WideRegressor share: fitting, streaming, continuing, the fitted model.

Both minimize the same objective, whatever the optimizer::

    F(w, b) = sum_i s_i loss(y_i, x_i . w + b) / sum_i s_i + l1 ||w||_1 + l2 / 2 ||w||_2^2

``fit`` resolves the parameters (:func:`widecross.train.resolve`), builds the optimizer they
name, runs ``epochs`` passes of it over the rows of a source (in memory, or streamed from disk:
:mod:`.sources`) through the one epoch loop, then the batch polish
(:class:`~widecross.train.Polish`; with ``optimizer="cd"`` the exact solver,
:class:`~widecross.train.exact.Exact`), and publishes a :class:`~widecross.model.SparseModel` of the
nonzero weights as float32; ``predict*`` go through it, so a saved and reloaded model predicts
exactly the same. ``partial_fit`` runs one pass over the given rows and never polishes; with
``polish=0``, ``fit`` equals the same sequence of ``partial_fit`` calls bit for bit.

Threads: ``fit`` and ``partial_fit`` on one estimator are serialized by a lock of its own (it is
neither pickled nor copied: each copy or clone gets a fresh one), so calls from several threads
run one after another and no row is lost; which thread goes first is up to the threads.
``predict*``, ``decision_function`` and ``score`` from many threads at once run in parallel
(the kernels release the GIL) and return the same bits as serial calls; during a
``partial_fit`` they see the model as it was before the call.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from .._scans import count_nonzero
from .._parallel import check_jobs
from ..model import MulticlassModel, SparseModel
from ..train import EpochRunner, FitParams, NonFiniteError, Trainer, resolve, visit_order
from ..train.params import is_auto
from ..train.sgd import PLAIN_SCHEDULES
from . import checkpoint
from .auto import PATH_ROWS, select_l1, summary
from .frames import fit_dask_frame, is_dask_frame
from .inputs import as_features, as_sample_weight, as_target, generator
from .protocol import ParamsMixin, not_fitted
from .sources import SIZE_ROWS, make_source


# partial_fit's default rates follow the rows' size when its first batch has at least this many
# rows, else keep the tuned ones: a few rows say little about the rest
SIZE_MIN_ROWS = 100


def _n_classes(labels: Any) -> int:
    return 2 if labels is None else len(labels)


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` under the estimator's lock (see "Threads" in the module docstring)."""

    @functools.wraps(method)
    def locked(self: WideEstimator, *args: Any, **kwargs: Any) -> Any:
        with self._state_lock():
            return method(self, *args, **kwargs)

    return locked


class WideEstimator(ParamsMixin):
    """Shared machinery; see WideClassifier / WideRegressor for the parameters."""

    _losses: tuple[str, ...] = ()
    spec: Any
    # fit's polish also reports the objective (one more pass over rows in memory); the fits that
    # l1="auto" scores on held-out rows (the path's, the rate candidates') skip it: nothing reads it
    _measures_objective = True
    # the epochs on the threads (Trainer.epochs_on_threads); l1="auto"'s path fits keep them on one
    _epochs_on_threads = True

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

    # -- parameters ------------------------------------------------------------------------------
    def _params(self, l1: float | None = None, entries: float | None = None, one_pass: bool = False,
                rate: float | None = None) -> FitParams:
        """Validated parameters with the defaults filled in; the attributes stay untouched.

        ``l1``: what ``l1="auto"`` stands for; ``entries``: the rows' mean active entries (the
        default rates follow it); ``one_pass``: ``partial_fit``'s rates; ``rate``: the default
        rate chosen with ``l1="auto"`` (see :func:`resolve`).
        Resolved again only when a parameter changed (``partial_fit`` asks on every call).
        """
        values = self.get_params()
        context = (l1, entries, one_pass, rate)
        cached = self.__dict__.get("_resolved_from")
        if cached is not None and cached[2] == context and cached[0].keys() == values.keys() and all(
                cached[0][k] is v for k, v in values.items()):
            return cached[1]
        params = resolve(values, type(self).__name__, self._losses, l1=l1, entries=entries, one_pass=one_pass,
                         rate=rate)
        self._resolved_from = (values, params, context)
        return params

    def _rate_given(self) -> bool:
        """Whether the user set the step (SGD's learning_rate, FTRL's alpha): then no default
        rate follows the rows."""
        return (self.alpha if self.optimizer == "ftrl" else self.learning_rate) is not None

    def _row_entries(self, X: sp.csr_matrix) -> float | None:
        """The rows' mean size that the default rates follow (None when the rates are given):
        active entries for the per-coordinate rates, the squared norm for the plain ones."""
        if self._rate_given() or X.shape[0] == 0:
            return None
        if self.optimizer != "ftrl" and self.schedule in PLAIN_SCHEDULES:
            return float(np.dot(X.data, X.data)) / X.shape[0]
        return float(count_nonzero(X.data, self._jobs())) / X.shape[0]

    def _jobs(self) -> int:
        """Threads that ``n_jobs`` asks for (featurizing and scoring use them too)."""
        return check_jobs(getattr(self, "n_jobs", 1), type(self).__name__)

    def _new_trainer(self, params: FitParams, width: int, labels: Any = None) -> Trainer:
        layout = params.layout_for(width, type(self).__name__)
        trainer = Trainer(params.make_optimizer(_n_classes(labels)), layout=layout,
                          width=width if layout == "dense" else None, n_jobs=params.n_jobs)
        trainer.epochs_on_threads = self._epochs_on_threads
        return trainer

    # -- training --------------------------------------------------------------------------------
    @_serialized
    def fit(self, X: Any, y: Any, sample_weight: Any = None, *, classes: Any = None, chunk_rows: int | None = None,
            buffer_rows: int | None = None) -> Any:
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

        ``X`` may also be a Dask DataFrame (``dask.dataframe.read_parquet(...)``; needs a spec and
        ``pip install widecross[dask]``): then ``y`` and ``sample_weight`` name its columns, and
        the fit runs on the current ``distributed.Client``'s workers (see ``docs/distributed.md``).

        Bad input raises a ``ValueError`` (or ``TypeError``) naming the column and row. Training
        that diverges (weights or loss NaN or infinite) raises ``FloatingPointError`` naming the
        rate and a smaller one to try: the input was valid, so it is no ``ValueError``.
        """
        if is_dask_frame(X):
            for key, value in (("chunk_rows", chunk_rows), ("buffer_rows", buffer_rows)):
                if value is not None:
                    raise TypeError(f"{key} applies to fitting on a data set on disk, not to a Dask DataFrame")
            return fit_dask_frame(self, X, y, sample_weight, classes)
        self._params()  # parameter errors before any data is read
        return self._fit_source(make_source(self, X, y, sample_weight, classes, chunk_rows, buffer_rows))

    def _path_fitter(self, X: Any, y: Any, sample_weight: Any = None) -> Callable[[], Any]:
        """``fit(X, y, sample_weight)`` for the points of a regularization path, faster.

        Returns a function that fits on the given rows with the estimator's current parameters:
        the first call as ``fit``, each later one with ``warm_start`` on the fitted trainer in
        place (no copy to roll back to) and on the rows as the first call mapped them (the
        input checked, encoded and mapped once). The same models, bit for bit, as calling
        ``fit`` each time, when only the l1 / l2, the rate, ``epochs`` and ``warm_start``
        change between the calls (models built when read; the shards keep the rows' plan). A
        call that fails leaves the estimator unfitted.

        >>> fit = clf._path_fitter(X, y)  # doctest: +SKIP
        >>> for l1 in (1e-4, 1e-5): _ = clf.set_params(l1=l1, warm_start=True); fit()  # doctest: +SKIP
        """
        self._params()
        source = make_source(self, X, y, sample_weight, None, None, None)
        source.keep = True  # its rows serve every call
        calls = 0

        def fit() -> Any:
            nonlocal calls
            with self._state_lock():
                in_place = calls > 0 and bool(self.warm_start) and hasattr(self, "_trainer")
                calls += 1
                try:
                    return self._fit_source(source, in_place, path_call=True)
                except BaseException:
                    if in_place:  # the trainer was changed in place: no state to fall back to
                        self.__dict__.pop("_trainer", None)
                    raise

        return fit

    def _fit_source(self, source: Any, in_place: bool = False, path_call: bool = False) -> Any:
        """``fit`` on a source; ``in_place``: a warm start continues the fitted trainer itself;
        ``path_call``: a ``_path_fitter`` call (model built when read, the shards' buffers kept)."""
        sample = source.sample(PATH_ROWS if is_auto(self.l1) else SIZE_ROWS)
        entries = self._row_entries(sample.X)
        selection = None
        if is_auto(self.l1):
            rate = self._params(entries=entries).make_optimizer().rate
            selection = select_l1(self, sample.X, sample.y, sample.sw, rate, source.n_rows, bool(self.verbose))
            if self.verbose:
                print(summary(selection.path, selection.l1), file=sys.stderr)
        del sample
        params = (self._params(entries=entries) if selection is None
                  else self._params(selection.l1, entries, rate=selection.rate))
        rng = generator(self.random_state)
        trainer = self._warm_trainer(params, source.width, source.labels, in_place)
        runner = EpochRunner(trainer, type(self).__name__, getattr(self, "_epoch_callback", None), bool(self.verbose),
                             source.name)
        source.attach(trainer, rng, params, runner)
        losses = runner.run(params.epochs, source.epoch, source.stop)
        if not path_call:  # a path's next point passes the same rows again: their plans stay
            trainer.release()  # the epochs' thread buffers: not needed by the polish
        solver = params.make_solver(source.measures_objective and self._measures_objective, source.n_rows)
        try:
            solution = trainer.solve(solver, lambda: source.solver_blocks(len(losses), losses[-1]), path_call)
        except NonFiniteError:  # weights beyond float32 read at the start of the polish
            raise runner.diverged("the polish of fit") from None
        if solution.objective is not None and not math.isfinite(solution.objective):
            raise runner.diverged("the polish of fit")
        model = None
        try:
            if not path_call:
                model = self._make_model(trainer, params, source.width, source.labels, len(losses), solution.passes)
            else:  # what building it checks first
                trainer.slot_weights()
        except NonFiniteError:
            raise runner.diverged("fit") from None
        # publish only now: a failed fit leaves a previously fitted estimator as it was
        self._publish(trainer, rng, params, source.width, source.labels)
        self.n_iter_ = len(losses)
        self.loss_curve_ = losses
        self.polish_passes_ = solution.passes
        self.objective_ = solution.objective
        if source.validation_losses:
            self.validation_loss_curve_ = source.validation_losses
        elif hasattr(self, "validation_loss_curve_"):
            del self.validation_loss_curve_
        trainer.published = model
        self.l1_, self._stream_entries = params.l1, entries
        if selection is not None:
            self.l1_path_ = selection.path
        elif hasattr(self, "l1_path_"):
            del self.l1_path_
        return self

    @_serialized
    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
        """One pass over the given rows, continuing from the current state. Returns self.

        On any error the estimator keeps its last good state (the state touched by this call is
        restored from a snapshot of O(batch) size).

        The default rate is the one-pass default scaled by the first batch's rows (as ``fit``'s),
        also after an ``l1="auto"`` fit that chose another for its epochs: there are no held-out
        rows here to choose on, the step that suits several epochs is not the one for one pass
        (on 1M ad-click rows 5 epochs do best at half the default, one pass at 4x it), and so one call
        stays ``fit(epochs=1, polish=0)``'s pass bit for bit.
        """
        self._params()  # parameter errors before any data is read
        first = not hasattr(self, "_trainer")
        owner = type(self).__name__
        X, width = as_features(X, self.spec, owner, fitting=first, expected=None if first else self._model_width,
                               n_jobs=self._jobs())
        if first:  # the default rates follow the first batch's rows from then on (if it has enough)
            self._stream_entries = self._row_entries(X) if X.shape[0] >= SIZE_MIN_ROWS else None
        params = self._params(self.__dict__.get("l1_") if is_auto(self.l1) else None,
                              self.__dict__.get("_stream_entries"), one_pass=True)
        if not first and width != self._model_width:
            raise ValueError(f"X has width {width} but the estimator was fitted with width {self._model_width}")
        y, labels = self._encode(as_target(y, X.shape[0], owner), fitting=first, classes=classes)
        sw = self._weigh_classes(y, as_sample_weight(sample_weight, X.shape[0]), labels if first else self._labels(),
                                 whole=False)
        if first:
            trainer, rng = self._new_trainer(params, width, labels), generator(self.random_state)
        else:
            trainer, rng = self._trainer, self._rng
            self._continue_with(params)
        if X.shape[0] == 0:
            return self
        rows = trainer.rows(X, y, sw)
        snap, rng_state = trainer.snapshot(rows), rng.bit_generator.state
        try:
            order = visit_order(rng, X.shape[0], True) if params.shuffle else None
            loss = EpochRunner(trainer, owner).run_epoch([(rows, order)], 0, "partial_fit")
        except BaseException:  # any failure, even an interrupt: back to the last good state
            trainer.restore(snap)
            rng.bit_generator.state = rng_state
            raise
        if first:
            self._publish(trainer, rng, params, width, labels)
            self.n_iter_, self.loss_curve_, self.polish_passes_, self.objective_ = 0, [], 0, None
        trainer.published = None
        self.l1_ = params.l1
        self.n_iter_ += 1
        self.t_ = trainer.steps
        self.loss_curve_.append(loss)
        return self

    def set_epoch_callback(self, callback: Callable[[int, int, float], None] | None) -> None:
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

    # -- checkpoints -----------------------------------------------------------------------------
    @_serialized  # not while a partial_fit in another thread moves the state
    def save_checkpoint(self, path: Any) -> Any:
        """Write the whole training state to ``path`` (atomically), to resume in any process.

        Holds what the model file leaves out: the optimizer's records of the touched columns
        (AdaGrad / curvature sums, FTRL's z and n, clocks), its step counts, the random generator,
        the parameters and fitted attributes. ``load_checkpoint`` and training on give the same
        model, bit for bit, as never stopping. Returns the path.

        >>> clf.save_checkpoint("run.wck"); clf = WideClassifier.load_checkpoint("run.wck")  # doctest: +SKIP
        """
        return checkpoint.save(self, path)

    @classmethod
    def load_checkpoint(cls, path: Any) -> Any:
        """The estimator ``save_checkpoint`` wrote (``ModelFormatError`` for a bad file)."""
        return checkpoint.load(cls, path)

    # -- state -----------------------------------------------------------------------------------
    def _publish(self, trainer: Trainer, rng: np.random.Generator, params: FitParams, width: int, labels: Any) -> None:
        if labels is not None:
            self.classes_ = labels
        self._trainer, self._rng = trainer, rng
        self._set_fit_params(params)
        self.t_ = trainer.steps
        self.layout_ = trainer.layout
        self._model_width = width
        if self.spec is None:
            self.n_features_in_ = width
        else:
            self.n_features_in_ = len(self.spec.columns)
            self.feature_names_in_ = np.asarray(self.spec.columns, dtype=object)

    def _set_fit_params(self, params: FitParams) -> None:
        self._fit_params = params
        self.learning_rate_ = self._trainer.optimizer.rate  # SGD's eta0, FTRL's alpha

    def _changed(self, params: FitParams, width: int) -> list[str]:
        """The parameters that a fitted state cannot continue under."""
        before = self._fit_params
        changed = [k for k in ("loss", "optimizer", "schedule", "multi_class") if getattr(before, k) != getattr(params, k)]
        if params.layout_for(width, type(self).__name__) != self._trainer.layout:
            changed.append("layout")
        return changed

    def _continue_with(self, params: FitParams) -> None:
        """``partial_fit`` after a fit: same model kind, possibly new rates or penalties."""
        self._trainer.n_jobs = params.n_jobs
        if params == self._fit_params:
            return
        changed = self._changed(params, self._model_width)
        if changed:
            raise ValueError(f"{', '.join(changed)} changed since the estimator was fitted; call fit to start over")
        if self._trainer.reconfigure(params.make_optimizer(_n_classes(self._labels()))):
            self._trainer.published = None
            self._set_fit_params(params)

    def _warm_trainer(self, params: FitParams, width: int, labels: Any, in_place: bool = False) -> Trainer:
        """The trainer ``fit`` starts from: fresh, or with ``warm_start`` a copy of the fitted one.

        A copy, so that a failed fit leaves the fitted estimator as it was; it costs O(slots),
        less than one epoch. ``in_place``: the fitted trainer itself (a path's points).
        """
        if not (params.warm_start and hasattr(self, "_trainer")):
            return self._new_trainer(params, width, labels)
        name = type(self).__name__
        if width != self._model_width:
            raise ValueError(
                f"{name}: warm_start needs the width the estimator was fitted with ({self._model_width}), "
                f"X has width {width}; set warm_start=False to start over"
            )
        changed = self._changed(params, width)
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
        if in_place:
            warm, warm.published = self._trainer, None
        else:
            warm = self._trainer.copy()
        warm.n_jobs, warm.epochs_on_threads = params.n_jobs, self._epochs_on_threads
        warm.reconfigure(params.make_optimizer(_n_classes(old)))
        return warm

    @property
    def state_nbytes_(self) -> int:
        """Bytes of training state held (records, spare capacity included, and the slot map)."""
        if not hasattr(self, "_trainer"):
            raise not_fitted(type(self).__name__)
        return self._trainer.nbytes

    # -- fitted model ----------------------------------------------------------------------------
    @property
    def model_(self) -> SparseModel:
        """The fitted :class:`SparseModel` (nonzero weights as float32), built on first access."""
        if not hasattr(self, "_trainer"):
            raise not_fitted(type(self).__name__)
        # cached on the trainer (not in the estimator's __dict__): predicting never mutates the
        # estimator, and partial_fit only invalidates, so streaming calls stay O(batch)
        model = self._trainer.published
        if model is None:
            with self._state_lock():  # not while a partial_fit moves the state (or its arrays)
                trainer = self._trainer
                if trainer.published is None:
                    labels = getattr(self, "classes_", None)
                    trainer.published = self._make_model(
                        trainer, self._fit_params, self._model_width, labels, self.n_iter_, self.polish_passes_
                    )
                model = trainer.published
        return model

    def _make_model(self, trainer: Trainer, params: FitParams, width: int, labels: Any, epochs_run: int,
                    passes: int, coefficients: tuple[np.ndarray, np.ndarray] | None = None,
                    examples: int | None = None) -> SparseModel:
        """The model of ``trainer``'s weights, or of ``coefficients`` (sorted columns, values) when given."""
        metadata = {
            "estimator": type(self).__name__,
            "params": params.recorded(),
            "random_state": self.random_state if isinstance(self.random_state, int) else None,
            "epochs_run": epochs_run,
            "examples_seen": trainer.steps if examples is None else examples,
            "polish_passes": passes,
        }
        columns, values = trainer.coefficients() if coefficients is None else coefficients
        if trainer.columns > 1:
            metadata["multi_class"] = params.multi_class
            return MulticlassModel(columns, values, trainer.intercept(), width, trainer.optimizer.loss.name,
                                   spec=self.spec, classes=self._model_classes(labels), metadata=metadata)
        return SparseModel(columns, values, trainer.intercept(), width, params.loss, spec=self.spec,
                           classes=self._model_classes(labels), metadata=metadata)

    @property
    def coef_(self) -> sp.csr_matrix:
        """Weights as a 1 x n_features sparse row (float32, nonzeros only)."""
        return self.model_.coef_

    @property
    def intercept_(self) -> Any:
        """The intercept (float), or the K intercepts of a multiclass model (array of shape (K,))."""
        return self.model_.intercept

    def _encode(self, y: np.ndarray, fitting: bool, classes: Any = None) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def _model_classes(self, labels: Any) -> Any:
        return None

    def _labels(self) -> Any:
        return getattr(self, "classes_", None)

    def _weigh_classes(self, codes: np.ndarray, sw: np.ndarray, labels: Any, whole: bool) -> np.ndarray:
        """Sample weights times the weights of the rows' classes (classifier only)."""
        return sw

    def _scoring_input(self, X: Any) -> Any:
        """Validate X for prediction; raw columns go to the model (which holds the spec)."""
        if not hasattr(self, "_trainer"):
            raise not_fitted(type(self).__name__)
        if self.spec is not None:
            return X
        return as_features(X, None, type(self).__name__, fitting=False, expected=self.n_features_in_)[0]
