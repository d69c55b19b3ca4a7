"""The phases of the threaded epochs (:mod:`.shards`) timed as they run: each parallel call's
wall and per-task thread CPU seconds, and the calling thread's own work between them: what the
benchmarks read to find the critical path and where the time goes."""

from __future__ import annotations

import time
from typing import NamedTuple

from .._parallel import run_tasks


class Phase(NamedTuple):
    """One phase of a pass: its name, wall seconds, and the thread CPU seconds of each task (one
    for work on the calling thread)."""

    name: str
    wall: float
    cpu: list[float]


def _timed(task, cpu: list[float]):  # type: ignore[no-untyped-def]
    def timed():  # type: ignore[no-untyped-def]
        start = time.thread_time()
        try:
            return task()
        finally:
            cpu.append(time.thread_time() - start)
    return timed


def run_phase(tasks: list, n_jobs: int, phases: list[Phase], name: str) -> list:
    """``run_tasks``, noting its wall and each task's thread CPU seconds as one more of ``phases``."""
    cpu: list[float] = []
    start = time.perf_counter()
    try:
        return run_tasks([_timed(t, cpu) for t in tasks], n_jobs)
    finally:
        phases.append(Phase(name, time.perf_counter() - start, cpu))


class SerialPhase:
    """The calling thread's own work between parallel phases, noted as one phase at ``close``."""

    def __init__(self, phases: list[Phase], name: str) -> None:
        self.phases, self.name = phases, name
        self.wall, self.cpu = -time.perf_counter(), -time.thread_time()

    def around(self, fn, *args):  # type: ignore[no-untyped-def]
        """``fn(*args)``, its time not counted (a parallel phase that notes itself)."""
        self.wall += time.perf_counter()
        self.cpu += time.thread_time()
        try:
            return fn(*args)
        finally:
            self.wall -= time.perf_counter()
            self.cpu -= time.thread_time()

    def close(self) -> None:
        self.phases.append(Phase(self.name, self.wall + time.perf_counter(), [self.cpu + time.thread_time()]))
