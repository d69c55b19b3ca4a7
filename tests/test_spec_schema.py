"""The spec JSON: its schema (shipped, documented, checked), hand-written specs, clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import widecross as wc
from widecross.features import Bucketize, Categorical, Cross, FeatureSpec, Numeric, Tokens, spec_schema

DOCS = Path(__file__).resolve().parents[1] / "docs" / "spec.md"


def specs():
    data = {"lat": [1.0, 2.0], "lon": [3.0, 4.0], "kind": ["flat", "villa"], "area": [50.0, 70.0], "tags": ["a,b", ""]}
    learned = FeatureSpec({"geo": list(wc.geo_spec(resolutions=(60,)).features), "kind": [Categorical("kind", min_count=1)],
                           "area": [Numeric("area", "standard")], "tags": [Tokens("tags", sep=",", max_size=5)]},
                          bits=None, interactions=[("geo", "kind")])
    return [
        wc.geo_spec(bits=None),
        wc.geo_spec(bits=26, seed=2**64 - 1, out_of_range="bucket"),
        FeatureSpec([Bucketize("x", boundaries=[-np.inf, 0.0, np.inf], out_of_range="clip"), Categorical("c", 7),
                     Categorical("d", vocabulary=[3, "3", "é"], unknown="bucket")], bits=None),
        FeatureSpec([Numeric("a", 2.5, center=-1.0, missing="zero"), Tokens("t", 9, unknown="ignore"),
                     Cross(Tokens("t", vocabulary=["x"]), Numeric("a"), Categorical("c"))], bits=12),
        learned,  # unfitted: vocabularies and scale to learn
        FeatureSpec.from_json(learned.to_json()).fit(data),
    ]


def test_every_spec_validates_against_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = spec_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for spec in specs():
        obj = json.loads(spec.to_json())
        assert list(validator.iter_errors(obj)) == [], spec
        back = FeatureSpec.from_json(spec.to_json())
        assert back == spec and back.to_json() == spec.to_json()


def test_the_documented_schema_is_the_shipped_one():
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    assert json.loads(blocks[-1]) == spec_schema()
    example = json.loads(blocks[1])
    spec = FeatureSpec.from_json(json.dumps(example))  # the page's hand-written example reads
    assert [f.name for f in spec.features][-1] == "cell x kind"


def test_hand_written_specs_take_the_defaults():
    text = json.dumps({"format": "widecross.FeatureSpec", "version": 1, "features": [
        {"type": "bucketize", "column": "x", "start": 0, "stop": 1, "width": 0.25},
        {"type": "categorical", "column": "c", "vocabulary": ["a", "b"]},
        {"type": "numeric", "column": "v", "scale": "standard"},
        {"type": "tokens", "column": "t", "n_buckets": 4, "sep": " "},
    ], "interactions": [["x[0.0,1.0]/4", "t%4"]]})
    spec = FeatureSpec.from_json(text)
    assert spec.bits is None and spec.seed == 0
    x, c, v, t, cross = spec.features
    assert (x.n_buckets, x.wrap, x.out_of_range, x.name) == (4, False, "error", "x[0.0,1.0]/4")
    assert c == Categorical("c", vocabulary=["a", "b"]) and v == Numeric("v", "standard") and t == Tokens("t", 4, sep=" ")
    assert cross.name == "x[0.0,1.0]/4 x t%4" and spec.learns


@pytest.mark.parametrize("change, message", [
    (lambda o: o.pop("features"), r"the spec: missing field 'features'"),
    (lambda o: o.update(bits=41), r"bits: must be <= 40, got 41"),
    (lambda o: o.update(bits="22"), r"bits: must be an integer or null, got '22'"),
    (lambda o: o.update(seed=-1), r"seed: must be >= 0"),
    (lambda o: o.update(extra=1), r"the spec: unknown field 'extra'; known: bits, features"),
    (lambda o: o["features"].append({"type": "categorical", "column": "c", "n_bucket": 3}),
     r"features\[5\]: unknown field 'n_bucket'; known: column, max_size, min_count, n_buckets"),
    (lambda o: o["features"].append({"type": "categorical", "column": "c", "n_buckets": 0}),
     r"features\[5\].n_buckets: must be >= 1, got 0"),
    (lambda o: o["features"].append({"type": "histogram", "column": "c"}),
     r"features\[5\]: 'type' must be one of 'bucketize', 'categorical', 'numeric', 'tokens', 'cross'; got 'histogram'"),
    (lambda o: o["features"].append({"type": "numeric"}), r"features\[5\]: missing field 'column'"),
    (lambda o: o["features"].append({"type": "tokens", "column": "t", "unknown": "skip"}),
     r"features\[5\].unknown: must be one of 'error', 'bucket', 'ignore'; got 'skip'"),
    (lambda o: o["features"][0]["features"].append({"type": "cross", "features": []}),
     r"features\[0\].features\[2\]: 'type' must be one of 'bucketize', 'categorical', 'numeric', 'tokens'; got 'cross'"),
    (lambda o: o["features"][3].update(stop=-100.0), r"features\[3\] \(bucketize\): start must be below stop"),
    (lambda o: o["features"][3].pop("n_buckets"), r"features\[3\] \(bucketize\): a bucketize needs start, stop and one of n_buckets or width"),
    (lambda o: o["features"].append({"type": "categorical", "column": "c", "vocabulary": ["a", "a"]}),
     r"features\[5\] \(categorical\): vocabulary values must be distinct"),
    (lambda o: o.update(interactions=[["lat 1'", "nope"]]), r"interaction .* names 'nope', which is neither a group nor a feature"),
    (lambda o: o["features"].append(dict(o["features"][3])), r"feature names must be unique .*\[\"lat 1'\"\]"),
])
def test_malformed_specs_name_the_field(change, message):
    obj = json.loads(wc.geo_spec(bits=20).to_json())
    change(obj)
    with pytest.raises(ValueError, match="malformed feature spec: " + message):
        FeatureSpec.from_json(json.dumps(obj))


def test_the_checker_agrees_with_jsonschema_on_broken_specs():
    """Our checker and an independent JSON Schema implementation reject the same documents."""
    jsonschema = pytest.importorskip("jsonschema")
    from widecross.features._schema import check

    validator = jsonschema.Draft202012Validator(spec_schema())
    base = json.loads(FeatureSpec([Categorical("c", 3), Numeric("v"), Tokens("t", 2)], bits=8).to_json())
    edits = [("bits", 0), ("bits", None), ("seed", 1.5), ("features", []), ("version", 1)]
    for key, value in edits:
        obj = {**base, key: value}
        ours = True
        try:
            check(obj, spec_schema())
        except ValueError:
            ours = False
        assert ours == validator.is_valid(obj), (key, value)
    for field, value in [("n_buckets", "3"), ("unknown", "skip"), ("min_count", 0), ("vocabulary", []), ("column", "")]:
        obj = json.loads(json.dumps(base))
        obj["features"][0][field] = value
        with pytest.raises(ValueError):
            check(obj, spec_schema())
        assert not validator.is_valid(obj), field
