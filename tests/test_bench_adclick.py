"""The ad-click benchmark gives every tool the same features, from one seeded table."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyarrow")

from benchmarks import adclick, bench_adclick  # noqa: E402
from benchmarks.realestate import make_realestate  # noqa: E402


def test_the_tables_are_seeded():
    a, b = adclick.make_adclick(500, seed=3), adclick.make_adclick(500, seed=3)
    assert a.equals(b) and not a.equals(adclick.make_adclick(500, seed=4))
    assert 0.15 < np.mean(adclick.make_adclick(20_000, seed=0).column("click").to_numpy()) < 0.35
    one, two = make_realestate(300, seed=1), make_realestate(300, seed=1)
    assert all(np.array_equal(one[k], two[k]) for k in one)


def test_every_tool_reads_the_same_features():
    table = adclick.make_adclick(400, seed=1)
    spec = bench_adclick.widecross_spec(False)
    X = spec.transform(table)
    lines = adclick.vw_lines(table)
    for i in (0, 1, 2, 3):
        line = lines[i]
        label, rest = line.split(" ", 1)
        assert label == ("1" if table.column("click")[i].as_py() == 1 else "-1")
        namespaces = {part.split(" ", 1)[0]: part.split()[1:] for part in rest.split("|")[1:]}
        assert namespaces["u"] == [table.column(f)[i].as_py() for f in adclick.USER]
        assert namespaces["a"] == [table.column(f)[i].as_py() for f in adclick.AD]
        assert namespaces["t"] == [t for t in table.column("tags")[i].as_py().split(",") if t]
        # VW's -q ua adds the 9 pairs: its features per row equal widecross's entries per row
        n_vw = sum(len(v) for v in namespaces.values()) + len(adclick.USER) * len(adclick.AD)
        assert n_vw == X.indptr[i + 1] - X.indptr[i] + (X.data[X.indptr[i]:X.indptr[i + 1]] == 2).sum()
    pytest.importorskip("sklearn")
    H = bench_adclick.sklearn_features(table)
    assert H.shape == (400, 2**bench_adclick.BITS + 1)
    assert abs(H.nnz - X.nnz) <= 3  # the same entries; hashed collisions differ by hash function
