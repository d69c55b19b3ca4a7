"""Row blocks on threads: the one way widecross uses several cores for its exact work.

Featurization, prediction, loss evaluation and the polish's sums split their rows into blocks
whose boundaries depend on the number of rows only (:data:`BLOCK_ROWS`), never on ``n_jobs``;
each block's result is computed alone and the caller combines them in block order. Whatever the
number of threads, every block does the same arithmetic and the combination the same sequence of
operations: the bits of the result do not depend on ``n_jobs``. (Where each row's result is its
own, as in featurizing and scoring, or where each sum keeps its order of additions, as in the
polish's sums split by slot range, a split that follows ``n_jobs`` keeps the bits too.)

Threads come from one :class:`concurrent.futures.ThreadPoolExecutor` per thread count, over
Numba kernels compiled with ``nogil=True`` (see ``_jit``). Not Numba's own ``parallel=True``:
its reductions combine per-thread partial sums whose split follows the thread count (bits change
with ``n_jobs``), it would need every kernel rewritten with ``prange``, and the stochastic
epochs must run the existing serial kernel once per shard, which only a task pool expresses.
Blocks of 65,536 rows cost ~10-50 ms each: the ~20 us of a task hand-off is lost in the noise,
and a million rows make 16 blocks, enough to keep 16 threads busy.

>>> run_blocks(lambda start, stop: stop - start, 150_000, n_jobs=2)
[65536, 65536, 18928]
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")

BLOCK_ROWS = 65_536

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
_inside = threading.local()  # set in pool threads: a task that calls run_blocks runs it inline


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover (platforms without affinity)
        return os.cpu_count() or 1


def check_jobs(n_jobs: Any, owner: str = "widecross") -> int:
    """The number of threads ``n_jobs`` asks for: a positive integer, or -1 for every core.

    >>> check_jobs(3), check_jobs(None), check_jobs(-1) == available_cores()
    (3, 1, True)
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) and not hasattr(n_jobs, "__index__"):
        raise ValueError(f"{owner}: n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}")
    n = int(n_jobs)
    if n == -1:
        return available_cores()
    if n < 1:
        raise ValueError(f"{owner}: n_jobs must be a positive integer or -1 (all cores), got {n_jobs!r}")
    return n


def row_blocks(n_rows: int, block_rows: int = BLOCK_ROWS) -> list[tuple[int, int]]:
    """``(start, stop)`` of the blocks of ``n_rows`` rows: fixed by ``n_rows`` and ``block_rows``.

    >>> row_blocks(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    return [(start, min(start + block_rows, n_rows)) for start in range(0, n_rows, block_rows)]


def _pool(n_jobs: int) -> ThreadPoolExecutor:
    with _pools_lock:
        pool = _pools.get(n_jobs)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="widecross",
                                      initializer=_mark_inside)
            _pools[n_jobs] = pool
        return pool


def _mark_inside() -> None:
    _inside.flag = True


def run_tasks(tasks: Sequence[Callable[[], T]], n_jobs: int) -> list[T]:
    """Call every task, on up to ``n_jobs`` threads; results in the tasks' order.

    The first failing task's exception (in task order) is raised, after all tasks ended: callers
    report the same error as a serial loop would. Inside a pool thread, tasks run inline (a
    nested call never waits for threads that are busy waiting for it).
    """
    if n_jobs <= 1 or len(tasks) <= 1 or getattr(_inside, "flag", False):
        return [task() for task in tasks]
    futures = [_pool(n_jobs).submit(task) for task in tasks]
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]


def run_blocks(task: Callable[[int, int], T], n_rows: int, n_jobs: int, block_rows: int = BLOCK_ROWS) -> list[T]:
    """``task(start, stop)`` for each of :func:`row_blocks`, on up to ``n_jobs`` threads; results
    in block order (the caller reduces them in that order)."""
    return run_tasks([_bind(task, start, stop) for start, stop in row_blocks(n_rows, block_rows)], n_jobs)


def _bind(task: Callable[[int, int], T], start: int, stop: int) -> Callable[[], T]:
    return lambda: task(start, stop)
