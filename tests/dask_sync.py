"""A synchronous stand-in for a Dask client: the cluster's graph run in this process, in order."""

from __future__ import annotations

import pytest

from widecross.cluster import client as cluster_client
from widecross.cluster import driver

class Future:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _resolve(x):
    if isinstance(x, Future):
        return x.value
    if isinstance(x, (list, tuple)):
        return type(x)(_resolve(v) for v in x)
    return x


class SyncClient:
    """Runs every task at once, in order, in this process: the driver's graph without Dask."""

    def __init__(self, n_workers: int):
        self.workers = {f"tcp://w{k:03d}": {} for k in range(n_workers)}
        self.tasks = 0

    def scheduler_info(self):
        return {"workers": self.workers}

    def submit(self, fn, *args, workers=None, allow_other_workers=None, pure=None):
        self.tasks += 1
        return Future(fn(*_resolve(args)))

    def compute(self, delayed, **place):
        import dask

        if isinstance(delayed, list):
            return [Future(v) for v in dask.compute(*delayed, scheduler="sync")]
        return Future(delayed.compute(scheduler="sync"))

    def gather(self, futures):
        return _resolve(futures)

    def scatter(self, value, hash=False):
        return Future(value)


def use_sync_client(monkeypatch):
    """``on(n_workers, merge_ranges)``: fits from here on run on a SyncClient of that many workers."""

    def use(n_workers: int, merge_ranges: int = 0) -> SyncClient:
        fake = SyncClient(n_workers)
        monkeypatch.setattr(cluster_client, "connect", lambda: (fake, lambda: None))
        monkeypatch.setattr(driver, "Plan", lambda *a: _PLAN(*a, merge_ranges=merge_ranges))
        return fake

    return use


_PLAN = driver.Plan


@pytest.fixture()
def on(monkeypatch):
    return use_sync_client(monkeypatch)


