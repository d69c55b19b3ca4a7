"""Weight maps: cells land on the right pixels, pooling keeps the strongest, panels per cross."""

import numpy as np
import pytest

import widecross as wc
from widecross.maps import GeoLayer, colorize, geo_layers, land_mask, rasterize, render_weight_map


def layer(cells):
    cells = np.asarray(cells, dtype=np.float64)
    return GeoLayer("t", cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3], cells[:, 4])


def test_one_degree_cell_on_one_pixel():
    grid = rasterize(layer([[0, 1, 0, 1, 0.5]]), pixel_minutes=60)
    assert grid.shape == (180, 360)
    # North first: latitude [0, 1) is row 89; longitude [0, 1) is column 180.
    assert grid[89, 180] == 0.5
    assert np.count_nonzero(grid) == 1


def test_coarse_cell_covers_its_pixels_and_fine_cells_pool_by_magnitude():
    grid = rasterize(layer([[-90, -89, -180, -179, -2.0]]), pixel_minutes=10)
    assert np.count_nonzero(grid) == 36 and np.all(grid[-6:, :6] == -2.0)
    fine = 1 / 60
    grid = rasterize(layer([[10, 10 + fine, 20, 20 + fine, 0.3], [10 + fine, 10 + 2 * fine, 20, 20 + fine, -0.9]]), 10)
    assert np.count_nonzero(grid) == 1 and grid[grid != 0][0] == -0.9


def test_colorize_signs_and_background():
    grid = np.array([[1.0, -1.0, 0.0]])
    land = np.array([[False, False, True]])
    image = colorize(grid, land)
    assert image.dtype == np.uint8 and image.shape == (1, 3, 3)
    assert image[0, 0, 0] > image[0, 0, 2]  # positive is red
    assert image[0, 1, 2] > image[0, 1, 0]  # negative is blue


def test_land_mask_orientation():
    mask = land_mask(60)
    assert mask.shape == (180, 360)
    assert not mask[0].any()  # Arctic Ocean at the pole row
    assert mask[-1].all()  # Antarctica


def test_geo_layers_exact_and_hashed():
    spec = wc.geo_spec(bits=None)
    data = {"lat": np.array([48.8566, -33.87]), "lon": np.array([2.3522, 151.21])}
    X = spec.transform(data)
    cols = np.unique(X.indices)
    model = wc.SparseModel(cols, np.linspace(-1, 1, cols.size).astype(np.float32) + 0.01, 0.0, spec.n_features, "logistic", spec=spec)
    layers = {l.name: l for l in geo_layers(model)}
    assert set(layers) == {"lat x lon 60'", "lat x lon 10'", "lat x lon 1'"}
    fine = layers["lat x lon 1'"]
    assert fine.n_cells == 2
    paris = np.argmin(np.abs(fine.lat_low - 48.85))
    assert fine.lat_low[paris] <= 48.8566 < fine.lat_high[paris]
    assert fine.lon_low[paris] <= 2.3522 < fine.lon_high[paris]

    hashed = wc.geo_spec(bits=16)
    Xh = hashed.transform(data)
    colsh = np.unique(Xh.indices)
    model_h = wc.SparseModel(colsh, np.ones(colsh.size, np.float32), 0.0, hashed.n_features, "logistic", spec=hashed)
    with pytest.raises(ValueError, match="keys"):
        geo_layers(model_h)
    layers_h = {l.name: l for l in geo_layers(model_h, keys=hashed.record(data))}
    assert layers_h["lat x lon 1'"].n_cells == 2


def test_render_writes_png(tmp_path):
    spec = wc.geo_spec(resolutions=(60,), bits=None)
    X = spec.transform({"lat": np.array([1.5]), "lon": np.array([2.5])})
    cols = np.unique(X.indices)
    model = wc.SparseModel(cols, np.ones(cols.size, np.float32), 0.0, spec.n_features, "logistic", spec=spec)
    path, layers = render_weight_map(model, tmp_path / "m.png", pixel_minutes=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [l.n_cells for l in layers] == [1]
    with pytest.raises(ValueError, match="divide"):
        render_weight_map(model, tmp_path / "m.png", pixel_minutes=7)
