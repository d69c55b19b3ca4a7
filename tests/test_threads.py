"""Thread safety: one loaded model (and one spec, one fitted estimator) used from several threads
at once gives exactly the serial answers; the scoring kernels are compiled to release the GIL.
"""

from __future__ import annotations

import importlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np
import pytest

import widecross as wc
from widecross.model import SparseModel

N_THREADS = 8


def run_together(jobs: list[Callable[[], Any]], rounds: int = 3) -> list[list[Any]]:
    """Run every job in its own thread, all released at once by a barrier; ``rounds`` times."""
    results: list[list[Any]] = []
    for _ in range(rounds):
        barrier = threading.Barrier(len(jobs))

        def start(job: Callable[[], Any]) -> Any:
            barrier.wait(timeout=60)
            return job()

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = [pool.submit(start, job) for job in jobs]
            results.append([f.result(timeout=300) for f in futures])
    return results


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> tuple[SparseModel, list[dict[str, np.ndarray]]]:
    spec = wc.geo_spec(bits=22)
    rng = np.random.default_rng(3)
    idx = np.unique(rng.integers(0, spec.n_features, 60_000))
    model = SparseModel(idx, rng.laplace(0, 0.4, idx.size) + 1e-3, -0.2, spec.n_features, "logistic", spec=spec)
    path = tmp_path_factory.mktemp("threads") / "model.wcm"
    model.save(path)
    batches = [{"lat": rng.uniform(-90, 90, 30_000), "lon": rng.uniform(-180, 180, 30_000)} for _ in range(N_THREADS)]
    return wc.load(path), batches


def test_every_kernel_releases_the_gil():
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import widecross

    kernels = {}
    for info in pkgutil.walk_packages(widecross.__path__, "widecross."):
        if info.name.split(".")[1] in ("cli", "__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.__module__ == module.__name__:
                kernels[f"{info.name.split('.')[-1]}.{name}"] = value
    assert {"_lookup.decision_csr", "_hashing.fill_block", "_rice.read", "_sgd.sgd_epoch", "rows.gather_rows"} <= kernels.keys()
    for name, kernel in kernels.items():
        assert kernel.targetoptions.get("nogil") is True, name
        assert not kernel.targetoptions.get("fastmath"), name


def test_concurrent_predict_proba_on_one_loaded_model_equals_serial(loaded):
    model, batches = loaded
    serial = [model.predict_proba(b) for b in batches]
    # Every thread its own rows, and every thread the same rows.
    for jobs, expected in (
        ([lambda b=b: model.predict_proba(b) for b in batches], serial),
        ([lambda: model.predict_proba(batches[0])] * N_THREADS, [serial[0]] * N_THREADS),
    ):
        for results in run_together(jobs):
            for got, want in zip(results, expected):
                np.testing.assert_array_equal(got, want)
    assert np.all(np.isfinite(serial[0]))


def test_concurrent_csr_scoring_and_weight_lookups(loaded):
    model, batches = loaded
    matrices = [model.spec.transform(b) for b in batches]
    serial = [model.decision_function(X) for X in matrices]
    columns = [X.indices for X in matrices]
    weights = [model.get_weights(c) for c in columns]
    jobs = [lambda X=X: model.decision_function(X) for X in matrices]
    jobs += [lambda c=c: model.get_weights(c) for c in columns]
    for results in run_together(jobs, rounds=2):
        for got, want in zip(results, serial + weights):
            np.testing.assert_array_equal(got, want)


def test_concurrent_transforms_of_one_spec(loaded):
    model, batches = loaded
    spec = model.spec
    serial = [spec.transform(b) for b in batches]
    for results in run_together([lambda b=b: spec.transform(b) for b in batches], rounds=2):
        for got, want in zip(results, serial):
            assert (got != want).nnz == 0 and got.indices.dtype == want.indices.dtype


def test_concurrent_loads_of_one_file(loaded, tmp_path):
    model, batches = loaded
    path = model.save(tmp_path / "again.wcm", values="q8")
    reference = wc.load(path)
    for results in run_together([lambda: wc.load(path)] * N_THREADS, rounds=2):
        for m in results:
            assert np.array_equal(m.indices, reference.indices) and np.array_equal(m.values, reference.values)


def test_concurrent_errors_stay_in_their_thread(loaded):
    model, batches = loaded
    bad = {"lat": batches[0]["lat"].copy(), "lon": batches[0]["lon"]}
    bad["lat"][1234] = np.nan
    expected = model.predict_proba(batches[1])

    def failing() -> str:
        try:
            model.predict_proba(bad)
        except ValueError as error:
            return str(error)
        return "no error"

    jobs = [failing if i % 2 else (lambda: model.predict_proba(batches[1])) for i in range(N_THREADS)]
    for results in run_together(jobs, rounds=2):
        for i, result in enumerate(results):
            if i % 2:
                assert "column 'lat'" in result and "row 1234" in result
            else:
                np.testing.assert_array_equal(result, expected)


def test_concurrent_predictions_of_one_fitted_estimator():
    import data_gen
    from widecross.estimators import WideClassifier

    rows = data_gen.generate_housing(20_000, seed=4)
    data = {"lat": rows["lat"], "lon": rows["lon"]}
    spec = wc.geo_spec(bits=20)
    clf = WideClassifier(spec, l1=1e-6, epochs=1, random_state=0).fit(data, rows["label"])
    bare = WideClassifier(l1=1e-6, epochs=1, random_state=0).fit(spec.transform(data), rows["label"])
    parts = [{k: v[i::N_THREADS] for k, v in data.items()} for i in range(N_THREADS)]
    matrices = [spec.transform(p) for p in parts]
    serial = [clf.predict_proba(p) for p in parts] + [bare.predict_proba(X) for X in matrices]
    jobs = [lambda p=p: clf.predict_proba(p) for p in parts] + [lambda X=X: bare.predict_proba(X) for X in matrices]
    for results in run_together(jobs, rounds=2):
        for got, want in zip(results, serial):
            np.testing.assert_array_equal(got, want)
