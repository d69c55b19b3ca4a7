"""The C reader (format version 1 only) refuses multiclass model files (version 2) and training
checkpoints with a clear error, rather than misreading them."""

from __future__ import annotations

import numpy as np
from c_harness import run_c

import widecross as wc
from widecross.model import MulticlassModel


def test_the_c_reader_refuses_multiclass_files_and_checkpoints(c_build, tmp_path):
    spec = wc.geo_spec(bits=12)
    model = MulticlassModel([3, 9], [[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]], [0.0, 0.1, 0.2], spec.n_features,
                            "multinomial", spec=spec)
    model.save(tmp_path / "m.wcm")
    done = run_c(c_build["wcpredict_checked"], tmp_path / "m.wcm", stdin=b"lat,lon\n1,2\n")
    assert done.returncode == 1 and b"Sanitizer" not in done.stderr, done.stderr
    assert b"version 2 is newer" in done.stderr, done.stderr
    rng = np.random.default_rng(0)
    est = wc.WideClassifier(spec, epochs=1, random_state=0).fit({"lat": rng.uniform(-60, 60, 50),
                                                                 "lon": rng.uniform(-170, 170, 50)}, rng.integers(0, 2, 50))
    est.save_checkpoint(tmp_path / "run.wck")
    done = run_c(c_build["wcpredict_checked"], tmp_path / "run.wck", stdin=b"lat,lon\n1,2\n")
    assert done.returncode == 1 and b"Sanitizer" not in done.stderr and b"not a widecross model" in done.stderr, done.stderr
