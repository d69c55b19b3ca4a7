"""WideClassifier: a linear classifier on sparse, wide features, for two classes or more."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..losses import CLASSIFICATION_LOSSES, LOSSES
from .._scans import class_codes
from .base import WideEstimator
from .frames import is_dask_frame, score_frame
from .class_weights import class_weights
from .inputs import scoring_target
from .protocol import CLASSIFIER_PARAMETERS, AvailableIf, constructor


def _probabilistic(est: Any) -> bool:
    loss = LOSSES.get(est.loss) if isinstance(est.loss, str) else None
    return loss is not None and loss.link == "sigmoid"


class WideClassifier(WideEstimator):
    """Linear classifier on sparse, wide features (logistic loss by default), for K >= 2 classes.

    Two classes train one weight column. More train K columns in one state, every row read once
    for all of them: one-vs-rest by default (column k is the binary model of class k against the
    rest), or the softmax (multinomial) loss with ``multi_class="multinomial"``.

    Parameters
    ----------
    spec : FeatureSpec, optional
        With a spec, ``X`` is raw columns (dict / DataFrame / pyarrow Table) featurized by
        ``spec.transform``; without, ``X`` is a sparse matrix or a 2-D array of features.
    loss : {"logistic", "hinge"}
    optimizer : {"sgd", "ftrl", "cd"}
        Lazy proximal SGD (exact catch-up of the penalty), FTRL-Proximal, or the exact solver:
        ``"cd"`` runs ``epochs`` SGD passes (None: 1), then, in place of the polish, proximal
        Newton steps with coordinate descent on working sets of columns until the largest KKT
        violation is ``tol`` times the penalty's gradient (:mod:`widecross.train.exact`): the
        optimum of the objective, for the logistic and squared losses. It needs l1 > 0 or
        l2 > 0 and holds all the rows at once (also those of a data set on disk);
        ``partial_fit`` runs SGD passes.
    l1 : "auto" or float
        L1 strength of the mean objective (see the module docstring). ``"auto"`` (default):
        chosen on held-out rows along a warm-started path from the smallest l1 that zeroes every
        weight downwards (``validation_fraction`` of the rows, or ``cv`` folds, drawn from
        ``random_state``), the lowest held-out loss refit on all the rows (see
        :mod:`widecross.estimators.auto`); ``l1_`` and ``l1_path_`` record the choice.
        ``partial_fit`` keeps the l1 of a previous ``fit``, else takes 1e-7.
    l2 : float
        L2 strength of the mean objective.
    learning_rate : float, optional
        SGD's eta0; None picks the tuned default (``default_learning_rate``): adagrad
        0.3 x epochs up to 1.5 (short steps generalize best in one pass, long ones reach the
        optimum in several), newton 1.0, constant 0.1, invscaling 0.5, times
        5 / (mean active entries per row) rounded to a power of 2 (the squared norm for
        constant and invscaling; ``row_scale``): a step that does not depend on the rows' size.
        With ``l1="auto"`` and no rate given, ``fit`` chooses the rate too, on the same held-out
        rows: the default times 2**k (k from -2 to 2) at the chosen l1
        (:mod:`widecross.estimators.rates`); ``partial_fit`` takes the one-pass default.
        ``learning_rate_`` is the one used.
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
    epochs : int or None
        Passes over the data in ``fit`` (None: 5; 1 with ``optimizer="cd"``). The default rates follow it; with None,
        each ``partial_fit`` call takes one pass's rates.
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
    tol : float or None
        Early stopping's least improvement (None: 1e-4); with ``optimizer="cd"``, the exact
        solver's stopping rule, its largest KKT violation relative to the penalty's gradient
        (None: 1e-3).
    verbose : int
        Print the mean training loss of each epoch to stderr.
    layout : {"auto", "sparse", "dense"}
        Training state: records for the touched columns only (a hash map gives them slots;
        memory grows with the columns seen, never with the width), or a record for every column
        (slot == column). Same weights either way; "auto" is dense up to 2^18 columns.
    multi_class : {"ovr", "multinomial"}
        With more than two classes: one-vs-rest columns (probabilities: the K sigmoids,
        normalized to sum to 1, as scikit-learn's one-vs-rest) or one softmax model. The
        end-of-fit polish runs on each one-vs-rest column in turn, on the K softmax columns
        together. Two classes always train the one binary model.
    class_weight : None, dict or "balanced"
        Weights of the classes, multiplying the sample weights of their rows: a dict of
        label -> weight (others weigh 1), or "balanced" (``n / (K n_k)``; ``fit`` in memory only).
    warm_start : bool
        ``fit`` continues from the fitted weights, intercept and optimizer state (AdaGrad sums,
        FTRL's z and n) instead of zero, under the current parameters: e.g. along an l1 grid,
        strongest first. Loss, optimizer, schedule, layout, width and classes must not change.
    cv : int or None
        ``l1="auto"`` validates on ``cv`` folds (the path runs once per fold) instead of one
        held-out ``validation_fraction``.
    n_jobs : int
        Threads (-1: all cores). Featurizing, scoring, the polish and losses run over fixed row
        blocks: the same numbers for any ``n_jobs``. The stochastic epochs of passes over more
        than 2,048 rows deal the rows to ``n_jobs`` shards once, train them apart in rounds of up
        to 1,048,576 rows per shard and mix the weights two shards share (weighted by the rows
        touching each weight): reproducible for a given ``n_jobs`` and ``random_state``, but
        not the one-thread model, hence the default 1.

    Attributes
    ----------
    model_ : SparseModel
    classes_ : ndarray of shape (K,), sorted
    coef_ : scipy.sparse.csr_matrix of shape (1, n_features), or (K, n_features) for K > 2
    intercept_ : float, or ndarray of shape (K,) for K > 2
    n_features_in_ : int
    n_iter_ : int (epochs run by ``fit``, plus one per ``partial_fit``)
    t_ : int (examples processed)
    loss_curve_ : list of float (mean progressive training loss per pass)
    polish_passes_ : int
    learning_rate_ : float (SGD's eta0 in use, the default resolved; FTRL's alpha)
    objective_ : float or None (the objective F(w, b) on the training rows after the polish)
    layout_ : str ("sparse" or "dense", the layout chosen)
    state_nbytes_ : int (bytes of training state held)
    l1_ : float (the l1 in use: chosen by ``l1="auto"``, or the one given)
    l1_path_ : dict (``l1="auto"`` only: the path's ``l1``, ``held_out_loss``, ``held_out_loss_se``,
        ``held_out_gain`` over the best constant and its ``held_out_gain_se``, ``nnz``,
        ``seconds`` (CPU) and ``wall_seconds`` per point, ``path_wall_seconds`` for all of it (its
        chains side by side on two or three threads); ``chosen``, ``best``, ``one_se``
        indices; ``rule``; ``chosen_l1`` (refined between the points), ``rows_scale``, ``path_rows``,
        ``held_out_rows``, ``folds``; ``rate`` chosen, ``rate_default``, ``rate_candidates``,
        ``rate_held_out_loss``, ``rate_seconds`` (CPU) and ``rate_wall_seconds``)

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

    __init__ = constructor("logistic", CLASSIFIER_PARAMETERS)

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
                    "Unknown label type: continuous. WideClassifier needs two classes or more (class labels); "
                    "use WideRegressor for a real-valued target"
                )
            if found.size == 1:
                raise ValueError(
                    f"y has only one class ({found[0]!r}): a classifier needs at least two classes "
                    "(partial_fit accepts classes=[...] for a batch holding fewer)"
                )
            if found.size == 0:
                raise ValueError("y is empty: a classifier needs at least two classes")
        else:
            found = self.classes_
            if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), found):
                raise ValueError(f"classes={list(classes)} differ from the classes seen before {found.tolist()}")
        # class codes are exact in float32 (up to 2^24 classes): half the memory of the label stream
        codes, i = class_codes(y, found)
        if i >= 0:
            value = y[i].item() if isinstance(y[i], np.generic) else y[i]
            raise ValueError(f"y[{i}] = {value!r} is not one of the classes {found.tolist()}")
        return codes, (found if fitting else None)

    def _weigh_classes(self, codes: np.ndarray, sw: np.ndarray, labels: Any, whole: bool) -> np.ndarray:
        weights = class_weights(self.class_weight, labels, codes if whole else None)
        if weights is None:
            return sw
        out = weights[codes.astype(np.int64)]
        return out * sw if sw.size else out

    def _model_classes(self, labels: Any):
        labels = [c.item() if isinstance(c, np.generic) else c for c in labels]
        return labels if all(isinstance(c, (str, int, float, bool)) for c in labels) else None

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw scores ``x . w + b`` from ``model_``: float64 of shape (n_rows,) for two classes,
        (n_rows, K) for more; of a Dask DataFrame: a Dask Series, computed on the cluster."""
        if is_dask_frame(X):
            return score_frame(self, X, "decision_function")
        return self.model_.decision_function(self._scoring_input(X), self._jobs())

    def predict(self, X: Any) -> np.ndarray:
        """Class labels: ``classes_[1]`` where the decision is > 0; with K > 2 classes, the class
        of the largest decision (a Dask Series for a Dask DataFrame)."""
        if is_dask_frame(X):
            return score_frame(self, X, "predict")
        d = self.decision_function(X)
        if d.ndim == 2:
            return self.classes_[np.argmax(d, axis=1)]
        return self.classes_[(d > 0).astype(np.intp)]

    @AvailableIf(_probabilistic, "probabilities need loss='logistic'")
    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_`` (shape (n_rows, K), rows summing to 1) from ``model_``; of
        a Dask DataFrame: a Dask DataFrame with one column per class."""
        if is_dask_frame(X):
            return score_frame(self, X, "predict_proba")
        return self.model_.predict_proba(self._scoring_input(X), self._jobs())

    @AvailableIf(_probabilistic, "probabilities need loss='logistic'")
    def predict_log_proba(self, X: Any) -> np.ndarray:
        d = self.decision_function(X)
        if d.ndim == 2:
            with np.errstate(divide="ignore"):
                return np.log(self.model_.probabilities(d))
        out = np.empty((d.shape[0], 2))
        out[:, 1] = -np.logaddexp(0.0, -d)
        out[:, 0] = -np.logaddexp(0.0, d)
        return out

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """(Weighted) accuracy of ``predict(X)``."""
        pred = self.predict(X)
        y, sw = scoring_target(y, sample_weight, pred.shape[0], type(self).__name__)
        hit = (pred == y).astype(np.float64)
        return float(hit.mean() if sw.size == 0 else np.average(hit, weights=sw))
