"""Multiclass training: K weight columns in one state, one pass over each row for all of them.

References: the binary kernels (a one-vs-rest column must equal the binary model of its class,
bit for bit), plain-NumPy eager softmax SGD and dict FTRL (``tests/reference.py``), and
scikit-learn's ``LogisticRegression`` (multinomial, L1, saga) for the optimum.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import reference
import widecross as wc
from widecross.losses import LOSSES
from widecross.train import FTRL, SGD, FTRLParams, Polish, SGDParams, Trainer


def problem(seed=0, n=400, d=40, k=3, density=0.1):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    X.data = rng.uniform(0.5, 1.5, X.nnz)
    scores = np.asarray(X @ (rng.normal(size=(d, k)) * 3)) + rng.gumbel(size=(n, k))
    return X, np.argmax(scores, axis=1)


def test_class_losses_match_the_softmax_and_binary_definitions():
    """The K-margin loss kernel against plain NumPy (softmax) and the binary losses summed (OvR),
    its derivatives against central differences, the softmax curvature below its 1/2 bound."""
    from widecross.train._loss import class_curvature, class_losses

    rng = np.random.default_rng(0)
    h = 1e-6
    for _ in range(20):
        m = rng.normal(size=4) * 5
        label = int(rng.integers(0, 4))
        g = np.empty(4)
        value = class_losses(LOSSES["multinomial"].code, label, m, g)
        expected, grad = reference.softmax_loss_grad(m, label)
        assert value == pytest.approx(expected, rel=1e-12) and np.allclose(g, grad, rtol=1e-12, atol=1e-15)
        for k in range(4):
            step = np.eye(4)[k] * h
            up = class_losses(LOSSES["multinomial"].code, label, m + step, np.empty(4))
            down = class_losses(LOSSES["multinomial"].code, label, m - step, np.empty(4))
            assert g[k] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)
            assert 0 <= class_curvature(LOSSES["multinomial"].code, label, k, m[k], g[k]) <= 0.5
        ovr = class_losses(LOSSES["logistic"].code, label, m, g)
        assert ovr == pytest.approx(sum(reference.loss("logistic", float(k == label), m[k]) for k in range(4)), rel=1e-12)
        assert np.allclose(g, [reference.dloss("logistic", float(k == label), m[k]) for k in range(4)], rtol=1e-12)


OPTIMIZERS = {
    "sgd-adagrad-implicit": lambda c, l1, l2: SGD(LOSSES["logistic"], SGDParams(0.4, l1, l2, rates="adagrad",
                                                                            delta=0.1, implicit=True), c),
    "sgd-newton": lambda c, l1, l2: SGD(LOSSES["logistic"], SGDParams(1.0, l1, l2, rates="newton", delta=2.0), c),
    "sgd-invscaling": lambda c, l1, l2: SGD(LOSSES["logistic"], SGDParams(0.5, l1, l2, decay="invscaling", t0=50.0), c),
    "ftrl": lambda c, l1, l2: FTRL(LOSSES["logistic"], FTRLParams(0.5, 1.0, l1, l2), c),
    "sgd-hinge": lambda c, l1, l2: SGD(LOSSES["hinge"], SGDParams(0.1, l1, l2), c),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("l1, l2", [(1e-3, 0.0), (0.0, 1e-2), (1e-3, 1e-2)], ids=["l1", "l2", "elastic"])
def test_each_one_vs_rest_column_is_the_binary_model_of_its_class_bit_for_bit(name, l1, l2):
    X, y = problem(1, k=3)
    sw = np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0])
    orders = [np.random.default_rng(e).permutation(X.shape[0]).astype(np.int32) for e in range(3)]
    multi = Trainer(OPTIMIZERS[name](3, l1, l2), layout="dense", width=X.shape[1])
    rows = multi.rows(X, y.astype(np.float32), sw)
    for order in orders:
        multi.epoch(rows, order)
    weights, intercepts = multi.slot_weights(), multi.intercept()
    for k in range(3):
        one = Trainer(OPTIMIZERS[name](1, l1, l2), layout="dense", width=X.shape[1])
        binary_rows = one.rows(X, (y == k).astype(np.float32), sw)
        for order in orders:
            one.epoch(binary_rows, order)
        assert np.array_equal(one.slot_weights(), weights[:, k])
        assert one.intercept() == intercepts[k]


@pytest.mark.parametrize("name", ["sgd-adagrad-implicit", "ftrl"])
@pytest.mark.parametrize("layout", ["sparse", "dense"])
def test_two_class_one_vs_rest_equals_the_binary_model_exactly_with_the_polish(name, layout):
    """K=2 through the multiclass kernel and the column-by-column polish: column 1 is the binary
    model (and column 0 its mirror image, up to rounding)."""
    X, y = problem(3, k=2)
    order = np.random.default_rng(0).permutation(X.shape[0]).astype(np.int32)
    out = []
    for columns in (1, 2):
        trainer = Trainer(OPTIMIZERS[name](columns, 1e-3, 0.0), layout=layout, width=X.shape[1])
        rows = trainer.rows(X, y.astype(np.float32))
        for _ in range(2):
            trainer.epoch(rows, order)
        trainer.solve(Polish(4), lambda: (rows,))
        out.append(trainer.coefficients())
    (cols1, w1), (cols2, w2) = out
    nz = w2[:, 1] != 0
    assert np.array_equal(cols1, cols2[nz]) and np.array_equal(w1, w2[nz, 1])
    np.testing.assert_allclose(w2[:, 0], -w2[:, 1], atol=1e-9)


@pytest.mark.parametrize("adaptive", [False, True], ids=["plain", "adagrad"])
@pytest.mark.parametrize("l1, l2", [(2e-3, 0.0), (1e-3, 1e-2)], ids=["l1", "elastic"])
def test_lazy_softmax_sgd_matches_the_eager_dense_reference(adaptive, l1, l2):
    X, y = problem(4, n=120, d=15, k=4, density=0.15)
    X = sp.vstack([X, sp.csr_matrix((1, X.shape[1]))]).tocsr()  # an empty row too
    y = np.append(y, 2)
    sw = np.random.default_rng(5).uniform(0.5, 2.0, X.shape[0])
    orders = [np.random.default_rng(e).permutation(X.shape[0]) for e in range(2)]
    params = SGDParams(0.3, l1, l2, rates="adagrad" if adaptive else "plain", delta=0.5)
    trainer = Trainer(SGD(LOSSES["multinomial"], params, 4), layout="sparse")
    rows = trainer.rows(X, y.astype(np.float32), sw)
    for order in orders:
        trainer.epoch(rows, order.astype(np.int32))
    W, b = reference.eager_softmax_sgd(X, y, orders, n_classes=4, eta0=0.3, l1=l1, l2=l2, adaptive=adaptive,
                                       delta=0.5, sample_weight=sw)
    got = np.zeros_like(W)
    got[trainer.slot_map.columns] = trainer.slot_weights()
    np.testing.assert_allclose(got, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(trainer.intercept(), b, rtol=1e-10, atol=1e-12)


def test_softmax_ftrl_matches_the_dict_reference():
    X, y = problem(6, n=150, d=20, k=3, density=0.15)
    orders = [np.random.default_rng(e).permutation(X.shape[0]) for e in range(2)]
    trainer = Trainer(FTRL(LOSSES["multinomial"], FTRLParams(0.5, 1.0, 1e-3, 1e-3), 3), layout="sparse")
    rows = trainer.rows(X, y.astype(np.float32))
    for order in orders:
        trainer.epoch(rows, order.astype(np.int32))
    W, b = reference.dict_softmax_ftrl(X, y, orders, n_classes=3, alpha=0.5, beta=1.0, l1=1e-3, l2=1e-3)
    got = np.zeros_like(W)
    got[trainer.slot_map.columns] = trainer.slot_weights()
    np.testing.assert_allclose(got, W, rtol=1e-10, atol=1e-12)
    assert np.array_equal(got == 0, W == 0)
    np.testing.assert_allclose(trainer.intercept(), b, rtol=1e-10, atol=1e-12)


def test_multinomial_reaches_scikit_learns_l1_optimum_within_one_percent():
    from sklearn.linear_model import LogisticRegression

    X, y = problem(7, n=1500, d=30, k=3, density=0.15)
    l1 = 2e-3
    clf = wc.WideClassifier(multi_class="multinomial", l1=l1, epochs=60, random_state=0).fit(X, y)
    ours = reference.softmax_objective(X, y, clf.coef_.toarray().T.astype(np.float64), clf.intercept_, l1)
    sk = LogisticRegression(C=1.0 / (X.shape[0] * l1), l1_ratio=1.0, solver="saga", tol=1e-10, max_iter=20000)
    sk.fit(X, y)
    best = reference.softmax_objective(X, y, sk.coef_.T, sk.intercept_, l1)
    assert best <= ours <= 1.01 * best, (ours, best)
    assert clf.model_.nnz < X.shape[1] * 3  # L1 zeroes some weights


def test_estimator_multiclass_api():
    X, y = problem(8, n=600, k=4)
    labels = np.array(["d", "b", "a", "c"])[y]  # classes_ sorted whatever the order of appearance
    for multi_class in ("ovr", "multinomial"):
        clf = wc.WideClassifier(multi_class=multi_class, random_state=0).fit(X, labels)
        assert clf.classes_.tolist() == ["a", "b", "c", "d"]
        proba = clf.predict_proba(X)
        assert proba.shape == (600, 4) and np.allclose(proba.sum(axis=1), 1.0)
        assert clf.decision_function(X).shape == (600, 4) and clf.coef_.shape == (4, X.shape[1])
        assert np.array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])
        assert clf.score(X, labels) > 0.6
        np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-12)
    with pytest.raises(ValueError, match="multinomial.*needs loss='logistic'"):
        wc.WideClassifier(multi_class="multinomial", loss="hinge").fit(X, labels)


@pytest.mark.parametrize("optimizer", ["sgd", "ftrl"])
@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
def test_fit_equals_partial_fit_with_classes(optimizer, multi_class):
    X, y = problem(9, n=300, k=3)
    params = dict(l1=1e-6, optimizer=optimizer, multi_class=multi_class, epochs=1, polish=0, shuffle=False, random_state=0)
    whole = wc.WideClassifier(**params).fit(X, y)
    parts = wc.WideClassifier(**params)
    first = np.flatnonzero(y == 0)[:20]  # a first batch holding one class: classes= names them all
    rest = np.setdiff1d(np.arange(300), first)
    order = np.concatenate([first, rest])
    parts.partial_fit(X[first], y[first], classes=[0, 1, 2])
    parts.partial_fit(X[rest], y[rest])
    whole = wc.WideClassifier(**params).fit(X[order], y[order])
    assert np.array_equal(parts.model_.values, whole.model_.values)
    assert np.array_equal(parts.model_.intercept, whole.model_.intercept)


def weighted_vs_repeated(X, y, weights, **params):
    """(fit with class_weight, fit on rows repeated as many times as their class weight)."""
    repeats = np.array([weights.get(c, 1) for c in y])
    rows = np.repeat(np.arange(X.shape[0]), repeats)
    a = wc.WideClassifier(class_weight=weights, **params).fit(X, y)
    b = wc.WideClassifier(**params).fit(X[rows], y[rows])
    return a, b


def weighted_objective(est, X, y, sw, l1):
    """F of a fitted estimator with row weights ``sw``: mean (weighted) loss + l1 |W|_1, where the
    loss is the binary logistic, the sum of the one-vs-rest ones, or the softmax loss."""
    m = est.decision_function(X)
    if m.ndim == 1:
        losses = np.logaddexp(0.0, m) - (y == 1) * m
    elif est.multi_class == "ovr":
        losses = (np.logaddexp(0.0, m) - (y[:, None] == np.arange(m.shape[1])) * m).sum(axis=1)
    else:
        top = m.max(axis=1)
        losses = np.log(np.exp(m - top[:, None]).sum(axis=1)) + top - m[np.arange(len(y)), y]
    return float(sw @ losses / sw.sum() + l1 * np.abs(est.coef_.toarray()).sum())


@pytest.mark.parametrize("k, multi_class", [(2, "ovr"), (3, "ovr"), (3, "multinomial")])
def test_class_weight_equals_repeated_rows_at_the_optimum(k, multi_class):
    """Weighting class 1 by 3 and repeating its rows three times define the same objective: both
    fits reach the same optimum (objective within 0.1 %, the same probabilities)."""
    X, y = problem(10, n=500, d=25, k=k)
    params = dict(l1=1e-3, learning_rate=1.5, epochs=40, polish=20, multi_class=multi_class, random_state=0)
    a, b = weighted_vs_repeated(X, y, {1: 3}, **params)
    sw = np.where(y == 1, 3.0, 1.0)
    fa, fb = weighted_objective(a, X, y, sw, 1e-3), weighted_objective(b, X, y, sw, 1e-3)
    assert abs(fa - fb) < 1e-3 * fb, (fa, fb)
    assert np.abs(a.predict_proba(X) - b.predict_proba(X)).max() < 0.05
    plain = wc.WideClassifier(**params).fit(X, y)
    assert weighted_objective(plain, X, y, sw, 1e-3) > fb + 5 * abs(fa - fb)  # the weights changed the model


def test_balanced_class_weight():
    X, y = problem(11, n=400, k=3)
    y = np.where(np.arange(400) < 300, 0, y)  # class 0 dominates
    counts = np.bincount(y)
    clf = wc.WideClassifier(class_weight="balanced", epochs=2, polish=0, random_state=0).fit(X, y)
    explicit = {c: 400 / (3 * counts[c]) for c in range(3)}
    same = wc.WideClassifier(class_weight=explicit, epochs=2, polish=0, random_state=0).fit(X, y)
    assert np.array_equal(clf.model_.values, same.model_.values)
    with pytest.raises(ValueError, match="balanced.*partial_fit"):
        wc.WideClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not one of the classes"):
        wc.WideClassifier(class_weight={7: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="finite number"):
        wc.WideClassifier(class_weight={1: -1.0}).fit(X, y)


def test_binary_fits_are_unchanged_by_the_new_parameters():
    X, y = problem(12, k=2)
    plain = wc.WideClassifier(random_state=0).fit(X, y)
    named = wc.WideClassifier(multi_class="multinomial", class_weight=None, random_state=0).fit(X, y)
    ones = wc.WideClassifier(class_weight={0: 1.0, 1: 1.0}, random_state=0).fit(X, y)
    assert type(plain.model_) is wc.SparseModel
    for other in (named, ones):
        assert np.array_equal(plain.model_.values, other.model_.values)
        assert plain.model_.metadata == other.model_.metadata


def test_streamed_multiclass_fit_finds_the_classes_and_weighs_them(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    import data_gen

    rows = data_gen.generate_housing(3000, seed=4)
    band = np.digitize(rows["price"], np.quantile(rows["price"], [0.25, 0.5, 0.75]))
    pq.write_table(pa.table({"lat": rows["lat"], "lon": rows["lon"], "band": band}), tmp_path / "h.parquet",
                   row_group_size=1000)
    spec = wc.geo_spec(bits=16)
    clf = wc.WideClassifier(spec, epochs=2, class_weight={3: 2.0}, random_state=0)
    clf.fit(tmp_path / "h.parquet", y="band", chunk_rows=1000)
    assert clf.classes_.tolist() == [0, 1, 2, 3]
    proba = clf.predict_proba({"lat": rows["lat"], "lon": rows["lon"]})
    assert proba.shape == (3000, 4) and np.allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="balanced"):
        wc.WideClassifier(spec, class_weight="balanced").fit(tmp_path / "h.parquet", y="band", chunk_rows=1000)
