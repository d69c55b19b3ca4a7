"""Vocabularies: a fixed list of values and the compiled table from a value to its position.

Used by :class:`Categorical` and :class:`Tokens` with ``vocabulary=`` (given, or learned by
``FeatureSpec.fit``). Lookups run in the text kernels on the 64-bit value keys and then compare
the bytes (or the integer), so a value is found only when it *is* the vocabulary's value.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from .. import _strings as tk
from ._columns import Text, _value_keys, spans_of_strings


def normalize_vocabulary(vocabulary: Sequence[Any]) -> tuple[str | int, ...]:
    """Strings (bytes decoded as UTF-8) and integers, distinct, at least one; else an error."""
    if isinstance(vocabulary, (str, bytes)):
        raise TypeError("vocabulary must be a sequence of values, not a single string")
    values: list[str | int] = []
    for v in vocabulary:
        if isinstance(v, (bytes, np.bytes_)):
            v = bytes(v).decode("utf-8")
        if isinstance(v, (str, np.str_)):
            values.append(str(v))
        elif isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)):
            values.append(int(v))
        else:
            raise TypeError(f"vocabulary values must be strings or integers, got {v!r}")
    if not values:
        raise ValueError("vocabulary must not be empty")
    if len({(type(v), v) for v in values}) != len(values):
        raise ValueError("vocabulary values must be distinct")
    return tuple(values)


class Vocabulary:
    """The lookup table of a vocabulary (built once per feature, on first use)."""

    def __init__(self, values: Sequence[str | int]) -> None:
        self.values = tuple(values)
        self._index = {(type(v), v): i for i, v in enumerate(self.values)}
        keys = _value_keys(list(self.values))
        size = 1 << max(4, int(math.ceil(math.log2(2 * len(keys) + 1))))
        self._table = (np.zeros(size, np.uint64), np.zeros(size, np.bool_), np.zeros(size, np.int64))
        tk.table_build(keys, *self._table)
        is_text = np.array([isinstance(v, str) for v in self.values], dtype=np.bool_)
        strings = spans_of_strings([v if isinstance(v, str) else "" for v in self.values])
        self._spans = (strings.data, strings.starts, strings.ends, is_text)
        ints = [v % (1 << 64) if isinstance(v, int) else 0 for v in self.values]
        self._ints = np.array(ints, dtype=np.uint64).view(np.int64)

    def position(self, value: Any) -> int:
        """Position of one Python value, -1 if absent."""
        return self._index.get((type(value), value), -1)

    def positions(self, text: Text) -> np.ndarray:
        """Position of every row's value (int64; -1: missing or not in the vocabulary)."""
        out = np.empty(text.n, dtype=np.int64)
        text = text.spans()  # byte comparisons need the UTF-8 of NumPy U arrays
        if text.kind == "spans":
            tk.lookup_spans(text.data, text.starts, text.ends, text.valid, text.keys(), self._table, self._spans, out)
        elif text.kind == "ints":
            tk.lookup_ints(text.ints, text.valid, text.keys(), self._table, self._ints, self._spans[3], out)
        else:
            base = (self.positions(text.base) if text.kind == "coded"
                    else np.array([self.position(u) for u in text.uniques], dtype=np.int64))
            out = base[np.maximum(text.codes, 0)] if base.size else np.full(text.n, -1, dtype=np.int64)
            out[text.codes < 0] = -1
        return out


def learn_vocabulary(counts: dict[Any, int], min_count: int, max_size: int | None) -> tuple[str | int, ...]:
    """Values seen at least ``min_count`` times, most frequent first (at most ``max_size``).

    Ties keep a fixed order (integers before strings, then by value), so the same data always
    gives the same vocabulary.
    """
    kept = [(v, c) for v, c in counts.items() if c >= min_count]
    kept.sort(key=lambda vc: (-vc[1], isinstance(vc[0], str), vc[0]))
    if max_size is not None:
        kept = kept[:max_size]
    return tuple(v for v, _ in kept)


def colliding_groups(values: Sequence[Any], slots: np.ndarray) -> list[list[Any]]:
    """Groups of two or more distinct values that share a slot (bucket or column), largest first."""
    order = np.argsort(slots, kind="stable")
    sorted_slots = slots[order]
    groups = []
    boundaries = np.flatnonzero(np.diff(sorted_slots)) + 1
    for chunk in np.split(order, boundaries):
        if chunk.size > 1:
            groups.append([values[i] for i in chunk.tolist()])
    groups.sort(key=lambda g: (-len(g), repr(g)))
    return groups
