"""Out-of-core fit: a Parquet/CSV data set streamed in chunks gives the in-memory model, seeded.

Without shuffling, a streamed fit visits the rows in file order, as an in-memory ``fit`` with
``shuffle=False`` does, and its streamed polish accumulates the same sums in the same order: the
two models must agree bit for bit, whatever the chunking. With shuffling, the visit order comes
from the unit order and the shuffle buffer: every row exactly once per epoch, and the same data,
chunking and seed give the same bits.
"""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import data_gen
import widecross as wc
from widecross.io import prefetched
from widecross.train import Rows, ShuffleBuffer
from widecross.metrics import log_loss
from widecross.estimators import WideClassifier, WideRegressor
from widecross.io import write_table

N = 9000
SPEC = wc.geo_spec(bits=None)


def model_bytes(est) -> bytes:
    m = est.model_
    return m.indices.tobytes() + m.values.tobytes() + np.float64(m.intercept).tobytes()


@pytest.fixture(scope="module")
def houses():
    rows = data_gen.generate_housing(N, seed=21)
    weight = np.random.default_rng(0).uniform(0.0, 2.0, N)
    return {"lat": rows["lat"], "lon": rows["lon"], "label": rows["label"], "price": np.log(rows["price"]), "w": weight}


@pytest.fixture(scope="module")
def files(houses, tmp_path_factory):
    """The same rows as: one file of uneven row groups, a directory of three files, a CSV file."""
    root = tmp_path_factory.mktemp("stream")
    table = pa.table(houses)
    one = root / "one.parquet"
    pq.write_table(table, one, row_group_size=2500)  # row groups of 2500, 2500, 2500, 1500
    directory = root / "parts"
    directory.mkdir()
    bounds = [0, 3000, 3001, N]  # a one-row file in the middle
    for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        pq.write_table(table.slice(lo, hi - lo), directory / f"part{i}.parquet")
    csv = root / "all.csv"
    write_table(csv, houses)
    return {"one": one, "dir": directory, "list": sorted(directory.iterdir()), "csv": csv, "root": root}


def in_memory(est, houses, target="label", weight=None):
    columns = {"lat": houses["lat"], "lon": houses["lon"]}
    return est.fit(columns, houses[target], sample_weight=None if weight is None else houses[weight])


@pytest.mark.parametrize("optimizer", ["sgd", "ftrl"])
@pytest.mark.parametrize("source, chunk_rows", [("one", 700), ("one", 10_000), ("dir", 1000), ("list", 2999), ("csv", 1234)])
def test_unshuffled_stream_equals_in_memory_fit(files, houses, optimizer, source, chunk_rows):
    params = dict(optimizer=optimizer, l1=1e-5, epochs=2, polish=3, shuffle=False, random_state=0)
    streamed = WideClassifier(SPEC, **params).fit(files[source], y="label", chunk_rows=chunk_rows)
    memory = in_memory(WideClassifier(SPEC, **params), houses)
    assert streamed.model_.nnz > 100 and model_bytes(streamed) == model_bytes(memory)
    assert streamed.t_ == memory.t_ == 2 * N and streamed.polish_passes_ == memory.polish_passes_ == 3
    assert streamed.loss_curve_ == pytest.approx(memory.loss_curve_, rel=1e-12)
    assert streamed.objective_ is None and streamed.classes_.tolist() == [0, 1]


def test_unshuffled_stream_with_weights_and_a_regressor(files, houses):
    params = dict(l1=1e-6, epochs=2, polish=2, shuffle=False, random_state=0)
    clf = WideClassifier(SPEC, **params).fit(files["one"], y="label", sample_weight="w", chunk_rows=800)
    assert model_bytes(clf) == model_bytes(in_memory(WideClassifier(SPEC, **params), houses, weight="w"))
    houses_c = {**houses, "price": houses["price"] - houses["price"].mean()}
    centered = files["root"] / "centered.parquet"
    pq.write_table(pa.table(houses_c), centered, row_group_size=4000)
    reg = WideRegressor(SPEC, optimizer="ftrl", **params).fit(centered, "price", chunk_rows=3000)
    assert model_bytes(reg) == model_bytes(in_memory(WideRegressor(SPEC, optimizer="ftrl", **params), houses_c, "price"))


@pytest.mark.parametrize("optimizer", ["sgd", "ftrl"])
def test_shuffled_stream_is_seeded(files, optimizer):
    def fit(seed, chunk_rows=1000, buffer_rows=None):
        est = WideClassifier(SPEC, optimizer=optimizer, l1=1e-5, epochs=3, polish=1, random_state=seed)
        return est.fit(files["one"], y="label", chunk_rows=chunk_rows, buffer_rows=buffer_rows)

    a, b = fit(7), fit(7)
    assert model_bytes(a) == model_bytes(b) and a.loss_curve_ == b.loss_curve_
    assert model_bytes(fit(8)) != model_bytes(a)  # the seed drives the order
    assert model_bytes(fit(7, chunk_rows=999)) != model_bytes(a)  # and so does the chunking
    assert model_bytes(fit(7, buffer_rows=0)) != model_bytes(a)
    assert a.t_ == 3 * N and a.n_iter_ == 3


def test_shuffled_stream_learns_as_well_as_in_memory(files, houses):
    params = dict(l1=1e-5, epochs=3, random_state=1)
    streamed = WideClassifier(SPEC, **params).fit(files["dir"], y="label", chunk_rows=1500)
    memory = in_memory(WideClassifier(SPEC, **params), houses)
    test = data_gen.generate_housing(4000, seed=22)
    columns = {"lat": test["lat"], "lon": test["lon"]}
    loss = [log_loss(test["label"], m.predict_proba(columns)[:, 1]) for m in (streamed, memory)]
    assert loss[0] == pytest.approx(loss[1], abs=0.01)


def test_progress_callback_counts_every_row_and_polish_pass(files):
    calls = []
    clf = WideClassifier(SPEC, epochs=2, polish=2, random_state=0)
    clf.set_epoch_callback(lambda epoch, rows, loss: calls.append((epoch, rows, loss)))
    clf.fit(files["one"], y="label", chunk_rows=2000)
    per_epoch = {}
    for epoch, rows, loss in calls:
        per_epoch[epoch] = per_epoch.get(epoch, 0) + rows
        assert np.isfinite(loss)
    assert per_epoch == {0: N, 1: N, 2: N, 3: N}  # two epochs, then two polish passes
    last_of_epoch0 = [loss for epoch, _, loss in calls if epoch == 0][-1]
    assert last_of_epoch0 == pytest.approx(clf.loss_curve_[0], rel=1e-12)  # the epoch's mean
    reported = len(calls)
    clf.set_epoch_callback(None)
    clf.fit(files["one"], y="label", chunk_rows=2000)
    assert len(calls) == reported
    with pytest.raises(TypeError, match="callable"):
        clf.set_epoch_callback(3)


def test_in_memory_fit_reports_each_epoch(houses):
    calls = []
    clf = WideClassifier(SPEC, epochs=3, polish=0, random_state=0)
    clf.set_epoch_callback(lambda *args: calls.append(args))
    in_memory(clf, houses)
    assert [(e, r) for e, r, _ in calls] == [(0, N), (1, N), (2, N)]
    assert [c[2] for c in calls] == clf.loss_curve_


def test_errors_name_the_file_and_rows(files, houses, tmp_path):
    bad = dict(houses)
    bad["lat"] = houses["lat"].copy()
    bad["lat"][5123] = np.nan
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table(bad), path, row_group_size=3000)
    with pytest.raises(ValueError, match=r"bad.parquet: rows 5,000-5,999 \(row numbers below count from row 5,000\): .*'lat'.*row 123"):
        WideClassifier(SPEC, epochs=1).fit(path, y="label", chunk_rows=1000)
    labels = dict(houses)
    labels["label"] = houses["label"].astype(float)
    labels["label"][4321] = 0.5
    pq.write_table(pa.table(labels), path)
    with pytest.raises(ValueError, match=r"rows 4,000-4,999 .* y\[321\] = 0.5 is not one of the classes \[0, 1\]"):
        WideClassifier(SPEC, epochs=1).fit(path, y="label", classes=[0, 1], chunk_rows=1000)
    with pytest.raises(ValueError, match="needs two classes"):
        WideClassifier(SPEC).fit(path, y="label")  # 0, 0.5 and 1 found by the pass over the target
    with pytest.raises(KeyError, match=r"one.parquet: missing column\(s\) \['weight'\]"):
        WideClassifier(SPEC).fit(files["one"], y="label", sample_weight="weight")


def test_misuse_is_refused(files, houses):
    with pytest.raises(TypeError, match="y must name a column"):
        WideClassifier(SPEC).fit(files["one"], houses["label"])
    with pytest.raises(TypeError, match="needs a spec"):
        WideClassifier().fit(files["one"], y="label")
    with pytest.raises(ValueError, match="early_stopping is not available"):
        WideClassifier(SPEC, early_stopping=True).fit(files["one"], y="label")
    with pytest.raises(ValueError, match="chunk_rows must be an integer >= 1"):
        WideClassifier(SPEC).fit(files["one"], y="label", chunk_rows=0)
    with pytest.raises(ValueError, match="buffer_rows must be an integer >= 0"):
        WideClassifier(SPEC).fit(files["one"], y="label", buffer_rows=-1)
    with pytest.raises(TypeError, match="chunk_rows applies to fitting on a data set on disk"):
        in_memory(WideClassifier(SPEC), houses).fit({"lat": houses["lat"], "lon": houses["lon"]}, houses["label"], chunk_rows=10)
    with pytest.raises(ValueError, match="classes is only meaningful"):
        WideRegressor(SPEC).fit(files["one"], y="price", classes=[0, 1])
    with pytest.raises(FileNotFoundError):
        WideClassifier(SPEC).fit(files["root"] / "nothing.parquet", y="label")


def test_a_failed_streamed_fit_keeps_the_previous_model(files, houses, tmp_path):
    clf = WideClassifier(SPEC, epochs=1, random_state=0).fit(files["one"], y="label")
    before = model_bytes(clf)
    bad = dict(houses)
    bad["lon"] = houses["lon"].copy()
    bad["lon"][N - 1] = np.inf
    pq.write_table(pa.table(bad), tmp_path / "late.parquet")
    with pytest.raises(ValueError, match="late.parquet"):
        clf.fit(tmp_path / "late.parquet", y="label", chunk_rows=1000)
    assert model_bytes(clf) == before


def test_streaming_memory_is_set_by_the_chunk_not_the_data(tmp_path):
    # A narrow hashed model (4,096 columns), so that what is traced is the data in flight.
    rows = data_gen.generate_housing(200_000, seed=4)
    spec = wc.geo_spec(bits=12)
    params = dict(epochs=1, polish=1, random_state=0)
    peaks = {}
    for n in (50_000, 200_000):
        path = tmp_path / f"houses{n}.parquet"
        pq.write_table(pa.table({k: rows[k][:n] for k in ("lat", "lon", "label")}), path, row_group_size=25_000)
        WideClassifier(spec, **params).fit(path, y="label", chunk_rows=5000)  # compile outside the trace
        for how in ("streamed", "in memory"):
            tracemalloc.start()
            if how == "streamed":
                WideClassifier(spec, **params).fit(path, y="label", chunk_rows=5000)
            else:
                WideClassifier(spec, **params).fit({"lat": rows["lat"][:n], "lon": rows["lon"][:n]}, rows["label"][:n])
            peaks[how, n] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    # four times the rows: the same peak streamed, four times the peak in memory
    assert peaks["streamed", 200_000] < 1.3 * peaks["streamed", 50_000], peaks
    assert peaks["in memory", 200_000] > 3 * peaks["in memory", 50_000], peaks
    assert peaks["streamed", 200_000] < peaks["in memory", 200_000] / 3, peaks


def test_reader_thread_stops_with_the_consumer():
    before = threading.active_count()

    def items():
        for i in range(1000):
            yield i

    it = prefetched(items())
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()
    assert threading.active_count() == before

    def failing():
        yield 1
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        list(prefetched(failing()))
    assert threading.active_count() == before


def rows_block(ids: list[int]) -> Rows:
    """Each row holds one entry: slot = its id, value = -id, label = id, weight = id + 1."""
    n = len(ids)
    return Rows(
        np.arange(n + 1, dtype=np.int32), np.array(ids, dtype=np.int32), -np.array(ids, dtype=np.float32),
        np.array(ids, dtype=np.float32), np.array(ids, dtype=np.float64) + 1,
    )


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 30), min_size=1, max_size=8), capacity=st.integers(0, 40), seed=st.integers(0, 100))
def test_shuffle_buffer_visits_each_row_once_and_stays_bounded(sizes, capacity, seed):
    buf = ShuffleBuffer(capacity, np.random.default_rng(seed))
    seen: list[int] = []
    start = 0
    for size in sizes:
        out = buf.push(rows_block(list(range(start, start + size))))
        start += size
        assert buf.n_rows <= capacity
        if out is not None:
            seen += out.slots.tolist()
            # entries, values, labels and weights travel together
            assert out.data.tolist() == (-out.slots.astype(np.float32)).tolist()
            assert out.y.tolist() == out.slots.astype(np.float32).tolist() and (out.sw == out.y + 1).all()
    out = buf.drain()
    if out is not None:
        seen += out.slots.tolist()
    assert sorted(seen) == list(range(start)) and buf.n_rows == 0


def test_shuffle_buffer_mixes_old_and_new_rows_and_materializes_ones():
    buf = ShuffleBuffer(100, np.random.default_rng(0))
    assert buf.push(rows_block(list(range(100)))) is None
    ones = Rows(np.arange(101, dtype=np.int32), np.arange(100, 200, dtype=np.int32),
                        np.empty(0, np.float32), np.ones(100, np.float32), np.empty(0))
    out = buf.push(ones)  # values and weights stored as empty mean all ones
    assert out.n_rows == 100 and 20 < (out.slots < 100).sum() < 80
    old = out.slots < 100
    assert (out.data[~old] == 1).all() and (out.data[old] == -out.slots[old]).all() and (out.sw[~old] == 1).all()


def test_the_command_line_streams_through_fit(files, tmp_path):
    from widecross import cli

    out = tmp_path / "cli.wcm"
    args = ["train", files["one"], "--target", "label", "-o", out, "--memory-rows", "10", "--chunk-rows", "2000",
            "--epochs", "2", "--l1", "1e-5", "--seed", "3", "--quiet"]
    assert cli.main([str(a) for a in args]) == 0
    est = WideClassifier(SPEC, l1=1e-5, epochs=2, random_state=3)
    est.fit(files["one"], y="label", classes=[0, 1], chunk_rows=2000)
    saved = wc.load(out)
    assert saved.nnz > 100 and saved.indices.tobytes() == est.model_.indices.tobytes()
    assert saved.values.tobytes() == est.model_.values.tobytes() and saved.intercept == est.model_.intercept
