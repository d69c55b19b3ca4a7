"""The one place where Numba options are chosen.

- ``cache=True``: compiled kernels are written next to the sources, so every process after the
  first (CLI calls, test subprocesses, CI) skips compilation.
- ``nogil=True``: kernels release the GIL, so predictions from several threads run in parallel.
- ``fastmath`` stays off: it removes NaN/inf guards and reorders floating point sums, which breaks
  the exact lazy-versus-eager equality the trainer is tested for.
- ``error_model="numpy"``: division by zero gives inf/NaN (caught by finiteness checks) instead
  of raising from inside a kernel, and avoids a branch per division.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

JIT_OPTIONS: dict[str, Any] = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")


def jit(function: F | None = None, **overrides: Any) -> Any:
    """``numba.njit`` with the project's options; usable as ``@jit`` or ``@jit(inline="always")``."""
    options = {**JIT_OPTIONS, **overrides}
    if function is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(function)
