"""Trained golden models: files written by an earlier version load and predict the same numbers,
and the same seeded fits still write the same weights, bit for bit.

The files, their inputs and expected predictions come from ``tests/data/golden/make_golden.py``
(see its docstring). A difference here means a change of the trained model or of the file
reader, which must be intended and regenerated on purpose.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import widecross as wc
from widecross.export import dumps, loads

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"


def _generator():
    spec = importlib.util.spec_from_file_location("make_trained_golden", GOLDEN / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _generator()
CASES = json.loads((GOLDEN / "cases.json").read_text())


@pytest.fixture(scope="module")
def inputs():
    with np.load(GOLDEN / "inputs.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def expected():
    with np.load(GOLDEN / "expected.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def test_every_case_has_a_file():
    assert sorted(CASES) == sorted(MAKE.cases())
    for name in CASES:
        assert (GOLDEN / f"{name}.wcm").is_file(), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_file_predicts_the_recorded_numbers(name, inputs, expected):
    model = wc.load(GOLDEN / f"{name}.wcm")
    facts = CASES[name]
    assert model.nnz == facts["nnz"] and model.intercept == facts["intercept"]
    got = MAKE.predictions(model, inputs, facts["csr_bits"])
    np.testing.assert_array_equal(got, expected[name])


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_same_fit_writes_the_same_model(name, inputs):
    if name == "streamed_parquet":
        pytest.importorskip("pyarrow")
    fit, encoding, _ = MAKE.cases()[name]
    est = fit(inputs)
    golden = wc.load(GOLDEN / f"{name}.wcm")
    fresh = loads(dumps(est.model_, values=encoding))
    assert fresh.indices.tobytes() == golden.indices.tobytes()
    assert fresh.values.tobytes() == golden.values.tobytes()
    assert fresh.intercept == golden.intercept
    assert fresh.metadata == golden.metadata  # the resolved parameters, epochs run, examples seen
    assert (est.t_, est.n_iter_) == (CASES[name]["t"], CASES[name]["n_iter"])
