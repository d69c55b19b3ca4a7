"""The fit's whole-array scans (nonzero count, all-ones test, class codes) against NumPy, for any
n_jobs and block split."""

import numpy as np
import pytest

from widecross import _scans


@pytest.mark.parametrize("n_jobs", [1, 2, 3, 7])
def test_counts_match_numpy_for_any_blocks(monkeypatch, n_jobs):
    monkeypatch.setattr(_scans, "BLOCK_VALUES", 7)
    rng = np.random.default_rng(n_jobs)
    for dtype in (np.float32, np.float64):
        for n in (0, 1, 6, 7, 50):
            v = np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n)).astype(dtype)
            v[: n // 5] = -0.0  # negative zeros count as zeros
            if n > 3:
                v[3] = np.nan
            assert _scans.count_nonzero(v, n_jobs) == np.count_nonzero(v)
            assert _scans.all_ones(v, n_jobs) == bool(np.all(v == 1))
            ones = np.ones(n, dtype=dtype)
            assert _scans.all_ones(ones, n_jobs)
            if n:
                ones[n - 1] = 1 + np.finfo(dtype).eps  # the last value of the last block
                assert not _scans.all_ones(ones, n_jobs)


def sorted_search(y, classes):
    """Reference: NumPy's position of each label among the sorted classes, the first unknown or -1."""
    positions = np.clip(np.searchsorted(classes, y), 0, classes.size - 1)
    bad = classes[positions] != y
    return positions.astype(np.float32), int(np.flatnonzero(bad)[0]) if bad.any() else -1


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint8, np.int64, np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 3, 8, 9])
def test_class_codes_match_the_sorted_search(dtype, k):
    rng = np.random.default_rng(k)
    if dtype is np.bool_:
        k = min(k, 2)
        classes = np.unique(np.array([True, False][:k]))
    else:
        classes = np.unique(np.array(rng.permutation(50)[:k] - 20, dtype=dtype))
    y = classes[rng.integers(0, classes.size, 500)]
    codes, first = _scans.class_codes(y, classes)
    want, want_first = sorted_search(y, classes)
    assert first == want_first == -1
    np.testing.assert_array_equal(codes, want)
    if dtype is not np.bool_:
        y = y.copy()
        y[[77, 300]] = np.array(123, dtype=dtype)  # a label of none of the classes, twice
        assert _scans.class_codes(y, classes)[1] == sorted_search(y, classes)[1] == 77


def test_class_codes_of_other_dtypes_take_the_sorted_search():
    y, classes = np.array(["b", "a", "b"]), np.array(["a", "b"])
    codes, first = _scans.class_codes(y, classes)
    assert codes.tolist() == [1.0, 0.0, 1.0] and first == -1
    assert _scans.class_codes(np.array([1, 5], dtype=np.int32), np.array([1, 2], dtype=np.int64))[1] == 1


def test_the_classifier_names_the_first_unknown_label():
    import widecross as wc

    rng = np.random.default_rng(0)
    data = {"lat": rng.uniform(-50, 50, 40), "lon": rng.uniform(-50, 50, 40)}
    y = np.where(rng.random(40) < 0.5, 3, 7)
    clf = wc.WideClassifier(wc.geo_spec(bits=12), random_state=0)
    clf.partial_fit(data, y, classes=[3, 7])
    y[[5, 9]] = 4
    with pytest.raises(ValueError, match=r"y\[5\] = 4 is not one of the classes \[3, 7\]"):
        clf.partial_fit(data, y)
