"""Which rows a lease takes: the longest-due rows of the worker's topics, across topics, never
another topic's (however long it has waited), never one not yet due; and on PostgreSQL two
workers leasing at the same instant take different rows (SKIP LOCKED, per topic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from orderhub.store import UnitOfWork

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

#: (topic, seconds before AT it fell due; negative: due later), in the order enqueued.
ROWS = [
    ("mail", 9000), ("mail", 8000), ("mail", 7000),  # waiting for SMTP: not this worker's
    ("webhook", 50), ("push", 300), ("webhook", 400), ("job", 10),
    ("push", 20), ("webhook", -30), ("push", -5),
]  # fmt: skip


def _enqueue(engine: Engine) -> dict[int, tuple[str, int]]:
    """Enqueue ROWS; their ids -> (topic, seconds due before AT)."""
    with UnitOfWork(engine) as uow:
        for n, (topic, ago) in enumerate(ROWS):
            due = AT - timedelta(seconds=ago)
            uow.outbox.enqueue(topic, {"n": n}, dedupe_key=f"k{n}", available_at=due, at=due)
        rows = uow.outbox.list(limit=100)
    return {item.id: ROWS[item.payload["n"]] for item in rows}


def test_a_lease_takes_the_longest_due_of_its_topics_only(engine: Engine) -> None:
    by_id = _enqueue(engine)
    with UnitOfWork(engine) as uow:
        items = uow.outbox.lease(["webhook", "push", "job"], "w1", at=AT, limit=4)
    assert sorted(by_id[item.id] for item in items) == sorted(
        [("webhook", 400), ("push", 300), ("webhook", 50), ("push", 20)]
    )
    with UnitOfWork(engine) as uow:
        rest = uow.outbox.lease(["webhook", "push", "job"], "w2", at=AT, limit=10)
    assert [by_id[item.id] for item in rest] == [("job", 10)]  # the rest due; none twice


def test_workers_leasing_at_once_take_different_rows_on_postgresql(
    engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's single writer makes leases take turns (test_outbox.py)")
    by_id = _enqueue(engine)
    topics = ["webhook", "push", "job"]
    with UnitOfWork(engine) as first:  # its row locks are held until it commits
        one = first.outbox.lease(topics, "w1", at=AT, limit=2)
        with UnitOfWork(engine) as second:
            two = second.outbox.lease(topics, "w2", at=AT, limit=10)
    with UnitOfWork(engine) as third:
        three = third.outbox.lease(topics, "w3", at=AT, limit=10)
    assert sorted(by_id[item.id] for item in one) == [("push", 300), ("webhook", 400)]
    # A worker's pick locks up to `limit` rows of each topic for the instant of its lease, so
    # the second may find fewer: never one the first took, and the third finds the rest.
    taken = [item.id for item in [*one, *two, *three]]
    assert len(taken) == len(set(taken))
    due = {("webhook", 400), ("push", 300), ("webhook", 50), ("push", 20), ("job", 10)}
    assert {by_id[i] for i in taken} == due
