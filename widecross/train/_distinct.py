"""How many distinct columns a batch holds, estimated in one pass (HyperLogLog) before mapping it.

A slot map that doubles as it fills rehashes every column it holds at each doubling and faults
in every intermediate table: on a million geo rows (800k distinct columns from 5M entries), 11
doublings cost a third of the map. Grown once to the size the estimate says it will at least
need, the map reaches the same final table with one rehash at most, and the pass that estimates
splits over row blocks on threads (registers merged by maximum: the same estimate for any split).

HyperLogLog (Flajolet et al. 2007) with 2^14 one-byte registers: a relative standard error of
about 0.8 % (1.04 / sqrt(2^14)), linear counting below 2.5 * 2^14. Only the table's starting
size follows the estimate, never a slot: the numbering is that of one pass whatever it says.

>>> cols = np.arange(200_000, dtype=np.int64) * 7919 % 1_000_003
>>> abs(estimate(merged([sketch(cols, 0, cols.shape[0])])) / 200_000 - 1) < 0.03
True
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from numba.cpython.unsafe.numbers import leading_zeros

from .._jit import jit

REGISTER_BITS = 14
REGISTERS = 1 << REGISTER_BITS


_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


@jit
def _fmix64(k):
    # MurmurHash3's finalizer: every bit of the column id reaches the register index and the rank
    k = (k ^ (k >> _S33)) * _M1
    k = (k ^ (k >> _S33)) * _M2
    return k ^ (k >> _S33)


@jit
def _fill_registers(columns, lo, hi, registers):
    top = np.uint64(64 - REGISTER_BITS)
    # the remaining bits, with a 1 below them: the rank (the position of their first 1 bit) is
    # at most 64 - REGISTER_BITS + 1, found without a branch
    guard = np.uint64(1 << (REGISTER_BITS - 1))
    for p in range(lo, hi):
        h = _fmix64(np.uint64(np.int64(columns[p])))
        j = np.int64(h >> top)
        rank = np.uint8(leading_zeros((h << np.uint64(REGISTER_BITS)) | guard) + 1)
        registers[j] = max(registers[j], rank)


def sketch(columns: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The registers of ``columns[lo:hi]``."""
    registers = np.zeros(REGISTERS, dtype=np.uint8)
    _fill_registers(columns, lo, hi, registers)
    return registers


def merged(sketches: Sequence[np.ndarray]) -> np.ndarray:
    """The registers of the blocks together (their maximum: the order does not matter)."""
    out = sketches[0].copy()
    for registers in sketches[1:]:
        np.maximum(out, registers, out=out)
    return out


def estimate(registers: np.ndarray) -> float:
    """The estimated number of distinct columns behind ``registers``."""
    m = float(registers.shape[0])
    alpha = 0.7213 / (1.0 + 1.079 / m)
    raw = alpha * m * m / float(np.sum(np.ldexp(1.0, -registers.astype(np.int64))))
    zeros = int(np.count_nonzero(registers == 0))
    if raw <= 2.5 * m and zeros:
        return m * math.log(m / zeros)
    return raw
