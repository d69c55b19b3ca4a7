"""No input may crash the process: corrupted sparse structures reach no kernel (ours or SciPy's),
valid but unusual ones give the answers of a dense NumPy reference, and threads lose no rows.

The hostile cases live in ``benchmarks.bad_inputs`` (which also prints their before/after table);
here they run in one subprocess, so that a crash fails a test instead of ending the run.
"""

from __future__ import annotations

import copy
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc
from benchmarks.bad_inputs import CASES, make_fixtures, matches, run_cases

REPO = Path(__file__).resolve().parents[1]
REPLAYED = [c for c in CASES if c.group in ("arrays", "threads", "files")]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> dict[str, dict]:
    fixtures = make_fixtures(tmp_path_factory.mktemp("fixtures"))
    return {r["name"]: r for r in run_cases(REPLAYED, REPO, fixtures, isolated=False)}


@pytest.mark.parametrize("case", REPLAYED, ids=[c.name for c in REPLAYED])
def test_hostile_case_gives_its_expected_outcome(replayed, case):
    result = replayed[case.name]
    assert matches(case, result), f"expected {case.expect} naming {case.fragments}, got {result}"


# ---------------------------------------------------------------------- valid, unusual input
def _problem(seed: int = 0, n: int = 80, d: int = 20) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, format="csr", random_state=seed)
    X.data = rng.choice([0.5, 1.0, 2.0], X.nnz)
    return X, rng.integers(0, 2, n)


def _unusual_forms(X: sp.csr_matrix) -> dict[str, object]:
    """The same matrix as SciPy lets users build it: other formats, dtypes, orders, duplicates."""
    split = X.tocoo()
    halves = sp.coo_matrix((np.concatenate([split.data / 2, split.data / 2]),
                            (np.tile(split.row, 2), np.tile(split.col, 2))), shape=X.shape)
    unsorted = X.copy()
    for i in range(X.shape[0]):  # reverse every row's entries
        a, b = unsorted.indptr[i], unsorted.indptr[i + 1]
        unsorted.indices[a:b] = unsorted.indices[a:b][::-1].copy()
        unsorted.data[a:b] = unsorted.data[a:b][::-1].copy()
    repeated = sp.csr_matrix((np.repeat(X.data / 2, 2), np.repeat(X.indices, 2), X.indptr * 2), shape=X.shape)
    spare = sp.csr_matrix(X)
    spare.indices = np.concatenate([X.indices, [10**9, -5]]).astype(np.int32)  # past indptr[-1]: not part of X
    spare.data = np.concatenate([X.data, [np.nan, 1.0]])
    wide = X.copy()
    wide.indptr, wide.indices = X.indptr.astype(np.int64), X.indices.astype(np.int16)
    big_endian = X.copy()
    big_endian.indices, big_endian.data = X.indices.astype(">i4"), X.data.astype(">f8")
    return {
        "csc": X.tocsc(), "coo": X.tocoo(), "bsr": X.tobsr(), "dia": X.todia(), "lil": X.tolil(), "dok": X.todok(),
        "csr_array": sp.csr_array(X), "coo_array": sp.coo_array(X), "dense": X.toarray(),
        "duplicates (COO halves)": halves, "duplicates (CSR repeats)": repeated, "unsorted rows": unsorted,
        "entries past indptr[-1]": spare, "int64 indptr, int16 indices": wide, "big-endian arrays": big_endian,
        "float32 values": X.astype(np.float32), "int values": (X * 2).astype(np.int64),
    }


def test_unusual_forms_of_one_matrix_fit_and_score_as_the_matrix_itself():
    X, y = _problem()
    reference = wc.WideRegressor(epochs=3, random_state=0).fit(X, y.astype(float))
    weights = np.zeros(X.shape[1])
    weights[reference.model_.indices] = reference.model_.values
    for name, form in _unusual_forms(X).items():
        scale = 2.0 if name == "int values" else 1.0
        dense = X.toarray() * scale
        # Scoring: against plain NumPy on the dense matrix (float32 data rounds a little).
        got = reference.predict(form)
        np.testing.assert_allclose(got, dense @ weights + reference.intercept_, rtol=1e-6, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(reference.model_.decision_function(form), got, rtol=1e-12, atol=1e-12, err_msg=name)
        if scale == 1.0 and name != "float32 values":
            # Training: the same matrix gives the same model, bit for bit.
            other = wc.WideRegressor(epochs=3, random_state=0).fit(form, y.astype(float)).model_
            np.testing.assert_array_equal(other.indices, reference.model_.indices, err_msg=name)
            np.testing.assert_allclose(other.values, reference.model_.values, rtol=1e-6, err_msg=name)


def test_checked_input_is_never_modified():
    X, y = _problem(1)
    forms = _unusual_forms(X)
    before = copy.deepcopy(forms)
    clf = wc.WideClassifier(epochs=1, random_state=0).fit(forms["unsorted rows"], y)
    for name, form in forms.items():
        clf.fit(form, y)
        clf.decision_function(form)
        clf.model_.decision_function(form)
        for attr in ("indices", "indptr", "data", "row", "col", "offsets"):
            value = getattr(form, attr, None) if sp.issparse(form) else None
            if isinstance(value, np.ndarray) and value.dtype != object:
                np.testing.assert_array_equal(value, getattr(before[name], attr), err_msg=f"{name}.{attr}")
                assert value.dtype == getattr(before[name], attr).dtype


def test_repeated_calls_on_a_corrupted_matrix_give_the_same_error():
    X, y = _problem(2)
    clf = wc.WideClassifier(epochs=1, random_state=0).fit(X, y)
    bad = X.tocsc(copy=True)
    bad.indices[3] = -7
    messages = set()
    for call in (clf.predict, clf.predict, clf.decision_function, clf.model_.predict, lambda M: clf.score(M, y)):
        with pytest.raises(ValueError) as info:
            call(bad)
        messages.add(str(info.value))
    assert messages == {"X: column 0: row index -7 is outside [0, 80) (negative indices are not wrapped around)"}


# ---------------------------------------------------------------------- threads
def test_partial_fit_from_many_threads_loses_no_rows():
    X, y = _problem(3, n=6_000, d=400)
    clf = wc.WideClassifier(random_state=0).partial_fit(X[:100], y[:100], classes=[0, 1])
    batches = [(X[a : a + 250], y[a : a + 250]) for a in range(100, 6_000, 250)]
    barrier = threading.Barrier(4)

    def work(k: int) -> None:
        barrier.wait()
        for i in range(k, len(batches), 4):
            clf.partial_fit(*batches[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert clf.t_ == 6_000 and clf.n_iter_ == 1 + len(batches)
    assert clf.model_.metadata["examples_seen"] == 6_000


def test_predictions_during_partial_fit_are_those_before_or_after_it():
    X, y = _problem(4, n=40_000, d=500)
    clf = wc.WideClassifier(random_state=0).partial_fit(X[:1000], y[:1000], classes=[0, 1])
    before = clf.decision_function(X[:500])
    seen: list[np.ndarray] = []
    done = threading.Event()

    def predict() -> None:
        while not done.is_set():
            seen.append(clf.decision_function(X[:500]))

    reader = threading.Thread(target=predict)
    reader.start()
    try:
        clf.partial_fit(X[1000:], y[1000:])
    finally:
        done.set()
        reader.join()
    after = clf.decision_function(X[:500])
    assert not np.array_equal(before, after)
    for scores in seen:
        assert np.array_equal(scores, before) or np.array_equal(scores, after)


def test_the_lock_is_neither_pickled_nor_shared_by_copies():
    X, y = _problem(5)
    clf = wc.WideClassifier(epochs=1, random_state=0).fit(X, y)
    lock = clf._state_lock()
    for other in (pickle.loads(pickle.dumps(clf)), copy.deepcopy(clf)):
        assert "_lock" not in other.__dict__ or other.__dict__["_lock"] is not lock
        np.testing.assert_array_equal(other.predict_proba(X), clf.predict_proba(X))
        other.partial_fit(X, y)  # makes its own lock; the original is untouched
        assert other._state_lock() is not lock
    assert clf._state_lock() is lock and clf.n_iter_ == 1


def test_docstring_examples_of_the_checker_run():
    import doctest

    from widecross import _csr_check

    result = doctest.testmod(_csr_check, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
