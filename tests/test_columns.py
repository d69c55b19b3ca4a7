"""The column kinds users bring: numeric values, token lists, interactions, learned vocabularies.

Every kind is checked against the plain-Python reference (``reference_features.row_columns``:
one row at a time, Python integers and floats, the documented formulas), exact and hashed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import reference_features as ref
import widecross as wc
from widecross.features import Bucketize, Categorical, Cross, FeatureSpec, Numeric, Tokens

RNG = 20261204


def assert_matches_reference(spec, data, n_rows):
    X = spec.transform(data)
    rows = [{c: (data[c][i] if not hasattr(data[c], "iloc") else data[c].iloc[i]) for c in spec.columns}
            for i in range(n_rows)]
    expected = ref.transform(spec.features, spec.bits, spec.seed, {c: [r[c] for r in rows] for c in spec.columns})
    assert X.shape == expected.shape
    np.testing.assert_array_equal(X.indptr, expected.indptr)
    np.testing.assert_array_equal(X.indices, expected.indices)
    np.testing.assert_allclose(X.data, expected.data, rtol=1e-6)
    assert X.has_canonical_format and (X.data != 0).all()
    for i in range(n_rows):
        assert (np.diff(X.indices[X.indptr[i]:X.indptr[i + 1]]) > 0).all()
    return X


def table(n, seed=RNG):
    rng = np.random.default_rng(seed)
    tags = ["wifi", "pool", "sea", "garden", "lift"]
    return {
        "area": rng.uniform(20, 300, n).round(1),
        "rooms": rng.integers(0, 6, n),  # zeros store no entry
        "kind": np.array(rng.choice(["flat", "villa", "studio"], n), dtype=object),
        "tags": [list(rng.choice(tags, rng.integers(0, 4))) for _ in range(n)],
        "text": [",".join(rng.choice(tags, rng.integers(0, 4))) for _ in range(n)],
        "x": rng.uniform(0, 10, n),
    }


# ------------------------------------------------------------------------------------- Numeric
@pytest.mark.parametrize("bits", [None, 12])
def test_numeric_values_and_slopes_match_the_reference(bits):
    data = table(300)
    area = Numeric("area", scale=100.0, center=50.0)
    features = [area, Numeric("rooms"), Cross(Bucketize("x", 0, 10, 1), area, name="x x area"),
                Cross(Numeric("rooms"), area, name="rooms x area")]
    X = assert_matches_reference(FeatureSpec(features, bits=bits), data, 300)
    if bits is None:  # the per-bucket slope: the value sits in the column of the row's bucket
        first = X[:, 1 + 1:1 + 1 + 10].toarray()
        bucket = np.floor(data["x"]).astype(int)
        np.testing.assert_allclose(first[np.arange(300), bucket], (data["area"] - 50) / 100, rtol=1e-6)
        assert np.count_nonzero(first) == 300


def test_numeric_missing_and_infinite_values():
    with pytest.raises(ValueError, match=r"column 'a': 2 NaN or infinite values for numeric feature 'a'; first at row 1 \(nan\); pass missing='zero'"):
        FeatureSpec([Numeric("a")]).transform({"a": [1.0, np.nan, 2.0, np.nan]})
    with pytest.raises(ValueError, match=r"row 2 \(inf\); infinite values"):
        FeatureSpec([Numeric("a", missing="zero")]).transform({"a": [1.0, np.nan, np.inf]})
    X = FeatureSpec([Numeric("a", missing="zero"), Bucketize("b", 0, 1, 0.5)]).transform(
        {"a": np.array([1.5, None, -2.0], dtype=object), "b": [0.1, 0.2, 0.9]})
    assert X.toarray().tolist() == [[1.5, 1.0, 0.0], [0.0, 1.0, 0.0], [-2.0, 0.0, 1.0]]
    with pytest.raises(ValueError, match="beyond float32"):
        FeatureSpec([Numeric("a")]).transform({"a": [1e300]})
    with pytest.raises(TypeError, match="column 'a' must be numeric"):
        FeatureSpec([Numeric("a")]).transform({"a": ["1.0"]})
    with pytest.raises(ValueError, match="scale must be positive"):
        Numeric("a", scale=-1.0)
    with pytest.raises(ValueError, match="'standard'"):
        Numeric("a", scale="minmax")
    with pytest.raises(ValueError, match="too small"):  # 1 / scale overflows: refused when built, not at transform
        Numeric("a", scale=1e-310)
    assert Numeric("a", scale=1e-300).values([1e-300]).tolist() == [1.0]


def test_a_subnormal_spread_standardizes_as_a_constant_column():
    spec = FeatureSpec([Numeric("x", scale="standard")]).fit({"x": [0.0, 1e-310, 0.0, 1e-310]})
    assert spec.features[0].scale == 1.0
    assert np.all(np.isfinite(spec.transform({"x": [0.0, 1e-310]}).toarray()))


def test_standardization_is_learned_by_fit():
    rng = np.random.default_rng(1)
    x = rng.normal(40.0, 7.0, 5000)
    spec = FeatureSpec([Numeric("x", scale="standard", missing="zero")])
    with pytest.raises(ValueError, match=r"call spec.fit\(data\) first"):
        spec.transform({"x": x})
    assert spec.learns and not spec.__sklearn_is_fitted__()
    with_nan = np.r_[x, np.nan]
    spec.fit({"x": with_nan})  # NaN reads as 0 and does not count in the statistics
    fitted = spec.features[0]
    assert fitted.center == pytest.approx(float(np.mean(x)), rel=1e-12)
    assert fitted.scale == pytest.approx(float(np.std(x)), rel=1e-12)
    chunked = FeatureSpec([Numeric("x", scale="standard", missing="zero")]).fit_chunks(
        [{"x": with_nan[:1234]}, {"x": with_nan[1234:]}])
    assert chunked.features[0].center == pytest.approx(fitted.center, rel=1e-12)
    assert chunked.features[0].scale == pytest.approx(fitted.scale, rel=1e-12)
    values = spec.transform({"x": x}).toarray().ravel()
    np.testing.assert_allclose(values, (x - np.mean(x)) / np.std(x), rtol=1e-5, atol=1e-6)
    assert FeatureSpec([Numeric("c", "standard")]).fit({"c": [3.0, 3.0]}).features[0].scale == 1.0
    with pytest.raises(ValueError, match="no finite value"):
        FeatureSpec([Numeric("c", "standard", missing="zero")]).fit({"c": [np.nan]})


# ------------------------------------------------------------------------------------- Tokens
@pytest.mark.parametrize("bits", [None, 10, 30])
def test_tokens_and_their_crosses_match_the_reference(bits):
    data = table(250, seed=7)
    vocab = ["wifi", "pool", "sea", "garden"]
    features = [
        Tokens("tags", vocabulary=vocab, unknown="bucket"),
        Tokens("text", sep=",", vocabulary=vocab, unknown="ignore", name="text words"),
        Tokens("tags", 7, name="tags%7"),
        Cross(Tokens("tags", vocabulary=vocab, unknown="ignore", name="t"), Categorical("kind", vocabulary=["flat", "villa", "studio"])),
        Cross(Tokens("tags", 5, name="t5"), Tokens("text", sep=",", n_buckets=3, name="w3"), Numeric("area", scale=100.0)),
    ]
    if bits is not None:
        features.append(Tokens("tags", name="tags hashed"))
    assert_matches_reference(FeatureSpec(features, bits=bits), data, 250)


def test_token_inputs_and_rules():
    spec = FeatureSpec([Tokens("t", vocabulary=["a", "b", "c"], unknown="bucket")])
    rows = [["a", "b", "a"], [], None, ["c", None, "z"]]
    expected = [[2, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]]  # repeated token: value 2
    assert spec.transform({"t": rows}).toarray().tolist() == expected
    pa = pytest.importorskip("pyarrow")
    arrow = pa.array(rows)
    dictionary_items = pa.array(rows, pa.list_(pa.dictionary(pa.int8(), pa.string())))
    for form in (arrow, pa.chunked_array([arrow.slice(0, 1), arrow.slice(1)]), arrow.cast(pa.large_list(pa.string())),
                 np.array(rows, dtype=object), [tuple(r) if r else r for r in rows], dictionary_items):
        assert spec.transform({"t": form}).toarray().tolist() == expected
    split = FeatureSpec([Tokens("t", sep=" | ", vocabulary=["a", "b"], unknown="ignore")])
    assert split.transform({"t": ["a | b |  | a", "", None, "x | b"]}).toarray().tolist() == [[2, 1], [0, 0], [0, 0], [0, 1]]
    with pytest.raises(ValueError, match=r"column 't': 1 out-of-vocabulary token; first in row 3 \('z'\)"):
        FeatureSpec([Tokens("t", vocabulary=["a", "b", "c"])]).transform({"t": rows})
    with pytest.raises(TypeError, match="holds text, not lists: pass sep="):
        FeatureSpec([Tokens("t", 4)], bits=8).transform({"t": ["a b", "c"]})
    with pytest.raises(TypeError, match="sep= splits text, but the column holds integers"):
        FeatureSpec([Tokens("t", 4, sep=",")]).transform({"t": [1, 2]})
    ints = FeatureSpec([Tokens("t", vocabulary=[10, 20])])
    assert ints.transform({"t": [[10, 20, 20], [20]]}).toarray().tolist() == [[1, 2], [0, 1]]


def test_tokens_in_every_container():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    data = table(60, seed=3)
    spec = FeatureSpec([Tokens("tags", 11), Tokens("text", sep=",", n_buckets=13)], bits=None)
    expected = spec.transform(data)
    forms = [pd.DataFrame({"tags": data["tags"], "text": data["text"]}),
             pl.DataFrame({"tags": data["tags"], "text": data["text"]}),
             pa.table({"tags": data["tags"], "text": data["text"]})]
    for form in forms:
        assert (spec.transform(form) != expected).nnz == 0


# ------------------------------------------------------------------------------------- inputs
def string_forms(values):
    """The same string column in every container the transform reads (value None = missing)."""
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    arrow = pa.array(values)
    forms = {
        "list": list(values), "object": np.array(values, dtype=object),
        "pandas object": pd.Series(values, dtype=object), "pandas str": pd.Series(values, dtype="string[pyarrow]"),
        "pandas categorical": pd.Series(pd.Categorical(values)), "polars": pl.Series(values),
        "polars categorical": pl.Series(values).cast(pl.Categorical), "arrow": arrow,
        "large_string": arrow.cast(pa.large_string()), "string_view": arrow.cast(pa.string_view()),
        "dictionary": arrow.dictionary_encode(), "chunked": pa.chunked_array([arrow.slice(0, 3), arrow.slice(3)]),
        "binary": pa.array([None if v is None else v.encode() for v in values], pa.binary()),
    }
    if all(v is not None for v in values):
        forms["numpy U"] = np.array(values)
        forms["numpy S"] = np.array([v.encode() for v in values])
    return forms


@pytest.mark.parametrize("missing", [False, True])
def test_every_container_gives_the_same_matrix(missing):
    values = ["oslo", "lima", "", "東京", "São Paulo", "oslo", "a\0b", "lima"]
    if missing:
        values[2] = values[5] = None
    specs = [FeatureSpec([Categorical("c", unknown="bucket"), Categorical("c", 5, unknown="bucket", name="c5")], bits=20),
             FeatureSpec([Categorical("c", vocabulary=["lima", "東京", "a\0b", "oslo"], unknown="bucket")]),
             FeatureSpec([Tokens("c", sep="o", n_buckets=9)])]
    for spec in specs:
        expected = ref.transform(spec.features, spec.bits, spec.seed, {"c": values})
        for name, form in string_forms(values).items():
            X = spec.transform({"c": form})
            assert (X != expected).nnz == 0 and (X.indices == expected.indices).all(), name


def test_pandas_polars_arrow_tables_give_identical_csr():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    data = table(200, seed=5)
    spec = FeatureSpec([Categorical("kind", vocabulary=["flat", "villa", "studio"]), Numeric("area", 100.0),
                        Tokens("tags", 16), Cross(Categorical("kind", 4), Bucketize("x", 0, 10, 2))], bits=None)
    plain = {k: data[k] for k in ("kind", "area", "tags", "x")}
    expected = spec.transform(plain)
    frame = pd.DataFrame(plain)
    for form in (frame, frame.astype({"kind": "string[pyarrow]"}), pl.DataFrame(plain), pa.table(plain),
                 pa.table(plain).to_batches()[0]):
        X = spec.transform(form)
        np.testing.assert_array_equal(X.indices, expected.indices)
        np.testing.assert_array_equal(X.data, expected.data)


def test_strings_are_hashed_without_python_objects_per_value():
    """NumPy U arrays and Arrow strings never become Python strings on the hashing path."""
    import widecross.features._columns as columns

    calls = []
    original = columns.Text.values_at
    columns.Text.values_at = lambda self, rows: calls.append(rows.size) or original(self, rows)
    try:
        spec = FeatureSpec([Categorical("c", 1000)], bits=None)
        spec.transform({"c": np.array(["x%d" % i for i in range(5000)])})
        pa = pytest.importorskip("pyarrow")
        spec.transform({"c": pa.array(["x%d" % i for i in range(5000)])})
    finally:
        columns.Text.values_at = original
    assert calls == []


def test_bad_strings_are_named():
    with pytest.raises(ValueError, match=r"row 1 holds '\\ud800', which is not valid Unicode"):
        Categorical("c", 3).ids(np.array(["a", "\ud800"]))
    with pytest.raises(ValueError, match=r"bytes value b'\\xff' is not UTF-8"):
        Categorical("c", 3).ids(np.array([b"a", b"\xff"]))
    with pytest.raises(TypeError, match=r"row 1 holds float"):
        Categorical("c", 3).ids(np.array(["a", 1.5], dtype=object))


# ------------------------------------------------------------------------------------- fit
def test_fit_learns_vocabularies_with_a_minimum_count_and_an_unknown_bucket():
    kinds = ["flat"] * 5 + ["villa"] * 3 + ["studio"] * 3 + ["loft"]
    tags = [["a", "b"]] * 4 + [["c"]] + [[]] * 7
    spec = FeatureSpec([Categorical("kind", min_count=2), Tokens("tags", max_size=2),
                        Cross(Categorical("kind", min_count=2), Bucketize("x", 0, 1, 0.5))], bits=None)
    spec.fit({"kind": kinds, "tags": tags, "x": np.linspace(0, 1, 12)})
    kind = spec.features[0]
    assert kind.vocabulary == ("flat", "studio", "villa") and kind.unknown == "bucket" and kind.name == "kind"
    assert spec.features[1].vocabulary == ("a", "b")  # the two most frequent
    assert spec.features[2].components[0] == kind and spec.features[2].name == "kind x x[0.0,1.0]/2"
    assert spec.n_features == 4 + 3 + 4 * 2
    X = spec.transform({"kind": ["loft", "villa", "castle"], "tags": [["c"], ["a"], []], "x": [0.1, 0.9, 0.5]})
    assert X[:, :4].toarray().tolist() == [[0, 0, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]]  # rare and unseen: the unknown id
    refit = FeatureSpec.from_json(spec.to_json()).fit({"kind": ["loft"] * 2, "tags": [["z"]] * 2, "x": [0.0, 0.0]})
    assert refit.features[0].vocabulary == ("loft",)  # a learned vocabulary is learned again
    with pytest.raises(ValueError, match="no value is seen min_count=3 times"):
        FeatureSpec([Categorical("k", min_count=3)]).fit({"k": ["a", "b"]})


def test_exact_specs_say_what_fit_must_learn():
    with pytest.raises(ValueError, match=r"min_count= to learn the vocabulary in fit.*\['kind'\]"):
        FeatureSpec([Categorical("kind")], bits=None)
    spec = FeatureSpec([Categorical("kind", min_count=1)], bits=None)
    with pytest.raises(ValueError, match=r"learns from data before it can featurize \('kind'\)"):
        spec.transform({"kind": ["a"]})
    with pytest.raises(ValueError, match="call spec.fit"):
        spec.n_features
    assert "learned in fit" in repr(spec)
    hashed = FeatureSpec([Categorical("kind")], bits=20)  # unfitted: the 64-bit value hash, as always
    assert hashed.transform({"kind": ["a"]}).indices.tolist() == [ref.hashed_column("kind", [ref.signed(ref.value_key("a"))], 20, 0)]


def test_colliding_hashed_categoricals_warn_naming_the_values():
    data = {"kind": ["flat", "villa", "house", "studio", "flat"]}
    with pytest.warns(UserWarning, match=r"Categorical 'kind%16': 3 of 4 observed values share buckets of n_buckets=16 .*'flat'.*'studio'.*'villa'|'villa'.*'flat'"):
        FeatureSpec([Categorical("kind", 16)], bits=None).fit(data)
    values = [f"v{i}" for i in range(40)]
    with pytest.warns(UserWarning, match=r"share columns of the 2\*\*4 hashed ones"):
        FeatureSpec([Categorical("c")], bits=4).fit({"c": values})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FeatureSpec([Categorical("kind", vocabulary=["flat", "villa"])], bits=None).fit({"kind": ["flat", "villa"]})
        FeatureSpec([Categorical("kind")], bits=24).fit(data)  # learned: no bucket shared


# ------------------------------------------------------------------------------------- interactions
def test_interactions_between_groups():
    geo = [Bucketize("lat", -90, 90, 1), Bucketize("lon", -180, 180, 1, wrap=True)]
    kind, tags = Categorical("kind", 4), Tokens("tags", 8)
    spec = FeatureSpec({"geo": geo, "kind": [kind], "tags": [tags]}, bits=20,
                       interactions=[("geo", "kind"), ("kind", "tags"), ("geo", "geo")])
    names = [f.name for f in spec.features]
    assert names[4:] == [f"{geo[0].name} x kind%4", f"{geo[1].name} x kind%4", "kind%4 x tags%8",
                         f"{geo[0].name} x {geo[1].name}"]
    assert [c.name for c in Cross.pairs([kind, tags], geo)] == [f"kind%4 x {geo[0].name}", f"kind%4 x {geo[1].name}",
                                                                f"tags%8 x {geo[0].name}", f"tags%8 x {geo[1].name}"]
    by_name = FeatureSpec([kind, tags], interactions=[("kind%4", "tags%8")])
    assert [f.name for f in by_name.features][-1] == "kind%4 x tags%8"
    with pytest.raises(KeyError, match=r"names 'nope', which is neither a group nor a feature"):
        FeatureSpec([kind], interactions=[("kind%4", "nope")])
    with pytest.raises(ValueError, match="two or more groups"):
        FeatureSpec([kind], interactions=["kind%4"])


# ------------------------------------------------------------------------------------- scikit-learn
def test_spec_in_a_pipeline_and_column_transformer():
    pytest.importorskip("sklearn")
    pd = pytest.importorskip("pandas")
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    rng = np.random.default_rng(2)
    n = 3000
    frame = pd.DataFrame({"x": rng.uniform(0, 10, n), "kind": rng.choice(["a", "b", "c"], n), "v": rng.normal(size=n)})
    y = ((frame.x > 5) ^ (frame.kind == "a")).to_numpy().astype(int)
    spec = FeatureSpec([Cross(Bucketize("x", 0, 10, 1), Categorical("kind")), Numeric("v", "standard")], bits=18)
    pipe = Pipeline([("spec", spec), ("clf", wc.WideClassifier(random_state=0))])
    params = pipe.get_params()
    assert params["spec__bits"] == 18 and params["spec__features"] is spec.get_params()["features"]
    pipe.fit(frame, y)
    assert pipe.score(frame, y) > 0.97  # the XOR needs the cross
    assert pipe.predict(frame.iloc[:7]).shape == (7,)
    twin = clone(pipe)
    assert twin.named_steps["spec"] is not spec and not twin.named_steps["spec"].__sklearn_is_fitted__()
    assert twin.named_steps["spec"].features[0].components[1].vocabulary is None
    twin.fit(frame, y)
    np.testing.assert_array_equal(twin.predict_proba(frame), pipe.predict_proba(frame))
    pipe.set_params(spec__bits=20)
    assert pipe.named_steps["spec"].bits == 20 and not pipe.named_steps["spec"].__sklearn_is_fitted__()
    ct = ColumnTransformer([("wide", FeatureSpec([Categorical("kind", min_count=1)]), ["kind"]),
                            ("raw", "passthrough", ["v"])], sparse_threshold=1.0)
    out = ct.fit_transform(frame)
    assert sp.issparse(out) and out.shape == (n, 4 + 1)
    named = FeatureSpec([Categorical("kind", min_count=1)]).fit(frame)
    assert named.get_feature_names_out().tolist() == [
        *(f"kind: kind = {v!r}" for v in named.features[0].vocabulary), "kind: kind missing or unknown"]
    assert sorted(named.features[0].vocabulary) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="have no names"):
        spec.get_feature_names_out()
    with pytest.raises(ValueError, match="sparse matrix"):
        spec.set_output(transform="pandas")
    assert spec.set_output(transform="default") is spec


# ------------------------------------------------------------------------------------- model
def test_numeric_and_token_models_save_load_and_predict_from_raw_columns(tmp_path):
    data = table(2000, seed=9)
    rng = np.random.default_rng(9)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(data["area"] - 150) / 50))).astype(int)
    spec = FeatureSpec([Numeric("area", "standard"), Tokens("tags"), Categorical("kind")], bits=16).fit(data)
    clf = wc.WideClassifier(spec, random_state=0).fit(data, y)
    path = clf.model_.save(tmp_path / "m.wcm")
    model = wc.load(path)
    assert model.spec == spec
    np.testing.assert_allclose(model.predict_proba(data), clf.predict_proba(data), rtol=1e-6)
    area_weight = model.get_weights(spec.transform({"area": [1.0], "tags": [[]], "kind": ["flat"]}).indices[:1])
    assert area_weight[0] > 0  # larger areas: label 1


def test_real_values_reach_the_trainer_unchanged():
    """A Numeric feature trains like the same values in a hand-built CSR."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-2 * x))).astype(int)
    spec = FeatureSpec([Numeric("x")])
    via_spec = wc.WideClassifier(spec, l1=0.0, random_state=0).fit({"x": x}, y)
    hand = sp.csr_matrix(x.astype(np.float32).reshape(-1, 1))
    via_csr = wc.WideClassifier(l1=0.0, random_state=0).fit(hand, y)
    assert via_spec.model_.values.tolist() == via_csr.model_.values.tolist()
    assert 1.6 < float(via_spec.model_.values[0]) < 2.4


# ------------------------------------------------------------------------------------- the newcomer's table
def test_a_learned_property_type_beats_a_colliding_hashed_one():
    """flat and villa move the price in opposite directions: hashed together they cancel out."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.realestate import make_realestate
    from widecross.metrics import log_loss

    data = make_realestate(60_000, seed=1)
    train = {k: v[:48_000] for k, v in data.items()}
    test = {k: v[48_000:] for k, v in data.items()}
    geo = list(wc.geo_spec(resolutions=(60, 10), bits=None).features)
    scores = {}
    for name, kind in (("hashed", Categorical("kind", 16)), ("learned", Categorical("kind", min_count=1))):
        spec = FeatureSpec(geo + [kind], bits=None)
        if name == "hashed":
            with pytest.warns(UserWarning, match=r"share buckets of n_buckets=16.*'flat'.*'villa'|'villa'.*'flat'"):
                spec.fit(train)
        else:
            spec.fit(train)
        clf = wc.WideClassifier(spec, l1=1e-5, random_state=0).fit(train, train["label"])
        scores[name] = log_loss(test["label"], clf.predict_proba(test)[:, 1])
    base = log_loss(test["label"], np.full(12_000, train["label"].mean()))
    assert scores["learned"] < scores["hashed"] - 0.08 and scores["hashed"] < base


def test_fit_and_predict_take_every_table_container():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    data = table(800, seed=11)
    plain = {k: data[k] for k in ("kind", "area", "tags", "x")}
    y = (data["area"] > 150).astype(int)
    spec = FeatureSpec([Categorical("kind", min_count=1), Numeric("area", "standard"), Tokens("tags", min_count=1),
                        Bucketize("x", 0, 10, 1)], bits=None).fit(plain)
    forms = [pd.DataFrame(plain), pl.DataFrame(plain), pa.table(plain), pa.table(plain).to_batches()[0]]
    expected = wc.WideClassifier(spec, random_state=0).fit(plain, y)
    for form in forms:
        clf = wc.WideClassifier(spec, random_state=0).fit(form, y)
        np.testing.assert_array_equal(clf.model_.values, expected.model_.values)
        np.testing.assert_array_equal(clf.predict_proba(form), expected.predict_proba(plain))
        np.testing.assert_array_equal(clf.model_.predict_proba(form), expected.predict_proba(plain))


def test_recorded_keys_describe_tokens_and_numerics():
    spec = FeatureSpec([Tokens("tags", sep=","), Cross(Tokens("tags", sep=",", name="t2"), Numeric("area")), Numeric("area")],
                       bits=12)
    data = {"tags": ["pool,wifi", "wifi", ""], "area": [50.0, 70.0, 0.0]}
    keys = spec.record(data)
    X = spec.transform({"tags": ["wifi"], "area": [2.0]})
    texts = sorted(t for c in X.indices for t in spec.inverse(int(c), keys))
    wifi = f"tags hash {ref.value_key('wifi'):#018x} (seen: 'wifi')"
    assert f"tags: {wifi}" in texts and "area: area (value)" in texts
    assert f"t2 x area: {wifi} x area (value)" in texts
