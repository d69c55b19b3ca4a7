"""The command line's feature flags, --spec rules and region maps, through ``widecross.cli.main``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import widecross as wc
from widecross import cli

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.realestate import make_realestate  # noqa: E402


@pytest.fixture(scope="module")
def sales(tmp_path_factory) -> Path:
    data = make_realestate(6000, seed=4)
    path = tmp_path_factory.mktemp("sales") / "sales.parquet"
    pq.write_table(pa.table({k: data[k] for k in ("lat", "lon", "kind", "area", "amenities", "label")}), path)
    return path


def run(capsys, *args):
    code = cli.main([*args, "--quiet", "--json"])
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 and out.out.strip().startswith("{") else out


def test_train_with_column_flags_learns_the_vocabularies(sales, tmp_path, capsys):
    model_path = tmp_path / "m.wcm"
    code, payload = run(capsys, "train", str(sales), "--target", "label", "-o", str(model_path), "--resolutions", "60,10",
                        "--bits", "20", "--categorical", "kind", "--numeric", "area:standard", "--tokens", "amenities:,",
                        "--cross", "geo,kind", "--validation-fraction", "0.2", "--epochs", "2")
    assert code == 0, payload
    assert payload["held_out"]["log_loss"] < 0.6  # the base rate is 0.693: kind and area carry the label
    model = wc.load(model_path)
    names = [f.name for f in model.spec.features]
    assert names[:4] == ["lat x lon 60'", "lat x lon 10'", "lat 10'", "lon 10'"]
    assert {"area", "kind", "amenities", "lat x lon 60' x kind", "lon 10' x kind"} <= set(names)
    kind = model.spec.features[names.index("kind")]
    assert sorted(kind.vocabulary) == ["flat", "house", "loft", "studio", "townhouse", "villa"]
    area = model.spec.features[names.index("area")]
    assert area.standardize and 50 < area.center < 200
    code, scores = run(capsys, "evaluate", str(model_path), str(sales), "--target", "label")
    assert code == 0 and scores["log_loss"] < 0.6


def test_spec_file_and_flags_do_not_mix(sales, tmp_path, capsys):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(wc.FeatureSpec([wc.Categorical("kind", min_count=1)], bits=None).to_json())
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", str(sales), "--target", "label", "-o", str(tmp_path / "x.wcm"), "--spec", str(spec_path),
                  "--bits", "22", "--quiet"])
    assert stop.value.code == 2
    assert "--spec describes every feature, so it cannot be combined with --bits" in capsys.readouterr().err
    code, _ = run(capsys, "train", str(sales), "--target", "label", "-o", str(tmp_path / "s.wcm"), "--spec", str(spec_path),
                  "--epochs", "1")
    assert code == 0  # the spec's learnable vocabulary is fitted on the training rows
    assert wc.load(tmp_path / "s.wcm").spec.features[0].vocabulary is not None
    broken = json.loads(spec_path.read_text())
    broken["features"][0]["n_buckets"] = "16"
    spec_path.write_text(json.dumps(broken))
    code, out = run(capsys, "train", str(sales), "--target", "label", "-o", str(tmp_path / "b.wcm"), "--spec", str(spec_path))
    assert code == 1
    assert f"{spec_path}: not a valid feature spec: malformed feature spec: features[0].n_buckets: must be" in out.err


def test_flag_errors(sales, tmp_path, capsys):
    base = ["train", str(sales), "--target", "label", "-o", str(tmp_path / "e.wcm")]
    code, out = run(capsys, *base, "--resolutions", "none")
    assert code == 1 and "no features" in out.err
    with pytest.raises(SystemExit):
        cli.main([*base, "--resolutions", "none", "--categorical", "kind", "--lat", "y"])
    assert "--resolutions none leaves out" in capsys.readouterr().err
    code, out = run(capsys, *base, "--categorical", "kind", "--cross", "kind,nope")
    assert code == 1 and "'nope', which is neither a group nor a feature" in out.err
    code, out = run(capsys, *base, "--numeric", "area:big")
    assert code == 1 and "--numeric takes COL, COL:standard or COL:SCALE" in out.err


def test_out_of_range_flag(tmp_path, capsys):
    path = tmp_path / "odd.parquet"
    rng = np.random.default_rng(0)
    lat = rng.uniform(-80, 80, 400)
    lat[:5] = 95.0
    pq.write_table(pa.table({"lat": lat, "lon": rng.uniform(-170, 170, 400), "label": rng.integers(0, 2, 400)}), path)
    base = ["train", str(path), "--target", "label", "-o", str(tmp_path / "o.wcm"), "--epochs", "1", "--resolutions", "60"]
    code, out = run(capsys, *base)
    assert code == 1 and "column 'lat': 5 values outside [-90, 90]" in out.err
    code, _ = run(capsys, *base, "--out-of-range", "bucket")
    assert code == 0 and wc.load(tmp_path / "o.wcm").spec.features[1].out_of_range == "bucket"


def test_map_of_a_region_lists_marginals_and_leaves_out_shared_columns(sales, tmp_path, capsys):
    exact = tmp_path / "exact.wcm"
    hashed = tmp_path / "hashed.wcm"
    for path, bits in ((exact, "exact"), (hashed, "12")):
        code, _ = run(capsys, "train", str(sales), "--target", "label", "-o", str(path), "--bits", bits, "--l1", "1e-7",
                      "--epochs", "1")
        assert code == 0
    png = tmp_path / "bay.png"
    code, payload = run(capsys, "map", str(exact), "-o", str(png), "--bbox", "36.5,39,-123.5,-121")
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"
    assert set(payload["marginals"]) == {"lat 1'", "lon 1'"} and payload["marginals"]["lat 1'"] > 0
    assert sum(payload["left_out"].values()) == 0  # exact: every cell is its own column
    code, payload = run(capsys, "map", str(hashed), "-o", str(tmp_path / "h.png"), "--data", str(sales))
    assert code == 0
    assert sum(payload["left_out"].values()) > 0  # 2**12 columns for thousands of cells: many shared
    with pytest.raises(SystemExit):
        cli.main(["map", str(exact), "-o", str(png), "--bbox", "39,36,0,1"])
    assert "lat0 < lat1" in capsys.readouterr().err
