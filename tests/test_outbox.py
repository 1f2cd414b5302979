"""The outbox: idempotent enqueue, leases that two workers never share, retries, give-up."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from orderhub.domain import ManualClock
from orderhub.services.outbox import Backoff, GiveUp, RetryLater, Topic, Worker
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxItem


def enqueue(engine: Engine, n: int, topic: str = "test") -> None:
    with UnitOfWork(engine) as uow:
        for i in range(n):
            uow.outbox.enqueue(topic, {"n": i}, dedupe_key=f"{topic}:{i}")


def test_enqueue_is_idempotent_per_dedupe_key(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        assert uow.outbox.enqueue("test", {"a": 1}, dedupe_key="k") is True
        assert uow.outbox.enqueue("test", {"a": 2}, dedupe_key="k") is False
        assert len(uow.outbox.list("test")) == 1


def test_two_workers_deliver_each_row_exactly_once(engine: Engine) -> None:
    enqueue(engine, 60)
    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def handler(item: OutboxItem) -> None:
        with lock:
            seen[item.payload["n"]] += 1

    topics = {"test": Topic(handler, Backoff())}
    workers = [Worker(engine, topics, name=f"w{i}") for i in range(2)]
    threads = [threading.Thread(target=w.run_until_idle, kwargs={"limit": 3}) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(60))
    assert set(seen.values()) == {1}
    with UnitOfWork(engine) as uow:
        assert {item.status for item in uow.outbox.list("test", limit=100)} == {"delivered"}


@pytest.mark.parametrize(("error", "status"), [(RetryLater("busy"), "pending"),
                                               (GiveUp("gone"), "failed")])  # fmt: skip
def test_failures_are_retried_later_or_given_up(
    engine: Engine, error: Exception, status: str
) -> None:
    enqueue(engine, 1)

    def handler(item: OutboxItem) -> None:
        raise error

    clock = ManualClock(datetime.now(UTC))
    backoff = Backoff(first=3600)  # the first retry comes 30 to 60 minutes later
    worker = Worker(engine, {"test": Topic(handler, backoff)}, name="w", clock=clock)
    assert worker.run_once() == 1
    clock.advance(timedelta(minutes=30) - timedelta(seconds=1))
    assert worker.run_once() == 0  # a retried row is not due again before its backoff
    with UnitOfWork(engine) as uow:
        (item,) = uow.outbox.list("test")
    assert item.status == status and item.attempts == 1 and item.last_error == str(error)
    clock.advance(timedelta(minutes=30) + timedelta(seconds=1))
    assert worker.run_once() == (1 if status == "pending" else 0)  # failed is never retried


def test_retries_stop_after_the_last_attempt(engine: Engine) -> None:
    enqueue(engine, 1)

    def handler(item: OutboxItem) -> None:
        raise RetryLater("down", after=0)

    worker = Worker(engine, {"test": Topic(handler, Backoff(attempts=3))}, name="w")
    assert worker.run_until_idle() == 3
    with UnitOfWork(engine) as uow:
        (item,) = uow.outbox.list("test")
    assert item.status == "failed" and item.attempts == 3
