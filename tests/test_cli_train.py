"""``widecross train`` against the library: which rows it learns from, what it reports, and every
training flag reaching the estimator, compared by model bytes.

The held-out tests tag each row with a column of its own (an exact ``Bucketize`` of a row number,
no L1 to zero it), so the saved model itself says which rows were trained on: a row's column has
a weight if and only if training saw that row. Metrics are recomputed by scikit-learn on the
complement and must equal the reported ones.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm

import data_gen
import widecross as wc
from widecross.cli import main

N_ROWS = 6000
FRACTION = 0.25


def cli(*args: str) -> tuple[int, str, str]:
    """Run the command line in this process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def write_parquet(path: Path, columns: dict[str, np.ndarray]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli_train")


@pytest.fixture(scope="module")
def houses() -> dict[str, np.ndarray]:
    return data_gen.generate_housing(N_ROWS, seed=3)


@pytest.fixture(scope="module")
def tagged(workdir, houses) -> dict:
    """A data file whose rows each own one column of the model, and that spec as JSON."""
    columns = {"lat": houses["lat"], "lon": houses["lon"], "row": np.arange(N_ROWS) + 0.5, "label": houses["label"]}
    spec = wc.FeatureSpec([*wc.geo_spec().features, wc.Bucketize("row", 0, N_ROWS, 1)])
    spec_path = workdir / "tagged_spec.json"
    spec_path.write_text(spec.to_json())
    return dict(path=write_parquet(workdir / "tagged.parquet", columns), spec=spec, spec_path=spec_path,
                features={c: columns[c] for c in spec.columns}, y=houses["label"])


def trained_rows(model: wc.SparseModel, spec: wc.FeatureSpec) -> np.ndarray:
    """Which rows the model learned from: those whose own column carries a weight."""
    return model.get_weights(spec.offsets[-2] + np.arange(N_ROWS)) != 0


@pytest.fixture(scope="module")
def held_out_run(workdir, tagged) -> dict:
    out = workdir / "tagged.wcm"
    code, stdout, stderr = cli("train", tagged["path"], "--target", "label", "--spec", tagged["spec_path"], "--l1", "0",
                               "--epochs", "2", "--validation-fraction", FRACTION, "--json", "--quiet", "-o", out)
    assert code == 0, stderr
    assert stderr == ""
    model = wc.load(out)
    return dict(report=json.loads(stdout), model=model, out=out, trained=trained_rows(model, tagged["spec"]))


def take(columns: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[rows] for name, values in columns.items()}


def test_train_and_held_out_rows_are_disjoint_and_cover_the_data(held_out_run):
    trained = held_out_run["trained"]
    held = ~trained
    # a fraction of 0.25 of 6,000 rows: 1,500 +- 34 (one sigma); never none, never all
    assert abs(held.sum() - FRACTION * N_ROWS) < 5 * np.sqrt(N_ROWS * FRACTION * (1 - FRACTION))
    # every trained row was visited once per epoch, and no other row: the estimator's own count
    assert held_out_run["model"].metadata["examples_seen"] == 2 * trained.sum()
    assert trained.sum() + held.sum() == N_ROWS


def test_reported_metrics_are_those_of_the_held_out_rows(held_out_run, tagged):
    held = ~held_out_run["trained"]
    y = tagged["y"][held]
    p = held_out_run["model"].predict_proba(take(tagged["features"], held))[:, 1]
    reported = held_out_run["report"]["held_out"]
    assert reported["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-9)
    assert reported["auc"] == pytest.approx(skm.roc_auc_score(y, p), rel=1e-9)
    assert reported["accuracy"] == pytest.approx(skm.accuracy_score(y, p > 0.5), rel=1e-12)


def test_the_model_beats_the_base_rate_on_held_out_rows(held_out_run, tagged):
    trained = held_out_run["trained"]
    held_y = tagged["y"][~trained]
    base = skm.log_loss(held_y, np.full(held_y.size, tagged["y"][trained].mean()))
    reported = held_out_run["report"]["held_out"]
    # The geo crosses reach about base - 0.085 here; a constant scores the base rate and one
    # pass of short steps (learning_rate=0.05, no polish) about base - 0.02: both fail.
    assert reported["log_loss"] < base - 0.06
    assert reported["auc"] > 0.70


def test_cli_model_is_the_estimator_fitted_on_the_training_rows(held_out_run, tagged, workdir):
    trained = held_out_run["trained"]
    spec = wc.FeatureSpec.from_json(tagged["spec_path"].read_text())
    expected = wc.WideClassifier(spec, l1=0.0, epochs=2, random_state=0)
    expected.fit(take(tagged["features"], trained), tagged["y"][trained])
    path = expected.model_.save(workdir / "tagged_expected.wcm")
    assert held_out_run["out"].read_bytes() == path.read_bytes()


def test_no_validation_fraction_trains_on_every_row_and_reports_no_metrics(workdir, tagged):
    out = workdir / "all_rows.wcm"
    code, stdout, _ = cli("train", tagged["path"], "--target", "label", "--spec", tagged["spec_path"], "--l1", "0",
                          "--epochs", "1", "--polish", "0", "--json", "--quiet", "-o", out)
    assert code == 0
    assert json.loads(stdout)["held_out"] == {}
    assert trained_rows(wc.load(out), tagged["spec"]).all()


def test_streaming_refuses_a_validation_fraction_it_cannot_hold_out(workdir, tagged):
    out = workdir / "streamed.wcm"
    code, _, stderr = cli("train", tagged["path"], "--target", "label", "--spec", tagged["spec_path"], "--memory-rows",
                          "100", "--chunk-rows", "2000", "--validation-fraction", FRACTION, "--quiet", "-o", out)
    assert code == 1 and "--validation-fraction" in stderr and "--memory-rows" in stderr
    assert not out.exists()


# -- every training flag, against the estimator it should have built ------------------------


@pytest.fixture(scope="module")
def renamed(workdir, houses) -> Path:
    """The houses with other column names, a regression target and a float label column."""
    columns = {"y_deg": houses["lat"], "x_deg": houses["lon"], "log_price": np.log(houses["price"]),
               "label": houses["label"]}
    return write_parquet(workdir / "renamed.parquet", columns)


def cli_bytes(workdir: Path, name: str, *args: str) -> bytes:
    out = workdir / f"{name}.wcm"
    code, _, stderr = cli("train", *args, "--quiet", "-o", out)
    assert code == 0, stderr
    return out.read_bytes()


def estimator_bytes(workdir: Path, name: str, estimator, data: dict, y: np.ndarray, values: str = "float32") -> bytes:
    return estimator.fit(data, y).model_.save(workdir / f"{name}.expected.wcm", values=values).read_bytes()


def test_lat_lon_bits_and_hash_seed_reach_the_spec(workdir, houses, renamed):
    flags = ["--lat", "y_deg", "--lon", "x_deg", "--bits", "18", "--epochs", "1", "--resolutions", "60,10"]
    data = {"y_deg": houses["lat"], "x_deg": houses["lon"]}
    seeded = cli_bytes(workdir, "seed7", renamed, "--target", "label", *flags, "--hash-seed", "7")
    spec = wc.geo_spec(lat="y_deg", lon="x_deg", resolutions=(60, 10), bits=18, seed=7)
    assert seeded == estimator_bytes(workdir, "seed7", wc.WideClassifier(spec, epochs=1, random_state=0), data, houses["label"])
    assert wc.load(workdir / "seed7.wcm").spec.to_json() == spec.to_json()
    unseeded = cli_bytes(workdir, "seed0", renamed, "--target", "label", *flags)
    assert unseeded != seeded  # the seed moves the hashed columns


def test_squared_loss_trains_the_regressor(workdir, houses, renamed):
    flags = ["--lat", "y_deg", "--lon", "x_deg", "--bits", "20", "--epochs", "2", "--loss", "squared", "--l1", "1e-5"]
    got = cli_bytes(workdir, "squared", renamed, "--target", "log_price", *flags)
    spec = wc.geo_spec(lat="y_deg", lon="x_deg", bits=20)
    estimator = wc.WideRegressor(spec, loss="squared", l1=1e-5, epochs=2, random_state=0)
    data = {"y_deg": houses["lat"], "x_deg": houses["lon"]}
    assert got == estimator_bytes(workdir, "squared", estimator, data, np.log(houses["price"]))
    code, stdout, stderr = cli("evaluate", workdir / "squared.wcm", renamed, "--target", "log_price", "--json")
    assert code == 0, stderr
    report = json.loads(stdout)
    assert set(report) == {"rows", "rmse", "mae", "r2"} and report["rows"] == N_ROWS
    predicted = wc.load(workdir / "squared.wcm").predict(data)
    assert report["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(np.log(houses["price"]), predicted)), rel=1e-9)
    assert report["r2"] == pytest.approx(skm.r2_score(np.log(houses["price"]), predicted), rel=1e-9)
    assert report["r2"] > 0.3  # places set prices: a constant scores 0


@pytest.mark.parametrize("values", ["float16", "q8"])
def test_values_flag_writes_that_encoding(workdir, houses, renamed, values):
    flags = ["--lat", "y_deg", "--lon", "x_deg", "--bits", "18", "--epochs", "1", "--values", values]
    got = cli_bytes(workdir, values, renamed, "--target", "label", *flags)
    spec = wc.geo_spec(lat="y_deg", lon="x_deg", bits=18)
    data = {"y_deg": houses["lat"], "x_deg": houses["lon"]}
    assert got == estimator_bytes(workdir, values, wc.WideClassifier(spec, epochs=1, random_state=0), data,
                                  houses["label"], values=values)
    assert wc.load(workdir / f"{values}.wcm").source["value_encoding"] == values


def test_optimizer_rate_penalty_and_seed_flags_reach_the_estimator(workdir, houses, renamed):
    """--optimizer, --learning-rate (SGD's rate or FTRL's alpha), --l2, --schedule, --seed: byte for byte."""
    geo = ["--lat", "y_deg", "--lon", "x_deg", "--bits", "18"]
    spec = wc.geo_spec(lat="y_deg", lon="x_deg", bits=18)
    data = {"y_deg": houses["lat"], "x_deg": houses["lon"]}
    cases = {
        "ftrl": (["--optimizer", "ftrl", "--learning-rate", "0.3", "--l2", "1e-4", "--epochs", "2", "--seed", "5"],
                 dict(optimizer="ftrl", alpha=0.3, l2=1e-4, epochs=2, random_state=5)),
        "sgd_rate": (["--learning-rate", "0.2", "--schedule", "constant", "--epochs", "2"],
                     dict(learning_rate=0.2, schedule="constant", epochs=2)),
    }
    for name, (flags, params) in cases.items():
        got = cli_bytes(workdir, name, renamed, "--target", "label", *geo, *flags)
        expected = wc.WideClassifier(spec, **{"random_state": 0, **params})
        assert got == estimator_bytes(workdir, name, expected, data, houses["label"]), name


def test_version_prints_the_package_version():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert out.getvalue().strip() == f"widecross {wc.__version__}"
