"""The one place where Numba options are chosen.

- ``cache=True``: compiled kernels are written next to the sources, so every process after the
  first (CLI calls, test subprocesses, CI) skips compilation. Where neither the package directory
  nor the user's cache directory is writable (a system-wide or container install, a read-only
  HOME), Numba refuses to cache ("no locator available") and the import would fail; the kernels
  then cache in a private directory of the temporary directory (``widecross-numba-cache-<uid>``,
  created 0700 and used only if this user owns it and nobody else may write in it: Numba's cache
  files are pickles), or, if there is none, compile in every process without caching. Either way
  silently, with the same results.
- ``nogil=True``: kernels release the GIL, so predictions from several threads run in parallel.
- ``fastmath`` stays off: it removes NaN/inf guards and reorders floating point sums, which breaks
  the exact lazy-versus-eager equality the trainer is tested for.
- ``error_model="numpy"``: division by zero gives inf/NaN (caught by finiteness checks) instead
  of raising from inside a kernel, and avoids a branch per division.
"""

from __future__ import annotations

import functools
import os
import stat
import tempfile
import threading
from typing import Any, Callable, TypeVar

import numba

F = TypeVar("F", bound=Callable[..., Any])

JIT_OPTIONS: dict[str, Any] = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")

# Serializes the brief change of numba.config.CACHE_DIR while a kernel is decorated.
_CONFIG_LOCK = threading.Lock()


def jit(function: F | None = None, **overrides: Any) -> Any:
    """``numba.njit`` with the project's options; usable as ``@jit`` or ``@jit(inline="always")``."""
    options = {**JIT_OPTIONS, **overrides}
    if function is None:
        return lambda f: _dispatcher(f, options)
    return _dispatcher(function, options)


def _dispatcher(function: Callable[..., Any], options: dict[str, Any]) -> Any:
    try:
        return numba.njit(**options)(function)
    except RuntimeError as error:  # raised when the kernel is decorated, i.e. on import
        if not (options.get("cache") and "cannot cache" in str(error)):
            raise
    directory = private_cache_dir()
    if directory is not None:
        with _CONFIG_LOCK:
            # Numba reads its cache directory when a kernel is decorated: point it at ours for
            # this kernel only, so that other libraries in the process keep their own settings.
            saved = numba.config.CACHE_DIR
            numba.config.CACHE_DIR = directory
            try:
                return numba.njit(**options)(function)
            except RuntimeError:
                pass
            finally:
                numba.config.CACHE_DIR = saved
    return numba.njit(**{**options, "cache": False})(function)


@functools.lru_cache(maxsize=None)
def private_cache_dir() -> str | None:
    """``<temporary directory>/widecross-numba-cache-<uid>`` if this user alone can write there."""
    if not hasattr(os, "getuid"):  # no owner to check against (Windows): compile without a cache
        return None
    uid = os.getuid()
    try:
        path = os.path.join(tempfile.gettempdir(), f"widecross-numba-cache-{uid}")
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:  # no writable temporary directory at all
        return None
    try:
        status = os.lstat(path)
    except OSError:
        return None
    # Another user's directory (or a link to one) could hold planted cache files, which Numba
    # would unpickle: only our own, closed directory will do.
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != uid or status.st_mode & 0o022:
        return None
    return path if os.access(path, os.W_OK | os.X_OK) else None
