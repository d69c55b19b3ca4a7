"""Tokens: a multi-valued column (tags, amenities): one id per token, any number per row."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import _components as kc
from .. import _strings as tk
from ._base import chunk_words, row_words
from ._columns import TokenList, token_column
from .categorical import ValueLookup


class Tokens(ValueLookup):
    """Ids for the tokens of each row: a list column, or text split on ``sep``.

    ``Tokens(column)`` reads lists (pyarrow list arrays, polars lists, Python lists or tuples
    of strings or integers); ``Tokens(column, sep=",")`` splits text on ``sep`` (empty tokens
    are dropped). Each token maps to an id exactly like a :class:`Categorical` value (a
    vocabulary, a hash modulo ``n_buckets``, or a learned vocabulary / the 64-bit hash), and
    each token is one entry of value 1 (a token twice in a row: value 2). Missing rows and empty
    lists have no entry; missing tokens inside a list are dropped.

    In a :class:`Cross` a row gets one entry per combination of its tokens with the other
    components (``Cross(Tokens("tags"), Categorical("kind"))``: one per tag).

    ``unknown``: tokens outside the vocabulary are an error (``"error"``), share one extra id
    (``"bucket"``) or are left out (``"ignore"``).

    >>> Tokens("tags", sep=" ", vocabulary=["wifi", "pool"], unknown="ignore").tokens(["pool wifi", "", "sea pool"])
    [[1, 0], [], [1]]
    """

    _kind = "tokens"
    _kernel_kind = kc.MULTI
    _unknown_policies = ("error", "bucket", "ignore")

    def __init__(
        self,
        column: str,
        n_buckets: int | None = None,
        *,
        sep: str | None = None,
        vocabulary: Sequence[str | int] | None = None,
        unknown: str = "error",
        name: str | None = None,
        min_count: int | None = None,
        max_size: int | None = None,
    ) -> None:
        if sep is not None and (not isinstance(sep, str) or not sep):
            raise ValueError(f"sep must be a non-empty string or None (list columns), got {sep!r}")
        self.sep = sep
        self._init_lookup(column, n_buckets, vocabulary, unknown, name, min_count, max_size)

    @property
    def size(self) -> int | None:
        """Number of distinct ids (``"ignore"`` adds none), or None for the 64-bit hash."""
        if self.unknown == "ignore":
            return len(self.vocabulary) if self.vocabulary is not None else self.n_buckets
        return super().size

    def token_list(self, values: Any) -> TokenList:
        """The column's tokens as spans (see :func:`token_column`)."""
        return token_column(values, self.column, self.sep)

    def tokens(self, values: Any) -> list[list[int]]:
        """The token ids of each row, as lists (for reading; the transform keeps arrays)."""
        row_ptr, ids = self._token_ids(self.token_list(values), 0, None)
        return [ids[row_ptr[i]:row_ptr[i + 1]].tolist() for i in range(row_ptr.size - 1)]

    def _token_ids(self, tokens: TokenList, row0: int, chunk: int | None) -> tuple[np.ndarray, np.ndarray]:
        """``(row_ptr, ids)``: the ids of the tokens of row ``i`` are ``ids[row_ptr[i]:row_ptr[i + 1]]``."""
        ids, bad = self._text_ids(tokens.tokens)
        if bad is None:
            return tokens.row_ptr, ids
        if self.unknown == "bucket":
            ids[bad] = self._missing_id()
            return tokens.row_ptr, ids
        if self.unknown == "error":
            raise self._row_error(tokens, bad, row0, chunk)
        row_ptr = np.empty_like(tokens.row_ptr)
        kept = np.empty(ids.size, dtype=np.int64)
        n = tk.compact_tokens(tokens.row_ptr, ids, ~bad, row_ptr, kept)
        return row_ptr, kept[:n]

    def _row_error(self, tokens: TokenList, bad: np.ndarray, row0: int, chunk: int | None) -> ValueError:
        positions = np.flatnonzero(bad)
        row = int(np.searchsorted(tokens.row_ptr, positions[0], side="right")) - 1
        value = tokens.tokens.values_at(positions[:1])[0]
        plural = "s" if positions.size > 1 else ""
        return ValueError(
            f"column {self.column!r}: {positions.size} out-of-vocabulary token{plural}{chunk_words(chunk)}; "
            f"first in row {row_words(row0, row, chunk)} ({value!r}); pass unknown='bucket' to give them one id, "
            "or 'ignore' to drop them"
        )

    def _params(self) -> dict[str, Any]:
        return dict(column=self.column, n_buckets=self.n_buckets, sep=self.sep, vocabulary=self.vocabulary,
                    unknown=self.unknown, name=self.name, min_count=self.min_count, max_size=self.max_size)

    def _to_json(self) -> dict[str, Any]:
        return {**self._lookup_json(), "sep": self.sep}

    @classmethod
    def _from_json(cls, obj: dict[str, Any]) -> Tokens:
        return cls(obj["column"], obj["n_buckets"], sep=obj["sep"], vocabulary=obj["vocabulary"],
                   unknown=obj["unknown"], name=obj["name"], min_count=obj.get("min_count"),
                   max_size=obj.get("max_size"))

    def _key(self) -> tuple[Any, ...]:
        return (*self._lookup_key(), self.sep)

    def __repr__(self) -> str:
        sep = f", sep={self.sep!r}" if self.sep is not None else ""
        return f"Tokens({self._lookup_repr()}{sep}, name={self.name!r})"
