"""K classes and ``l1="auto"`` on a Dask DataFrame, run in this process on a synchronous stand-in
for a client (the graph of a fit without worker processes; a LocalCluster fit is in test_dask.py).

References: the in-memory fit of the same rows in the same order (one partition: the same bits,
one-vs-rest and multinomial with their polish; ``l1="auto"``: the same path, the same l1);
the same seeded fit twice (the sample that chooses l1 is reproducible).
"""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")

import widecross as wc  # noqa: E402
from dask_sync import SPEC, columns, houses, on, same_model as same  # noqa: E402,F401
from widecross.estimators import frames  # noqa: E402
from widecross.estimators.auto import ROWS_EXPONENT  # noqa: E402


@pytest.fixture(scope="module")
def frame():
    f = houses(2000, 3)
    return f.assign(band=np.digitize(f["price"], np.quantile(f["price"], [0.33, 0.67])))  # cheap, middle, dear


@pytest.mark.parametrize("kw", [dict(multi_class="ovr", epochs=2, polish=3),
                                dict(multi_class="ovr", optimizer="ftrl", epochs=2, polish=2),
                                dict(multi_class="multinomial", epochs=2, polish=0),
                                dict(multi_class="multinomial", epochs=1, polish=3)])
def test_k_classes_on_one_partition_reproduce_the_in_memory_fit_bit_for_bit(on, frame, kw):
    on(1)
    one = dd.from_pandas(frame, npartitions=1, sort=False)
    cluster = wc.WideClassifier(SPEC, l1=1e-5, random_state=2, **kw).fit(one, y="band")
    memory = wc.WideClassifier(SPEC, l1=1e-5, random_state=2, **kw).fit(columns(frame), frame["band"].to_numpy())
    assert type(cluster.model_) is type(memory.model_) and cluster.model_.values.shape[1] == 3
    assert same(cluster.model_, memory.model_) and cluster.model_.nnz > 100
    assert cluster.loss_curve_ == memory.loss_curve_ and cluster.polish_passes_ == memory.polish_passes_
    np.testing.assert_array_equal(cluster.predict_proba(columns(frame)), memory.predict_proba(columns(frame)))
    assert list(cluster.classes_) == [0, 1, 2]


def test_auto_l1_on_one_partition_is_the_in_memory_default_fit(on, frame):
    """All rows fit in the path's budget: the sample is every row in order, so the path, its
    choice and the fit are those of the in-memory default fit, bit for bit."""
    on(1)
    one = dd.from_pandas(frame, npartitions=1, sort=False)
    cluster = wc.WideClassifier(SPEC, epochs=2, polish=2, random_state=4).fit(one, y="label")
    memory = wc.WideClassifier(SPEC, epochs=2, polish=2, random_state=4).fit(columns(frame), frame["label"].to_numpy())
    assert cluster.l1_ == memory.l1_ and cluster.l1_ != 1e-6
    for key in ("l1", "held_out_loss", "nnz"):
        np.testing.assert_array_equal(cluster.l1_path_[key], memory.l1_path_[key])
    assert same(cluster.model_, memory.model_)


def test_auto_l1_samples_the_partitions_reproducibly_and_scales_to_all_rows(on, frame, monkeypatch):
    monkeypatch.setattr(frames, "PATH_ROWS", 900)  # fewer than the 2,000 rows: a sample
    parts = dd.from_pandas(frame, npartitions=4, sort=False)
    kw = dict(epochs=1, polish=1)
    on(2)
    a = wc.WideClassifier(SPEC, random_state=7, **kw).fit(parts, y="label")
    b = wc.WideClassifier(SPEC, random_state=7, **kw).fit(parts, y="label")
    c = wc.WideClassifier(SPEC, random_state=8, **kw).fit(parts, y="label")
    assert a.l1_ == b.l1_ and same(a.model_, b.model_)
    np.testing.assert_array_equal(a.l1_path_["held_out_loss"], b.l1_path_["held_out_loss"])
    assert not np.array_equal(a.l1_path_["held_out_loss"], c.l1_path_["held_out_loss"])  # another sample
    path = a.l1_path_
    assert path["path_rows"] + path["held_out_rows"] == 900
    # the choice on the sample's training rows, scaled to all 2,000 rows as in memory
    assert path["rows_scale"] == pytest.approx((path["path_rows"] / 2000) ** ROWS_EXPONENT, rel=1e-12)
    assert a.l1_ == pytest.approx(path["chosen_l1"] * path["rows_scale"], rel=1e-12)
    with pytest.raises(AttributeError):
        wc.WideClassifier(SPEC, l1=1e-5, random_state=7, **kw).fit(parts, y="label").l1_path_


@pytest.mark.parametrize("class_weight", [{0: 3.0, 2: 0.5}, "balanced"])
def test_class_weight_on_one_partition_is_the_in_memory_fit(on, frame, class_weight):
    """class_weight reaches the rows on the cluster as in memory ("balanced" counts the classes
    on the cluster first): one partition gives the same bits, and not those of an unweighted fit."""
    on(1)
    one = dd.from_pandas(frame, npartitions=1, sort=False)
    kw = dict(l1=1e-5, epochs=2, polish=2, random_state=2, class_weight=class_weight)
    cluster = wc.WideClassifier(SPEC, **kw).fit(one, y="band")
    memory = wc.WideClassifier(SPEC, **kw).fit(columns(frame), frame["band"].to_numpy())
    assert same(cluster.model_, memory.model_)
    plain = wc.WideClassifier(SPEC, **{**kw, "class_weight": None}).fit(columns(frame), frame["band"].to_numpy())
    assert not same(cluster.model_, plain.model_)


def test_default_rate_with_a_given_l1_follows_the_rows_as_in_memory(on, frame):
    """With l1 given and the rate left to its default, the rate follows the rows' mean size as
    in memory (a sample of rows measures it): one partition gives the in-memory fit's bits."""
    on(1)
    one = dd.from_pandas(frame, npartitions=1, sort=False)
    coarse = wc.geo_spec(lat="lat", lon="lon", resolutions=(60,), bits=None)
    rows = coarse.transform(columns(frame))
    assert not 3.6 <= rows.nnz / rows.shape[0] <= 7  # a row size whose default rate is not geo's
    kw = dict(l1=1e-5, epochs=2, polish=1, random_state=3)
    cluster = wc.WideClassifier(coarse, **kw).fit(one, y="label")
    memory = wc.WideClassifier(coarse, **kw).fit(columns(frame), frame["label"].to_numpy())
    assert cluster.learning_rate_ == memory.learning_rate_
    assert same(cluster.model_, memory.model_)


def test_a_bad_value_names_its_partition_by_a_plain_index_label(on, frame):
    """A shuffled frame has an integer index of NumPy scalars: the error names the label as the
    user wrote it (7), not its NumPy repr (np.int64(7))."""
    on(1)
    shuffled = frame.take(np.random.default_rng(0).permutation(len(frame)))
    assert isinstance(shuffled.index[0], np.integer)  # not a RangeIndex: its labels are NumPy scalars
    shuffled.iloc[3, shuffled.columns.get_loc("lat")] = 300.0
    parts = dd.from_pandas(shuffled, npartitions=1, sort=False)
    first = shuffled.index[0]
    with pytest.raises(ValueError, match=rf"first row has index {first}: column 'lat'.* row 3"):
        wc.WideClassifier(SPEC, l1=1e-5, epochs=1, polish=0).fit(parts, y="label")
