"""Regenerate the trained golden models: what a fixed fit writes, and what the files predict.

Each case trains an estimator on the rows stored in ``inputs.npz`` with a fixed seed, saves its
model with one value encoding, and records the model's predictions on the held-out rows in
``expected.npz``. ``tests/test_golden_trained.py`` then checks, with the code of the day, that
every file still loads and predicts exactly these numbers, and that the same fit still writes
the same weights, bit for bit: a refactoring of the trainer must change neither.

Run ``python tests/data/golden/make_golden.py`` only when a change of the trained model is
intended (a new default, a new algorithm), and say so in the commit. The cases use only the
public API, so this script runs against any version of widecross.

The input rows come from ``data_gen`` once, here; the test reads them from ``inputs.npz``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent
N_TRAIN = 2500
N_TEST = 400


def make_inputs() -> dict[str, np.ndarray]:
    import data_gen

    rows = data_gen.generate_housing(N_TRAIN + N_TEST, seed=41)
    price = np.log(rows["price"])
    weight = np.random.default_rng(5).uniform(0.25, 2.0, N_TRAIN + N_TEST)
    return {"lat": rows["lat"], "lon": rows["lon"], "label": rows["label"].astype(np.int64),
            "log_price": price - price[:N_TRAIN].mean(), "weight": weight,
            "visits": np.random.default_rng(6).poisson(np.exp(0.3 * np.sin(rows["lat"] / 10.0)))}


def _columns(inputs: dict[str, np.ndarray], rows: slice) -> dict[str, np.ndarray]:
    return {"lat": inputs["lat"][rows], "lon": inputs["lon"][rows]}


TRAIN, TEST = slice(0, N_TRAIN), slice(N_TRAIN, N_TRAIN + N_TEST)


def _fit_in_memory(make: Callable[[], Any], target: str, csr_bits: int | None = None,
                   weighted: bool = False) -> Callable[[dict[str, np.ndarray]], Any]:
    def fit(inputs: dict[str, np.ndarray]) -> Any:
        import widecross as wc

        est = make()
        X = _columns(inputs, TRAIN)
        if csr_bits is not None:
            X = wc.geo_spec(bits=csr_bits).transform(X)
        weight = inputs["weight"][TRAIN] if weighted else None
        return est.fit(X, inputs[target][TRAIN], sample_weight=weight)

    return fit


def _fit_in_parts(inputs: dict[str, np.ndarray]) -> Any:
    import widecross as wc

    est = wc.WideClassifier(wc.geo_spec(bits=18), layout="sparse", random_state=5)
    for lo, hi in ((0, 1500), (1500, 1501), (1501, N_TRAIN)):
        est.partial_fit(_columns(inputs, slice(lo, hi)), inputs["label"][lo:hi], classes=[0, 1])
    return est


def _fit_streamed(inputs: dict[str, np.ndarray]) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    import widecross as wc

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.parquet"
        table = pa.table({k: inputs[k][TRAIN] for k in ("lat", "lon", "label", "weight")})
        pq.write_table(table, path, row_group_size=1500)
        est = wc.WideClassifier(wc.geo_spec(bits=20), l1=1e-5, epochs=3, polish=2, random_state=6)
        return est.fit(path, y="label", sample_weight="weight", chunk_rows=700, buffer_rows=900)


def cases() -> dict[str, tuple[Callable[[dict[str, np.ndarray]], Any], str, str | None]]:
    """name -> (fit on the inputs, value encoding, bits of a spec-less CSR input or None)."""
    import widecross as wc

    exact = wc.geo_spec(bits=None)
    return {
        # the default fit (SGD, AdaGrad, implicit steps, polish) on the exact 235.7M-column cross, at
        # the l1 that was the default before l1="auto"
        "exact_sgd_default": (_fit_in_memory(lambda: wc.WideClassifier(exact, l1=1e-6, epochs=3, random_state=0),
                                             "label"), "float32", None),
        # the default fit with l1 chosen on held-out rows (l1="auto")
        "hashed_sgd_auto": (_fit_in_memory(lambda: wc.WideClassifier(wc.geo_spec(bits=20), random_state=7), "label"),
                            "float32", None),
        # FTRL on a hashed spec narrow enough for the dense layout
        "hashed_ftrl_dense": (_fit_in_memory(lambda: wc.WideClassifier(wc.geo_spec(bits=18), optimizer="ftrl",
                                                                       l1=1e-5, l2=1e-4, random_state=1), "label"),
                              "float16", None),
        # a regressor with per-coordinate Newton rates and elastic net, coarser crosses
        "hashed_newton_regressor": (_fit_in_memory(lambda: wc.WideRegressor(
            wc.geo_spec(bits=20, resolutions=(60, 10)), schedule="newton", l1=1e-6, l2=1e-4, random_state=2),
            "log_price"), "q8", None),
        # spec-less CSR input, hinge loss, a decaying global rate, plain steps, sample weights
        "csr_hinge_invscaling": (_fit_in_memory(lambda: wc.WideClassifier(
            loss="hinge", schedule="invscaling", implicit=False, layout="sparse", l1=1e-5, random_state=3),
            "label", csr_bits=16, weighted=True), "float32", 16),
        # Poisson counts with early stopping (a held-out split drawn from the seed)
        "exact_poisson_early_stopping": (_fit_in_memory(lambda: wc.WideRegressor(
            exact, loss="poisson", schedule="constant", early_stopping=True, epochs=6, n_iter_no_change=2,
            l1=1e-6, random_state=4), "visits"), "float32", None),
        # three partial_fit calls, one of a single row (one pass's default rate, l1 "auto" before any
        # choice: regenerated when partial_fit's rate stopped assuming the 5 epochs of fit)
        "hashed_partial_fit": (_fit_in_parts, "float32", None),
        # a Parquet file streamed in chunks through the shuffle buffer, weights from a column
        "streamed_parquet": (_fit_streamed, "float16", None),
    }


def predictions(model: Any, inputs: dict[str, np.ndarray], csr_bits: int | None) -> np.ndarray:
    import widecross as wc

    X = _columns(inputs, TEST)
    if csr_bits is not None:
        X = wc.geo_spec(bits=csr_bits).transform(X)
    return np.stack([model.decision_function(X), model.predict(X).astype(np.float64)])


def main() -> int:
    inputs = make_inputs()
    np.savez_compressed(HERE / "inputs.npz", **inputs)
    expected = {}
    facts = {}
    for name, (fit, encoding, csr_bits) in cases().items():
        est = fit(inputs)
        path = est.model_.save(HERE / f"{name}.wcm", values=encoding)
        import widecross as wc

        loaded = wc.load(path)
        expected[name] = predictions(loaded, inputs, csr_bits)
        facts[name] = {"encoding": encoding, "csr_bits": csr_bits, "nnz": int(loaded.nnz),
                       "intercept": loaded.intercept, "t": int(est.t_), "n_iter": int(est.n_iter_)}
        print(f"{name}: nnz {loaded.nnz}, {path.stat().st_size} bytes", flush=True)
    np.savez_compressed(HERE / "expected.npz", **expected)
    (HERE / "cases.json").write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
