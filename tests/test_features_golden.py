"""Saved specs featurize exactly as when they were saved (feature spec format version 1).

``data/features_golden_v1.json`` was written once by ``data/make_features_golden.py`` from the
featurizer of format version 1: geo specs exact and hashed (two seeds, a clip policy), bucketizers
with every out-of-range policy, string and integer categoricals (64-bit hash, modulo, vocabulary,
missing and unknown values), crosses of up to three components and hashed collisions within a
row. A model file carries its spec, so a change here would silently move a saved model's weights.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import widecross as wc

DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(DATA))
from make_features_golden import columns_from_json  # noqa: E402

CASES = json.loads((DATA / "features_golden_v1.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["label"] for c in CASES])
def test_saved_spec_featurizes_as_when_saved(case):
    spec = wc.FeatureSpec.from_json(case["spec"])
    assert spec.n_features == case["n_features"]
    assert spec.to_json() == case["spec"]  # the JSON of a v1 spec is unchanged, byte for byte
    X = spec.transform(columns_from_json(case))
    assert X.indptr.tolist() == case["indptr"]
    assert X.indices.tolist() == case["indices"]
    assert X.data.tolist() == case["data"]


@pytest.mark.parametrize("case", [c for c in CASES if "str" in c["column_types"].values()],
                         ids=lambda c: c["label"])
def test_every_string_input_form_featurizes_as_saved(case):
    """The compiled string paths (NumPy ``U``, Arrow, pandas, polars) give the saved columns."""
    pa = pytest.importorskip("pyarrow")
    spec = wc.FeatureSpec.from_json(case["spec"])
    columns = columns_from_json(case)
    forms = {"arrow": pa.table({k: pa.array(list(v)) if v.dtype == object else v for k, v in columns.items()})}
    try:
        import pandas as pd

        forms["pandas"] = pd.DataFrame(columns)
    except ImportError:
        pass
    try:
        import polars as pl

        forms["polars"] = pl.DataFrame({k: list(v) if v.dtype == object else v for k, v in columns.items()})
    except ImportError:
        pass
    for name, form in forms.items():
        X = spec.transform(form)
        assert X.indices.tolist() == case["indices"], name
        assert X.data.tolist() == case["data"], name
