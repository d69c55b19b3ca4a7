"""Categorical: one id per row from a string or integer value (vocabulary, modulo or 64-bit hash)."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from .. import _hashing as hk
from .. import _strings as tk
from ._base import SingleColumn, check_int, check_name, check_policy, chunk_words, row_words
from ._columns import Text, _value_keys, text_column
from ._vocab import Vocabulary, normalize_vocabulary

_UNKNOWN = ("error", "bucket")


class ValueLookup(SingleColumn):
    """What Categorical and Tokens share: the value -> id rule, its size, description and JSON.

    - ``vocabulary=[...]``: id = position in the vocabulary;
    - ``n_buckets``: id = value hash modulo ``n_buckets``;
    - neither: the vocabulary is *learnable*: :meth:`FeatureSpec.fit` learns the values seen at
      least ``min_count`` times (the ``max_size`` most frequent) and gives every other value one
      out-of-vocabulary id; until then (hashed specs only) id = the full 64-bit value hash.
    """

    _kind = ""
    _unknown_policies: tuple[str, ...] = _UNKNOWN

    def _init_lookup(self, column: str, n_buckets: int | None, vocabulary: Sequence[Any] | None, unknown: str,
                     name: str | None, min_count: int | None, max_size: int | None) -> None:
        self.column = check_name(column, f"{type(self).__name__} column")
        self.unknown = check_policy(unknown, self._unknown_policies, "unknown")
        if n_buckets is not None and vocabulary is not None:
            raise ValueError("give n_buckets or vocabulary, not both")
        self.n_buckets = None if n_buckets is None else check_int(n_buckets, "n_buckets", 1, 2**62)
        self.vocabulary: tuple[str | int, ...] | None = None
        if vocabulary is not None:
            self.vocabulary = normalize_vocabulary(vocabulary)
        self.min_count = None if min_count is None else check_int(min_count, "min_count", 1, 2**62)
        self.max_size = None if max_size is None else check_int(max_size, "max_size", 1, 2**62)
        if n_buckets is not None and (min_count is not None or max_size is not None):
            raise ValueError("min_count and max_size shape a learned vocabulary; they do not apply with n_buckets")
        if name is None:
            if self.vocabulary is not None:
                digest = hk.fnv1a64(json.dumps(list(self.vocabulary)).encode("utf-8"))
                name = f"{self.column}{{{len(self.vocabulary)} values #{digest:016x}}}"
            elif self.n_buckets is not None:
                name = f"{self.column}%{self.n_buckets}"
            else:
                name = self.column
        self.name = check_name(name, "feature name")
        self._table: Vocabulary | None = None

    @property
    def learnable(self) -> bool:
        """True when :meth:`FeatureSpec.fit` learns this feature's vocabulary (none given, no
        ``n_buckets``; or one learned before, which a new fit learns again)."""
        if self.n_buckets is not None:
            return False
        return self.vocabulary is None or self.min_count is not None or self.max_size is not None

    @property
    def fitted(self) -> bool:
        """True when the ids need nothing learned (a vocabulary or ``n_buckets`` is set)."""
        return self.vocabulary is not None or self.n_buckets is not None

    def learned(self, vocabulary: Sequence[str | int]) -> ValueLookup:
        """The fitted copy: this vocabulary, one out-of-vocabulary id, the same name."""
        params = self._params()
        params.update(vocabulary=vocabulary, unknown="bucket", name=self.name, min_count=self.min_count or 1)
        return type(self)(**params)

    @property
    def size(self) -> int | None:
        """Number of distinct ids, or None for the unbounded 64-bit hash."""
        extra = self.unknown == "bucket"
        if self.vocabulary is not None:
            return len(self.vocabulary) + extra
        if self.n_buckets is not None:
            return self.n_buckets + extra
        return None

    def _missing_id(self) -> int:
        if self.vocabulary is not None:
            return len(self.vocabulary)
        if self.n_buckets is not None:
            return self.n_buckets
        return int(np.uint64(hk.mix(int(hk.MISSING_TAG))).view(np.int64))

    def _vocabulary_table(self) -> Vocabulary:
        if self._table is None:
            self._table = Vocabulary(self.vocabulary)
        return self._table

    def value_ids(self, uniques: Sequence[str | int]) -> np.ndarray:
        """Ids of distinct values (int64; -1 for values outside the vocabulary)."""
        if self.vocabulary is not None:
            table = self._vocabulary_table()
            return np.array([table.position(u) for u in uniques], dtype=np.int64)
        keys = _value_keys(list(uniques))
        if self.n_buckets is not None:
            return (keys % np.uint64(self.n_buckets)).astype(np.int64)
        return keys.view(np.int64)

    def _text_ids(self, text: Text) -> tuple[np.ndarray, np.ndarray | None]:
        """Ids of every row of ``text`` and the mask of rows without one (missing or unknown)."""
        if self.vocabulary is not None:
            ids = self._vocabulary_table().positions(text)
            bad = ids < 0
            return ids, bad if bad.any() else None
        keys = text.keys()
        if self.n_buckets is None:
            return keys.view(np.int64), text.missing()
        ids = np.empty(keys.shape[0], dtype=np.int64)
        tk.keys_modulo(keys, self.n_buckets, ids)
        return ids, text.missing()

    def _unknown_error(self, text: Text, bad: np.ndarray, row0: int, chunk: int | None, what: str = "") -> ValueError:
        rows = np.flatnonzero(bad)
        first = int(rows[0])
        missing = text.missing()
        value = None if missing is not None and missing[first] else text.values_at(np.array([first]))[0]
        kind = "missing" if self.vocabulary is None else "missing or out-of-vocabulary"
        return ValueError(
            f"column {self.column!r}: {rows.size} {kind} {what}value{'s' if rows.size > 1 else ''}"
            f"{chunk_words(chunk)}; first at row {row_words(row0, first, chunk)} ({value!r}); "
            f"pass unknown='bucket' to give them their own id"
        )

    def describe(self, bucket_id: int, seen: Any = None) -> str:
        """A readable description of one id (with the values seen, when known)."""
        if self.vocabulary is not None:
            if bucket_id >= len(self.vocabulary):
                return f"{self.column} missing or unknown"
            return f"{self.column} = {self.vocabulary[bucket_id]!r}"
        if bucket_id == self._missing_id() and self.unknown == "bucket":
            text = f"{self.column} missing"
        elif self.n_buckets is not None:
            text = f"{self.column} bucket {bucket_id} of {self.n_buckets}"
        else:
            text = f"{self.column} hash {bucket_id % (1 << 64):#018x}"
        if seen:
            shown = sorted(seen, key=repr)
            text += f" (seen: {', '.join(repr(v) for v in shown[:5])}{', ...' if len(shown) > 5 else ''})"
        return text

    def _lookup_json(self) -> dict[str, Any]:
        out = {
            "type": self._kind,
            "column": self.column,
            "name": self.name,
            "n_buckets": self.n_buckets,
            "vocabulary": None if self.vocabulary is None else list(self.vocabulary),
            "unknown": self.unknown,
        }
        if self.min_count is not None:  # learned by fit: how, so that a refit learns alike
            out["min_count"] = self.min_count
        if self.max_size is not None:
            out["max_size"] = self.max_size
        return out

    def _lookup_key(self) -> tuple[Any, ...]:
        # Features do not change once made: the key (a learned vocabulary can hold 10^5 values)
        # is built once, for the equality and hashing that plans and specs do often.
        key = self.__dict__.get("_key_cache")
        if key is None:
            vocab = None if self.vocabulary is None else tuple((type(v).__name__, v) for v in self.vocabulary)
            key = (self._kind, self.column, self.name, self.n_buckets, vocab, self.unknown, self.min_count, self.max_size)
            self._key_cache = key
        return key

    def _lookup_repr(self) -> str:
        args = repr(self.column)
        if self.n_buckets is not None:
            args += f", n_buckets={self.n_buckets}"
        if self.vocabulary is not None:
            if len(self.vocabulary) <= 20:
                args += f", vocabulary={list(self.vocabulary)!r}"
            else:
                head = ", ".join(repr(v) for v in self.vocabulary[:5])
                args += f", vocabulary=<{len(self.vocabulary):,} values: {head}, ...>"
        if self.unknown != "error":
            args += f", unknown={self.unknown!r}"
        for key in ("min_count", "max_size"):
            if getattr(self, key) is not None:
                args += f", {key}={getattr(self, key)}"
        return args

    def __eq__(self, other: object) -> bool:
        return other is self or type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


class Categorical(ValueLookup):
    """Ids for a column of strings or integers.

    - ``Categorical(column, vocabulary=[...])``: id = position in the vocabulary;
    - ``Categorical(column, n_buckets)``: id = value hash modulo ``n_buckets`` (collisions
      possible, no vocabulary needed; :meth:`FeatureSpec.fit` warns about observed ones);
    - ``Categorical(column)``: the vocabulary is learned by :meth:`FeatureSpec.fit` (values seen
      at least ``min_count`` times, at most ``max_size`` of them, the rest share one
      out-of-vocabulary id); unfitted, id = the full 64-bit value hash, in hashed specs only.
      In an exact spec (``bits=None``), give ``min_count=`` (or ``max_size=``) to say that the
      vocabulary will be learned.

    The value hash is ``mix64(fnv1a64(utf8(s)) ^ STR_TAG)`` for strings (bytes are decoded as
    UTF-8) and ``mix64(uint64(v) ^ INT_TAG)`` for integers, independent of the spec's seed, so
    ``"7"`` and ``7`` are different categories. Floating point columns are rejected (cast them).

    Missing values (None, NaN, Arrow nulls) and values outside the vocabulary follow
    ``unknown``: ``"error"`` (``ValueError`` naming the column, count and first row) or
    ``"bucket"`` (one extra id: ``n_buckets`` or ``len(vocabulary)``).

    >>> Categorical("city", vocabulary=["Oslo", "Lima"]).ids(["Lima", "Oslo"]).tolist()
    [1, 0]
    """

    _kind = "categorical"

    def __init__(
        self,
        column: str,
        n_buckets: int | None = None,
        *,
        vocabulary: Sequence[str | int] | None = None,
        unknown: str = "error",
        name: str | None = None,
        min_count: int | None = None,
        max_size: int | None = None,
    ) -> None:
        self._init_lookup(column, n_buckets, vocabulary, unknown, name, min_count, max_size)

    def ids(self, values: Any) -> np.ndarray:
        """Ids (int64) of a 1-D column of values, applying ``unknown``."""
        return self._column_ids(text_column(values, self.column), 0, None)

    def _column_ids(self, text: Text, row0: int, chunk: int | None) -> np.ndarray:
        ids, bad = self._text_ids(text)
        if bad is not None:
            if self.unknown != "bucket":
                raise self._unknown_error(text, bad, row0, chunk)
            ids[bad] = self._missing_id()
        return ids

    def _params(self) -> dict[str, Any]:
        return dict(column=self.column, n_buckets=self.n_buckets, vocabulary=self.vocabulary, unknown=self.unknown,
                    name=self.name, min_count=self.min_count, max_size=self.max_size)

    def _to_json(self) -> dict[str, Any]:
        return self._lookup_json()

    @classmethod
    def _from_json(cls, obj: dict[str, Any]) -> Categorical:
        return cls(obj["column"], obj["n_buckets"], vocabulary=obj["vocabulary"], unknown=obj["unknown"],
                   name=obj["name"], min_count=obj.get("min_count"), max_size=obj.get("max_size"))

    def _key(self) -> tuple[Any, ...]:
        return self._lookup_key()

    def __repr__(self) -> str:
        return f"Categorical({self._lookup_repr()}, name={self.name!r})"
