"""The transactional outbox: durable work (e-mail, webhook deliveries, channel push-back).

Rows are written in the same transaction as the change that causes them, and delivered at
least once by `orderhub worker`. Workers lease rows: on PostgreSQL with `FOR UPDATE SKIP
LOCKED`, so any number of workers share the queue without taking the same row; on SQLite
the single-writer lock serialises the lease update. A lease that expires (a crashed worker)
makes its row available again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    Select,
    Text,
    and_,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain.clock import SYSTEM_CLOCK
from orderhub.domain.jsonfmt import dumps, loads
from orderhub.store.repository import Repository, from_row, lease_free
from orderhub.store.tables import id_table
from orderhub.store.types import Str, UTCDateTime

#: How long a worker holds a leased row; past it (a crashed worker) the row is due again.
LEASE_SECONDS = 60.0


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up: retries exhausted or a permanent refusal


outbox = id_table(
    "outbox",
    Column("topic", Str(32), nullable=False),
    # Makes enqueueing idempotent: the same key is enqueued once (e.g. subscription + event).
    Column("dedupe_key", Str(200), unique=True),
    Column("order_id", BigInteger),
    Column("payload", Text, nullable=False),
    Column("status", Str(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", Str(64)),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    # The lease reads each topic's due rows in due order (OutboxRepository._pick_due); the
    # counts by topic and status (dashboard, metrics) use its first two columns.
    Index(None, "topic", "status", "next_attempt_at"),
    Index(None, "order_id"),
)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int
    order_id: int | None
    dedupe_key: str | None
    status: str
    created_at: datetime
    last_error: str | None = None


def now() -> datetime:
    """The system clock's time: the default where a caller passes no time of its own."""
    return SYSTEM_CLOCK.now()


class OutboxRepository(Repository):
    def enqueue(
        self,
        topic: str,
        payload: dict[str, Any],
        *,
        dedupe_key: str | None = None,
        order_id: int | None = None,
        available_at: datetime | None = None,
        at: datetime | None = None,
    ) -> bool:
        """Add a row, due at `available_at` (default: `at`, its creation time, default now);
        False when dedupe_key was already enqueued (nothing is added twice)."""
        at = at or now()
        stmt = self._insert(outbox).values(
            topic=topic,
            dedupe_key=dedupe_key,
            order_id=order_id,
            payload=dumps(payload).decode(),
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=available_at or at,
            created_at=at,
        )
        added = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(outbox.c.id)
        return self.conn.execute(added).first() is not None

    def lease(
        self,
        topics: Sequence[str],
        owner: str,
        *,
        at: datetime,
        limit: int = 10,
        lease_for: float = LEASE_SECONDS,
    ) -> list[OutboxItem]:
        """Take up to `limit` rows of these topics due at `at` for `owner`, for `lease_for` s.

        `at` is the caller's clock, never the database's: a row is due when its next attempt
        is at or before it, and a lease held by another worker counts only until it expires.
        """
        due = and_(
            outbox.c.topic.in_(list(topics)),
            outbox.c.status == OutboxStatus.PENDING.value,
            outbox.c.next_attempt_at <= at,
            lease_free(outbox.c.lease_until, at),
        )
        ids = self._pick_due(topics, at, limit)
        if not ids:
            return []
        self.conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids), due)
            .values(lease_owner=owner, lease_until=at + timedelta(seconds=lease_for))
        )
        stmt = select(outbox).where(outbox.c.id.in_(ids), outbox.c.lease_owner == owner)
        return self._all(stmt.order_by(outbox.c.id), _item)

    def _pick_due(self, topics: Sequence[str], at: datetime, limit: int) -> list[int]:
        """The ids of up to `limit` due rows of these topics, the longest due first.

        Each topic is read on its own from the (topic, status, next_attempt_at) index, already
        in due order (on PostgreSQL in one statement, locked SKIP LOCKED): one scan over every
        topic would either pass over the pending rows of topics this worker does not take
        (e-mail waiting for an SMTP server) or sort a whole backlog on every poll
        (docs/scaling.md, "The outbox lease").
        """

        def due_of(topic: ColumnElement[str]) -> Select[tuple[int, datetime]]:
            pick = select(outbox.c.id, outbox.c.next_attempt_at).where(
                outbox.c.topic == topic,
                outbox.c.status == OutboxStatus.PENDING.value,
                outbox.c.next_attempt_at <= at,
                lease_free(outbox.c.lease_until, at),
            )
            return pick.order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)

        if self.conn.dialect.name != "postgresql":  # one writer: the picks take turns
            rows = [
                row
                for topic in topics
                for row in self.conn.execute(due_of(literal(topic, Str(32))))
            ]
            rows.sort(key=lambda row: (row.next_attempt_at, row.id))
            return [row.id for row in rows[:limit]]
        wanted = func.unnest(postgresql.array(list(topics), type_=Str(32)))
        wanted_topics = wanted.table_valued("topic").render_derived(name="wanted")
        picked = self._skip_locked(due_of(wanted_topics.c.topic)).lateral("picked")
        first = (
            select(picked.c.id)
            .select_from(wanted_topics.join(picked, true()))
            .order_by(picked.c.next_attempt_at, picked.c.id)
            .limit(limit)
        )
        return [row.id for row in self.conn.execute(first)]

    def complete(self, item_id: int, owner: str, at: datetime | None = None) -> bool:
        return self._finish(item_id, owner, status=OutboxStatus.DELIVERED, delivered_at=at or now())

    def retry(self, item_id: int, owner: str, at: datetime, error: str) -> bool:
        return self._finish(
            item_id, owner, status=OutboxStatus.PENDING, next_attempt_at=at, last_error=error
        )

    def defer(self, item_id: int, owner: str, at: datetime, reason: str) -> bool:
        """Due again at `at`, its attempts unspent (it was not tried)."""
        return self._finish(
            item_id,
            owner,
            count_attempt=False,
            status=OutboxStatus.PENDING,
            next_attempt_at=at,
            last_error=reason,
        )

    def give_up(self, item_id: int, owner: str, error: str) -> bool:
        return self._finish(item_id, owner, status=OutboxStatus.FAILED, last_error=error)

    def requeue(self, item_id: int, at: datetime | None = None) -> bool:
        """Send a failed (or delivered) row again from scratch, due at `at` (default now)."""
        result = self.conn.execute(
            update(outbox)
            .where(outbox.c.id == item_id)
            .values(
                status=OutboxStatus.PENDING.value, next_attempt_at=at or now(), lease_until=None
            )
        )
        return result.rowcount == 1

    def resend(self, item_id: int, at: datetime | None = None) -> bool:
        """Make a settled (failed or delivered) row due at `at` (default now) with a fresh
        retry schedule; False when it is still pending (or not there)."""
        result = self.conn.execute(
            update(outbox)
            .where(outbox.c.id == item_id, outbox.c.status != OutboxStatus.PENDING.value)
            .values(
                status=OutboxStatus.PENDING.value,
                attempts=0,
                next_attempt_at=at or now(),
                lease_owner=None,
                lease_until=None,
                delivered_at=None,
            )
        )
        return result.rowcount == 1

    def get(self, item_id: int) -> OutboxItem | None:
        return self._first(select(outbox).where(outbox.c.id == item_id), _item)

    def of_order(self, order_id: int, topic: str, limit: int = 50) -> list[OutboxItem]:
        """The order's rows of one topic, newest first (the order page's e-mails)."""
        stmt = (
            select(outbox)
            .where(outbox.c.order_id == order_id, outbox.c.topic == topic)
            .order_by(outbox.c.id.desc())
            .limit(limit)
        )
        return self._all(stmt, _item)

    def list(
        self, topic: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        stmt = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if topic is not None:
            stmt = stmt.where(outbox.c.topic == topic)
        if status is not None:
            stmt = stmt.where(outbox.c.status == status)
        return self._all(stmt, _item)

    def _finish(self, item_id: int, owner: str, count_attempt: bool = True, **values: Any) -> bool:
        """Settle a leased row; False if the lease was lost to another worker meanwhile."""
        values = {k: (v.value if isinstance(v, OutboxStatus) else v) for k, v in values.items()}
        attempts = outbox.c.attempts + 1 if count_attempt else outbox.c.attempts
        result = self.conn.execute(
            update(outbox)
            .where(outbox.c.id == item_id, outbox.c.lease_owner == owner)
            .values(attempts=attempts, lease_owner=None, lease_until=None, **values)
        )
        return result.rowcount == 1


def _item(row: Any) -> OutboxItem:
    return from_row(OutboxItem, row, payload=loads(row["payload"]))
