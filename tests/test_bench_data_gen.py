"""The data_gen benchmark and map scripts run end to end (quick mode, tiny data)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from benchmarks import bench_data_gen, plot_sample_map


def test_bench_data_gen_quick(tmp_path, capsys):
    assert bench_data_gen.main(["--quick", "--rows", "10000", "--results-dir", str(tmp_path)]) == 0
    assert "rows_per_cpu_s" in capsys.readouterr().out
    result = json.loads((tmp_path / "data_gen.quick.json").read_text())
    assert result["quick"] is True and result["params"]["rows"] == 10_000
    cases = {row["case"]: row for row in result["rows"]}
    assert "generate_housing (one call)" in cases and "write_parquet (chunks of 1M)" in cases
    assert all(row["rows_per_cpu_s"] > 0 for row in result["rows"])
    facts = result["params"]["facts"]
    assert facts["on_land_share"] >= 0.995 and 0.4 <= facts["label_share"] <= 0.6
    assert (tmp_path / "data_gen.quick.md").exists()


def read_png(path: Path) -> np.ndarray:
    """Decode the RGB PNGs the map script writes (8-bit, filter 0 rows), independently of it."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 2)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(height, width, 3)


def test_plot_sample_map_tiny(tmp_path, capsys):
    out = tmp_path / "map.png"
    assert plot_sample_map.main(["--rows", "3000", "--width", "360", "--out", str(out)]) == 0
    image = read_png(out)
    assert image.shape == (180, 360, 3)
    # Houses are drawn in the warm ramp (red channel well above blue), only on land pixels.
    warm = (image[..., 0].astype(int) - image[..., 2]) > 60
    assert 200 < warm.sum() < 3000
    sea = np.all(image == [16, 26, 44], axis=2)
    assert sea.mean() > 0.5 and not (warm & sea).any()
    # North is up: the top rows (Arctic) hold no houses; the band 20-60 N holds the most.
    assert warm[:20].sum() == 0
    assert warm[30:70].sum() > warm[110:150].sum()
    capsys.readouterr()
    with pytest.raises(SystemExit) as bad:
        plot_sample_map.main(["--rows", "10", "--width", "7", "--out", str(out)])
    assert bad.value.code == 2 and "--width" in capsys.readouterr().err
