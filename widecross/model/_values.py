"""Value codecs of the model file: float32 (lossless), float16 (scaled) and q8 (8-bit codebook).

Each encoder returns ``(payload, facts)``: the bytes of the values section and the JSON-able facts
the decoder needs (stored in the file's metadata). Byte planes (all first bytes, then all second
bytes, ...) are compressed with zlib: the sign/exponent plane of trained weights compresses to a
few bits per weight, the mantissa planes do not, so the planes are kept apart.

No stored weight ever becomes zero: float16 values are scaled by a power of two so the largest
weight uses the top of the float16 range, and a weight that would still round to zero is stored
as the smallest subnormal of its sign; q8 codebook entries are means of same-sign weights.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

ENCODINGS = ("float32", "float16", "q8")

# float16 scale exponents: the largest |weight| / 2**scale_exp lands in [2**14, 2**15). The bounds
# keep every decoded float16 * 2**scale_exp a normal, finite float32 (float16's smallest subnormal
# is 2**-24, so 2**(-100-24) > float32's smallest normal 2**-126).
SCALE_EXP_MIN = -100
SCALE_EXP_MAX = 113
CODEBOOK_MAX = 256
_ZLIB_LEVEL = 9
_DECOMPRESS_CHUNK = 1 << 20
# zlib cannot expand data by more than ~1032x; a claim beyond this is a corrupted header.
ZLIB_MAX_RATIO = 1032


def value_bytes(encoding: str) -> int:
    return {"float32": 4, "float16": 2, "q8": 1}[encoding]


def encode(values: np.ndarray, encoding: str) -> tuple[bytes, dict[str, Any]]:
    """Encode float32 ``values`` (finite, nonzero) as ``encoding``.

    >>> payload, facts = encode(np.array([0.5, -2.0], dtype=np.float32), "float16")
    >>> decode(payload, 2, "float16", facts).tolist()
    [0.5, -2.0]
    """
    if encoding == "float32":
        return _compress_planes(values.astype("<f4", copy=False)), {}
    if encoding == "float16":
        return _encode_float16(values)
    if encoding == "q8":
        return _encode_q8(values)
    raise ValueError(f"values must be one of {', '.join(ENCODINGS)}; got {encoding!r}")


def decode(payload: bytes | memoryview, nnz: int, encoding: str, facts: dict[str, Any]) -> np.ndarray:
    """Decode ``nnz`` float32 values; raises ``ValueError`` naming the problem on bad data."""
    if encoding == "float32":
        out = np.empty(nnz, dtype="<f4")
        _decompress_planes(payload, out)
        values = out.astype(np.float32, copy=False)
    elif encoding == "float16":
        scale_exp = facts.get("value_scale_exp")
        if type(scale_exp) is not int or not SCALE_EXP_MIN <= scale_exp <= SCALE_EXP_MAX:
            raise ValueError(f"value_scale_exp must be an integer in [{SCALE_EXP_MIN}, {SCALE_EXP_MAX}], got {scale_exp!r}")
        half = np.empty(nnz, dtype="<f2")
        _decompress_planes(payload, half)
        values = half.astype(np.float32)
        del half
        np.ldexp(values, np.int32(scale_exp), out=values)  # exact: a power-of-two scale
    elif encoding == "q8":
        size = facts.get("codebook_size")
        if type(size) is not int or not (1 if nnz else 0) <= size <= CODEBOOK_MAX:
            raise ValueError(f"codebook_size must be an integer in [1, {CODEBOOK_MAX}], got {size!r}")
        if len(payload) < 4 * size:
            raise ValueError(f"the values section ({len(payload)} bytes) is shorter than its {size}-entry codebook")
        codebook = np.frombuffer(payload, dtype="<f4", count=size).astype(np.float32)
        if not np.all(np.isfinite(codebook)) or np.any(codebook == 0):
            raise ValueError("the q8 codebook holds a zero or non-finite entry")
        codes = np.empty(nnz, dtype=np.uint8)
        _decompress_planes(memoryview(payload)[4 * size :], codes)
        if nnz and int(codes.max()) >= size:
            raise ValueError(f"a q8 code ({int(codes.max())}) is outside the {size}-entry codebook")
        values = codebook[codes]
    else:
        raise ValueError(f"unknown value encoding {encoding!r} (known: {', '.join(ENCODINGS)})")
    bad = np.flatnonzero(~np.isfinite(values) | (values == 0))
    if bad.size:
        raise ValueError(f"decoded weight {int(bad[0])} is {values[bad[0]]} (weights are finite and nonzero)")
    return values


# ---------------------------------------------------------------------- float16
def _encode_float16(values: np.ndarray) -> tuple[bytes, dict[str, Any]]:
    if values.size:
        top = float(np.max(np.abs(values)))
        scale_exp = int(np.floor(np.log2(top))) - 14
        # log2 can be off by one ulp near powers of two: settle on the exact interval.
        while top / 2.0**scale_exp >= 2.0**15:
            scale_exp += 1
        while top / 2.0**scale_exp < 2.0**14:
            scale_exp -= 1
        scale_exp = min(max(scale_exp, SCALE_EXP_MIN), SCALE_EXP_MAX)
    else:
        scale_exp = 0
    half = np.ldexp(values.astype(np.float64), -scale_exp).astype(np.float16)
    # Within a half ulp of float32's largest value a weight rounds up to 2**15 * 2**113 = 2**128,
    # which decodes to inf and makes the file unloadable: keep it one float16 step smaller.
    beyond = np.abs(np.ldexp(half.astype(np.float64), scale_exp)) > np.finfo(np.float32).max
    if np.any(beyond):
        half[beyond] = np.nextafter(half[beyond], np.float16(0))
    lost = half == 0
    if np.any(lost):
        tiny = np.float16(2.0**-24)  # smallest float16 subnormal
        half[lost] = np.where(values[lost] > 0, tiny, -tiny)
    return _compress_planes(half.astype("<f2", copy=False)), {"value_scale_exp": scale_exp}


# ---------------------------------------------------------------------- q8
def _encode_q8(values: np.ndarray) -> tuple[bytes, dict[str, Any]]:
    codebook, codes = q8_codebook(values)
    payload = codebook.astype("<f4").tobytes() + _compress_planes(codes)
    return payload, {"codebook_size": int(codebook.size)}


def q8_codebook(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An ascending codebook (<= 256 nonzero float32 entries) and uint8 codes for ``values``.

    Negative and positive weights get separate levels, in proportion to their counts, placed by
    Lloyd's algorithm (1-D k-means, which minimizes the squared weight error: to second order the
    change in loss) from a uniform start. Each level is a mean of same-sign weights, so no weight
    becomes zero; a side with few distinct values keeps them exactly.

    >>> cb, codes = q8_codebook(np.array([-1.0, 0.25, 3.0], dtype=np.float32))
    >>> cb[codes].tolist()
    [-1.0, 0.25, 3.0]
    """
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    negative = v < 0
    n_neg = int(negative.sum())
    if n_neg == 0 or n_neg == n:
        k_neg = CODEBOOK_MAX if n_neg else 0
    else:
        k_neg = min(max(int(round(CODEBOOK_MAX * n_neg / n)), 1), CODEBOOK_MAX - 1)
    k_pos = CODEBOOK_MAX - k_neg
    levels_neg = -_lloyd(-v[negative], k_neg)[::-1] if n_neg else np.empty(0)
    levels_pos = _lloyd(v[~negative], k_pos) if n_neg < n else np.empty(0)
    codebook = np.concatenate([levels_neg, levels_pos]).astype(np.float32)
    codes = np.empty(n, dtype=np.uint8)
    codes[negative] = _nearest(levels_neg, v[negative])
    codes[~negative] = len(levels_neg) + _nearest(levels_pos, v[~negative])
    return codebook, codes


def _lloyd(x: np.ndarray, k: int, iterations: int = 1000) -> np.ndarray:
    """Ascending k-means levels of positive ``x`` (fewer when ``x`` has fewer distinct values).

    The start follows the asymptotically optimal level density for squared error, proportional
    to the cube root of the data's density (Panter & Dite), read off a histogram; Lloyd's
    iterations then converge in a few dozen steps instead of crawling from a uniform grid. Each
    iteration costs O(k log n) on the sorted data (prefix sums give the cluster means).
    """
    x = np.sort(x)
    distinct = np.unique(x)
    if distinct.size <= k:
        return distinct
    counts, edges = np.histogram(x, bins=16 * k, range=(x[0], x[-1]))
    mass = np.concatenate([[0.0], np.cumsum(np.cbrt(counts))])
    centers = np.interp((np.arange(k) + 0.5) / k, mass / mass[-1], edges)
    prefix = np.concatenate([[0.0], np.cumsum(x)])
    for _ in range(iterations):
        cut = np.searchsorted(x, (centers[1:] + centers[:-1]) / 2)
        lo = np.concatenate([[0], cut])
        hi = np.concatenate([cut, [x.size]])
        count = hi - lo
        new = np.where(count > 0, (prefix[hi] - prefix[lo]) / np.maximum(count, 1), centers)
        if np.array_equal(new, centers):
            break
        centers = new
    # Rounding of the prefix sums could nudge a mean outside [x[0], x[-1]]; keep it inside.
    return np.clip(centers, x[0], x[-1])


def _nearest(levels: np.ndarray, x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return np.zeros(0, dtype=np.intp)
    # Compare in float32, as the levels will be stored, so the chosen level is the nearest stored one.
    stored = levels.astype(np.float32).astype(np.float64)
    pos = np.clip(np.searchsorted(stored, x), 1, max(stored.size - 1, 1))
    if stored.size == 1:
        return np.zeros(x.size, dtype=np.intp)
    left = stored[pos - 1]
    right = stored[pos]
    return np.where(np.abs(x - left) <= np.abs(right - x), pos - 1, pos)


# ---------------------------------------------------------------------- byte planes + zlib
def _compress_planes(arr: np.ndarray) -> bytes:
    width = arr.dtype.itemsize
    planes = np.ascontiguousarray(arr.view(np.uint8).reshape(-1, width).T)
    return zlib.compress(planes.tobytes(), _ZLIB_LEVEL)


def _decompress_planes(payload: bytes | memoryview, out: np.ndarray) -> None:
    """Inflate ``payload`` into the byte planes of ``out``, chunk by chunk (no full-size temp)."""
    width = out.dtype.itemsize
    n = out.shape[0]
    expected = n * width
    if expected > ZLIB_MAX_RATIO * len(payload) + 64:
        raise ValueError(
            f"the values section ({len(payload)} bytes) cannot hold {n} compressed values"
        )
    target = out.view(np.uint8).reshape(n, width)
    inflater = zlib.decompressobj()
    data: bytes | memoryview = payload
    pos = 0
    try:
        while True:
            chunk = inflater.decompress(data, _DECOMPRESS_CHUNK)
            data = inflater.unconsumed_tail
            if not chunk:
                break
            if pos + len(chunk) > expected:
                raise ValueError(f"the values section inflates to more than the {expected} bytes expected")
            piece = np.frombuffer(chunk, dtype=np.uint8)
            # Scatter the chunk into plane (pos // n), rows (pos % n)..., possibly spanning planes.
            while piece.size:
                plane, row = divmod(pos, n)
                take = min(piece.size, n - row)
                target[row : row + take, plane] = piece[:take]
                piece = piece[take:]
                pos += take
    except zlib.error as exc:
        raise ValueError(f"the values section is not valid zlib data: {exc}") from None
    if not inflater.eof or inflater.unused_data or len(data):
        raise ValueError("the values section has a truncated or over-long zlib stream")
    if pos != expected:
        raise ValueError(f"the values section inflates to {pos} bytes, expected {expected}")
