"""Fuzz every estimator entry point with random, often invalid, sparse structures, labels and weights.

Hypothesis draws small matrices in every SciPy format (matrices and sparse arrays, dense too),
valid ones (unsorted, repeated entries, empty rows) and corrupted ones: index arrays and row
pointers overwritten with arbitrary integers, other dtypes (int8 ... uint64, float, bool),
lengths that disagree, values that are NaN, infinite, complex or text; with labels and sample
weights of every kind (wrong lengths, NaN, one class, mixed types, 2-D). Each is passed to
``fit``, ``partial_fit``, ``predict``, ``predict_proba``, ``decision_function``, ``score`` of both
estimators and to ``SparseModel``'s scoring. Every call must return or raise ``ValueError``,
``TypeError`` or ``KeyError``; and whatever the validation accepts must equal the matrix a
slow Python reference builds from the same native arrays (rejecting exactly what it rejects).
Run it in a subprocess: a crash is the failure it looks for.

    python -m benchmarks.fuzz_inputs --examples 1000    # what the test suite runs (a subprocess)
    python -m benchmarks.fuzz_inputs --examples 20000   # longer
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
import warnings
from collections import Counter
from typing import Any

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

import widecross as wc
from widecross._csr_check import checked_csr

ALLOWED = (ValueError, TypeError, KeyError)
FORMATS = ("csr", "csc", "coo", "csr_array", "csc_array", "coo_array", "bsr", "lil", "dok", "dense")
INDEX_DTYPES = ("int8", "int16", "int32", "int64", "uint32", "uint64", "float64", "bool", ">i4")
VALUES = (1.0, -2.5, 0.5, 0.0, 3.0, np.nan, np.inf, -np.inf)
STATS: Counter = Counter()


# ---------------------------------------------------------------------- strategies
@st.composite
def matrices(draw: Any) -> Any:
    n_rows, n_cols = draw(st.sampled_from((0, 1, 2, 3, 4, 5, 6, 8))), draw(st.integers(1, 6))
    nnz = draw(st.integers(0, 10)) if n_rows else 0
    rows = np.array([draw(st.integers(0, n_rows - 1)) for _ in range(nnz)], dtype=np.int64)
    cols = np.array([draw(st.integers(0, n_cols - 1)) for _ in range(nnz)], dtype=np.int64)
    finite = draw(st.integers(0, 3)) > 0
    values = np.array([draw(st.sampled_from(VALUES[:5] if finite else VALUES)) for _ in range(nnz)])
    fmt = draw(st.sampled_from(FORMATS))
    base = sp.coo_matrix((values, (rows, cols)), shape=(n_rows, n_cols))
    if fmt == "dense":
        return base.toarray()
    with np.errstate(all="ignore"):  # inf + -inf in repeated entries
        X = base.asformat(fmt.replace("_array", ""))
    X = getattr(sp, fmt)(X) if fmt.endswith("_array") else X
    if X.format in ("csr", "csc", "coo") and draw(st.booleans()):
        _corrupt(draw, X)
    return X


def _corrupt(draw: Any, X: Any) -> None:
    """Overwrite the native arrays of ``X`` as a buggy caller would (SciPy checks none of it)."""
    names = ("row", "col", "data") if X.format == "coo" else ("indptr", "indices", "data")
    name = draw(st.sampled_from(names))
    arrays = {n: np.array(_coords(X)[("row", "col").index(n)] if X.format == "coo" and n != "data" else getattr(X, n))
              for n in names}
    target = arrays[name]
    kind = draw(st.sampled_from(("poke", "resize", "dtype", "values")))
    if kind == "poke" and target.size:
        k = draw(st.integers(0, target.size - 1))
        if name == "data":
            target[k] = draw(st.sampled_from(VALUES))
        else:
            target = target.astype(np.int64)
            target[k] = draw(st.one_of(st.integers(-3, 8), st.integers(-2**40, 2**40), st.sampled_from([2**31, 2**63 - 1])))
    elif kind == "resize":
        size = max(0, target.size + draw(st.integers(-2, 2)))
        target = np.resize(target, size) if target.size else np.zeros(size, dtype=target.dtype)
    elif kind == "dtype":
        dtype = draw(st.sampled_from(("complex128", "object", "U2", "float16", "int64")) if name == "data"
                     else st.sampled_from(INDEX_DTYPES))
        try:
            with np.errstate(all="ignore"):
                target = target.astype(dtype)
        except (OverflowError, ValueError):
            return
    else:
        target = np.array(draw(st.lists(st.integers(-4, 9), max_size=12)), dtype=np.int64)
    arrays[name] = target
    if X.format == "coo":
        X.coords = (arrays["row"], arrays["col"])
        X.data = arrays["data"]
    else:
        X.indptr, X.indices, X.data = arrays["indptr"], arrays["indices"], arrays["data"]


@st.composite
def problems(draw: Any) -> tuple[Any, np.ndarray, Any]:
    """A matrix, labels and sample weights; mostly of matching lengths, so that fitting gets far."""
    X = draw(matrices())
    n = X.shape[0] if draw(st.integers(0, 4)) else draw(st.integers(0, 6))
    kind = draw(st.sampled_from(("binary", "binary", "numbers", "mixed", "column")))
    pool = {"binary": [0, 1], "numbers": [0.0, 1.0, 2.0, np.nan, np.inf, -1.0, 0.5], "mixed": ["a", "b", 1, None],
            "column": [0, 1]}[kind]
    y = np.array([draw(st.sampled_from(pool)) for _ in range(n)], dtype=object if kind == "mixed" else None)
    y = y.reshape(-1, 1) if kind == "column" else y
    sw = draw(st.one_of(
        st.none(), st.none(), st.floats(allow_nan=True, allow_infinity=True),
        st.lists(st.sampled_from([1.0, 0.0, 2.0, -1.0, np.nan, np.inf]), min_size=n, max_size=n).map(np.array),
        st.lists(st.sampled_from([1.0, 2.0]), max_size=6).map(np.array),
    ))
    return X, y, sw


def _coords(X: Any) -> tuple[Any, Any]:
    coords = getattr(X, "coords", None)  # SciPy >= 1.13; row and col before
    return tuple(coords) if coords is not None else (X.row, X.col)


# ---------------------------------------------------------------------- the reference
def reference_dense(X: Any) -> np.ndarray | None:
    """The matrix ``X``'s native arrays describe, built in plain Python; None if they are invalid."""
    if X.format not in ("csr", "csc", "coo"):  # never corrupted: SciPy's own conversion is the reference
        dense = X.toarray()
        return dense if np.isfinite(dense).all() else None
    shape = X.shape
    data = np.asarray(X.data)
    if data.dtype.kind not in "biuf" or data.ndim != 1:
        return None
    out = np.zeros(shape)
    if X.format == "coo":
        rows, cols = (np.asarray(a) for a in _coords(X))
        if rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu" or not len(rows) == len(cols) == len(data):
            return None
        entries = zip(rows.tolist(), cols.tolist(), data.tolist())
    else:
        indptr, indices = np.asarray(X.indptr), np.asarray(X.indices)
        major = shape[0] if X.format == "csr" else shape[1]
        if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu" or len(indptr) != major + 1:
            return None
        if len(indices) != len(data) or int(indptr[0]) != 0:
            return None
        pointers, entries = indptr.tolist(), []
        for i in range(major):
            if not pointers[i] <= pointers[i + 1] <= len(indices):
                return None
            for k in range(pointers[i], pointers[i + 1]):
                j = int(indices[k])
                entries.append((i, j, float(data[k])) if X.format == "csr" else (j, i, float(data[k])))
    for r, c, v in entries:
        if not (0 <= r < shape[0] and 0 <= c < shape[1]) or not math.isfinite(v):
            return None
        out[r, c] += v
    return out if np.isfinite(out).all() else None


# ---------------------------------------------------------------------- the calls
def _call(name: str, fn: Any) -> None:
    try:
        fn()
        STATS[f"{name}: returned"] += 1
    except ALLOWED as error:
        STATS[f"{name}: {type(error).__name__}"] += 1
        if not str(error):
            raise AssertionError(f"{name} raised {type(error).__name__} without a message") from None


_FITTED: dict[int, tuple[Any, Any, Any]] = {}


def fitted(n_cols: int) -> tuple[Any, Any, Any]:
    """A classifier, a regressor and a model of width ``n_cols``, fitted once on valid data."""
    if n_cols not in _FITTED:
        X = sp.csr_matrix(np.eye(4, n_cols) + np.eye(4, n_cols, 1))
        y = np.array([0, 1, 0, 1])
        clf = wc.WideClassifier(epochs=1, polish=0, random_state=0).fit(X, y)
        reg = wc.WideRegressor(epochs=1, polish=0, random_state=0).fit(X, y * 1.0)
        _FITTED[n_cols] = clf, reg, clf.model_
    return _FITTED[n_cols]


def exercise(X: Any, y: np.ndarray, sw: Any) -> None:
    STATS["cases"] += 1
    if sp.issparse(X):
        expected = reference_dense(X)
        try:
            got = checked_csr(X).toarray()
        except ALLOWED:
            got = None
        assert (got is None) == (expected is None), f"checked_csr accepts={got is not None}, reference={expected is not None}"
        if got is not None:
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
        STATS["valid" if got is not None else "invalid"] += 1
    clf, reg, model = fitted(X.shape[1])
    fresh = dict(epochs=1, polish=0, random_state=0)
    _call("WideClassifier.fit", lambda: wc.WideClassifier(**fresh).fit(X, y, sample_weight=sw))
    _call("WideRegressor.fit", lambda: wc.WideRegressor(**fresh).fit(X, y, sample_weight=sw))
    _call("partial_fit", lambda: copy.deepcopy(clf).partial_fit(X, y, sample_weight=sw))
    for name in ("predict", "predict_proba", "decision_function"):
        _call(f"WideClassifier.{name}", lambda: getattr(clf, name)(X))
        _call(f"SparseModel.{name}", lambda: getattr(model, name)(X))
    _call("WideRegressor.predict", lambda: reg.predict(X))
    _call("WideClassifier.score", lambda: clf.score(X, y, sample_weight=sw))
    _call("WideRegressor.score", lambda: reg.score(X, y, sample_weight=sw))


def run(examples: int, seed: int) -> dict[str, Any]:
    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(problems())
    def fuzz(problem: tuple[Any, np.ndarray, Any]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exercise(*problem)

    fitted(1)  # compile outside the clock
    start = time.perf_counter()
    fuzz()
    seconds = time.perf_counter() - start
    return {"cases": STATS["cases"], "valid": STATS["valid"], "invalid": STATS["invalid"], "seconds": round(seconds, 2),
            "outcomes": dict(sorted((k, v) for k, v in STATS.items() if ":" in k))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", action="store_true", help="also write benchmarks/results/fuzz_inputs.json")
    args = parser.parse_args(argv)
    report = run(args.examples, args.seed)
    print(json.dumps(report))
    if args.save:
        from benchmarks.common import save_results

        rows = [{"examples": args.examples, "seed": args.seed, **{k: v for k, v in report.items() if k != "outcomes"}}]
        rows += [{"outcome": k, "calls": v} for k, v in report["outcomes"].items()]
        save_results("fuzz_inputs", rows, params={"examples": args.examples, "seed": args.seed})
    return 0


if __name__ == "__main__":
    sys.exit(main())
