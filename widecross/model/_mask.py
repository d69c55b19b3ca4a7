"""The class mask of a multiclass model file: which of the K weights of each stored index are
nonzero, one bit each (row-major, least significant bit first), zlib-compressed.

With it the values section holds the nonzero weights only (row-major), so every value codec of a
binary file serves a multiclass one unchanged, and a weight that one class zeroes costs a bit.
Decoding is bounded by the size the header announces and checks that every stored index has a
nonzero weight (a column that every class zeroes is not stored).

>>> payload = encode(np.array([[True, False, True], [False, True, False]]))
>>> decode(payload, 2, 3, 3).astype(int).tolist()
[[1, 0, 1], [0, 1, 0]]
"""

from __future__ import annotations

import zlib

import numpy as np

# zlib cannot expand data by more than ~1032x: a claim beyond this is a corrupted header
ZLIB_MAX_RATIO = 1032


def encode(mask: np.ndarray) -> bytes:
    """The section's bytes of a (n_indices, K) boolean mask."""
    return zlib.compress(np.packbits(mask.ravel(), bitorder="little").tobytes(), 9)


def possible(payload_bytes: int, n_indices: int, n_classes: int) -> bool:
    """Whether ``payload_bytes`` compressed bytes can hold the mask of that shape."""
    return (n_indices * n_classes + 7) // 8 <= ZLIB_MAX_RATIO * payload_bytes + 64


def decode(payload: bytes | memoryview, n_indices: int, n_classes: int, nnz: int) -> np.ndarray:
    """The (n_indices, K) mask; ``ValueError`` naming the problem on bad data."""
    expected = (n_indices * n_classes + 7) // 8
    inflater = zlib.decompressobj()
    try:
        packed = inflater.decompress(bytes(payload), expected)
    except zlib.error as exc:
        raise ValueError(f"the class mask does not decompress: {exc}") from None
    if len(packed) != expected or inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise ValueError(f"the class mask holds a wrong number of bytes (expected {expected})")
    bits = np.unpackbits(np.frombuffer(packed, dtype=np.uint8), count=n_indices * n_classes, bitorder="little")
    mask = bits.astype(np.bool_).reshape(n_indices, n_classes)
    if int(mask.sum()) != nnz:
        raise ValueError(f"the class mask marks {int(mask.sum())} nonzero weights, the header {nnz}")
    if n_indices and not mask.any(axis=1).all():
        raise ValueError(f"stored index {int(np.flatnonzero(~mask.any(axis=1))[0])} has no nonzero weight")
    return mask
