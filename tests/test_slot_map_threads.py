"""The slot map on threads: the same slots, the same map as one pass, for any number of threads."""

import numpy as np
import pytest
import scipy.sparse as sp

import widecross as wc
from widecross.losses import LOSSES
from widecross.train import slots
from widecross.train.sgd import SGD, SGDParams
from widecross.train.slots import SlotMap
from widecross.train.trainer import Trainer


def first_appearance(columns, seen=()):
    """Reference: each column's slot is the rank of its first appearance after the ``seen`` ones."""
    numbering = {int(c): s for s, c in enumerate(seen)}
    for c in columns.tolist():
        numbering.setdefault(c, len(numbering))
    return np.array([numbering[c] for c in columns.tolist()], dtype=np.int32), list(numbering)


def skewed_columns(n, seed, high=5000, dtype=np.int64):
    rng = np.random.default_rng(seed)
    # frequent and rare ids mixed, and ids far apart (a hashed or an exact width)
    cols = np.where(rng.random(n) < 0.5, rng.integers(0, 40, n), rng.integers(0, high, n) * 104_729)
    return cols.astype(dtype)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(slots, "PARALLEL_ENTRIES", 8)  # every call below takes the threaded path


@pytest.mark.parametrize("n_jobs", [2, 3, 7])
def test_threads_give_the_slots_and_table_of_one_pass(small_blocks, n_jobs):
    serial, threaded = SlotMap(), SlotMap(16)
    # streamed blocks: columns unseen before appear in every block; an empty block, a tiny one
    blocks = [skewed_columns(n, seed, dtype=np.int32 if seed % 2 else np.int64)
              for seed, n in enumerate([3000, 0, 5, 20_000, 4000])]
    seen: list[int] = []
    for cols in blocks:
        want, seen = first_appearance(cols, seen)
        one = serial.map(cols)
        got = threaded.map(cols, n_jobs)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(one, want)
        np.testing.assert_array_equal(got, want)
        assert threaded.n == serial.n == len(seen)
        assert threaded.buckets == serial.buckets  # the same growth: the trainer's records keep their length
        np.testing.assert_array_equal(threaded.columns, np.array(seen, dtype=np.int64))
    probe = np.concatenate([skewed_columns(500, 99), np.array([-7, 123_456_789_012])])
    np.testing.assert_array_equal(threaded.lookup(probe), serial.lookup(probe))


def test_a_large_map_takes_the_threads_without_a_patched_threshold():
    cols = skewed_columns(3 * slots.PARALLEL_ENTRIES, 4, high=400_000)
    want, seen = first_appearance(cols)
    m = SlotMap()
    np.testing.assert_array_equal(m.map(cols, 3), want)
    assert m.n == len(seen)


@pytest.mark.parametrize("n_jobs", [2, 3, 7])
def test_the_trainer_maps_rows_with_empty_rows_the_same_on_threads(small_blocks, n_jobs):
    rng = np.random.default_rng(n_jobs)
    X = sp.random(400, 10_000, density=0.004, format="csr", random_state=rng)
    X = sp.csr_matrix(sp.diags((np.arange(400) % 7 != 0).astype(float)) @ X)  # every 7th row empty
    X.eliminate_zeros()
    assert (np.diff(X.indptr) == 0).sum() >= 57
    y = rng.random(400)
    one = Trainer(SGD(LOSSES["squared"], SGDParams(eta0=0.1)))
    many = Trainer(one.optimizer, n_jobs=n_jobs)
    for half in (X[:200], X[200:]):
        a, b = one.rows(half, y[:200]), many.rows(half, y[:200])
        np.testing.assert_array_equal(a.slots, b.slots)
        np.testing.assert_array_equal(a.indptr, b.indptr)
        assert one.records.shape == many.records.shape


def test_a_fit_on_threads_is_the_same_with_the_threaded_map(monkeypatch):
    rng = np.random.default_rng(0)
    lat, lon = rng.normal(40, 8, 6000).clip(-89, 89), rng.normal(-3, 12, 6000).clip(-179, 179)
    data, y = {"lat": lat, "lon": lon}, (rng.random(6000) < 1 / (1 + np.exp(-(lat - 40) / 5))).astype(int)
    keys = []
    for threshold in (1 << 40, 64):  # one pass; then blocks on threads
        monkeypatch.setattr(slots, "PARALLEL_ENTRIES", threshold)
        clf = wc.WideClassifier(wc.geo_spec(bits=18), l1=1e-6, epochs=2, polish=1, random_state=0, n_jobs=2,
                                layout="sparse")
        model = clf.fit(data, y).model_
        keys.append((model.indices.tobytes(), model.values.tobytes(), model.intercept))
    assert keys[0] == keys[1] and len(keys[0][0]) > 0


def doubling_buckets(distinct, start=1024):
    """Reference: the table of a map that only doubles when full (half full at most)."""
    buckets = start
    while buckets // 2 < distinct:
        buckets *= 2
    return buckets


@pytest.mark.parametrize("n, high", [(60_000, 50), (60_000, 30_000), (300_000, 10**9), (300_000, 2_000)])
def test_the_distinct_estimate_is_within_a_few_percent_for_any_split(n, high):
    from widecross.train import _distinct

    cols = skewed_columns(n, n + high, high=high)
    true = np.unique(cols).size
    whole = _distinct.sketch(cols, 0, n)
    cuts = [0, 7, n // 3, n // 3, n]  # an empty block and a tiny one
    parts = [_distinct.sketch(cols, lo, hi) for lo, hi in zip(cuts, cuts[1:])]
    np.testing.assert_array_equal(_distinct.merged(parts), whole)
    np.testing.assert_array_equal(_distinct.merged(parts[::-1]), whole)
    assert abs(_distinct.estimate(whole) / true - 1) < 0.03
    assert _distinct.estimate(_distinct.sketch(cols, 0, 0)) == 0


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_a_reserved_table_ends_as_the_doubling_one(monkeypatch, n_jobs):
    monkeypatch.setattr(slots, "PARALLEL_ENTRIES", 4096)  # batches estimate and reserve, blocks on threads
    m, seen = SlotMap(), []
    for seed, (n, high) in enumerate([(20_000, 3_000), (50_000, 200_000), (3000, 10**6), (80_000, 60_000)]):
        cols = skewed_columns(n, seed, high=high)
        want, seen = first_appearance(cols, seen)
        np.testing.assert_array_equal(m.map(cols, n_jobs), want)
        assert m.n == len(seen)
        assert m.buckets == doubling_buckets(len(seen))
        np.testing.assert_array_equal(m.columns, np.array(seen, dtype=np.int64))


@pytest.mark.parametrize("n_jobs", [2, 3, 7])
def test_inverse_and_weights_on_threads_are_those_of_one_thread(small_blocks, monkeypatch, n_jobs):
    from widecross.train import trainer as trainer_module
    from widecross.train.ftrl import FTRL, FTRLParams

    monkeypatch.setattr(trainer_module, "SLOT_BLOCK", 16)  # slot blocks on threads from 16 slots a thread
    cols = skewed_columns(30_000, 11, high=20_000)
    m = SlotMap()
    m.map(cols, n_jobs)
    expected, _ = first_appearance(cols)
    inverse = m.inverse(n_jobs)
    assert inverse.tobytes() == m.columns.tobytes()
    assert (inverse[expected] == cols).all()  # each slot's column, from an independent numbering
    rng = np.random.default_rng(4)
    X = sp.random(4000, 3000, density=0.003, format="csr", random_state=5, dtype=np.float64)
    y = (X @ rng.normal(size=3000) > 0).astype(np.float64)
    for optimizer in (SGD(LOSSES["logistic"], SGDParams(0.5, l1=1e-4, l2=1e-4, rates="adagrad")),
                      FTRL(LOSSES["logistic"], FTRLParams(0.5, l1=1e-4))):
        one = Trainer(optimizer, layout="sparse")
        rows = one.rows(X, y)
        one.epoch(rows, None)
        weights = one.slot_weights()
        assert np.count_nonzero(weights) > 10
        one.n_jobs = n_jobs  # the same state read on threads
        assert one.slot_weights().tobytes() == weights.tobytes()
        ids, values = one.coefficients()
        one.n_jobs = 1
        ids1, values1 = one.coefficients()
        assert ids.tobytes() == ids1.tobytes() and values.tobytes() == values1.tobytes()


@pytest.mark.parametrize("n_jobs", [2, 3])
@pytest.mark.parametrize("known_share", [1.0, 0.8, 0.1])
def test_a_warm_map_looks_up_on_threads_and_maps_only_the_unknown(small_blocks, monkeypatch, n_jobs, known_share):
    """A table that holds most of a batch's columns (a warm-started fit on the same rows): the
    batch is looked up on the threads and only the columns not found are mapped, in their order;
    mostly new columns take the one-pass route. The same slots and table as one pass either way."""
    rng = np.random.default_rng(5)
    before = skewed_columns(20_000, 1)
    known = np.unique(before)
    batch = np.where(rng.random(30_000) < known_share, known[rng.integers(0, known.size, 30_000)],
                     rng.integers(10**9, 10**9 + 8000, 30_000))
    mapped: list[int] = []
    new = slots.SlotMap._map_new
    monkeypatch.setattr(slots.SlotMap, "_map_new",
                        lambda self, cols, jobs: mapped.append(cols.shape[0]) or new(self, cols, jobs))
    serial, threaded = SlotMap(), SlotMap()
    serial.map(before)
    threaded.map(before, n_jobs)
    want, seen = first_appearance(batch, first_appearance(before)[1])
    mapped.clear()
    np.testing.assert_array_equal(threaded.map(batch, n_jobs), want)
    unknown = int(np.count_nonzero(~np.isin(batch, known)))
    assert mapped == ([unknown] if 0 < unknown and known_share > 0.5 else [] if known_share > 0.5 else [batch.size])
    np.testing.assert_array_equal(serial.map(batch), want)
    assert threaded.n == serial.n == len(seen) and threaded.buckets == serial.buckets
    np.testing.assert_array_equal(threaded.columns, np.array(seen, dtype=np.int64))
