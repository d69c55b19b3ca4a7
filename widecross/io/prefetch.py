"""Reading ahead in a background thread, so that reading and featurizing overlap training."""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator


def prefetched(items: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead of the consumer.

    Exceptions of the producer are raised in the consumer, in order. When the consumer stops
    early (an error, or ``close``), the producer is told to stop and is waited for, so that no
    work outlives the call.
    """
    channel: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                channel.put(message, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as error:  # handed to the consumer, who raises it
            put(("error", error))

    thread = threading.Thread(target=work, name="widecross-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = channel.get()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item
            del item  # drop our reference before waiting for the next one
    finally:
        stop.set()
        thread.join()
