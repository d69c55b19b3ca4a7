"""The width of the feature space is bookkeeping, never arithmetic: a problem with ``d`` columns
and the same problem spread over 2^40 columns (column ``j`` moved to ``j * STRIDE + OFFSET``, an
order-preserving map) train to the same weights, bit for bit, the same intercept and the same
model file once the column ids are mapped back. The narrow problem trains with one state record
per column (``layout="dense"``), the wide one through the slot map of touched columns."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc

D = 500
WIDE = 2**40
STRIDE = (WIDE - 1) // D  # the last column lands near the top of the wide space
OFFSET = 12_345


def problem(seed: int = 0, n: int = 1500) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Binary rows of 2-8 columns, a sparse logistic truth, labels and a regression target."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(2, 9, n)
    cols = np.concatenate([np.sort(rng.choice(D, c, replace=False)) for c in counts])
    X = sp.csr_matrix((np.ones(cols.size), cols, np.concatenate([[0], np.cumsum(counts)])), shape=(n, D))
    w = np.where(rng.random(D) < 0.1, rng.normal(0, 2, D), 0.0)
    margin = X @ w - 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(np.int64)
    return X, y, margin + rng.normal(0, 0.3, n), rng.uniform(0.5, 2.0, n)


def widen(X: sp.csr_matrix) -> sp.csr_matrix:
    wide = X.indices.astype(np.int64) * STRIDE + OFFSET
    return sp.csr_matrix((X.data, wide, X.indptr), shape=(X.shape[0], WIDE))


CASES = {
    "sgd defaults": (wc.WideClassifier, dict(l1=1e-4)),
    "sgd elastic net, constant rate, no polish": (wc.WideClassifier, dict(l1=1e-3, l2=1e-3, schedule="constant", polish=0)),
    "sgd newton, weighted": (wc.WideClassifier, dict(l1=1e-4, schedule="newton", epochs=2)),
    "ftrl": (wc.WideClassifier, dict(optimizer="ftrl", l1=1e-3, l2=1e-4)),
    "regressor squared, invscaling": (wc.WideRegressor, dict(loss="squared", l1=1e-4, schedule="invscaling")),
}


def fit(make, params: dict, X, y, sample_weight, layout: str, partial: bool):
    est = make(**params, random_state=3, layout=layout)
    if not partial:
        return est.fit(X, y, sample_weight=sample_weight)
    for start in range(0, X.shape[0], 500):  # streamed in three calls
        part = slice(start, start + 500)
        kwargs = {"classes": [0, 1]} if make is wc.WideClassifier else {}
        est.partial_fit(X[part], y[part], sample_weight=sample_weight[part], **kwargs)
    return est


@pytest.mark.parametrize("partial", [False, True], ids=["fit", "partial_fit"])
@pytest.mark.parametrize("case", list(CASES))
def test_same_weights_intercept_and_file_at_width_d_and_2_to_the_40(case, partial, tmp_path):
    make, params = CASES[case]
    X, labels, target, weights = problem()
    y = target if make is wc.WideRegressor else labels
    sw = weights if ("weighted" in case or partial) else None
    narrow = fit(make, params, X, y, sw, "dense", partial)
    wide = fit(make, params, widen(X), y, sw, "auto", partial)
    assert (narrow.layout_, wide.layout_) == ("dense", "sparse")
    a, b = narrow.model_, wide.model_
    assert a.nnz > 10 and b.nnz == a.nnz and (a.n_features, b.n_features) == (D, WIDE)
    np.testing.assert_array_equal(b.indices, a.indices.astype(np.int64) * STRIDE + OFFSET)
    assert b.values.tobytes() == a.values.tobytes()  # bit for bit
    assert b.intercept == a.intercept
    assert wide.n_iter_ == narrow.n_iter_ and wide.t_ == narrow.t_
    # the file of the wide model, its ids mapped back, is the narrow model's file
    back = wc.SparseModel((b.indices - OFFSET) // STRIDE, b.values, b.intercept, D, b.loss, classes=b.classes,
                          metadata=b.metadata)
    for values in ("float32", "q8"):
        expected = a.save(tmp_path / f"narrow.{values}.wcm", values=values).read_bytes()
        assert back.save(tmp_path / f"back.{values}.wcm", values=values).read_bytes() == expected
    # and both predict the same on the same rows
    np.testing.assert_array_equal(wide.decision_function(widen(X[:50])) if make is wc.WideClassifier
                                  else wide.predict(widen(X[:50])),
                                  narrow.decision_function(X[:50]) if make is wc.WideClassifier else narrow.predict(X[:50]))


def test_the_comparison_can_fail():
    """Another seed gives other weights: equality above is not a property of any two fits."""
    X, y, _, _ = problem()
    a = wc.WideClassifier(l1=1e-4, random_state=3).fit(X, y).model_
    b = wc.WideClassifier(l1=1e-4, random_state=4).fit(widen(X), y).model_
    assert b.values.tobytes() != a.values.tobytes()
