"""The Dask client a fit runs on, and the partitions of a Dask DataFrame."""

from __future__ import annotations

from typing import Any, Callable, Sequence


def connect() -> tuple[Any, Callable[[], None]]:
    """The current ``distributed.Client``, or one on a new ``LocalCluster`` (one worker process
    per core); and what closes what was opened here (nothing for a client the user made)."""
    from distributed import Client, LocalCluster, get_client

    try:
        return get_client(), lambda: None
    except ValueError:
        pass
    cluster = LocalCluster()
    client = Client(cluster)

    def close() -> None:
        client.close()
        cluster.close()

    return client, close


def partitions(frame: Any, columns: Sequence[str]) -> list[Any]:
    """The partitions of ``frame``'s ``columns`` as Dask delayed objects (only those columns read)."""
    return list(frame[list(columns)].to_delayed())
