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
     r"features\[0\].features\[2\]: 'type' must be one of 'bucketize', 'categorical', 'numeric', 'tokens', 'ref'; got 'cross'"),
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


def _scalar_fields(obj, path=()):
    """(path, value) of every scalar of a spec's JSON tree: the fields a fuzzer mutates."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        if isinstance(value, (dict, list)):
            yield from _scalar_fields(value, path + (key,))
        else:
            yield path + (key,), value


def _wrong_values(value):
    """Values of another JSON kind than ``value`` that no field of its kind takes (a boolean is
    no number, a number no boolean; NaN is never a valid number)."""
    if isinstance(value, bool):
        return [1, "true", None]
    if isinstance(value, (int, float)):
        return [True, float("nan"), [], {}]
    if isinstance(value, str):
        return [True, [], {}]
    return []  # null: most optional fields


def test_fuzzed_specs_fail_naming_the_mutated_field():
    """Every valid spec, mutated one field at a time into a value of the wrong kind, a duplicate or
    an unknown key, is refused with a ValueError that names the field; unmutated, it reads back
    byte for byte."""
    for spec in specs()[1:]:  # the 1' geo spec adds nothing but repetitions of its fields
        text = spec.to_json()
        assert FeatureSpec.from_json(text).to_json() == text
        base = json.loads(text)
        for path, value in _scalar_fields(base):
            field = next(str(k) for k in reversed(path) if isinstance(k, str))
            for wrong in _wrong_values(value):
                obj = json.loads(text)
                parent = obj
                for key in path[:-1]:
                    parent = parent[key]
                parent[path[-1]] = wrong
                with pytest.raises(ValueError, match=re.escape(field)):
                    FeatureSpec.from_json(json.dumps(obj))
            # The same key twice: json keeps the last one silently, the reader refuses it.
            if isinstance(path[-1], str):
                pair = f'"{path[-1]}":{json.dumps(value)}'
                twice = text.replace(pair, pair + "," + pair, 1)
                assert twice != text, pair
                with pytest.raises(ValueError, match=f"the field '{path[-1]}' is given twice"):
                    FeatureSpec.from_json(twice)
    with pytest.raises(ValueError, match="unknown field 'bogus'"):
        FeatureSpec.from_json(json.dumps({**base, "bogus": 1}))


@pytest.mark.parametrize("version", [True, 1.0, 2.0, "1", None])
def test_the_format_version_is_an_integer(version):
    obj = json.loads(FeatureSpec([Bucketize("x", 0, 1, 0.5)]).to_json())
    with pytest.raises(ValueError, match=f"format version {re.escape(repr(version))} is not supported"):
        FeatureSpec.from_json(json.dumps({**obj, "version": version}))


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


def _learned_crossed(n_values: int = 300, n_others: int = 6) -> FeatureSpec:
    """A learned vocabulary crossed with ``n_others`` learned categoricals (VW's -q of one field)."""
    rng = np.random.default_rng(0)
    data = {"user": [f"user-{v}" for v in rng.integers(0, n_values, 2_000)]}
    others = [Categorical(f"ad{k}", min_count=1) for k in range(n_others)]
    for k in range(n_others):
        data[f"ad{k}"] = [f"a{k}-{v}" for v in rng.integers(0, 20, 2_000)]
    spec = FeatureSpec({"user": [Categorical("user", min_count=1)], "ads": others}, bits=20, interactions=[("user", "ads")])
    return spec.fit(data)


def test_crosses_name_their_components_so_a_vocabulary_is_stored_once():
    spec = _learned_crossed()
    text = spec.to_json()
    obj = json.loads(text)
    assert obj["version"] == 2
    crosses = [f for f in obj["features"] if f["type"] == "cross"]
    assert len(crosses) == 6
    for cross, k in zip(crosses, range(6)):
        assert cross["features"] == [{"type": "ref", "name": "user"}, {"type": "ref", "name": f"ad{k}"}]
    assert text.count('"user-') == len(spec.features[0].vocabulary)  # each value once, not 7 times
    back = FeatureSpec.from_json(text)
    assert back == spec and back.to_json() == text
    assert back.features[-1].components[0] is back.features[0]  # the cross reads the feature itself


def test_specs_with_components_in_full_still_read():
    """Specs written before references (every cross repeating its components) read as the same spec."""
    spec = _learned_crossed(n_values=40, n_others=2)
    obj = json.loads(spec.to_json())
    defined = {f["name"]: f for f in obj["features"] if f["type"] != "cross"}
    for f in obj["features"]:
        if f["type"] == "cross":
            f["features"] = [defined[c["name"]] for c in f["features"]]
    for version in (1, 2):  # the later kinds were first written as version 1
        inline = json.dumps({**obj, "version": version})
        assert FeatureSpec.from_json(inline) == spec
        assert FeatureSpec.from_json(inline).to_json() == spec.to_json()
    X = FeatureSpec.from_json(json.dumps(obj)).transform({"user": ["user-1", "x"], "ad0": ["a0-3", "a0-4"], "ad1": ["a1-0", "y"]})
    np.testing.assert_array_equal(X.toarray(), spec.transform({"user": ["user-1", "x"], "ad0": ["a0-3", "a0-4"],
                                                               "ad1": ["a1-0", "y"]}).toarray())


def test_a_cross_differing_from_the_feature_of_its_name_is_written_in_full():
    kind = Categorical("kind", vocabulary=["a", "b"], name="kind", unknown="bucket")
    other = Categorical("kind", vocabulary=["a", "b", "c"], name="kind2")
    spec = FeatureSpec([kind, Tokens("t", 8), Cross(Categorical("kind", vocabulary=["z"], name="kind"), other)], bits=12)
    obj = json.loads(spec.to_json())
    assert obj["version"] == 2  # tokens
    assert obj["features"][2]["features"][0]["vocabulary"] == ["z"]  # same name, another definition: in full
    assert obj["features"][2]["features"][1]["type"] == "categorical"  # no feature of the spec: in full
    assert FeatureSpec.from_json(spec.to_json()) == spec


def test_first_release_specs_stay_version_1_without_references():
    for spec in (wc.geo_spec(bits=None), FeatureSpec([Categorical("c", vocabulary=["x"]), Bucketize("v", 0, 1, 0.5),
                                                      Cross(Categorical("c", vocabulary=["x"]), Bucketize("v", 0, 1, 0.5))])):
        obj = json.loads(spec.to_json())
        assert obj["version"] == 1
        assert "ref" not in json.dumps(obj["features"])


@pytest.mark.parametrize("component, message", [
    ({"type": "ref", "name": "nope"},
     r"features\[0\] \(cross\): a cross names the feature 'nope', which is no single-column feature of this spec; known: "),
    ({"type": "ref", "name": "lat x lon 1'"}, r"features\[0\] \(cross\): a cross names the feature \"lat x lon 1'\", which is no"),
    ({"type": "ref"}, r"features\[0\].features\[1\]: missing field 'name'"),
    ({"type": "ref", "name": "lat 1'", "column": "lat"}, r"features\[0\].features\[1\]: unknown field 'column'; known: name, type"),
])
def test_bad_references_name_the_cross(component, message):
    obj = json.loads(wc.geo_spec(bits=20).to_json())
    obj["version"] = 2
    obj["features"][0]["features"][1] = component
    with pytest.raises(ValueError, match="malformed feature spec: " + message):
        FeatureSpec.from_json(json.dumps(obj))


def test_unknown_versions_are_refused():
    obj = json.loads(wc.geo_spec(bits=20).to_json())
    for version in (0, 3, 1.5, "2"):
        with pytest.raises(ValueError, match="feature spec format version .* is not supported"):
            FeatureSpec.from_json(json.dumps({**obj, "version": version}))


def test_a_vocabulary_too_large_for_a_model_file_is_refused_at_save_time(tmp_path):
    """The metadata cap is checked when saving, naming the vocabulary: never an unloadable file."""
    from widecross.export import MAX_META_BYTES

    words = [f"user{i:07d}" for i in range(MAX_META_BYTES // 12)]  # 14 bytes of JSON each: above the cap
    spec = FeatureSpec([Categorical("user", vocabulary=words, unknown="bucket", name="user"), Categorical("city", 4)])
    model = wc.SparseModel([0], [1.0], 0.0, spec.n_features, "logistic", spec=spec)
    path = tmp_path / "m.wcm"
    with pytest.raises(ValueError, match=r"more than the 2,097,152 a model file holds \(2 MiB\); the largest "
                                         r"vocabularies: 'user' 174,762 values \(2,446,669 bytes\); hash large"):
        model.save(path)
    assert list(tmp_path.iterdir()) == []
    smaller = FeatureSpec([Categorical("user", vocabulary=words[:100_000], unknown="bucket", name="user")])
    saved = wc.SparseModel([0], [1.0], 0.0, smaller.n_features, "logistic", spec=smaller).save(path)
    assert wc.load(saved).spec == smaller
