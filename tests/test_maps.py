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


# ------------------------------------------------------------------------------------------
# Regions, hashed collisions, marginals.


def test_region_rasterizes_at_its_own_pixels():
    from widecross.maps import parse_region, region_shape

    region = parse_region("37,38,-123,-122")
    assert region_shape(region) == (1000, 1000)  # 0.06' pixels: the degree fills the panel
    cell = layer([[37.5, 37.5 + 1 / 60, -122.5, -122.5 + 1 / 60, 0.7]])
    grid = rasterize(cell, 0.1, region)  # 10 pixels per minute
    assert grid.shape == (600, 600)
    rows, cols = np.nonzero(grid)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (290, 299, 300, 309)
    outside = layer([[10, 11, 10, 11, 1.0]])
    assert not rasterize(outside, 0.1, region).any()
    with pytest.raises(ValueError, match="lat0 < lat1"):
        parse_region((38, 37, 0, 1))


def test_land_mask_of_a_region_is_the_globe_cut_out():
    globe = land_mask(60)
    part = land_mask(60, (30.0, 50.0, -10.0, 40.0))
    np.testing.assert_array_equal(part, globe[90 - 50:90 - 30, 180 - 10:180 + 40])
    fine = land_mask(0.5, (45.0, 46.0, 6.0, 7.0))  # below a minute: each minute repeats
    coarse = land_mask(1, (45.0, 46.0, 6.0, 7.0))
    np.testing.assert_array_equal(fine[::2, ::2], coarse)


def _model(spec, data, seed=0):
    X = spec.transform(data)
    cols = np.unique(X.indices)
    rng = np.random.default_rng(seed)
    return wc.SparseModel(cols, rng.normal(0, 1, cols.size).astype(np.float32) + 0.01, 0.0, spec.n_features,
                          "logistic", spec=spec)


def test_hashed_maps_draw_only_unshared_columns_and_count_the_rest():
    from widecross.maps import margin_layers

    rng = np.random.default_rng(5)
    data = {"lat": rng.uniform(40, 41, 3000), "lon": rng.uniform(-75, -74, 3000)}
    hashed = wc.geo_spec(bits=14)
    model = _model(hashed, data)
    keys = hashed.record(data)
    position, feature, buckets = keys.decode(model.indices)
    shared = np.bincount(position, minlength=model.nnz) > 1
    layers = {l.name: l for l in geo_layers(model, keys)}
    exact = wc.geo_spec(bits=None)
    for f, name in enumerate(["lat x lon 60'", "lat x lon 10'", "lat x lon 1'"]):
        mine = feature == f
        assert layers[name].left_out == int((mine & shared[position]).sum())
        assert layers[name].n_cells == int((mine & ~shared[position]).sum())
        # Every drawn cell is a recorded cell, with the weight of the column that only it uses.
        lat_c = exact.features[f].components[0]
        drawn = set(zip(layers[name].lat_low.round(9), layers[name].weight))
        truth = {(round(float(lat_c.edges([b[0]])[0][0]), 9), float(model.values[p]))
                 for p, ff, b in zip(position, feature, buckets) if ff == f and not shared[p]}
        assert drawn == truth
    assert sum(l.left_out for l in layers.values()) > 0
    margins = {m.name: m for m in margin_layers(model, keys)}
    assert set(margins) == {"lat 1'", "lon 1'"} and margins["lat 1'"].axis == "lat"


def test_marginals_of_an_exact_model_and_both_renderers(tmp_path, monkeypatch):
    from widecross.maps import margin_layers

    spec = wc.geo_spec(resolutions=(10, 1), bits=None)
    data = {"lat": np.array([48.8566, 48.90]), "lon": np.array([2.3522, 2.55])}
    model = _model(spec, data)
    margins = {m.name: m for m in margin_layers(model)}
    lat = margins["lat 1'"]
    assert lat.n_cells == 2 and sorted(lat.low.round(4).tolist()) == [48.85, 48.9]
    np.testing.assert_allclose(np.sort(lat.high - lat.low), [1 / 60, 1 / 60])
    path, layers = render_weight_map(model, tmp_path / "paris.png", region=(48.7, 49.0, 2.2, 2.6))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and [l.n_cells for l in layers] == [2, 2]
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    path, _ = render_weight_map(model, tmp_path / "plain.png", region=(48.7, 49.0, 2.2, 2.6), pixel_minutes=0.5)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
