"""Bucketizer, categoricals, crosses and FeatureSpec against the plain-Python reference."""

from __future__ import annotations

import doctest
import json
import math
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import reference_features as ref
import widecross as wc
from widecross import _hashing as hk
from widecross import _validation
from widecross import features as feat
from widecross.features import _plan, _schema, bucketize, categorical, cross, keyrecord, numeric, tokens
from widecross.features import spec as spec_module
from widecross.features import Bucketize, Categorical, Cross, FeatureSpec, KeyRecord, geo_spec

RNG_SEED = 20240601


def ref_ids(feature, values):
    return np.array([ref.component_id(feature, v) for v in values], dtype=np.int64)


def assert_canonical(X, n_features):
    assert isinstance(X, sp.csr_matrix)
    assert X.shape[1] == n_features
    assert X.data.dtype == np.float32
    assert X.indices.dtype == X.indptr.dtype
    for i in range(X.shape[0]):
        row = X.indices[X.indptr[i] : X.indptr[i + 1]]
        assert (np.diff(row) > 0).all(), f"row {i} not strictly increasing: {row}"
    assert (X.data != 0).all()


def assert_same_csr(A, B):
    assert A.shape == B.shape
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    np.testing.assert_array_equal(A.data, B.data)


def geo_points(n, seed=RNG_SEED):
    rng = np.random.default_rng(seed)
    return {"lat": rng.uniform(-90, 90, n), "lon": rng.uniform(-180, 180, n)}


@pytest.mark.parametrize("module", [feat, bucketize, categorical, cross, keyrecord, numeric, spec_module, tokens,
                                    _schema, _validation, hk], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, extraglobs=vars(feat), optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_public_names_resolve_to_this_module():
    for name in ("Bucketize", "Categorical", "Cross", "FeatureSpec", "geo_spec"):
        assert getattr(wc, name) is getattr(feat, name)


# ------------------------------------------------------------------------------------------
# The hash is part of the model format: pin it.


def test_mixer_and_fnv_match_published_values():
    # splitmix64 seeded with 0 yields mix64(k * GOLDEN) for k = 1, 2, 3.
    assert hk.mix(0x9E3779B97F4A7C15) == 0xE220A8397B1DCDAF
    assert hk.mix(2 * 0x9E3779B97F4A7C15) == 0x6E789E6AA1B965F4
    assert hk.mix(3 * 0x9E3779B97F4A7C15) == 0x06C45D188009454F
    # 64-bit FNV-1a test vectors.
    assert hk.fnv1a64(b"") == 0xCBF29CE484222325
    assert hk.fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert hk.fnv1a64(b"foobar") == 0x85944171F73967E8
    for z in [0, 1, 2**63, 2**64 - 1, 0x0123456789ABCDEF]:
        assert hk.mix(z) == ref.mix64(z)


def test_mixer_stays_uint64_inside_numba():
    hk.mix64(np.uint64(5))
    (signature,) = [s for s in hk.mix64.nopython_signatures if str(s.args[0]) == "uint64"]
    assert str(signature.return_type) == "uint64"
    out = np.empty(3, dtype=np.uint64)
    hk.int_keys(np.array([0, -1, 2**62], dtype=np.int64), out)
    assert out.dtype == np.uint64
    assert [int(v) for v in out] == [ref.value_key(v) for v in (0, -1, 2**62)]


def test_pinned_categorical_keys():
    keys = feat.value_keys(["abc", 42, -1, ""])
    assert [int(k) for k in keys] == [0x04E8E26C3FED179A, 0xBDD732262FEB6E95, 0xDE0A564CBCD060C4, 0xBE6583955BD1F97D]
    assert [int(k) for k in keys] == [ref.value_key(v) for v in ["abc", 42, -1, ""]]


def test_pinned_geo_columns():
    pts = {"lat": np.array([48.8566, -33.8688, 0.0, 90.0]), "lon": np.array([2.3522, 151.2093, 0.0, 180.0])}
    X = geo_spec(bits=24).transform(pts)
    assert X.indices.tolist() == [
        7420894, 7627258, 7682071, 9960612, 14585841,
        1324375, 6379983, 8736241, 10354122, 11495227,
        1857726, 7831261, 8162451, 13469228, 15044119,
        1103118, 4036289, 5414290, 8952306, 13212573,
    ]
    X1 = geo_spec(bits=24, seed=1).transform(pts)
    assert X1.indices[:5].tolist() == [4247159, 4828699, 6661092, 12049530, 16126535]


# ------------------------------------------------------------------------------------------
# Bucket ids.

LAT_1 = Bucketize("lat", -90, 90, 1 / 60)
LON_1 = Bucketize("lon", -180, 180, 1 / 60, wrap=True)


def edge_values(start, stop, n):
    """Both ends, -0.0, every k-th bucket boundary and its neighbours one ulp below and above."""
    k = np.arange(0, n + 1, max(1, n // 97))
    bounds = start + k * ((stop - start) / n)
    bounds = np.clip(np.concatenate([bounds, [start, stop, 0.0, -0.0]]), start, stop)
    below = np.nextafter(bounds, -np.inf)
    above = np.nextafter(bounds, np.inf)
    values = np.concatenate([bounds, below, above])
    return values[(values >= start) & (values <= stop)]


@pytest.mark.parametrize(
    "feature",
    [
        LAT_1,
        LON_1,
        Bucketize("lat", -90, 90, 10 / 60),
        Bucketize("lon", -180, 180, 1, wrap=True),
        Bucketize("x", 0, 1, n_buckets=7),
        Bucketize("x", -3.5, 12.25, 0.25),
        Bucketize("x", boundaries=[-1.0, 0.0, 0.5, 2.0, 10.0]),
        Bucketize("x", boundaries=[0.0, 1.0, 5.0], wrap=True),
    ],
    ids=lambda f: f.name,
)
def test_bucket_ids_match_reference_at_random_and_edge_values(feature):
    rng = np.random.default_rng(RNG_SEED)
    random = rng.uniform(feature.start, feature.stop, 20_000)
    edges = edge_values(feature.start, feature.stop, feature.n_buckets)
    if feature.boundaries is not None:
        b = np.array(feature.boundaries)
        edges = np.concatenate([edges, b, np.nextafter(b, -np.inf), np.nextafter(b, np.inf)])
        edges = edges[(edges >= feature.start) & (edges <= feature.stop)]
    values = np.concatenate([random, edges])
    got = feature.bucket(values)
    np.testing.assert_array_equal(got, ref_ids(feature, values))
    assert got.min() >= 0 and got.max() < feature.n_buckets
    order = np.argsort(values, kind="stable")
    ids = got[order]
    if feature.wrap:
        ids = ids[values[order] < feature.stop]
    assert (np.diff(ids) >= 0).all(), "bucket ids must not decrease as values grow"


def test_bucket_conventions_poles_antimeridian_and_negative_zero():
    assert LAT_1.bucket([-90.0, 90.0, np.nextafter(90.0, 0), 0.0, -0.0]).tolist() == [0, 10799, 10799, 5400, 5400]
    assert LON_1.bucket([-180.0, 180.0, np.nextafter(180.0, 0), -0.0, 0.0]).tolist() == [0, 0, 21599, 10800, 10800]
    # 1/60-degree buckets are exactly floor((lat + 90) * 60).
    lat = np.random.default_rng(1).uniform(-90, 90, 10_000)
    np.testing.assert_array_equal(LAT_1.bucket(lat), np.minimum(np.floor((lat + 90) * 60), 10799).astype(np.int64))


def test_boundaries_are_exact_when_the_offset_is():
    # From start 0 the offset x - start is exact: k is in bucket k, the double just below k in k - 1.
    deg = Bucketize("x", 0, 180, 1)
    k = np.arange(1, 180, dtype=np.float64)
    np.testing.assert_array_equal(deg.bucket(k), k.astype(np.int64))
    np.testing.assert_array_equal(deg.bucket(np.nextafter(k, -np.inf)), (k - 1).astype(np.int64))
    # From -90 the offset x + 90 is rounded: the float64 formula (the documented definition)
    # puts the double just below -31 with -31, and edges() reports that exact double range.
    lat = Bucketize("lat", -90, 90, 1)
    below = np.nextafter(-31.0, -np.inf)
    assert lat.bucket([below, -31.0]).tolist() == [59, 59] == [math.floor((below + 90) * 1.0)] * 2
    low, high = lat.edges([58, 59])
    assert low[1] == below and high[0] == below


@pytest.mark.parametrize("feature", [LAT_1, LON_1, Bucketize("x", -3.5, 12.25, 0.25), Bucketize("lat", -90, 90, 1)],
                         ids=lambda f: f.name)
def test_edges_are_the_exact_double_ranges_of_the_rule(feature):
    ids = np.random.default_rng(2).integers(1, feature.n_buckets, 3000)
    low, high = feature.edges(ids)
    np.testing.assert_array_equal(feature.bucket(low), ids)
    np.testing.assert_array_equal(feature.bucket(np.nextafter(low, -np.inf)), ids - 1)
    inside = high < feature.stop
    np.testing.assert_array_equal(feature.bucket(np.nextafter(high, -np.inf)), ids)
    np.testing.assert_array_equal(feature.bucket(high[inside]), ids[inside] + 1)


def test_edges_contain_their_values():
    values = np.random.default_rng(3).uniform(-180, 180, 5000)
    low, high = LON_1.edges(LON_1.bucket(values))
    assert ((low <= values + 1e-9) & (values < high + 1e-9)).all()
    low, high = LAT_1.edges([0, 10799])
    assert low[0] == -90.0 and high[1] == 90.0
    b = Bucketize("x", boundaries=[-np.inf, 0.0, np.inf])
    assert b.edges([0, 1]) == (pytest.approx([-np.inf, 0.0]), pytest.approx([0.0, np.inf]))
    assert b.bucket([-np.inf, -1e300, 0.0, np.inf]).tolist() == [0, 0, 1, 1]


def test_out_of_range_policies():
    values = np.array([-91.0, 91.0, np.inf, -np.inf, 45.0])
    clip = Bucketize("lat", -90, 90, 1, out_of_range="clip")
    assert clip.bucket(values).tolist() == [0, 179, 179, 0, 135]
    wrap_clip = Bucketize("lon", -180, 180, 1, wrap=True, out_of_range="clip")
    assert wrap_clip.bucket([-181.0, 181.0, 10.0]).tolist() == [0, 0, 190]
    with pytest.raises(ValueError, match=r"column 'lat': 1 NaN value .*row 1 .*out_of_range='bucket'"):
        clip.bucket([0.0, np.nan])
    extra = Bucketize("lat", -90, 90, 1, out_of_range="bucket")
    assert extra.size == 181
    assert extra.bucket(np.append(values, np.nan)).tolist() == [180, 180, 180, 180, 135, 180]
    np.testing.assert_array_equal(extra.bucket(values), ref_ids(extra, values))
    assert "out of range" in extra.describe(180)


# The documented rule (docs/format.md, "Bucket id of a bucketize component"), per policy and wrap,
# for a column over [-180, 180] in 360 buckets: values below, at start, inside, at stop, above,
# -inf, +inf; None: the policy refuses the value (NaN: refused unless "bucket", which gives 360).
POLICY_TABLE = {
    ("error", False): [None, 0, 190, 359, None, None, None],
    ("error", True): [None, 0, 190, 0, None, None, None],
    ("clip", False): [0, 0, 190, 359, 359, 0, 359],
    ("clip", True): [0, 0, 190, 0, 0, 0, 0],  # start and stop are one point: both sides clip to it
    ("bucket", False): [360, 0, 190, 359, 360, 360, 360],
    ("bucket", True): [360, 0, 190, 0, 360, 360, 360],
}
POLICY_VALUES = [-181.0, -180.0, 10.5, 180.0, 270.0, -np.inf, np.inf]


@pytest.mark.parametrize("policy, wrap", list(POLICY_TABLE), ids=lambda v: str(v))
@pytest.mark.parametrize("kind", ["uniform", "boundaries"])
def test_every_out_of_range_policy_follows_the_documented_table(policy, wrap, kind):
    if kind == "uniform":
        feature = Bucketize("lon", -180, 180, 1, wrap=wrap, out_of_range=policy, name="lon")
    else:
        feature = Bucketize("lon", boundaries=np.arange(-180.0, 181.0), wrap=wrap, out_of_range=policy, name="lon")
    spec = FeatureSpec([feature])
    for value, expected in zip(POLICY_VALUES + [np.nan], POLICY_TABLE[policy, wrap] + [360 if policy == "bucket" else None]):
        if expected is None:
            with pytest.raises(ValueError, match=r"column 'lon': 1 (NaN )?value.* row 0"):
                feature.bucket([value])
            with pytest.raises(ValueError, match=r"column 'lon': 1 (NaN )?value.* row 1"):
                spec.transform({"lon": [0.0, value]})
        else:
            assert feature.bucket([value]).tolist() == [expected], value
            assert spec.transform({"lon": [value]}).indices.tolist() == [expected], value


def test_bad_values_raise_naming_column_first_row_and_count():
    spec = geo_spec(bits=20)
    lat = np.array([0.0, 10.0, 91.0, np.nan, 5.0, -np.inf])
    with pytest.raises(ValueError) as info:
        spec.transform({"lat": lat, "lon": np.zeros(6)})
    message = str(info.value)
    assert "column 'lat'" in message and "3 values" in message and "row 2" in message and "91.0" in message
    with pytest.raises(ValueError, match=r"column 'lon': 1 value .*row 0 "):
        spec.transform({"lat": np.zeros(2), "lon": np.array([180.5, 0.0])})
    # Row numbers count across chunks.
    chunks = [{"lat": np.zeros(4), "lon": np.zeros(4)}, {"lat": np.array([0.0, np.nan]), "lon": np.zeros(2)}]
    with pytest.raises(ValueError, match=r"1 value .* in chunk 1 .*row 5 \(row 1 of chunk 1\)"):
        list(spec.transform_chunks(chunks))
    # A bad value far into a large input (past the first kernel block).
    lat = np.zeros(20_000)
    lat[[15_000, 19_999]] = 100.0
    with pytest.raises(ValueError, match=r"2 values .*row 15000 "):
        spec.transform({"lat": lat, "lon": np.zeros(20_000)})


# ------------------------------------------------------------------------------------------
# Exact indexing and hashing.


def test_geo_exact_layout_and_bijection_with_cells():
    spec = geo_spec(bits=None)
    assert spec.n_features == 235_710_000 == 64_800 + 2_332_800 + 233_280_000 + 10_800 + 21_600
    assert spec.offsets == (0, 64_800, 2_397_600, 235_677_600, 235_688_400, 235_710_000)
    assert spec.index_dtype is np.int32
    rng = np.random.default_rng(5)
    i = rng.integers(0, 10_800, 50_000)
    j = rng.integers(0, 21_600, 50_000)
    pts = {"lat": -90 + (i + 0.5) / 60, "lon": -180 + (j + 0.5) / 60}
    X = spec.transform(pts)
    cols = X.indices.reshape(-1, 5)
    np.testing.assert_array_equal(cols[:, 2], 2_397_600 + i * 21_600 + j)
    feature, buckets = spec.decode(cols[:, 2])
    assert (feature == 2).all()
    np.testing.assert_array_equal(buckets, np.column_stack([i, j]))
    # Distinct cells <-> distinct columns.
    assert np.unique(cols[:, 2]).size == np.unique(i * 21_600 + j).size
    # Every 1-degree cell centre once: exactly the columns 0 .. 64,799.
    ii, jj = np.meshgrid(np.arange(180), np.arange(360), indexing="ij")
    X = spec.transform({"lat": -89.5 + ii.ravel(), "lon": -179.5 + jj.ravel()})
    np.testing.assert_array_equal(np.sort(X.indices[::5]), np.arange(64_800))
    f, b = spec.decode(X.indices[::5])
    np.testing.assert_array_equal(b, np.column_stack([ii.ravel(), jj.ravel()]))


def test_exact_decode_round_trips_every_feature():
    spec = geo_spec(bits=None)
    rng = np.random.default_rng(6)
    cols = rng.integers(0, spec.n_features, 20_000)
    feature, buckets = spec.decode(cols)
    for f in range(len(spec.features)):
        rows = feature == f
        arity = spec.features[f].arity
        assert (buckets[rows, arity:] == -1).all()
        back = [ref.exact_column(spec.features, f, b[:arity]) for b in buckets[rows][:200]]
        assert back == cols[rows][:200].tolist()
    with pytest.raises(ValueError, match="outside"):
        spec.decode([spec.n_features])
    with pytest.raises(ValueError, match="record the keys"):
        geo_spec(bits=20).decode([1])


MIXED = [
    Cross(Bucketize("x", 0, 10, 0.5), Categorical("c", 7), Bucketize("y", boundaries=[-1.0, 0.0, 3.0])),
    Bucketize("x", boundaries=[0.0, 2.5, 10.0], name="x coarse"),
    Categorical("c", vocabulary=["a", "b", 3], unknown="bucket"),
    Cross(Categorical("c", 5), Bucketize("y", -1, 3, n_buckets=4, out_of_range="clip")),
]


def mixed_data(n, seed):
    rng = np.random.default_rng(seed)
    c = rng.choice(np.array(["a", "b", "zz", 3, 17, "é"], dtype=object), n)
    return {"x": rng.uniform(0, 10, n), "y": rng.uniform(-1, 3, n), "c": c}


@pytest.mark.parametrize("bits", [None, 24, 10, 2])
@pytest.mark.parametrize("seed", [0, 2**64 - 1])
def test_transform_matches_reference(bits, seed):
    data = mixed_data(400, seed=bits or 1)
    spec = FeatureSpec(MIXED, bits=bits, seed=seed)
    X = spec.transform(data)
    assert_canonical(X, spec.n_features)
    assert_same_csr(X, ref.transform(spec.features, bits, seed, data))
    geo = geo_spec(bits=bits, seed=seed)
    pts = geo_points(300, seed=7)
    assert_same_csr(geo.transform(pts), ref.transform(geo.features, bits, seed, pts))


def test_hashed_collisions_within_a_row_are_summed():
    spec = FeatureSpec([Bucketize("x", 0, 1, n_buckets=4, name=f"f{i}") for i in range(5)], bits=1)
    data = {"x": np.linspace(0, 1, 50)}
    X = spec.transform(data)
    assert_canonical(X, 2)
    assert (X.sum(axis=1).A1 == 5).all()
    assert X.nnz < 5 * 50 and (X.data > 1).any()
    assert_same_csr(X, ref.transform(spec.features, 1, 0, data))


def test_hashed_column_is_a_function_of_the_cell():
    spec = FeatureSpec([Cross(LAT_1, LON_1)], bits=22)
    rng = np.random.default_rng(8)
    i = rng.integers(0, 10_800, 2_000)
    j = rng.integers(0, 21_600, 2_000)
    lat = -90 + (i + rng.uniform(0.01, 0.99, (3, 2_000))) / 60
    lon = -180 + (j + rng.uniform(0.01, 0.99, (3, 2_000))) / 60
    cols = [spec.transform({"lat": lat[k], "lon": lon[k]}).indices for k in range(3)]
    np.testing.assert_array_equal(cols[0], cols[1])
    np.testing.assert_array_equal(cols[0], cols[2])
    expected = [ref.hashed_column(spec.features[0].name, (a, b), 22, 0) for a, b in zip(i[:300], j[:300])]
    assert cols[0][:300].tolist() == expected


@pytest.mark.parametrize("layout", ["random", "contiguous"])
@pytest.mark.parametrize("load", [0.25, 1.0, 3.0])
def test_hash_spreads_like_uniform(layout, load):
    bits = 16
    m = 1 << bits
    u = int(load * m)
    spec = FeatureSpec([Cross(LAT_1, LON_1)], bits=bits, seed=3)
    if layout == "random":
        cells = np.random.default_rng(9).choice(10_800 * 21_600, size=u, replace=False)
        i, j = cells // 21_600, cells % 21_600
    else:  # a compact block of neighbouring cells: the case a weak mixer gets wrong
        side = int(math.ceil(math.sqrt(u)))
        i, j = np.divmod(np.arange(u), side)
        i, j = i + 4_000, j + 9_000
    X = spec.transform({"lat": -90 + (i + 0.5) / 60, "lon": -180 + (j + 0.5) / 60})
    distinct = np.unique(X.indices).size
    expected = ref.expected_distinct(u, m)
    assert abs(distinct - expected) <= 0.02 * expected, (distinct, expected)


def test_feature_ids_do_not_depend_on_position():
    pts = geo_points(200, seed=10)
    cross = Cross(LAT_1, LON_1)
    alone = FeatureSpec([cross], bits=24).transform(pts)
    among = FeatureSpec([Bucketize("lat", -90, 90, 1), cross, LON_1], bits=24).transform(pts)
    for r in range(200):
        assert set(alone[r].indices) <= set(among[r].indices)


# ------------------------------------------------------------------------------------------
# Categoricals.


def test_categorical_ids_match_reference_for_every_input_form():
    import pyarrow as pa
    values = ["oslo", "lima", "oslo", "", "東京"]
    hashed = Categorical("city")
    modded = Categorical("city", 13)
    vocab = Categorical("city", vocabulary=["lima", "oslo", "", "東京"])
    for feature in (hashed, modded, vocab):
        expected = ref_ids(feature, values)
        np.testing.assert_array_equal(feature.ids(values), expected)
        np.testing.assert_array_equal(feature.ids(np.array(values)), expected)
        np.testing.assert_array_equal(feature.ids(np.array([v.encode() for v in values])), expected)
        np.testing.assert_array_equal(feature.ids(pa.array(values)), expected)
        np.testing.assert_array_equal(feature.ids(pa.chunked_array([values[:2], values[2:]])), expected)
        np.testing.assert_array_equal(feature.ids(pa.array(values).dictionary_encode()), expected)
    ints = [5, -3, 2**40, 5]
    for form in (ints, np.array(ints), np.array(ints, dtype=object), pa.array(ints)):
        np.testing.assert_array_equal(modded.ids(form), ref_ids(modded, ints))
    assert hashed.ids(["7"])[0] != hashed.ids([7])[0]


def test_categorical_missing_and_unknown_values():
    with pytest.raises(ValueError, match=r"column 'city': 2 missing values; first at row 1 "):
        Categorical("city", 8).ids(["a", None, "b", None])
    with pytest.raises(ValueError, match=r"1 missing or out-of-vocabulary value; first at row 2 \('z'\)"):
        Categorical("city", vocabulary=["a", "b"]).ids(["a", "b", "z"])
    lenient = Categorical("city", vocabulary=["a", "b"], unknown="bucket")
    assert lenient.ids(["a", "z", None, "b"]).tolist() == [0, 2, 2, 1]
    assert Categorical("city", 8, unknown="bucket").ids([None, float("nan")]).tolist() == [8, 8]
    hashed = Categorical("city", unknown="bucket")
    np.testing.assert_array_equal(hashed.ids(["a", None]), ref_ids(hashed, ["a", None]))
    assert hashed.describe(int(hashed.ids([None])[0])) == "city missing"
    import pyarrow as pa
    with pytest.raises(ValueError, match="row 1"):
        Categorical("city", 8).ids(pa.array(["a", None]))
    with pytest.raises(TypeError, match=r"categorical column 'city' holds floating point"):
        Categorical("city", 8).ids(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"row 1 holds float"):
        Categorical("city", 8).ids(np.array(["a", 1.5], dtype=object))


def test_exact_spec_needs_bounded_categoricals():
    with pytest.raises(ValueError, match=r"n_buckets= or vocabulary=.*\['city'\]"):
        FeatureSpec([Categorical("city")], bits=None)
    FeatureSpec([Categorical("city")], bits=20)


# ------------------------------------------------------------------------------------------
# Output format, chunks, inputs.


def test_chunked_equals_whole_and_block_boundaries(monkeypatch):
    data = mixed_data(1000, seed=11)
    for bits in (None, 12):
        spec = FeatureSpec(MIXED, bits=bits)
        whole = spec.transform(data)
        bounds = [0, 1, 1, 333, 999, 1000]  # includes an empty chunk
        chunks = [{k: v[a:b] for k, v in data.items()} for a, b in zip(bounds[:-1], bounds[1:])]
        parts = list(spec.transform_chunks(chunks))
        assert [p.shape[0] for p in parts] == [1, 0, 332, 666, 1]
        assert_same_csr(sp.vstack(parts, format="csr"), whole)
        monkeypatch.setattr(_plan, "BLOCK_ROWS", 7)
        assert_same_csr(spec.transform(data), whole)
        monkeypatch.undo()


def test_zero_rows_give_an_empty_matrix_of_full_width():
    for spec in (geo_spec(bits=None), geo_spec(bits=24), FeatureSpec(MIXED, bits=None)):
        data = {name: np.empty(0) for name in spec.columns}
        if "c" in data:
            data["c"] = np.empty(0, dtype=object)
        X = spec.transform(data)
        assert X.shape == (0, spec.n_features) and X.nnz == 0
        assert X.indices.dtype == np.int32
    wide = FeatureSpec([Bucketize("x", 0, 1, n_buckets=2**40)])
    X = wide.transform({"x": []})
    assert X.shape == (0, 2**40) and X.indices.dtype == np.int64


def test_wide_exact_spec_uses_int64_indices():
    spec = FeatureSpec([Cross(Bucketize("x", 0, 1, n_buckets=2**20), Bucketize("y", 0, 1, n_buckets=2**20))])
    X = spec.transform({"x": [1.0], "y": [1.0]})
    assert X.indices.dtype == np.int64 and X.indices.tolist() == [2**40 - 1]
    assert spec.decode(X.indices)[1].tolist() == [[2**20 - 1, 2**20 - 1]]


def test_input_forms_give_identical_matrices():
    import pyarrow as pa
    pts = geo_points(100, seed=12)
    spec = geo_spec(bits=20)
    expected = spec.transform(pts)
    table = pa.table(pts)
    structured = np.zeros(100, dtype=[("lat", "f8"), ("lon", "f8"), ("other", "i4")])
    structured["lat"], structured["lon"] = pts["lat"], pts["lon"]

    class FrameLike:  # what pandas/polars DataFrames look like to the transform
        def __init__(self, columns):
            self._columns = columns
            self.columns = list(columns)

        def __getitem__(self, name):
            return self._columns[name]

    forms = [
        table,
        table.to_batches()[0],
        pa.concat_tables([table.slice(0, 40), table.slice(40)]),
        structured,
        FrameLike(pts),
        {"lat": pts["lat"].astype(np.float32).astype(np.float64), "lon": pts["lon"]},
        {"lat": pts["lat"].tolist(), "lon": list(pts["lon"]), "unused": ["x"] * 100},
    ]
    for form in forms:
        assert_same_csr(spec.transform(form), expected)
    ints = {"lat": np.arange(-50, 50), "lon": np.arange(-100, 100, 2, dtype=np.int16)}
    assert_same_csr(spec.transform(ints), spec.transform({k: v.astype(float) for k, v in ints.items()}))


def test_pandas_dataframe():
    import pandas as pd
    pts = geo_points(50, seed=13)
    spec = geo_spec(bits=20)
    assert_same_csr(spec.transform(pd.DataFrame(pts)), spec.transform(pts))


def test_arrow_nulls_are_reported_as_nan_rows():
    import pyarrow as pa
    table = pa.table({"lat": pa.array([1.0, None, 2.0]), "lon": pa.array([0.0, 0.0, None])})
    with pytest.raises(ValueError, match=r"column 'lat': 1 value .*row 1 \(nan\)"):
        geo_spec(bits=20).transform(table)


# ------------------------------------------------------------------------------------------
# Errors on bad input and bad specs.


def test_input_errors():
    spec = geo_spec(bits=20)
    with pytest.raises(KeyError, match=r"'lon' not found; available columns: \['lat', 'longitude'\]"):
        spec.transform({"lat": [0.0], "longitude": [0.0]})
    with pytest.raises(TypeError, match=r"column 'lat' must be numeric .*dtype <U"):
        spec.transform({"lat": np.array(["1.0"]), "lon": [0.0]})
    with pytest.raises(TypeError, match=r"column 'lat' must be numeric; row 1 holds str"):
        spec.transform({"lat": np.array([1.0, "2"], dtype=object), "lon": [0.0, 0.0]})
    with pytest.raises(TypeError, match=r"column 'lon' must be numeric .*bool"):
        spec.transform({"lat": [0.0], "lon": np.array([True])})
    with pytest.raises(ValueError, match=r"columns have different lengths: lat=3, lon=2"):
        spec.transform({"lat": [0.0, 1.0, 2.0], "lon": [0.0, 1.0]})
    with pytest.raises(ValueError, match=r"column 'lat' must be 1-D"):
        spec.transform({"lat": np.zeros((2, 2)), "lon": np.zeros(2)})
    with pytest.raises(TypeError, match="expected a table"):
        spec.transform(np.zeros((3, 2)))
    # Object columns of numbers and None are accepted; None is then a bad (NaN) value.
    with pytest.raises(ValueError, match=r"column 'lat': 1 value .*row 1 "):
        spec.transform({"lat": np.array([1, None], dtype=object), "lon": [0.0, 0.0]})


@pytest.mark.parametrize("bits", [0, -1, 41, 64])
def test_bits_out_of_range(bits):
    with pytest.raises(ValueError, match=r"bits must be in \[1, 40\]"):
        geo_spec(bits=bits)


def test_spec_construction_errors():
    with pytest.raises(TypeError, match="bits must be an integer"):
        geo_spec(bits=24.0)
    with pytest.raises(TypeError, match="bits must be an integer"):
        geo_spec(bits=True)
    with pytest.raises(ValueError, match="seed must be in"):
        geo_spec(seed=-1)
    with pytest.raises(ValueError, match=r"unique.*\['x'\]"):
        FeatureSpec([Bucketize("x", 0, 1, 0.5, name="x"), Categorical("c", 3, name="x")])
    with pytest.raises(ValueError, match="at least one feature"):
        FeatureSpec([])
    with pytest.raises(TypeError, match="wrap a single feature"):
        FeatureSpec(LAT_1)
    with pytest.raises(ValueError, match="more than int64"):
        FeatureSpec([Cross(*[Bucketize(f"x{i}", 0, 1, n_buckets=2**40) for i in range(2)])
                     , Cross(*[Bucketize(f"y{i}", 0, 1, n_buckets=2**40) for i in range(2)])])
    with pytest.raises(ValueError, match=r"resolution 7' does not divide"):
        geo_spec(resolutions=(60, 7))


def test_feature_construction_errors():
    with pytest.raises(ValueError, match="does not divide"):
        Bucketize("x", 0, 1, 0.3)
    with pytest.raises(ValueError, match="start must be below stop"):
        Bucketize("x", 1, 0, 0.1)
    with pytest.raises(TypeError, match="exactly one of width and n_buckets"):
        Bucketize("x", 0, 1, 0.5, n_buckets=2)
    with pytest.raises(ValueError, match="strictly increasing"):
        Bucketize("x", boundaries=[0, 1, 1])
    with pytest.raises(ValueError, match="either boundaries or start"):
        Bucketize("x", 0, boundaries=[0, 1])
    with pytest.raises(ValueError, match="out_of_range must be one of"):
        Bucketize("x", 0, 1, 0.5, out_of_range="ignore")
    with pytest.raises(ValueError, match="finite"):
        Bucketize("x", 0, np.inf, 0.5)
    with pytest.raises(ValueError, match="at least 2 features"):
        Cross(LAT_1)
    with pytest.raises(TypeError, match="Cross takes"):
        Cross(LAT_1, "lon")
    with pytest.raises(ValueError, match="distinct"):
        Categorical("c", vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="n_buckets or vocabulary, not both"):
        Categorical("c", 3, vocabulary=["a"])


@pytest.mark.parametrize(
    "start, stop, n_buckets, message",
    [
        (-1e308, 1e308, 10, r"stop - start overflows a double"),  # span inf: scale 0, stop buckets as NaN
        (0.0, 5e-324, 2, r"n_buckets / \(stop - start\) overflows"),  # scale inf: start buckets as 0 * inf
        (0.0, 1e-300, 2**40, r"n_buckets / \(stop - start\) overflows"),
        (0.0, 1.0, 2**53 + 1, r"at most 2\*\*53"),  # ids past 2**53 are not all doubles
        (0.0, 1.0, 2**62, r"at most 2\*\*53"),
    ],
)
def test_uniform_buckets_past_float64_are_refused_at_construction(start, stop, n_buckets, message):
    with pytest.raises(ValueError, match=message):
        Bucketize("x", start, stop, n_buckets=n_buckets)
    with pytest.raises(ValueError, match=f"features\\[0\\].*{message}"):
        FeatureSpec.from_json(json.dumps({"format": "widecross.FeatureSpec", "version": 1, "bits": None, "seed": 0,
                                          "features": [{"type": "bucketize", "column": "x", "name": "x", "start": start,
                                                        "stop": stop, "n_buckets": n_buckets, "wrap": False,
                                                        "out_of_range": "error"}]}))


def test_uniform_buckets_at_the_float64_limits_bucket_exactly():
    # The widest range and the most buckets still accepted: every in-range value gets its own
    # documented id (floor((x - start) * scale)), stop the last one.
    wide = Bucketize("x", -8e307, 8e307, n_buckets=4, out_of_range="bucket")
    assert wide.bucket([-8e307, -3e307, 0.0, 4e307, 8e307, 1e308]).tolist() == [0, 1, 2, 3, 3, 4]
    many = Bucketize("x", 0.0, 1.0, n_buckets=2**53)
    assert many.bucket([0.0, 0.5, 1.0]).tolist() == [0, 2**52, 2**53 - 1]


# ------------------------------------------------------------------------------------------
# Serialization and inverse map.


@pytest.mark.parametrize(
    "spec",
    [
        geo_spec(bits=None),
        geo_spec(lat="y", lon="x", resolutions=(30, 0.5), bits=26, seed=2**64 - 1, out_of_range="clip"),
        FeatureSpec(MIXED, bits=None),
        FeatureSpec(MIXED + [Bucketize("x", boundaries=[-np.inf, 0.0, np.inf])], bits=18, seed=5),
    ],
    ids=["geo-exact", "geo-hashed", "mixed-exact", "mixed-hashed"],
)
def test_json_round_trip(spec):
    text = spec.to_json()
    back = FeatureSpec.from_json(text)
    assert back == spec and hash(back) == hash(spec)
    assert back.to_json() == text
    obj = json.loads(text)
    assert obj["format"] == "widecross.FeatureSpec" and obj["version"] == 1
    assert text == json.dumps(obj, sort_keys=True, separators=(",", ":"))
    assert repr(back) == repr(spec)
    data = {name: np.zeros(3) for name in spec.columns}
    if "c" in data:
        data["c"] = np.array(["a", "b", 3], dtype=object)
    if "x" in data:
        data["x"] = np.array([0.5, 1.0, 2.0])
    assert_same_csr(back.transform(data), spec.transform(data))


def test_json_rejects_foreign_or_future_input():
    text = geo_spec(bits=24).to_json()
    with pytest.raises(ValueError, match="version 3 is not supported"):
        FeatureSpec.from_json(text.replace('"version":1', '"version":3'))
    with pytest.raises(ValueError, match="not a widecross feature spec"):
        FeatureSpec.from_json('{"format": "other"}')
    with pytest.raises(ValueError, match="not valid JSON"):
        FeatureSpec.from_json(text[:-5])
    with pytest.raises(ValueError, match="malformed"):
        FeatureSpec.from_json('{"format":"widecross.FeatureSpec","version":1}')
    assert geo_spec(bits=24) != geo_spec(bits=24, seed=1) != geo_spec(bits=None)


def test_exact_inverse_describes_the_cell():
    spec = geo_spec(bits=None)
    X = spec.transform({"lat": [12.5], "lon": [-0.01]})
    text = [spec.inverse(int(c))[0] for c in X.indices]
    assert text[2] == "lat x lon 1': lat [12.5, 12.51666667) x lon [-0.01666666667, 0)"
    assert text[0] == "lat x lon 60': lat [12, 13) x lon [-1, 0)"
    assert text[3] == "lat 1': lat [12.5, 12.51666667)"
    assert spec.inverse(spec.offsets[4] - 1) == ["lat 1': lat [89.98333333, 90]"]
    with pytest.raises(ValueError, match="outside"):
        spec.inverse(-1)
    mixed = FeatureSpec(MIXED, bits=None)
    X = mixed.transform({"x": [1.2], "y": [2.0], "c": ["b"]})
    assert mixed.inverse(int(X.indices[2])) == [f"{mixed.features[2].name}: c = 'b'"]
    assert mixed.features[2].name.startswith("c{3 values #")


def test_hashed_inverse_through_recorded_keys():
    spec = geo_spec(bits=20)
    pts = geo_points(3000, seed=14)
    with pytest.raises(ValueError, match="keys = spec.record"):
        spec.inverse(5)
    keys = spec.record(pts)
    X = spec.transform(pts)
    exact = geo_spec(bits=None)
    _, exact_buckets = exact.decode(exact.transform(pts).indices)
    # Every column of the matrix is explained by the recorded keys, and the key of the true cell
    # of each entry is among them.
    position, feature, buckets = keys.decode(X.indices)
    assert set(position.tolist()) == set(range(X.nnz))
    truth = {(f, tuple(b)) for f, b in zip(np.tile(np.arange(5), 3000), exact_buckets.tolist())}
    assert {(f, tuple(b)) for f, b in zip(feature.tolist(), buckets.tolist())} == truth
    assert len(keys) == len(truth)
    # Columns agree with the reference hash.
    for col, f, b in list(zip(keys.columns, keys.feature, keys.buckets))[:100]:
        ids = b[: spec.features[f].arity]
        assert col == ref.hashed_column(spec.features[f].name, ids.tolist(), 20, 0)
    described = spec.inverse(int(X.indices[2]), keys)
    assert any(d.startswith("lat x lon 1': lat [") for d in described)
    # Recording while transforming == recording in one go, also over chunks.
    keys2 = KeyRecord(spec)
    for chunk in ({k: v[:1000] for k, v in pts.items()}, {k: v[1000:] for k, v in pts.items()}):
        spec.transform(chunk, record=keys2)
    np.testing.assert_array_equal(keys2.columns, keys.columns)
    np.testing.assert_array_equal(keys2.buckets, keys.buckets)
    with pytest.raises(ValueError, match="KeyRecord of this spec"):
        geo_spec(bits=21).transform(pts, record=keys)
    unseen = int(np.setdiff1d(np.arange(keys.columns.max() + 2), keys.columns)[0])
    assert keys.decode([unseen])[0].size == 0 and spec.inverse(unseen, keys) == []


def test_recorded_categorical_values_are_shown():
    city = Categorical("city")  # unbounded 64-bit ids: keys are kept as id tuples, not packed
    spec = FeatureSpec([city, Cross(city, Bucketize("x", 0, 1, 0.5))], bits=16)
    keys = spec.record({"city": ["oslo", "lima", "oslo"], "x": [0.1, 0.2, 0.9]})
    keys.update({"city": ["lima", "rome"], "x": [0.2, 0.7]})
    assert len(keys) == 3 + 4
    X = spec.transform({"city": ["lima"], "x": [0.3]})
    texts = [spec.inverse(int(c), keys) for c in X.indices]
    lima = f"city hash {ref.value_key('lima'):#018x} (seen: 'lima')"
    assert any(f"city: {lima}" in t for t in texts)
    assert any(f"city x x[0.0,1.0]/2: {lima} x x [0, 0.5)" in t for t in texts)
    # At 2**16 columns this cross key happens to share its column with ("rome",): both are listed.
    assert sorted(len(t) for t in texts) == [1, 2]


# ------------------------------------------------------------------------------------------
# Memory: the exact 235.7M-column spec never allocates anything of its width.


def test_exact_geo_spec_allocates_nothing_of_its_width():
    pts = geo_points(10_000, seed=15)
    geo_spec(bits=None).transform(pts)  # compile outside the measurement
    tracemalloc.start()
    try:
        spec = geo_spec(bits=None)
        X = spec.transform(pts)
        spec.decode(X.indices)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    output = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    assert peak < 4 * output + 2_000_000, (peak, output)  # width-sized would be >= 235 MB
