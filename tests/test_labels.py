"""Class codes of a numeric target, compiled, against NumPy's sorted search."""

import numpy as np
import pytest

from widecross.estimators import _labels


def reference(y, classes):
    """NumPy: position of each label among the sorted classes, and the first unknown label (or -1)."""
    positions = np.clip(np.searchsorted(classes, y), 0, classes.size - 1)
    bad = classes[positions] != y
    return positions.astype(np.float32), int(np.flatnonzero(bad)[0]) if bad.any() else -1


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint8, np.int64, np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_codes_match_the_sorted_search(dtype, k):
    rng = np.random.default_rng(k)
    if dtype is np.bool_:
        k = min(k, 2)
    classes = np.unique(np.array([True, False][:k] if dtype is np.bool_ else rng.permutation(50)[:k] - 20, dtype=dtype))
    y = classes[rng.integers(0, classes.size, 500)]
    assert _labels.applies(y, classes)
    codes = np.empty(y.size, dtype=np.float32)
    want, first = reference(y, classes)
    assert first == -1 and _labels.first_unknown(y, classes, codes) == -1
    np.testing.assert_array_equal(codes, want)
    if dtype is not np.bool_:
        y = y.copy()
        y[[77, 300]] = np.array(123, dtype=dtype)  # a label of none of the classes, twice
        assert _labels.first_unknown(y, classes, codes) == reference(y, classes)[1] == 77


def test_many_classes_or_other_dtypes_take_the_sorted_search():
    classes = np.arange(9)
    assert not _labels.applies(np.arange(9), classes)
    assert not _labels.applies(np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int64))
    assert not _labels.applies(np.array(["a", "b"]), np.array(["a", "b"]))


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
