"""Row blocks on threads: the one way widecross uses several cores for its exact work.

Featurization, prediction, loss evaluation and the polish's sums split their rows into blocks
whose boundaries depend on the number of rows only (:data:`BLOCK_ROWS`), never on ``n_jobs``;
each block's result is computed alone and the caller combines them in block order. Whatever the
number of threads, every block does the same arithmetic and the combination the same sequence of
operations: the bits of the result do not depend on ``n_jobs``. (Where each row's result is its
own, as in featurizing and scoring, or where each sum keeps its order of additions, as in the
polish's sums split by slot range, a split that follows ``n_jobs`` keeps the bits too.)

Threads come from a *gang* per thread count (:class:`_Gang`: ``n_jobs`` threads that take the
tasks of one call in order from a shared index), over Numba kernels compiled with ``nogil=True``
(see ``_jit``). Not :class:`concurrent.futures.ThreadPoolExecutor`: its future, condition and
queue entry per task cost the calling thread ~30-80 us a task, and a default fit on 1M rows hands
out ~400 tasks on two threads and ~1,000 on sixteen (0.03-0.06 CPU-s of the calling thread that
no number of threads shortens); a gang's call costs one wake-up, and a task a lock. Not Numba's
own ``parallel=True``: its reductions combine per-thread partial sums whose split follows the
thread count (bits change with ``n_jobs``), it would need every kernel rewritten with ``prange``,
and the stochastic epochs must run the existing serial kernel once per shard, which only a task
pool expresses. Blocks of 65,536 rows cost ~10-50 ms each, and a million rows make 16 blocks,
enough to keep 16 threads busy.

>>> run_blocks(lambda start, stop: stop - start, 150_000, n_jobs=2)
[65536, 65536, 18928]
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")

BLOCK_ROWS = 65_536

_pools: dict[int, list[_Gang]] = {}  # per thread count, the gangs that no call is using
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


def even_cuts(n: int, parts: int) -> list[int]:
    """The bounds of ``parts`` nearly equal ranges of ``[0, n)``, first 0, last ``n``.

    >>> even_cuts(10, 3)
    [0, 3, 6, 10]
    """
    return [n * k // parts for k in range(parts + 1)]


def even_ranges(n: int, parts: int) -> list[tuple[int, int]]:
    """:func:`even_cuts` as ``(start, stop)`` pairs.

    >>> even_ranges(10, 3)
    [(0, 3), (3, 6), (6, 10)]
    """
    cuts = even_cuts(n, parts)
    return list(zip(cuts[:-1], cuts[1:]))


def row_blocks(n_rows: int, block_rows: int = BLOCK_ROWS) -> list[tuple[int, int]]:
    """``(start, stop)`` of the blocks of ``n_rows`` rows: fixed by ``n_rows`` and ``block_rows``.

    >>> row_blocks(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    return [(start, min(start + block_rows, n_rows)) for start in range(0, n_rows, block_rows)]


class _Gang:
    """``n_threads`` daemon threads that run the tasks of one call at a time: each takes the next
    task index under the lock, runs the task without it, stores its result or exception, and the
    last to finish wakes the caller. One caller at a time: see :func:`_checkout`."""

    def __init__(self, n_threads: int) -> None:
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)  # the threads wait here for a call's tasks
        self.finished = threading.Condition(self.lock)  # the caller waits here for the last one
        self.tasks: Sequence[Callable[[], Any]] = ()
        self.results: list[Any] = []
        self.errors: list[BaseException | None] = []
        self.next = 0
        self.unfinished = 0
        for k in range(n_threads):
            threading.Thread(target=self._serve, name=f"widecross_{k}", daemon=True).start()

    def run(self, tasks: Sequence[Callable[[], T]]) -> tuple[list[T], list[BaseException | None]]:
        """Each task's result (None where it raised) and exception (None where it returned)."""
        with self.lock:
            self.tasks, self.results, self.errors = tasks, [None] * len(tasks), [None] * len(tasks)
            self.next, self.unfinished = 0, len(tasks)
            self.wake.notify_all()
            while self.unfinished:
                self.finished.wait()
            results, errors = self.results, self.errors
            self.tasks, self.results, self.errors = (), [], []  # hold nothing of the call after it
        return results, errors

    def _serve(self) -> None:
        _inside.flag = True
        lock = self.lock
        with lock:  # held but while a task runs
            while True:
                while self.next >= len(self.tasks):
                    self.wake.wait()
                i = self.next
                self.next = i + 1
                task, results, errors = self.tasks[i], self.results, self.errors
                lock.release()
                try:
                    results[i] = task()
                except BaseException as error:  # noqa: BLE001 (the caller raises it)
                    errors[i] = error
                finally:
                    lock.acquire()
                task = results = errors = None  # a waiting thread keeps no task's data alive
                self.unfinished -= 1
                if not self.unfinished:
                    self.finished.notify()


def _checkout(n_jobs: int) -> _Gang:
    """An idle gang of ``n_jobs`` threads, started if none is (callers on several threads at
    once each get their own)."""
    with _pools_lock:
        idle = _pools.get(n_jobs)
        if idle:
            return idle.pop()
    return _Gang(n_jobs)


def _checkin(n_jobs: int, gang: _Gang) -> None:
    with _pools_lock:
        _pools.setdefault(n_jobs, []).append(gang)


def _after_fork() -> None:
    # a forked child has none of its parent's threads, and the lock may have been held
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def run_tasks(tasks: Sequence[Callable[[], T]], n_jobs: int) -> list[T]:
    """Call every task, on up to ``n_jobs`` threads; results in the tasks' order.

    The first failing task's exception (in task order) is raised, after all tasks ended: callers
    report the same error as a serial loop would. Inside a pool thread, tasks run inline (a
    nested call never waits for threads that are busy waiting for it).
    """
    if n_jobs <= 1 or len(tasks) <= 1 or getattr(_inside, "flag", False):
        return [task() for task in tasks]
    gang = _checkout(n_jobs)
    results, errors = gang.run(tasks)  # interrupted: the gang is not handed out again
    _checkin(n_jobs, gang)
    for error in errors:
        if error is not None:
            raise error
    return results


def run_blocks(task: Callable[[int, int], T], n_rows: int, n_jobs: int, block_rows: int = BLOCK_ROWS) -> list[T]:
    """``task(start, stop)`` for each of :func:`row_blocks`, on up to ``n_jobs`` threads; results
    in block order (the caller reduces them in that order)."""
    return run_tasks([_bind(task, start, stop) for start, stop in row_blocks(n_rows, block_rows)], n_jobs)


def _bind(task: Callable[[int, int], T], start: int, stop: int) -> Callable[[], T]:
    return lambda: task(start, stop)
