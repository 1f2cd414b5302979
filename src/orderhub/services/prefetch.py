"""Reading ahead: a channel's next page is fetched and decoded while this one is stored.

A sync's time is the channel's (the request, the wait, decoding) plus the store's (one
transaction a page). `prefetched` runs the pages' iterator in a thread of its own, at most
`depth` pages ahead, so the two overlap: the HTTP wait and SQLite's writes release the GIL.
Nothing changes for what is stored: pages come out in the order the iterator makes them, and
the cursor is still saved with each page's orders, so a run killed mid-way re-reads only what
was fetched and not stored.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar, cast

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """`items`, computed up to `depth` ahead in a thread; its errors raised here, in order."""
    ahead: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:
            put(_Failed(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's cleanup (its client, its files) in its own thread

    worker = threading.Thread(target=produce, name="orderhub-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ahead.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(T, item)
    finally:
        stop.set()
        worker.join()
