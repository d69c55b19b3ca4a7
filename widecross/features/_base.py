"""What every column kind shares: argument checks, the single-column interface, number formats."""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from .. import _components as kc


def check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{what} must be a non-empty string, got {value!r}")
    return value


def check_int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{what} must be in [{low}, {high}], got {value}")
    return value


def check_policy(value: Any, choices: Sequence[str], what: str) -> str:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")
    return str(value)


def check_finite(value: Any, what: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return value


def fmt(x: float) -> str:
    return f"{x:.10g}"


def float_json(x: float) -> Any:
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def float_from_json(x: Any) -> float:
    if x in ("inf", "-inf"):
        return float(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"expected a number, got {x!r}")
    return float(x)


def chunk_words(chunk: int | None) -> str:
    return "" if chunk is None else f" in chunk {chunk}"


def row_words(row0: int, row: int, chunk: int | None) -> str:
    return f"{row0 + row}" if chunk is None else f"{row0 + row} (row {row} of chunk {chunk})"


class SingleColumn:
    """The feature interface shared by the one-column kinds (a cross is several of them).

    Besides ``components``/``columns``/``arity``, each kind tells the transform plan how its
    kernel reads it: ``_kernel_kind`` (one of the component kinds of :mod:`widecross._hashing`)
    and :meth:`_kernel_params` (its row of parameters).
    """

    column: str
    name: str
    _kernel_kind = kc.IDS
    learnable = False

    @property
    def components(self) -> tuple[Any, ...]:
        """The single-column features this feature crosses: ``(self,)``."""
        return (self,)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    @property
    def arity(self) -> int:
        return 1

    def _kernel_params(self, comp_f: np.ndarray, comp_i: np.ndarray, edges: list[float]) -> None:
        """Fill this component's row of kernel parameters (``comp_f``, ``comp_i``: 1-D rows)."""
        comp_i[kc.KIND] = self._kernel_kind
