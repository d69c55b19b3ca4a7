"""Categorical and token columns as the text kernels read them: spans of UTF-8 bytes or integers.

:func:`text_column` accepts NumPy ``U``/``S``/integer/object arrays, Python lists, pyarrow
arrays (string, large_string, binary, string_view, dictionary, integer; chunked or not), pandas
Series (object, Arrow-backed strings, categoricals) and polars Series, and returns a
:class:`Text` without one Python object per value: Arrow buffers are read in place (zero copy),
NumPy ``U`` arrays are encoded to UTF-8 by a kernel, object arrays go through pyarrow's compiled
conversion. Only object arrays that Arrow cannot read as strings (integers mixed with strings,
or no pyarrow installed) take the value-by-value path of :func:`categorical_codes`.

:func:`token_column` does the same for list columns (Arrow lists, Python lists) and for
delimited text, returning per-row token ranges over a flat :class:`Text`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _hashing as hk
from .. import _strings as tk
from .._validation import _decode, _is_arrow, _numpy_keeps_text, _to_numpy, categorical_codes

_NONE = np.zeros(0, dtype=bool)  # "no row is missing"


class Text:
    """One categorical column, ready for hashing: one of

    - ``spans``: UTF-8 bytes ``data[starts[i]:ends[i]]`` per row;
    - ``ints``: int64 values (``unsigned``: the bits of uint64 values);
    - ``coded``: ``codes`` (-1 missing) into a :class:`Text` of distinct values (Arrow
      dictionaries, pandas categoricals);
    - ``values``: ``codes`` into a list of Python ``str``/``int`` (the value-by-value path).

    ``valid`` (bool per row, or empty when nothing is missing) marks the present values.
    """

    def __init__(self, kind: str, n: int, **parts: Any) -> None:
        self.kind, self.n = kind, n
        self.valid: np.ndarray = parts.pop("valid", _NONE)
        self.data = parts.get("data")
        self.starts = parts.get("starts")
        self.ends = parts.get("ends")
        self.ints = parts.get("ints")
        self.unsigned = bool(parts.get("unsigned", False))
        self.base: Text | None = parts.get("base")
        self.codes = parts.get("codes")
        self.uniques: list[Any] | None = parts.get("uniques")
        self.name: str = parts.get("name", "")
        self._keys: np.ndarray | None = None
        self._spans: Text | None = None

    def missing(self) -> np.ndarray | None:
        """Bool mask of missing rows, or None when no row is missing."""
        if self.kind in ("coded", "values"):
            mask = self.codes < 0
            inner = self.base.missing() if self.kind == "coded" else None
            if inner is not None:
                mask |= inner[np.maximum(self.codes, 0)]
            return mask if mask.any() else None
        return None if self.valid.size == 0 or self.valid.all() else ~self.valid

    def spans(self) -> Text:
        """This column as ``spans`` (a NumPy ``U`` array is encoded to UTF-8 on first use)."""
        if self.kind != "ucs4":
            return self
        if self._spans is None:
            self._spans = _ucs4_spans(self.codes, self.name)
            self._spans._keys = self._keys
        return self._spans

    def keys(self) -> np.ndarray:
        """uint64 value hash per row (0 for missing rows), see :class:`Categorical`."""
        if self._keys is None:
            if self.kind == "ucs4":
                out = np.empty(self.n, dtype=np.uint64)
                bad = tk.ucs4_keys(self.codes, out)
                if bad >= 0:
                    raise _unicode_error(self.codes, bad, self.name)
            elif self.kind == "spans":
                out = np.empty(self.n, dtype=np.uint64)
                tk.span_keys(self.data, self.starts, self.ends, self.valid, out)
            elif self.kind == "ints":
                out = np.empty(self.n, dtype=np.uint64)
                hk.int_keys(self.ints, out)
                if self.valid.size:
                    out[~self.valid] = 0
            else:
                base = self.base.keys() if self.kind == "coded" else _value_keys(self.uniques)
                out = _take(base, self.codes, np.uint64(0))
            self._keys = out
        return self._keys

    def values_at(self, rows: np.ndarray) -> list[Any]:
        """The Python values (``str`` or ``int``) of the given (non-missing) rows."""
        if self.kind == "ucs4":
            return self.spans().values_at(rows)
        if self.kind == "spans":
            raw = self.data
            return [_decode(raw[self.starts[r]:self.ends[r]].tobytes(), "") for r in rows.tolist()]
        if self.kind == "ints":
            values = self.ints[rows]
            return [int(v) for v in (values.view(np.uint64) if self.unsigned else values)]
        if self.kind == "coded":
            return self.base.values_at(self.codes[rows])
        return [self.uniques[c] for c in self.codes[rows].tolist()]

    def distinct(self) -> tuple[list[Any], np.ndarray]:
        """The distinct present values and how often each occurs (order unspecified)."""
        if self.kind == "ucs4":
            return self.spans().distinct()
        if self.kind == "spans":
            first, counts, collided = tk.distinct_spans(self.starts, self.ends, self.valid, self.keys())
            if collided >= 0:  # two strings share a 64-bit key: count them apart, value by value
                values = self.values_at(np.flatnonzero(self.valid) if self.valid.size else np.arange(self.n))
                uniques, inverse = np.unique(np.array(values, dtype=object).astype(str), return_inverse=True)
                return [str(u) for u in uniques], np.bincount(inverse)
            return self.values_at(first), counts
        if self.kind == "ints":
            present = self.ints if self.valid.size == 0 else self.ints[self.valid]
            uniques, counts = np.unique(present.view(np.uint64) if self.unsigned else present, return_counts=True)
            return [int(u) for u in uniques], counts
        missing = self.missing()
        codes = self.codes if missing is None else self.codes[~missing]
        counts = np.bincount(codes, minlength=self.base.n if self.kind == "coded" else len(self.uniques))
        present = np.flatnonzero(counts)
        values = self.base.values_at(present) if self.kind == "coded" else [self.uniques[i] for i in present.tolist()]
        merged: dict[Any, int] = {}  # an Arrow dictionary may repeat a value
        for value, count in zip(values, counts[present].tolist()):
            merged[value] = merged.get(value, 0) + count
        return list(merged), np.array(list(merged.values()), dtype=np.int64)


def _take(table: np.ndarray, codes: np.ndarray, fill: Any) -> np.ndarray:
    out = table[np.maximum(codes, 0)] if table.size else np.full(codes.shape, fill, dtype=table.dtype)
    if (codes < 0).any():
        out[codes < 0] = fill
    return out


def _value_keys(values: list[Any]) -> np.ndarray:
    """Keys of Python ``str``/``int`` values (the value-by-value path)."""
    keys = np.empty(len(values), dtype=np.uint64)
    is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    if is_str.any():
        keys[is_str] = spans_of_strings([v for v, s in zip(values, is_str) if s]).keys()
    if not is_str.all():
        ints = np.array([int(v) % (1 << 64) for v, s in zip(values, is_str) if not s], dtype=np.uint64)
        out = np.empty(ints.size, dtype=np.uint64)
        hk.int_keys(ints, out)
        keys[~is_str] = out
    return keys


def spans_of_strings(values: list[str]) -> Text:
    """A ``spans`` Text of Python strings (vocabularies, the value-by-value path)."""
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8) if offsets[-1] else np.zeros(0, np.uint8)
    return Text("spans", len(values), data=data, starts=offsets[:-1], ends=offsets[1:])


# ------------------------------------------------------------------------------------- inputs
def text_column(values: Any, name: str) -> Text:
    """A categorical column (see the module docstring) as a :class:`Text`; ``TypeError`` naming
    the column for floating point or other non-categorical values."""
    module = type(values).__module__.split(".")[0]
    if module == "polars":
        values = values.to_arrow()
    elif module == "pandas" and getattr(values, "dtype", None) is not None and values.dtype.kind not in "iub":
        values = _pandas_to_arrow(values)
    if _is_arrow(values):
        return _arrow_text(values, name)
    array = _to_numpy(values, name, numeric=False)
    if array.dtype.kind in "US" and isinstance(values, (list, tuple)) and not _numpy_keeps_text(values, array.dtype.kind):
        array = np.asarray(values, dtype=object)  # NumPy would turn 7 into "7" and drop trailing NULs
    if array.ndim != 1:
        raise ValueError(f"column {name!r} must be 1-D, got shape {array.shape}")
    kind = array.dtype.kind
    if array.shape[0] == 0:
        return Text("values", 0, uniques=[], codes=np.empty(0, dtype=np.int64))
    if kind == "U":
        return _unicode_text(array, name)
    if kind == "S":
        raw = np.ascontiguousarray(array).view(np.uint8).reshape(array.shape[0], array.dtype.itemsize)
        starts, ends = np.empty(array.shape[0], np.int64), np.empty(array.shape[0], np.int64)
        tk.fixed_width_spans(raw, starts, ends)
        return _checked_utf8(Text("spans", array.shape[0], data=raw.reshape(-1), starts=starts, ends=ends), name)
    if kind in "iub":
        return _int_text(array)
    if kind == "O":  # Arrow's conversion is the quicker; without pyarrow, CPython's join
        arrow = _object_to_arrow(array)
        if arrow is not None:
            return _arrow_text(arrow, name)
        joined = _joined_text(array, name)
        if joined is not None:
            return joined
    uniques, codes = categorical_codes(array, name)  # raises the TypeError for floats and others
    return Text("values", array.shape[0], uniques=uniques, codes=codes)


def _int_text(array: np.ndarray, valid: np.ndarray = _NONE) -> Text:
    unsigned = array.dtype == np.uint64
    ints = array.view(np.int64) if unsigned else array.astype(np.int64, copy=False)
    return Text("ints", array.shape[0], ints=np.ascontiguousarray(ints), unsigned=unsigned, valid=valid)


def _unicode_text(array: np.ndarray, name: str) -> Text:
    """A NumPy ``U`` array read in place as (n, width) code points; hashed without encoding."""
    n, width = array.shape[0], array.dtype.itemsize // 4
    codes = np.ascontiguousarray(array).view(np.uint32).reshape(n, width) if width else np.zeros((n, 0), np.uint32)
    return Text("ucs4", n, codes=codes, name=name)


def _unicode_error(codes: np.ndarray, row: int, name: str) -> ValueError:
    value = "".join(chr(c) for c in codes[row] if c)
    return ValueError(f"categorical column {name!r}: row {row} holds {value!r}, which is not valid Unicode text")


def _ucs4_spans(codes: np.ndarray, name: str) -> Text:
    """UTF-8 spans of (n, width) code points (for vocabularies and distinct values)."""
    n = codes.shape[0]
    lengths = np.empty(n, dtype=np.int64)
    bad = tk.ucs4_lengths(codes, lengths)
    if bad >= 0:
        raise _unicode_error(codes, bad, name)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    tk.ucs4_encode(codes, offsets, data)
    return Text("spans", n, data=data, starts=offsets[:-1], ends=offsets[1:])


def _checked_utf8(text: Text, name: str) -> Text:
    bad = tk.first_invalid_utf8(text.data, text.starts, text.ends, text.valid)
    if bad >= 0:
        value = text.data[text.starts[bad]:text.ends[bad]].tobytes()
        raise ValueError(f"categorical column {name!r}: bytes value {value!r} is not UTF-8")
    return text


def _pandas_to_arrow(series: Any) -> Any:
    """pandas strings, objects and categoricals through Arrow (zero copy when Arrow-backed)."""
    try:
        import pyarrow as pa
    except ImportError:
        return series
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        return series  # mixed objects: the value-by-value path names the first bad row


def _joined_text(array: np.ndarray, name: str) -> Text | None:
    """An object array of ``str`` only, as one UTF-8 buffer: CPython joins and encodes the
    values in C, one kernel pass finds the spans and hashes them. None when a value is not a
    ``str`` (missing values, integers, bytes) or holds a NUL: the caller takes another path."""
    try:
        data = np.frombuffer("\0".join(array.tolist()).encode("utf-8"), dtype=np.uint8)
    except (TypeError, UnicodeEncodeError):
        return None
    n = array.shape[0]
    starts, ends = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    keys = np.empty(n, dtype=np.uint64)
    if tk.joined_spans(data, starts, ends, keys) != n:
        return None
    text = Text("spans", n, data=data, starts=starts, ends=ends, name=name)
    text._keys = keys
    return text


def _object_to_arrow(array: np.ndarray) -> Any:
    """An object array of strings as an Arrow string array (compiled), or None if it is not one."""
    try:
        import pyarrow as pa
    except ImportError:
        return None
    for from_pandas in (False, True):  # None is null either way; NaN only with from_pandas
        try:
            return pa.array(array, type=pa.large_string(), from_pandas=from_pandas)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            continue
    return None


def _arrow_valid(arr: Any) -> np.ndarray:
    if arr.null_count == 0:
        return _NONE
    bitmap = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bitmap, bitorder="little")[arr.offset: arr.offset + len(arr)].astype(bool)


def _arrow_text(values: Any, name: str) -> Text:
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    kind = values.type
    if pa.types.is_dictionary(kind):
        base = _arrow_text(values.dictionary, name)
        codes = values.indices.cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)
        return Text("coded", len(values), base=base, codes=np.asarray(codes, dtype=np.int64))
    if pa.types.is_string_view(kind) or pa.types.is_binary_view(kind):
        values = values.cast(pa.large_string() if pa.types.is_string_view(kind) else pa.large_binary())
        kind = values.type
    if pa.types.is_null(kind):  # e.g. the items of lists that are all empty
        return Text("values", len(values), uniques=[], codes=np.full(len(values), -1, dtype=np.int64))
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        valid = _arrow_valid(values)
        filled = values.fill_null(0) if values.null_count else values
        return _int_text(np.asarray(filled.to_numpy(zero_copy_only=False)), valid)
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if not (text or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
        raise TypeError(f"categorical column {name!r} must hold strings or integers, got Arrow type {kind}")
    wide = pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if wide else np.int32)[values.offset: values.offset + len(values) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    out = Text("spans", len(values), data=data, starts=offsets[:-1], ends=offsets[1:], valid=_arrow_valid(values))
    if tk.check_spans(out.starts, out.ends, data.size) >= 0:
        raise ValueError(f"column {name!r}: the Arrow string offsets point outside the data buffer")
    return out if text else _checked_utf8(out, name)


# ------------------------------------------------------------------------------------- tokens
class TokenList:
    """Token lists: the tokens of row ``i`` are ``tokens`` rows ``row_ptr[i]:row_ptr[i + 1]``."""

    def __init__(self, row_ptr: np.ndarray, tokens: Text) -> None:
        self.row_ptr, self.tokens = row_ptr, tokens


def token_column(values: Any, name: str, sep: str | None) -> TokenList:
    """A list column (``sep=None``) or a delimited text column as a :class:`TokenList`.

    Missing rows and empty lists have no tokens; missing tokens inside a list are dropped.
    """
    if sep is not None:
        return _split_text(text_column(values, name), name, sep)
    module = type(values).__module__.split(".")[0]
    if module == "polars":
        values = values.to_arrow()
    elif module == "pandas":
        values = _pandas_to_arrow(values)
    if not _is_arrow(values):
        values = _lists_to_arrow(values, name)
    return _arrow_lists(values, name)


def _lists_to_arrow(values: Any, name: str) -> Any:
    if isinstance(values, np.ndarray):
        array = values
    else:  # a list of lists: keep one list per row (np.asarray would make a 2-D array)
        array = np.empty(len(values), dtype=object)
        array[:] = list(values)
    first = next((v for v in array if v is not None), None) if array.dtype.kind == "O" else None
    if array.dtype.kind in "US" or isinstance(first, (str, bytes)):
        raise TypeError(f"Tokens column {name!r} holds text, not lists: pass sep= to split it")
    try:
        import pyarrow as pa
    except ImportError as error:
        raise ImportError(f"Tokens column {name!r}: list columns need pyarrow (pip install pyarrow)") from error
    try:
        return pa.array(array, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as error:
        raise TypeError(f"Tokens column {name!r} must hold lists of strings or integers: {error}") from None


def _arrow_lists(values: Any, name: str) -> TokenList:
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        raise TypeError(f"Tokens column {name!r} holds text, not lists: pass sep= to split it")
    if pa.types.is_fixed_size_list(kind) or pa.types.is_list_view(kind) or pa.types.is_large_list_view(kind):
        values = values.cast(pa.large_list(kind.value_type))
        kind = values.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        raise TypeError(f"Tokens column {name!r} must hold lists (or text with sep=), got Arrow type {kind}")
    if values.null_count:
        values = values.fill_null(pa.scalar([], type=kind))
    offsets = np.asarray(values.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    tokens = _arrow_text(values.values, name)  # the whole child array; rows index into it
    if offsets.size and (offsets[0] < 0 or offsets[-1] > tokens.n or (np.diff(offsets) < 0).any()):
        raise ValueError(f"column {name!r}: the Arrow list offsets point outside the values")
    missing = tokens.missing()
    if missing is None:
        return TokenList(offsets, tokens)
    keep = ~missing
    new_ptr = np.empty(offsets.size, dtype=np.int64)
    new_ids = np.empty(tokens.n, dtype=np.int64)
    n = tk.compact_tokens(offsets, np.arange(tokens.n, dtype=np.int64), keep, new_ptr, new_ids)
    return TokenList(new_ptr, _subset(tokens, new_ids[:n]))


def _subset(text: Text, rows: np.ndarray) -> Text:
    """The given rows of a Text, in that order."""
    text = text.spans()
    valid = text.valid[rows] if text.valid.size else _NONE
    if text.kind == "spans":
        return Text("spans", rows.size, data=text.data, starts=text.starts[rows], ends=text.ends[rows], valid=valid)
    if text.kind == "ints":
        return Text("ints", rows.size, ints=text.ints[rows], unsigned=text.unsigned, valid=valid)
    return Text(text.kind, rows.size, base=text.base, uniques=text.uniques, codes=text.codes[rows])


def _split_text(text: Text, name: str, sep: str) -> TokenList:
    if not isinstance(sep, str) or not sep:
        raise ValueError(f"Tokens column {name!r}: sep must be a non-empty string, got {sep!r}")
    text = text.spans()
    if text.kind == "coded" and text.base.kind == "spans":  # split the distinct values, then take
        inner = _split_text(text.base, name, sep)
        counts = np.diff(inner.row_ptr)
        codes = text.codes
        per_row = np.where(codes >= 0, counts[np.maximum(codes, 0)], 0)
        row_ptr = np.zeros(text.n + 1, dtype=np.int64)
        np.cumsum(per_row, out=row_ptr[1:])
        firsts = np.repeat(inner.row_ptr[np.maximum(codes, 0)] - row_ptr[:-1], per_row)
        return TokenList(row_ptr, _subset(inner.tokens, np.arange(row_ptr[-1]) + firsts))
    if text.kind != "spans":
        if text.kind == "ints" or any(not isinstance(u, str) for u in (text.uniques or [])):
            raise TypeError(f"Tokens column {name!r}: sep= splits text, but the column holds integers")
        text = _values_as_spans(text)
    sep_bytes = np.frombuffer(sep.encode("utf-8"), dtype=np.uint8)
    total = tk.split_count(text.data, text.starts, text.ends, text.valid, sep_bytes)
    row_ptr = np.empty(text.n + 1, dtype=np.int64)
    starts, ends = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
    tk.split_fill(text.data, text.starts, text.ends, text.valid, sep_bytes, row_ptr, starts, ends)
    return TokenList(row_ptr, Text("spans", int(total), data=text.data, starts=starts, ends=ends))


def _values_as_spans(text: Text) -> Text:
    """A value-by-value Text of strings as spans (missing rows marked invalid)."""
    strings = [text.uniques[c] if c >= 0 else "" for c in text.codes.tolist()]
    out = spans_of_strings(strings)
    out.valid = text.codes >= 0
    return out
