"""Counts over a CSR's values in blocks on threads against NumPy's, for any n_jobs."""

import numpy as np
import pytest

from widecross import _counts


@pytest.mark.parametrize("n_jobs", [1, 2, 3, 7])
def test_counts_match_numpy_for_any_blocks(monkeypatch, n_jobs):
    monkeypatch.setattr(_counts, "BLOCK_VALUES", 7)
    rng = np.random.default_rng(n_jobs)
    for dtype in (np.float32, np.float64):
        for n in (0, 1, 6, 7, 50):
            v = np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n)).astype(dtype)
            v[: n // 5] = -0.0  # negative zeros count as zeros
            if n > 3:
                v[3] = np.nan
            assert _counts.count_nonzero(v, n_jobs) == np.count_nonzero(v)
            assert _counts.all_ones(v, n_jobs) == bool(np.all(v == 1))
            ones = np.ones(n, dtype=dtype)
            assert _counts.all_ones(ones, n_jobs)
            if n:
                ones[n - 1] = 1 + np.finfo(dtype).eps  # the last value of the last block
                assert not _counts.all_ones(ones, n_jobs)
