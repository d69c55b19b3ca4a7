"""Row orders: permutations, seeded, and uniform over positions."""

from __future__ import annotations

import numpy as np

from widecross.train.rows import visit_order


def test_orders_are_permutations_in_int32_and_unshuffled_is_identity():
    rng = np.random.default_rng(1)
    for n in (0, 1, 2, 7, 1000):
        order = visit_order(rng, n, True)
        assert order.dtype == np.int32
        assert np.array_equal(np.sort(order), np.arange(n))
    assert np.array_equal(visit_order(rng, 9, False), np.arange(9))


def test_same_seed_same_orders_and_fresh_orders_per_call():
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    first = [visit_order(a, 500, True) for _ in range(3)]
    second = [visit_order(b, 500, True) for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(first, second))
    assert not np.array_equal(first[0], first[1])


def test_every_row_reaches_every_position_equally_often():
    # A Fisher-Yates off by one (j in [0, i) instead of [0, i]) never leaves a row in place;
    # a biased draw skews the table. 40,000 shuffles of 5 rows: each cell ~8,000 +- 80.
    rng = np.random.default_rng(3)
    n, trials = 5, 40_000
    counts = np.zeros((n, n))
    for _ in range(trials):
        counts[np.arange(n), visit_order(rng, n, True)] += 1
    expected = trials / n
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected * (1 - 1 / n))
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 50  # 16 degrees of freedom (rows and columns sum to the trials): p ~ 3e-5
