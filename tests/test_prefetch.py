"""services/prefetch.py: a sync's pages read ahead in a thread come out in order, an error comes
out after the pages made before it, and a consumer that stops early closes the source."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from orderhub.services.prefetch import prefetched


def test_items_come_out_in_order_and_all() -> None:
    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))
    assert list(prefetched(iter([]))) == []


def test_the_source_runs_ahead_in_another_thread_by_at_most_depth() -> None:
    made: list[int] = []
    threads: set[str] = set()
    release = threading.Event()

    def source() -> Iterator[int]:
        for i in range(10):
            threads.add(threading.current_thread().name)
            made.append(i)
            yield i

    out = prefetched(source(), depth=2)
    assert next(out) == 0
    # The consumer holds item 0; the thread fills the queue (2) and makes one more it holds.
    for _ in range(200):
        if len(made) >= 4:
            break
        release.wait(0.01)
    assert len(made) == 4, made
    assert threads == {"orderhub-prefetch"}
    assert list(out) == list(range(1, 10))


class Boom(Exception):
    pass


def test_an_error_comes_after_the_items_made_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise Boom("page 3 failed")

    got: list[int] = []
    with pytest.raises(Boom, match="page 3 failed"):
        for item in prefetched(source()):
            got.append(item)
    assert got == [1, 2]


def test_a_consumer_that_stops_closes_the_source_and_the_thread() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    out = prefetched(source())
    assert next(out) == 0
    out.close()
    assert closed.is_set()
    assert not [t for t in threading.enumerate() if t.name == "orderhub-prefetch"]
