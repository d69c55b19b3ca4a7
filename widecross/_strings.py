"""Numba kernels of text columns: one value = a span of UTF-8 bytes, hashed where it lies.

Every text input (NumPy ``U`` and ``S`` arrays, Arrow string / large_string / binary arrays,
and through Arrow pandas, polars and Python objects) is read as a byte buffer with per-row
``starts`` / ``ends`` and an optional ``valid`` mask (0: missing). The kernels hash spans in
place (no Python object per value), look values up in a vocabulary table with a byte-for-byte
check, split delimited text into token spans, and count distinct values for ``fit``.

The key of a string is the categorical value hash of :mod:`widecross._hashing`:
``mix64(fnv1a64(utf8 bytes) ^ STR_TAG)``; an integer's is ``mix64(uint64(v) ^ INT_TAG)``.

Kernels read only positions they have checked: callers pass spans from :func:`check_spans`
(Arrow offsets from outside) or spans this module produced.
"""

from __future__ import annotations

import numpy as np

from ._hashing import FNV_OFFSET, FNV_PRIME, INT_TAG, STR_TAG, mix64
from ._jit import jit

EMPTY = np.uint64(0)  # table slot marker; a key equal to it is stored in the slot marked used


@jit
def check_spans(starts, ends, size):
    """First row whose span is not inside ``[0, size)`` or ends before it starts, else -1."""
    for i in range(starts.shape[0]):
        if starts[i] < 0 or ends[i] < starts[i] or ends[i] > size:
            return i
    return -1


@jit
def ucs4_lengths(codes, lengths):
    """UTF-8 byte length of each row of a NumPy ``U`` array viewed as (n, width) uint32 code
    points (trailing NULs are padding, as NumPy reads them). Returns the first row holding a
    code point UTF-8 cannot encode (a surrogate, or above U+10FFFF), else -1."""
    bad = -1
    for i in range(codes.shape[0]):
        end = codes.shape[1]
        while end > 0 and codes[i, end - 1] == 0:
            end -= 1
        n = 0
        for j in range(end):
            cp = codes[i, j]
            if cp < 0x80:
                n += 1
            elif cp < 0x800:
                n += 2
            elif cp < 0x10000:
                if 0xD800 <= cp <= 0xDFFF and bad < 0:
                    bad = i
                n += 3
            else:
                if cp > 0x10FFFF and bad < 0:
                    bad = i
                n += 4
        lengths[i] = n
    return bad


@jit(inline="always")
def _fnv_byte(h, b):
    return (h ^ np.uint64(b)) * FNV_PRIME


@jit
def ucs4_keys(codes, out):
    """Value hash of every row of a NumPy ``U`` array (see :func:`ucs4_lengths`), hashing the
    UTF-8 bytes as they are encoded, without writing them. Returns the first row UTF-8 cannot
    encode, else -1."""
    bad = -1
    for i in range(codes.shape[0]):
        end = codes.shape[1]
        while end > 0 and codes[i, end - 1] == 0:
            end -= 1
        h = FNV_OFFSET
        for j in range(end):
            cp = codes[i, j]
            if cp < 0x80:
                h = _fnv_byte(h, cp)
            elif cp < 0x800:
                h = _fnv_byte(_fnv_byte(h, 0xC0 | (cp >> 6)), 0x80 | (cp & 0x3F))
            elif cp < 0x10000:
                if 0xD800 <= cp <= 0xDFFF and bad < 0:
                    bad = i
                h = _fnv_byte(_fnv_byte(_fnv_byte(h, 0xE0 | (cp >> 12)), 0x80 | ((cp >> 6) & 0x3F)), 0x80 | (cp & 0x3F))
            else:
                if cp > 0x10FFFF and bad < 0:
                    bad = i
                h = _fnv_byte(h, 0xF0 | (cp >> 18))
                h = _fnv_byte(_fnv_byte(_fnv_byte(h, 0x80 | ((cp >> 12) & 0x3F)), 0x80 | ((cp >> 6) & 0x3F)), 0x80 | (cp & 0x3F))
        out[i] = mix64(h ^ STR_TAG)
    return bad


@jit
def ucs4_encode(codes, offsets, out):
    """UTF-8 bytes of every row (lengths from :func:`ucs4_lengths`) at ``out[offsets[i]:]``."""
    for i in range(codes.shape[0]):
        p = offsets[i]
        stop = offsets[i + 1]
        j = 0
        while p < stop:
            cp = codes[i, j]
            j += 1
            if cp < 0x80:
                out[p] = cp
                p += 1
            elif cp < 0x800:
                out[p] = 0xC0 | (cp >> 6)
                out[p + 1] = 0x80 | (cp & 0x3F)
                p += 2
            elif cp < 0x10000:
                out[p] = 0xE0 | (cp >> 12)
                out[p + 1] = 0x80 | ((cp >> 6) & 0x3F)
                out[p + 2] = 0x80 | (cp & 0x3F)
                p += 3
            else:
                out[p] = 0xF0 | (cp >> 18)
                out[p + 1] = 0x80 | ((cp >> 12) & 0x3F)
                out[p + 2] = 0x80 | ((cp >> 6) & 0x3F)
                out[p + 3] = 0x80 | (cp & 0x3F)
                p += 4


@jit
def joined_spans(data, starts, ends, keys):
    """Spans and value hashes of strings joined by NUL bytes (``"\\0".join(values)`` in UTF-8),
    in one pass. Returns the number of values found: one more than the NULs, so a count other
    than the number of values joined means a value held a NUL itself (then use another path)."""
    n = 0
    begin = 0
    h = FNV_OFFSET
    for p in range(data.shape[0] + 1):
        if p == data.shape[0] or data[p] == 0:
            if n < starts.shape[0]:
                starts[n] = begin
                ends[n] = p
                keys[n] = mix64(h ^ STR_TAG)
            n += 1
            begin = p + 1
            h = FNV_OFFSET
        else:
            h = (h ^ np.uint64(data[p])) * FNV_PRIME
    return n


@jit
def fixed_width_spans(raw, starts, ends):
    """Spans of the rows of a NumPy ``S`` array viewed as (n, width) bytes, trailing NULs dropped."""
    width = raw.shape[1]
    for i in range(raw.shape[0]):
        end = width
        while end > 0 and raw[i, end - 1] == 0:
            end -= 1
        starts[i] = i * width
        ends[i] = i * width + end


@jit
def first_invalid_utf8(data, starts, ends, valid):
    """First (non-missing) row whose bytes are not well-formed UTF-8, else -1."""
    for i in range(starts.shape[0]):
        if valid.shape[0] and not valid[i]:
            continue
        p = starts[i]
        stop = ends[i]
        while p < stop:
            b = data[p]
            if b < 0x80:
                p += 1
                continue
            if 0xC2 <= b <= 0xDF:
                n, low, high = 1, 0x80, 0xBF
            elif 0xE0 <= b <= 0xEF:
                n = 2
                low = 0xA0 if b == 0xE0 else 0x80
                high = 0x9F if b == 0xED else 0xBF  # no surrogates
            elif 0xF0 <= b <= 0xF4:
                n = 3
                low = 0x90 if b == 0xF0 else 0x80
                high = 0x8F if b == 0xF4 else 0xBF
            else:
                return i
            if p + n >= stop:  # the sequence runs past the end of the value
                return i
            if not low <= data[p + 1] <= high:
                return i
            for k in range(2, n + 1):
                if not 0x80 <= data[p + k] <= 0xBF:
                    return i
            p += n + 1
    return -1


@jit
def span_keys(data, starts, ends, valid, out):
    """Value hash of every span (0 for missing rows: ``valid`` empty means none is missing)."""
    for i in range(starts.shape[0]):
        if valid.shape[0] and not valid[i]:
            out[i] = EMPTY
            continue
        h = FNV_OFFSET
        for j in range(starts[i], ends[i]):
            h = (h ^ np.uint64(data[j])) * FNV_PRIME
        out[i] = mix64(h ^ STR_TAG)


@jit
def keys_modulo(keys, n, out):
    """``out[i] = keys[i] mod n`` as int64 (a categorical's id with ``n_buckets``)."""
    m = np.uint64(n)
    if n & (n - 1) == 0:  # a power of two: a mask
        mask = m - np.uint64(1)
        for i in range(keys.shape[0]):
            out[i] = np.int64(keys[i] & mask)
    else:
        for i in range(keys.shape[0]):
            out[i] = np.int64(keys[i] % m)


@jit
def split_count(data, starts, ends, valid, sep):
    """Number of non-empty tokens of all rows split on the byte string ``sep``."""
    total = 0
    for i in range(starts.shape[0]):
        if valid.shape[0] and not valid[i]:
            continue
        total += _split_row(data, starts[i], ends[i], sep, np.empty(0, np.int64), np.empty(0, np.int64), 0, False)
    return total


@jit
def split_fill(data, starts, ends, valid, sep, row_ptr, tok_starts, tok_ends):
    """Token spans of every row (see :func:`split_count`); ``row_ptr[i]`` = first token of row ``i``."""
    pos = 0
    row_ptr[0] = 0
    for i in range(starts.shape[0]):
        if not (valid.shape[0] and not valid[i]):
            pos += _split_row(data, starts[i], ends[i], sep, tok_starts, tok_ends, pos, True)
        row_ptr[i + 1] = pos


@jit(inline="always")
def _split_row(data, lo, hi, sep, tok_starts, tok_ends, pos, write):
    n = 0
    width = sep.shape[0]
    begin = lo
    p = lo
    while p <= hi:
        at_sep = p + width <= hi
        if at_sep:
            for k in range(width):
                if data[p + k] != sep[k]:
                    at_sep = False
                    break
        if at_sep or p == hi:
            if p > begin:  # empty tokens (separators side by side, at the ends) are dropped
                if write:
                    tok_starts[pos + n] = begin
                    tok_ends[pos + n] = p
                n += 1
            if p == hi:
                break
            p += width
            begin = p
        else:
            p += 1
    return n


@jit(inline="always")
def _slot(key, mask):
    return np.int64(mix64(key ^ INT_TAG) & mask)


@jit
def table_build(keys, table_keys, table_used, table_vals):
    """Open-addressing table (size a power of two > 2 x len) from distinct ``keys`` to position."""
    mask = np.uint64(table_keys.shape[0] - 1)
    for i in range(keys.shape[0]):
        s = _slot(keys[i], mask)
        while table_used[s] and table_keys[s] != keys[i]:
            s = (s + 1) & np.int64(mask)
        table_keys[s] = keys[i]
        table_used[s] = True
        table_vals[s] = i


@jit(inline="always")
def _probe(key, table, mask):
    """Position stored under ``key`` in an open-addressing table, -1 if none."""
    table_keys, table_used, table_vals = table
    s = _slot(key, mask)
    while table_used[s]:
        if table_keys[s] == key:
            return table_vals[s]
        s = (s + 1) & np.int64(mask)
    return -1


@jit
def lookup_spans(data, starts, ends, valid, keys, table, vocab, out):
    """Vocabulary position of every span (-1: missing or not in the vocabulary).

    ``table`` = ``(table_keys, table_used, table_vals)`` of the vocabulary's keys; ``vocab`` =
    ``(bytes, starts, ends, is_text)`` of its values: a key hit counts only when the bytes agree,
    so two strings sharing a 64-bit key can never be taken for one another.
    """
    vbytes, vstarts, vends, is_text = vocab
    mask = np.uint64(table[0].shape[0] - 1)
    for i in range(starts.shape[0]):
        out[i] = -1
        if valid.shape[0] and not valid[i]:
            continue
        v = _probe(keys[i], table, mask)
        if v >= 0 and is_text[v] and _same_span(data, starts[i], ends[i], vstarts[v], vends[v], vbytes):
            out[i] = v


@jit
def lookup_ints(values, valid, keys, table, vocab_ints, is_text, out):
    """Vocabulary position of every integer (-1: missing or not in the vocabulary)."""
    mask = np.uint64(table[0].shape[0] - 1)
    for i in range(values.shape[0]):
        out[i] = -1
        if valid.shape[0] and not valid[i]:
            continue
        v = _probe(keys[i], table, mask)
        if v >= 0 and not is_text[v] and vocab_ints[v] == values[i]:
            out[i] = v


@jit
def distinct_spans(starts, ends, valid, keys):
    """Distinct values of a span column by their 64-bit keys: ``(first_rows, counts, collided_row)``.

    A growing open-addressing table of one 32-byte record per slot (key, first row + 1, count,
    byte length): one cache line per probe, never the bytes themselves. Two values with one key
    but different lengths are reported as ``collided_row`` (else -1); equal lengths and equal
    64-bit keys count as one value (the vocabulary's lookups compare bytes, so such a value
    would read as unknown, never as another).
    """
    size = 1024
    table = np.zeros((size, 4), dtype=np.int64)
    n_distinct = 0
    collided = -1
    for i in range(starts.shape[0]):
        if valid.shape[0] and not valid[i]:
            continue
        if 2 * (n_distinct + 1) > size:
            size *= 2
            table = _grow(table, size)
        key = np.int64(keys[i])
        s = _slot(keys[i], np.uint64(size - 1))
        while table[s, 1] != 0 and table[s, 0] != key:
            s = (s + 1) & (size - 1)
        if table[s, 1] == 0:
            table[s, 0] = key
            table[s, 1] = i + 1
            table[s, 3] = ends[i] - starts[i]
            n_distinct += 1
        elif collided < 0 and table[s, 3] != ends[i] - starts[i]:
            collided = i
        table[s, 2] += 1
    used = table[:, 1] != 0
    return table[used, 1] - 1, table[used, 2], collided


@jit(inline="always")
def _same_span(data, a0, a1, b0, b1, other):
    """True when ``data[a0:a1]`` and ``other[b0:b1]`` hold the same bytes."""
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):
        if data[a0 + k] != other[b0 + k]:
            return False
    return True


@jit
def _grow(table, size):
    grown = np.zeros((size, 4), dtype=np.int64)
    mask = np.uint64(size - 1)
    for j in range(table.shape[0]):
        if table[j, 1] != 0:
            s = _slot(np.uint64(table[j, 0]), mask)
            while grown[s, 1] != 0:
                s = (s + 1) & (size - 1)
            grown[s] = table[j]
    return grown


@jit
def compact_tokens(row_ptr, ids, keep, new_ptr, new_ids):
    """Drop the tokens whose ``keep`` is false; rows keep their order."""
    pos = 0
    new_ptr[0] = 0
    for i in range(row_ptr.shape[0] - 1):
        for j in range(row_ptr[i], row_ptr[i + 1]):
            if keep[j]:
                new_ids[pos] = ids[j]
                pos += 1
        new_ptr[i + 1] = pos
    return pos
