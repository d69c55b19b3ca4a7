"""What the Dask tests share: the spec and generated houses, a model comparison, and a synchronous
stand-in for a Dask client (the cluster's graph run in this process, in order)."""

from __future__ import annotations

import numpy as np
import pytest

import widecross as wc

from widecross.cluster import client as cluster_client
from widecross.cluster import driver

SPEC = wc.geo_spec(lat="lat", lon="lon", resolutions=(60, 10), bits=None)


def houses(n: int, seed: int):
    """Generated houses as a pandas DataFrame: lat, lon, label, a price target, sample weights."""
    import pandas as pd
    from data_gen import generate_housing

    d = generate_housing(n, seed=seed)
    return pd.DataFrame({"lat": d["lat"], "lon": d["lon"], "label": d["label"],
                         "price": np.log(d["price"]) - 12.0, "w": 0.5 + (np.arange(n) % 3)})


def columns(df) -> dict:
    return {"lat": df["lat"].to_numpy(), "lon": df["lon"].to_numpy()}


def same_model(a: wc.SparseModel, b: wc.SparseModel) -> bool:
    return (np.array_equal(a.indices, b.indices) and np.array_equal(a.values, b.values)
            and np.array_equal(a.intercept, b.intercept))


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


