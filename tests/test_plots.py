"""The l1 path picture marks the l1 an ``l1="auto"`` fit chose (the vertex between path points,
not only the nearest path point) and the value fitted on all the rows."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import widecross as wc  # noqa: E402
from widecross import plots  # noqa: E402


def test_the_path_picture_marks_the_chosen_vertex_and_the_fitted_l1(tmp_path, monkeypatch):
    import data_gen

    rows = data_gen.generate_housing(6000, seed=1)
    spec = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10), bits=16)
    clf = wc.WideClassifier(spec, epochs=2, polish=2, random_state=0).fit(rows, rows["label"])
    path = clf.l1_path_
    lines = {}

    def save(figure, target):
        top = figure.axes[0]
        lines.update({line.get_label(): line.get_xdata()[0] for line in top.get_lines() if line.get_linestyle() in ("--", "-")
                      and not line.get_label().startswith("_")})
        return target

    monkeypatch.setattr(plots, "_save", save)
    plots.plot_l1_path(clf, tmp_path / "path.png")
    chosen = [x for label, x in lines.items() if label.startswith("chosen l1")]
    assert chosen == [pytest.approx(path["chosen_l1"], rel=1e-12)]
    if not np.isclose(path["chosen_l1"], path["l1"][path["chosen"]]):
        assert "between path points" in next(label for label in lines if label.startswith("chosen l1"))
    fitted = [x for label, x in lines.items() if label.startswith("fitted on all rows")]
    assert fitted == ([] if np.isclose(clf.l1_, path["chosen_l1"]) else [pytest.approx(clf.l1_, rel=1e-12)])
