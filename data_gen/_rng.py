"""Counter-based random numbers: every draw is a pure function of (key, row index, draw number).

A row's values never depend on which rows were generated before it, so any chunking of the
stream gives identical rows, and chunks can be generated in any order or in parallel.

The mixer is the splitmix64 finalizer (Steele, Lea & Flood 2014). All arithmetic stays in
uint64: in Numba, mixing uint64 with a plain Python int promotes to float64, hence the np.uint64
constants everywhere.
"""

from __future__ import annotations

import numba
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S16 = np.uint64(16)
_S32 = np.uint64(32)
_S48 = np.uint64(48)
_MASK16 = np.uint64(0xFFFF)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53
_TWO_M16 = 1.0 / 65536.0
_SQRT3 = 1.7320508075688772
_U64_MASK = (1 << 64) - 1


@numba.njit(cache=True, nogil=True)
def mix64(z: np.uint64) -> np.uint64:
    """The splitmix64 finalizer: a bijection on uint64 with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(cache=True, nogil=True)
def hash2(key: np.uint64, a: np.uint64) -> np.uint64:
    """Hash of a key and one uint64 value (two rounds so that nearby values decorrelate)."""
    return mix64(mix64(key ^ (a * GOLDEN)) + a)


@numba.njit(cache=True, nogil=True)
def row_key(seed_key: np.uint64, row: np.uint64) -> np.uint64:
    """The key of one row of the stream; draws of the row are ``draw(row_key, k)``."""
    return hash2(seed_key, row)


@numba.njit(cache=True, nogil=True)
def draw(key: np.uint64, k: np.uint64) -> np.uint64:
    """The k-th 64-bit draw under ``key`` (splitmix64's Weyl sequence started at ``key``)."""
    return mix64(key + (k + np.uint64(1)) * GOLDEN)


@numba.njit(cache=True, nogil=True)
def unit(bits: np.uint64) -> float:
    """A float64 in [0, 1) from the top 53 bits."""
    return float(bits >> _S11) * _TWO_M53


@numba.njit(cache=True, nogil=True)
def unit_open(bits: np.uint64) -> float:
    """A float64 in (0, 1]: safe to take the logarithm of."""
    return (float(bits >> _S11) + 1.0) * _TWO_M53


@numba.njit(cache=True, nogil=True)
def bell(bits: np.uint64) -> float:
    """A bell-shaped value with mean 0 and variance 1 from one 64-bit draw.

    The sum of four 16-bit uniforms (Irwin-Hall), rescaled: cheaper than Box-Muller (no
    transcendental functions) and bounded to +-3.46, which keeps prices free of wild outliers.
    """
    s = (
        float(bits & _MASK16)
        + float((bits >> _S16) & _MASK16)
        + float((bits >> _S32) & _MASK16)
        + float(bits >> _S48)
    )
    # Each 16-bit value maps to (v + 0.5) / 65536: uniform on (0, 1), mean 1/2, variance ~1/12.
    return ((s + 2.0) * _TWO_M16 - 2.0) * _SQRT3


def py_mix64(z: int) -> int:
    """Pure-Python splitmix64 finalizer (the same function as ``mix64``), for keys and tests."""
    z &= _U64_MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _U64_MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _U64_MASK
    return z ^ (z >> 31)


def seed_key(seed: int, salt: int) -> np.uint64:
    """A uint64 stream key from a user seed (any int in [0, 2**64)) and a purpose salt."""
    return np.uint64(py_mix64(py_mix64(seed ^ salt) + salt))
