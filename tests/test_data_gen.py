"""data_gen: determinism, chunk invariance, geography, prices, corruption, files, CLI, sparse data.

References here are independent of the generator's kernels: plain-Python splitmix64, the land
mask unpacked with NumPy, exact alias-table probabilities, least squares and group means.
"""

from __future__ import annotations

import csv
import doctest
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import data_gen
from data_gen import _rng, _world
from data_gen._world import LAND_FILE, load_world
from data_gen.housing import _generate_checked
from in_process import run_main

REPO = Path(__file__).resolve().parents[1]
N_CELLS = 10_800 * 21_600
U64 = (1 << 64) - 1


# ----------------------------------------------------------------------------- references


def splitmix64_stream(state: int, count: int) -> list[int]:
    """Vigna's splitmix64 generator, in plain Python."""
    out = []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & U64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
        out.append(z ^ (z >> 31))
    return out


@pytest.fixture(scope="module")
def land_grid() -> np.ndarray:
    """The 1' land mask unpacked to booleans (10800 x 21600), row 0 = south."""
    with np.load(LAND_FILE, allow_pickle=False) as f:
        return np.unpackbits(f["bits"], axis=1).astype(bool)


def on_land_reference(grid: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    row = np.minimum(np.floor((lat + 90.0) * 60.0).astype(np.int64), 10_799)
    col = np.floor((lon + 180.0) * 60.0).astype(np.int64) % 21_600
    return grid[row, col]


def minute_cells(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    row = np.minimum(np.floor((lat + 90.0) * 60.0).astype(np.int64), 10_799)
    col = np.floor((lon + 180.0) * 60.0).astype(np.int64) % 21_600
    return row * 21_600 + col


def assert_rows_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        if a[name].dtype.kind == "f":
            assert np.array_equal(a[name], b[name], equal_nan=True), name
        else:
            assert np.array_equal(a[name], b[name]), name


def bad_coordinate(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90) | (np.abs(lon) > 180)


@pytest.fixture(scope="module")
def sample() -> dict[str, np.ndarray]:
    return data_gen.generate_housing(100_000, seed=11)


# ----------------------------------------------------------------------------- random numbers


def test_mix64_matches_splitmix64_reference_vectors():
    # Published splitmix64 outputs for state 1234567 (Vigna's reference implementation).
    assert splitmix64_stream(1234567, 3) == [6457827717110365317, 3203168211198807973, 9817491932198370423]
    key = np.uint64(1234567)
    got = [int(_rng.draw(key, np.uint64(k))) for k in range(3)]
    assert got == splitmix64_stream(1234567, 3)
    # No silent float64 promotion anywhere in the mixer: Numba typed it uint64 end to end.
    assert isinstance(_rng.mix64(np.uint64(5)), int)
    _rng.hash2(np.uint64(1), np.uint64(2))
    assert {str(sig.return_type) for sig in _rng.mix64.nopython_signatures} == {"uint64"}
    assert {str(sig.return_type) for sig in _rng.hash2.nopython_signatures} == {"uint64"}
    for z in [0, 1, 2**63, U64, 0x0123456789ABCDEF]:
        assert int(_rng.mix64(np.uint64(z))) == _rng.py_mix64(z)


def test_unit_and_bell_ranges_and_moments():
    bits = [np.uint64(_rng.draw(np.uint64(99), np.uint64(k))) for k in range(20_000)]
    u = np.array([_rng.unit(b) for b in bits])
    uo = np.array([_rng.unit_open(b) for b in bits])
    z = np.array([_rng.bell(b) for b in bits])
    assert 0.0 <= u.min() and u.max() < 1.0 and 0.0 < uo.min() and uo.max() <= 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(z.mean()) < 0.03 and abs(z.var() - 1.0) < 0.05
    assert np.abs(z).max() <= 2 * math.sqrt(3)
    assert _rng.unit(np.uint64(U64)) < 1.0 and _rng.unit_open(np.uint64(0)) > 0.0


# ----------------------------------------------------------------------------- world tables


def alias_probabilities(prob: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """Exact probability of each outcome under an alias table."""
    m = prob.shape[0]
    p = prob.copy()
    np.add.at(p, alias, 1.0 - prob)
    return p / m


def test_alias_table_reproduces_weights_exactly():
    rng = np.random.default_rng(3)
    weights = rng.exponential(size=1000) * (rng.random(1000) < 0.7)  # many zero weights too
    prob = np.empty(1000)
    alias = np.empty(1000, dtype=np.int64)
    _world.build_alias(weights, prob, alias)
    np.testing.assert_allclose(alias_probabilities(prob, alias), weights / weights.sum(), atol=1e-12)
    world = load_world()
    weights = np.concatenate([world.urban_weight, world.rural_weight])
    # 317k slots: rounding in the table's running sums stays far below a slot's mean 3e-6.
    np.testing.assert_allclose(alias_probabilities(world.alias_prob, world.alias_index), weights / weights.sum(), atol=1e-12)


def test_world_rescales_countries_to_their_population():
    world = load_world()
    with np.load(_world.PLACES_FILE, allow_pickle=False) as f:
        country = f["country"].astype(np.int64)
        country_pop = f["country_pop"].astype(float)
    per_country = np.bincount(country, weights=world.urban_weight + world.rural_weight, minlength=country_pop.size)
    usable = (world.urban_weight + world.rural_weight) > 0
    has_places = np.bincount(country, weights=usable, minlength=country_pop.size) > 0
    covered = has_places & (country_pop > 0)
    assert covered.sum() > 240
    # Every country with places gets its total population, listed or rural.
    np.testing.assert_allclose(per_country[covered], country_pop[covered], rtol=1e-6)
    india = int(np.flatnonzero(world.country_iso == "IN")[0])
    australia = int(np.flatnonzero(world.country_iso == "AU")[0])
    assert world.rural_weight[country == india].sum() > 0.6 * country_pop[india]  # list covers 29 %
    assert world.rural_weight[country == australia].sum() == 0.0  # listed 183 %: scaled down


def test_every_usable_place_is_on_land(land_grid):
    world = load_world()
    usable = (world.urban_weight + world.rural_weight) > 0
    lat, lon = world.place_f[usable, 0], world.place_f[usable, 1]
    assert on_land_reference(land_grid, lat, lon).all()  # the fallback location is on land


def test_land_lookup_matches_unpacked_mask(land_grid):
    rng = np.random.default_rng(5)
    lat = np.concatenate([rng.uniform(-90, 90, 50_000), [90.0, -90.0, 0.0, 51.5, -33.9]])
    lon = np.concatenate([rng.uniform(-180, 180, 50_000), [0.0, -180.0, 180.0, -0.12, np.nextafter(180.0, 0)]])
    got = _world.land_mask_lookup(lat, lon)
    assert np.array_equal(got, on_land_reference(land_grid, lat, lon))
    assert 0.25 < got[:50_000].mean() < 0.40  # about a third of 1' cells hold land
    with pytest.raises(ValueError, match="row 1"):
        _world.land_mask_lookup(np.array([0.0, np.nan]), np.array([0.0, 0.0]))


# ----------------------------------------------------------------------------- determinism


def test_same_seed_identical_different_seed_different():
    a = data_gen.generate_housing(5000, seed=4, bad_fraction=0.1)
    b = data_gen.generate_housing(5000, seed=4, bad_fraction=0.1)
    assert_rows_equal(a, b)
    c = data_gen.generate_housing(5000, seed=5, bad_fraction=0.1)
    assert np.mean(a["lat"] == c["lat"]) < 0.01
    assert np.mean(a["price"] == c["price"]) < 0.01


def test_world_seed_changes_prices_not_houses():
    a = data_gen.generate_housing(5000, seed=4, world_seed=0)
    b = data_gen.generate_housing(5000, seed=4, world_seed=1)
    for name in ("lat", "lon", "rooms", "area", "age", "property_type", "country"):
        assert np.array_equal(a[name], b[name]), name
    assert np.mean(a["price"] == b["price"]) < 0.01
    assert data_gen.label_threshold(0) != data_gen.label_threshold(1)


@pytest.mark.parametrize(
    "sizes",
    [
        [1] * 40 + [1960],
        [7, 993, 1, 499, 500],
        [333] * 6 + [2],
        [1999, 1],
    ],
)
def test_any_chunking_gives_identical_rows(sizes):
    assert sum(sizes) == 2000
    whole = data_gen.generate_housing(2000, seed=9, world_seed=2, bad_fraction=0.05)
    starts = np.cumsum([0] + sizes[:-1])
    parts = [
        data_gen.generate_housing(size, seed=9, world_seed=2, bad_fraction=0.05, start=int(start))
        for start, size in zip(starts, sizes)
    ]
    joined = {name: np.concatenate([p[name] for p in parts]) for name in whole}
    assert_rows_equal(whole, joined)


def test_rows_far_into_the_stream():
    start = 10**15
    a = data_gen.generate_housing(10, seed=1, start=start)
    b = data_gen.generate_housing(3, seed=1, start=start + 7)
    assert np.array_equal(a["price"][7:], b["price"])
    assert not np.array_equal(a["price"][:3], data_gen.generate_housing(3, seed=1)["price"])


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="n must be"):
        data_gen.generate_housing(-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        data_gen.generate_housing(10, seed=1.5)
    with pytest.raises(ValueError, match="bad_fraction"):
        data_gen.generate_housing(10, bad_fraction=1.5)
    with pytest.raises(ValueError, match="start must be"):
        data_gen.generate_housing(10, start=-3)
    with pytest.raises(ValueError, match="world_seed"):
        data_gen.generate_housing(10, world_seed=-1)
    assert data_gen.generate_housing(0)["lat"].shape == (0,)


# ----------------------------------------------------------------------------- columns and geography


def test_columns_and_dtypes(sample):
    assert list(sample) == list(data_gen.COLUMNS)
    for name, dtype in data_gen.COLUMNS.items():
        assert sample[name].dtype == np.dtype(dtype), name
        assert sample[name].shape == (100_000,)
    assert set(np.unique(sample["property_type"])) == set(data_gen.PROPERTY_TYPES)
    assert set(np.unique(sample["label"])) == {0, 1}
    assert not sample["is_bad"].any()
    assert np.all((sample["lat"] >= -90) & (sample["lat"] <= 90))
    assert np.all((sample["lon"] >= -180) & (sample["lon"] < 180))
    assert sample["rooms"].min() >= 1 and sample["rooms"].max() <= 16
    assert sample["area"].min() > 5 and np.median(sample["area"]) < 150
    assert sample["age"].min() >= 0 and sample["age"].max() <= 150
    assert np.all(np.isfinite(sample["price"])) and sample["price"].min() > 0


def test_houses_are_on_land(sample, land_grid):
    share = on_land_reference(land_grid, sample["lat"], sample["lon"]).mean()
    assert share >= 0.995


def test_houses_follow_population(sample):
    world = load_world()
    with np.load(_world.PLACES_FILE, allow_pickle=False) as f:
        country_pop = f["country_pop"].astype(float)
    weights = world.urban_weight + world.rural_weight
    for iso in ("IN", "CN", "US", "NG", "DE"):
        k = int(np.flatnonzero(world.country_iso == iso)[0])
        expected = country_pop[k] / weights.sum()
        observed = np.mean(sample["country"] == iso)
        assert abs(observed - expected) < 4 * math.sqrt(expected / 1e5) + 1e-3, iso
    # Many distinct places, but no place is more than a small share of the houses.
    codes = _generate_checked(100_000, 11, 0, 0.0, 0)
    expected_rural = world.rural_weight.sum() / weights.sum()
    assert abs(codes["rural"].mean() - expected_rural) < 0.01
    assert np.bincount(codes["place"]).max() < 0.02 * 100_000


def test_spread_grows_with_city_size():
    world = load_world()
    codes = _generate_checked(100_000, 2, 0, 0.0, 0)
    p = codes["place"]
    pop = 10 ** world.place_f[p, 3]
    dy = (codes["lat"] - world.place_f[p, 0]) * _world.KM_PER_DEGREE
    dx = (codes["lon"] - world.place_f[p, 1] + 540.0) % 360.0 - 180.0
    dx *= _world.KM_PER_DEGREE * np.cos(np.radians(world.place_f[p, 0]))
    km = np.hypot(dx, dy)
    urban = ~codes["rural"]
    town = np.median(km[urban & (pop < 1e4)])
    big = np.median(km[urban & (pop > 5e6)])
    rural = np.median(km[codes["rural"]])
    assert 0.3 < town < 5.0  # km-scale for towns
    assert 10.0 < big < 60.0  # tens of km for megacities
    assert rural > 5 * town  # rural housing spreads more widely


@pytest.mark.slow
def test_distinct_minute_cells_for_a_million_rows():
    rows = data_gen.generate_housing(1_000_000, seed=0)
    distinct = np.unique(minute_cells(rows["lat"], rows["lon"])).size
    assert 0.001 * N_CELLS <= distinct <= 0.01 * N_CELLS


# ----------------------------------------------------------------------------- prices and labels


@pytest.mark.parametrize("seed, world_seed", [(0, 0), (1, 0), (2, 7)])
def test_label_is_price_above_world_median(seed, world_seed):
    rows = data_gen.generate_housing(50_000, seed=seed, world_seed=world_seed)
    threshold = data_gen.label_threshold(world_seed)
    assert np.array_equal(rows["label"], (rows["price"] > threshold).astype(np.int8))
    assert 0.40 <= rows["label"].mean() <= 0.60
    assert abs(np.median(rows["price"]) / threshold - 1.0) < 0.05


def test_prices_are_plausible_usd(sample):
    price = sample["price"]
    assert 20_000 < np.median(price) < 400_000
    assert np.quantile(price, 0.01) > 1_000 and np.quantile(price, 0.99) < 10_000_000
    by_country = {iso: np.median(price[sample["country"] == iso]) for iso in ("US", "DE", "IN", "NG")}
    assert by_country["US"] > 2 * by_country["IN"] and by_country["DE"] > 2 * by_country["NG"]
    # Bigger homes cost more.
    area = sample["area"]
    assert np.median(price[area > 150]) > 1.5 * np.median(price[area < 50])


def attribute_residuals(rows: dict[str, np.ndarray]) -> np.ndarray:
    """log(price) minus a least-squares fit on the house attributes."""
    kind = rows["property_type"]
    design = np.column_stack(
        [np.ones(rows["price"].size), np.log(rows["area"]), rows["rooms"], rows["age"], rows["age"] ** 2.0]
        + [(kind == name).astype(float) for name in data_gen.PROPERTY_TYPES[1:]]
    )
    log_price = np.log(rows["price"])
    coef, *_ = np.linalg.lstsq(design, log_price, rcond=None)
    return log_price - design @ coef


def fine_cell_deviations(rows: dict[str, np.ndarray], min_count: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Per 1' cell: mean residual minus its 10' cell's mean residual, for cells with enough houses.

    Returns the cell ids, their deviations, and the part of the deviations' variance that
    within-cell noise alone would explain.
    """
    resid = attribute_residuals(rows)
    lat, lon = rows["lat"], rows["lon"]
    fine = minute_cells(lat, lon)
    coarse = np.minimum(np.floor((lat + 90) * 6).astype(np.int64), 1079) * 2160 + np.floor((lon + 180) * 6).astype(
        np.int64
    ) % 2160
    _, coarse_id = np.unique(coarse, return_inverse=True)
    coarse_mean = np.bincount(coarse_id, weights=resid) / np.bincount(coarse_id)
    resid = resid - coarse_mean[coarse_id]
    cells, fine_id, counts = np.unique(fine, return_inverse=True, return_counts=True)
    mean = np.bincount(fine_id, weights=resid) / counts
    sq = np.bincount(fine_id, weights=resid**2) / counts
    within_var = np.maximum(sq - mean**2, 0.0) * counts / np.maximum(counts - 1, 1)
    keep = counts >= min_count
    noise_share = float(np.mean(within_var[keep] / counts[keep]))
    return cells[keep], mean[keep], noise_share


@pytest.mark.slow
def test_fine_cells_carry_real_signal():
    rows = data_gen.generate_housing(1_000_000, seed=21)
    cells, deviation, noise_share = fine_cell_deviations(rows, min_count=5)
    assert cells.size > 1000
    # The 1' cell means vary around their 10' cell far more than their own noise explains.
    assert np.var(deviation) > 2 * noise_share
    assert np.var(deviation) - noise_share > 0.02

    # The signal is a property of the world, so it is learnable: an independent sample of the
    # same world reproduces the fine-cell deviations; one from another world much less so.
    same = data_gen.generate_housing(1_000_000, seed=22, world_seed=0)
    other = data_gen.generate_housing(1_000_000, seed=22, world_seed=5)

    def agreement(second: dict[str, np.ndarray]) -> float:
        cells2, deviation2, _ = fine_cell_deviations(second, min_count=5)
        common, i, j = np.intersect1d(cells, cells2, return_indices=True)
        assert common.size > 500
        return float(np.corrcoef(deviation[i], deviation2[j])[0, 1])

    r_same, r_other = agreement(same), agreement(other)
    assert r_same > 0.3
    assert r_same > r_other + 0.2


# ----------------------------------------------------------------------------- corrupted rows


def test_bad_rows_are_flagged_exactly():
    clean = data_gen.generate_housing(100_000, seed=3)
    rows = data_gen.generate_housing(100_000, seed=3, bad_fraction=0.2)
    flagged = rows["is_bad"]
    assert np.array_equal(flagged, bad_coordinate(rows["lat"], rows["lon"]))
    assert abs(flagged.mean() - 0.2) < 0.01
    lat, lon = rows["lat"][flagged], rows["lon"][flagged]
    kinds = {
        "nan lat": np.isnan(lat).any(),
        "nan lon": np.isnan(lon).any(),
        "+inf": (np.isposinf(lat) | np.isposinf(lon)).any(),
        "-inf": (np.isneginf(lat) | np.isneginf(lon)).any(),
        "lat > 90": (lat[np.isfinite(lat)] > 90).any(),
        "lat < -90": (lat[np.isfinite(lat)] < -90).any(),
        "lon > 180": (lon[np.isfinite(lon)] > 180).any(),
        "lon < -180": (lon[np.isfinite(lon)] < -180).any(),
    }
    assert all(kinds.values()), kinds
    # Corruption touches only the coordinates of flagged rows.
    for name in ("rooms", "area", "age", "property_type", "country", "price", "label"):
        assert np.array_equal(rows[name], clean[name]), name
    assert np.array_equal(rows["lat"][~flagged], clean["lat"][~flagged])
    assert np.array_equal(rows["lon"][~flagged], clean["lon"][~flagged])
    assert data_gen.generate_housing(1000, seed=3, bad_fraction=1.0)["is_bad"].all()


# ----------------------------------------------------------------------------- files and CLI


def read_parquet_columns(path: Path) -> dict[str, np.ndarray]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pq.read_table(path)
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(pa.string())
            out[name] = np.array(column.to_pylist(), dtype=data_gen.COLUMNS[name])
        else:
            out[name] = column.to_numpy()
    return out


def test_write_parquet_round_trip(tmp_path):
    import pyarrow.parquet as pq
    path = data_gen.write_parquet(tmp_path / "h.parquet", 10_000, seed=6, world_seed=1, chunk_rows=3000, bad_fraction=0.05)
    assert path == tmp_path / "h.parquet"
    assert pq.ParquetFile(path).num_row_groups == 4  # bounded memory: one row group per chunk
    expected = data_gen.generate_housing(10_000, seed=6, world_seed=1, bad_fraction=0.05)
    assert_rows_equal(read_parquet_columns(path), expected)
    assert sorted(os.listdir(tmp_path)) == ["h.parquet"]  # no temporary file left behind


def test_write_parquet_is_atomic(tmp_path, monkeypatch):
    import data_gen.io as io

    path = tmp_path / "h.parquet"
    path.write_bytes(b"previous")
    real = io._generate_checked
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(io, "_generate_checked", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        data_gen.write_parquet(path, 100, chunk_rows=40)
    assert path.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["h.parquet"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data_gen.write_parquet(tmp_path / "missing" / "h.parquet", 10)


def test_write_csv_round_trip(tmp_path):
    path = data_gen.write_csv(tmp_path / "h.csv", 3000, seed=2, chunk_rows=700, bad_fraction=0.1)
    expected = data_gen.generate_housing(3000, seed=2, bad_fraction=0.1)
    with open(path, newline="") as f:
        records = list(csv.reader(f))
    assert records[0] == list(data_gen.COLUMNS)
    columns = list(zip(*records[1:]))
    for name, values in zip(data_gen.COLUMNS, columns):
        want = expected[name]
        if want.dtype.kind == "f":
            assert np.array_equal(np.array([float(v) for v in values]), want, equal_nan=True), name
        elif want.dtype.kind == "b":
            assert np.array_equal(np.array(values) == "1", want), name
        elif want.dtype.kind == "U":
            assert list(values) == want.tolist(), name
        else:
            assert np.array_equal(np.array([int(v) for v in values]), want), name


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m data_gen`` through its main function, in this process."""
    from data_gen.__main__ import main

    return run_main(main, *args)


def test_cli_writes_parquet_and_reports_rate(tmp_path):
    out = tmp_path / "houses.parquet"
    proc = run_cli("--rows", "5000", "--seed", "3", "--world-seed", "1", "--out", str(out), "--chunk-rows", "1234")
    assert proc.returncode == 0, proc.stderr
    assert "wrote 5,000 rows" in proc.stderr and "rows/s" in proc.stderr
    assert_rows_equal(read_parquet_columns(out), data_gen.generate_housing(5000, seed=3, world_seed=1))


def test_cli_csv_and_errors(tmp_path):
    out = tmp_path / "houses.csv"
    proc = run_cli("--rows", "1e3", "--out", str(out), "--quiet", "--bad-fraction", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout == ""
    with open(out, newline="") as f:
        records = list(csv.reader(f))
    assert len(records) == 1001 and records[0][0] == "lat"
    assert np.mean([r[-1] == "1" for r in records[1:]]) == pytest.approx(0.5, abs=0.06)
    bad = run_cli("--rows", "-5", "--out", str(out))
    assert bad.returncode == 2 and "--rows" in bad.stderr
    missing_dir = run_cli("--rows", "10", "--out", str(tmp_path / "nope" / "x.parquet"))
    assert missing_dir.returncode == 2 and "does not exist" in missing_dir.stderr
    assert run_cli("--help").returncode == 0


def test_data_gen_stands_alone():
    # data_gen never imports widecross, and pyarrow only when writing Parquet.
    code = (
        "import sys, data_gen; data_gen.generate_housing(10); "
        "print(sorted(m for m in ('widecross', 'pyarrow') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- sparse generator


def test_generate_sparse_shapes_and_support():
    X, y, w = data_gen.generate_sparse(2000, 300, nnz_per_row=12, n_informative=10, seed=4)
    assert X.shape == (2000, 300) and X.dtype == np.float32 and X.format == "csr"
    assert np.array_equal(np.diff(X.indptr), np.full(2000, 12))
    assert X.has_sorted_indices
    rows_sorted = np.diff(X.indices.reshape(2000, 12), axis=1)
    assert (rows_sorted > 0).all()  # distinct columns within each row
    assert w.shape == (300,) and np.count_nonzero(w) == 10
    assert np.all((np.abs(w[w != 0]) >= 0.5) & (np.abs(w[w != 0]) <= 2.0))
    assert y.dtype == np.int8 and set(np.unique(y)) == {0, 1}
    # Labels follow the true margin.
    margin = X @ w
    assert y[margin > 1].mean() > 0.7 and y[margin < -1].mean() < 0.3
    X2, y2, w2 = data_gen.generate_sparse(2000, 300, nnz_per_row=12, n_informative=10, seed=4)
    assert (X != X2).nnz == 0 and np.array_equal(y, y2) and np.array_equal(w, w2)
    X3, *_ = data_gen.generate_sparse(2000, 300, nnz_per_row=12, n_informative=10, seed=5)
    assert (X != X3).nnz > 0


def test_generate_sparse_dense_rows_and_edges():
    X, y, w = data_gen.generate_sparse(500, 10, nnz_per_row=9, n_informative=10, seed=0, loss="squared", noise=0.0)
    assert np.array_equal(np.diff(X.indptr), np.full(500, 9)) and X.has_sorted_indices
    assert len(np.unique(X.indices.reshape(500, 9), axis=None)) == 10
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, X @ w)
    X, y, w = data_gen.generate_sparse(5, 4, nnz_per_row=0, n_informative=0)
    assert X.nnz == 0 and not w.any()
    with pytest.raises(ValueError, match="nnz_per_row"):
        data_gen.generate_sparse(5, 4, nnz_per_row=5, n_informative=1)
    with pytest.raises(ValueError, match="n_informative"):
        data_gen.generate_sparse(5, 4, nnz_per_row=1, n_informative=5)
    with pytest.raises(ValueError, match="loss"):
        data_gen.generate_sparse(5, 4, nnz_per_row=1, n_informative=1, loss="hinge")


def test_generate_sparse_support_is_recoverable_by_l1():
    from sklearn import linear_model
    X, y, w = data_gen.generate_sparse(3000, 60, nnz_per_row=15, n_informative=6, seed=1, loss="squared", noise=0.1)
    fit = linear_model.Lasso(alpha=0.02, fit_intercept=False).fit(X.toarray(), y)
    assert np.array_equal(np.flatnonzero(np.abs(fit.coef_) > 1e-3), np.flatnonzero(w))


# ----------------------------------------------------------------------------- docs


@pytest.mark.parametrize("module", ["data_gen", "data_gen.housing", "data_gen.io", "data_gen.sparse", "data_gen._world"])
def test_docstring_examples(module):
    result = doctest.testmod(sys.modules[module] if module in sys.modules else __import__(module, fromlist=["_"]))
    assert result.attempted > 0 and result.failed == 0
