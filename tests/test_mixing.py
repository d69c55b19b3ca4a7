"""Parameter mixing (``widecross.train.mixing``) against a plain-Python reference of its rule.

The reference walks the shards in order with Python floats: one shard keeps its value, several
give ``base + sum w (v - base) / sum w``. The kernels add in the same order, so they must agree
bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from widecross.train.mixing import Mixer, mix


def mix_reference(indices, values, bases, weights):
    seen: dict[int, list[tuple[float, np.ndarray, np.ndarray]]] = {}
    for ids, v, b, w in zip(indices, values, bases, weights):
        for e, i in enumerate(ids.tolist()):
            seen.setdefault(i, []).append((float(w[e]), v[e], b[e]))
    union = sorted(seen)
    out = np.empty((len(union), values[0].shape[1]))
    for row, i in enumerate(union):
        entries = seen[i]
        if len(entries) == 1:
            out[row] = entries[0][1]
            continue
        for f in range(out.shape[1]):
            move = 0.0
            total = 0.0
            for w, v, b in entries:
                move += w * (float(v[f]) - float(b[f]))
                total += w
            out[row, f] = float(entries[0][2][f]) + move / total
    return np.array(union, dtype=np.int64), out


def random_shards(rng, k, width, n_fields, base_state):
    indices, values, bases, weights = [], [], [], []
    for _ in range(k):
        ids = rng.choice(width, size=int(rng.integers(0, width // 2 + 1)), replace=False)
        indices.append(ids.astype(np.int64))
        bases.append(base_state[ids].copy())
        values.append(base_state[ids] + rng.normal(size=(ids.size, n_fields)))
        weights.append(rng.integers(1, 50, ids.size).astype(np.float64))
    return indices, values, bases, weights


@pytest.mark.parametrize("k", [1, 2, 3, 7])
@pytest.mark.parametrize("n_fields", [1, 3])
def test_mix_matches_the_reference_bit_for_bit(k, n_fields):
    rng = np.random.default_rng(k * 10 + n_fields)
    base_state = rng.normal(size=(60, n_fields))
    shards = random_shards(rng, k, 60, n_fields, base_state)
    union, merged = mix(*shards)
    ref_union, ref_merged = mix_reference(*shards)
    np.testing.assert_array_equal(union, ref_union)
    np.testing.assert_array_equal(merged, ref_merged)


def test_a_coordinate_one_shard_touched_keeps_that_value_exactly():
    # base + (v - base) is 0.0 here: the value must not go through the mean
    assert 1.0 + (1e-17 - 1.0) != 1e-17
    union, merged = mix([np.array([4]), np.array([5])], [np.array([[1e-17]]), np.array([[2.0]])],
                        [np.array([[1.0]]), np.array([[0.0]])], [np.array([3.0]), np.array([1.0])])
    assert union.tolist() == [4, 5]
    assert merged[0, 0] == 1e-17 and merged[1, 0] == 2.0


def test_weights_are_rows_not_shards():
    # shard 0 touched the coordinate with 9 rows, shard 1 with 1 row: the merge leans 9 : 1
    _, merged = mix([np.array([0]), np.array([0])], [np.array([[10.0]]), np.array([[0.0]])],
                    [np.array([[0.0]]), np.array([[0.0]])], [np.array([9.0]), np.array([1.0])])
    assert merged[0, 0] == pytest.approx(9.0)
    # equal weights: the plain mean of the moves, from a nonzero base
    _, merged = mix([np.array([0]), np.array([0])], [np.array([[3.0]]), np.array([[5.0]])],
                    [np.array([[1.0]]), np.array([[1.0]])], [np.array([2.0]), np.array([2.0])])
    assert merged[0, 0] == 4.0


def test_shard_order_is_part_of_the_result_and_fixed():
    rng = np.random.default_rng(5)
    base_state = rng.normal(size=(40, 2))
    shards = random_shards(rng, 4, 40, 2, base_state)
    first = mix(*shards)
    for _ in range(3):
        again = mix(*shards)
        np.testing.assert_array_equal(first[1], again[1])
    flipped = mix(*(list(reversed(part)) for part in shards))
    np.testing.assert_allclose(flipped[1], first[1], rtol=1e-12, atol=1e-12)  # same rule, other order


def test_mixer_merges_in_place_like_mix_and_leaves_clean_scratch():
    rng = np.random.default_rng(11)
    records = rng.normal(size=(50, 2))
    mixer = Mixer(2)
    for _ in range(3):  # rounds reuse the scratch: it must be clean after each
        shards = random_shards(rng, 3, 50, 2, records)
        union, merged = mix(*shards)
        expected = records.copy()
        expected[union] = merged
        mixer.merge(records, *shards)
        np.testing.assert_array_equal(records, expected)
        assert not mixer.count.any() and not mixer.weight_sum.any() and not mixer.moves.any()


def test_no_shards_and_empty_shards():
    union, merged = mix([], [], [], [])
    assert union.size == 0 and merged.size == 0
    empty = (np.empty(0, dtype=np.int64), np.empty((0, 2)), np.empty((0, 2)), np.empty(0))
    union, merged = mix(*([part] for part in empty))
    assert union.size == 0 and merged.shape == (0, 2)


@pytest.mark.parametrize("bad, message", [
    (dict(ids=np.array([1, 1])), "twice"),
    (dict(w=np.array([1.0, 0.0])), "positive"),
    (dict(v=np.zeros((3, 1))), "expected ids"),
])
def test_bad_shards_are_refused_with_a_reason(bad, message):
    ids, v, b, w = bad.get("ids", np.array([1, 2])), bad.get("v", np.zeros((2, 1))), np.zeros((2, 1)), bad.get("w", np.ones(2))
    with pytest.raises(ValueError, match=message):
        mix([ids], [v], [b], [w])
    with pytest.raises(ValueError, match="same shards"):
        mix([ids], [v], [], [w])
