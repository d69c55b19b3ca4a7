"""A seeded ad-click table: 20 Zipf-distributed categorical fields, a bid, a tag list, a click label.

Unlike ``data_gen``'s houses, nothing here is geographic: the signal is in per-value effects of
the categorical fields (most of the mass on a few values, a long tail of rare ones), in a
linear effect of the bid, in the tags, and in *interactions* between the user fields
(``u0``..``u2``) and the ad fields (``a0``..``a2``) that no single field carries. The click
probability is ``sigmoid(bias + sum of effects)``, with about one click in four.

Values are strings that name their field (``"u1_417"``), as a log would hold them; the tags a
comma-separated string (``"t3,t18"``). ``make_adclick`` returns a pyarrow Table; ``vw_lines``
writes the same rows in Vowpal Wabbit's text format with one namespace per group (``-q ua``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# (field, group, cardinality, Zipf exponent, effect scale)
FIELDS = [
    ("u0", "user", 20_000, 1.05, 0.6), ("u1", "user", 2_000, 1.1, 0.5), ("u2", "user", 300, 1.2, 0.4),
    ("a0", "ad", 50_000, 1.05, 0.6), ("a1", "ad", 5_000, 1.1, 0.5), ("a2", "ad", 500, 1.2, 0.4),
    ("c0", "context", 100_000, 1.05, 0.5), ("c1", "context", 30_000, 1.1, 0.3), ("c2", "context", 10_000, 1.1, 0.3),
    ("c3", "context", 3_000, 1.2, 0.3), ("c4", "context", 1_000, 1.2, 0.3), ("c5", "context", 300, 1.3, 0.3),
    ("c6", "context", 100, 1.3, 0.3), ("c7", "context", 50, 1.3, 0.2), ("c8", "context", 24, 1.0, 0.2),
    ("c9", "context", 7, 1.0, 0.2), ("c10", "context", 12, 1.0, 0.2), ("c11", "context", 200, 1.2, 0.2),
    ("c12", "context", 5, 1.0, 0.1), ("c13", "context", 1_500, 1.2, 0.2),
]
USER = [f for f, g, *_ in FIELDS if g == "user"]
AD = [f for f, g, *_ in FIELDS if g == "ad"]
CONTEXT = [f for f, g, *_ in FIELDS if g == "context"]
# The interactions that carry signal of their own (the features cross every user x ad pair).
TRUE_PAIRS = [("u0", "a0", 0.6), ("u1", "a1", 0.5), ("u2", "a2", 0.5), ("u1", "a0", 0.3)]
N_TAGS = 400
BIAS = -1.6


def _zipf(rng: np.random.Generator, n: int, cardinality: int, exponent: float) -> np.ndarray:
    """``n`` draws of 0..cardinality-1 with P(k) proportional to (k + 1) ** -exponent."""
    weights = np.arange(1, cardinality + 1, dtype=np.float64) ** -exponent
    cumulative = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(n)), cardinality - 1).astype(np.int32)


def _pair_effect(a: np.ndarray, b: np.ndarray, salt: int, scale: float) -> np.ndarray:
    """A fixed N(0, scale) effect per value pair, from a hash (no table of all pairs)."""
    z = (a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ (b.astype(np.uint64) + np.uint64(salt * 0x632BE5AB))
    z = (z ^ (z >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(29)
    u1 = ((z >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
    u2 = (((z * np.uint64(0x94D049BB133111EB)) >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
    return scale * np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


def make_adclick(n: int, seed: int = 0):
    """``n`` seeded impressions as a pyarrow Table (fields, ``bid``, ``tags``, ``click``)."""
    import pyarrow as pa

    world = np.random.default_rng(1_000_003)  # the effects: the same for every sample of rows
    rng = np.random.default_rng(seed)
    logit = np.full(n, BIAS)
    codes = {}
    for field, _, cardinality, exponent, scale in FIELDS:
        codes[field] = _zipf(rng, n, cardinality, exponent)
        logit += world.normal(0, scale, cardinality)[codes[field]]
    for k, (a, b, scale) in enumerate(TRUE_PAIRS):
        logit += _pair_effect(codes[a], codes[b], k + 1, scale)
    bid = np.round(rng.gamma(4.0, 0.25, n), 3)
    logit += 0.8 * (bid - 1.0)
    tag_effect = world.normal(0, 0.4, N_TAGS)
    n_tags = rng.integers(0, 5, n)
    tag_codes = _zipf(rng, int(n_tags.sum()), N_TAGS, 1.1)
    starts = np.concatenate([[0], np.cumsum(n_tags)])
    logit += np.add.reduceat(np.r_[tag_effect[tag_codes], 0.0], starts[:-1])[:n] * (n_tags > 0)
    click = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    columns = {}
    for field, *_ in FIELDS:
        dictionary = pa.array([f"{field}_{i}" for i in range(int(codes[field].max()) + 1)], pa.large_string())
        columns[field] = pa.DictionaryArray.from_arrays(pa.array(codes[field]), dictionary).cast(pa.large_string())
    tag_names = np.array([f"t{i}" for i in range(N_TAGS)], dtype=object)
    tags = [",".join(tag_names[tag_codes[starts[i]:starts[i + 1]]]) for i in range(n)]
    columns["bid"] = pa.array(bid)
    columns["tags"] = pa.array(tags, pa.large_string())
    columns["click"] = pa.array(click)
    return pa.table(columns)


def vw_lines(table) -> list[str]:
    """The rows as VW text: ``-1 |u u0_7 u1_3 ... |a ... |c ... bid:0.93 |t t3 t18``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def text(value):
        return pa.scalar(value, pa.large_string())

    def joined(fields):
        return pc.binary_join_element_wise(*[table.column(f) for f in fields], text(" "))

    label = pc.if_else(pc.equal(table.column("click"), 1), text("1"), text("-1"))
    bid = pc.binary_join_element_wise(text("bid"), pc.cast(table.column("bid"), pa.large_string()), text(":"))
    tags = pc.replace_substring(table.column("tags"), ",", " ")
    parts = [label, text(" |u "), joined(USER), text(" |a "), joined(AD), text(" |c "), joined(CONTEXT), text(" "), bid,
             text(" |t "), tags]
    return pc.binary_join_element_wise(*parts, text("")).to_pylist()


def write_vw(table, path: str | Path, chunk_rows: int = 250_000) -> Path:
    path = Path(path)
    with open(path, "w") as f:
        for start in range(0, table.num_rows, chunk_rows):
            f.write("\n".join(vw_lines(table.slice(start, chunk_rows))) + "\n")
    return path
