"""Numba kernels: Rice coding of the gaps between sorted column ids, in blocks of 64.

Gaps are ``g[0] = idx[0]`` and ``g[i] = idx[i] - idx[i-1] - 1`` (>= 0 for strictly increasing ids).
Each block of up to 64 gaps starts with its own Rice parameter ``k`` (6 bits), chosen to minimize
the block's size, so the code adapts to clustered ids (exactly indexed geo cells) as well as to
the geometric gaps of hashed ids, where it stays within ~2 % of the entropy ``log2(e*width/nnz)``.
A gap is coded as its quotient ``q = g >> k`` in unary (``q`` one bits, then a zero bit) followed
by the ``k`` low bits of ``g``. A quotient of 32 or more is escaped: 32 one bits, then the gap's
bit length ``nb`` (6 bits, 1..63), then its ``nb`` bits; so one huge gap (a model over 2**40
columns) costs at most 101 bits instead of billions.

Bit order: the stream is a sequence of bits, bit ``i`` stored in byte ``i >> 3`` at position
``i & 7`` (least significant first); multi-bit fields are written least significant bit first.
The stream is zero-padded to whole bytes.

Every decoder read is bounds-checked and returns an error code instead of raising, so that a
corrupted file can never read out of bounds or loop for long.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

BLOCK = 64
ESCAPE = 32  # quotients >= ESCAPE are written as (ESCAPE ones, 6-bit length, raw bits)
K_BITS = 6
MAX_K = 62

# Decoder status codes (0 = success).
OK = 0
ERR_TRUNCATED = 1  # the stream ended inside a code
ERR_BAD_PARAMETER = 2  # a block's k or an escaped length is impossible
ERR_OUT_OF_RANGE = 3  # an id reached n_features
ERR_TRAILING = 4  # bytes or nonzero padding bits after the last code

ERRORS = {
    ERR_TRUNCATED: "the index stream ends in the middle of a code (truncated or corrupted)",
    ERR_BAD_PARAMETER: "the index stream holds an impossible Rice parameter or length (corrupted)",
    ERR_OUT_OF_RANGE: "the index stream decodes to a column id >= n_features (corrupted)",
    ERR_TRAILING: "the index stream has data after its last code (corrupted)",
}


@jit(inline="always")
def _bit_length(x):
    n = 0
    while x > 0:
        x >>= np.uint64(1)
        n += 1
    return n


@jit(inline="always")
def _gap(indices, i):
    if i == 0:
        return np.uint64(indices[0])
    return np.uint64(np.int64(indices[i]) - np.int64(indices[i - 1]) - 1)


@jit(inline="always")
def _cost(g, k):
    q = g >> np.uint64(k)
    if q < np.uint64(ESCAPE):
        return np.int64(q) + 1 + k
    return ESCAPE + K_BITS + _bit_length(g)


@jit
def plan(indices, ks):
    """Choose each block's k (into ``ks``, one uint8 per block); return the stream's bit count."""
    n = indices.shape[0]
    total = np.int64(0)
    for b in range(ks.shape[0]):
        start = b * BLOCK
        stop = min(start + BLOCK, n)
        largest = np.uint64(0)
        for i in range(start, stop):
            g = _gap(indices, i)
            if g > largest:
                largest = g
        # Beyond the largest gap's bit length every quotient is 0 and a larger k only costs more.
        k_max = min(_bit_length(largest), MAX_K)
        best_k = 0
        best = np.int64(-1)
        for k in range(k_max + 1):
            c = np.int64(0)
            for i in range(start, stop):
                c += _cost(_gap(indices, i), k)
            if best < 0 or c < best:
                best = c
                best_k = k
        ks[b] = best_k
        total += K_BITS + best
    return total


@jit(inline="always")
def _put(out, pos, value, nbits):
    for j in range(nbits):
        if (value >> np.uint64(j)) & np.uint64(1):
            out[(pos + j) >> 3] |= np.uint8(1 << ((pos + j) & 7))
    return pos + nbits


@jit
def write(indices, ks, out):
    """Write the stream planned by :func:`plan` into zeroed ``out``; return the bits written."""
    n = indices.shape[0]
    pos = np.int64(0)
    for b in range(ks.shape[0]):
        k = np.int64(ks[b])
        pos = _put(out, pos, np.uint64(k), K_BITS)
        for i in range(b * BLOCK, min(b * BLOCK + BLOCK, n)):
            g = _gap(indices, i)
            q = g >> np.uint64(k)
            if q < np.uint64(ESCAPE):
                pos = _put(out, pos, np.uint64(0xFFFFFFFF), np.int64(q))  # q one bits
                pos += 1  # the terminating zero bit
                pos = _put(out, pos, g, k)
            else:
                pos = _put(out, pos, np.uint64(0xFFFFFFFF), ESCAPE)
                nb = _bit_length(g)
                pos = _put(out, pos, np.uint64(nb), K_BITS)
                pos = _put(out, pos, g, nb)
    return pos


@jit(inline="always")
def _get(buf, pos, nbits):
    v = np.uint64(0)
    for j in range(nbits):
        p = pos + j
        if (buf[p >> 3] >> (p & 7)) & 1:
            v |= np.uint64(1) << np.uint64(j)
    return v


@jit
def read(buf, n_features, out):
    """Decode ``out.shape[0]`` ids from ``buf`` into ``out``; return a status code (0 = success).

    Ids are checked against ``n_features``, the stream must end exactly at the end of ``buf``
    (padding bits zero), and no read goes past ``buf``.
    """
    n = out.shape[0]
    total_bits = np.int64(buf.shape[0]) * 8
    pos = np.int64(0)
    prev = np.int64(-1)
    width = np.int64(n_features)
    k = np.int64(0)
    for i in range(n):
        if i % BLOCK == 0:
            if pos + K_BITS > total_bits:
                return ERR_TRUNCATED
            k = np.int64(_get(buf, pos, K_BITS))
            pos += K_BITS
            if k > MAX_K:
                return ERR_BAD_PARAMETER
        q = 0
        while q < ESCAPE:
            if pos >= total_bits:
                return ERR_TRUNCATED
            bit = (buf[pos >> 3] >> (pos & 7)) & 1
            pos += 1
            if bit == 0:
                break
            q += 1
        if q < ESCAPE:
            if pos + k > total_bits:
                return ERR_TRUNCATED
            g = (np.uint64(q) << np.uint64(k)) | _get(buf, pos, k)
            pos += k
        else:
            if pos + K_BITS > total_bits:
                return ERR_TRUNCATED
            nb = np.int64(_get(buf, pos, K_BITS))
            pos += K_BITS
            if nb < 1 or nb > 63:
                return ERR_BAD_PARAMETER
            if pos + nb > total_bits:
                return ERR_TRUNCATED
            g = _get(buf, pos, nb)
            pos += nb
        # prev + 1 + g < width, written so that a huge corrupted g cannot overflow int64.
        if g >= np.uint64(width - (prev + 1)):
            return ERR_OUT_OF_RANGE
        prev = prev + 1 + np.int64(g)
        out[i] = prev
    if (pos + 7) >> 3 != buf.shape[0]:
        return ERR_TRAILING
    if pos & 7 and (buf[pos >> 3] >> (pos & 7)) != 0:
        return ERR_TRAILING
    return OK


def encode(indices: np.ndarray) -> bytes:
    """Rice-code strictly increasing non-negative ``indices``.

    >>> decode(encode(np.array([3, 4, 100])), 3, 2**20).tolist()
    [3, 4, 100]
    """
    n = int(indices.shape[0])
    ks = np.zeros((n + BLOCK - 1) // BLOCK, dtype=np.uint8)
    bits = int(plan(indices, ks))
    out = np.zeros((bits + 7) // 8, dtype=np.uint8)
    written = int(write(indices, ks, out))
    assert written == bits, (written, bits)
    return out.tobytes()


def decode(data: bytes | np.ndarray, nnz: int, n_features: int, dtype: type = np.int64) -> np.ndarray:
    """Decode ``nnz`` ids below ``n_features``; raises ``ValueError`` with the reason on bad data."""
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    out = np.empty(nnz, dtype=dtype)
    status = int(read(buf, np.int64(n_features), out))
    if status != OK:
        raise ValueError(ERRORS[status])
    return out
