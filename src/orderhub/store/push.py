"""Push-back bookkeeping: an order's `push_status`/`push_error`, and the order of its push rows.

The push rows themselves are ordinary outbox rows (topic "push", store/outbox.py); this module
only answers the questions the push handler asks about them and records the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, literal_column, or_, select, update

from orderhub.domain.order import PushStatus
from orderhub.store.outbox import OutboxStatus, outbox
from orderhub.store.repository import Repository
from orderhub.store.tables import orders

TOPIC = "push"
#: An order's push state after its newest change's push gave up (refused, or out of retries).
GAVE_UP = (PushStatus.FAILED.value, PushStatus.REFUSED.value)


@dataclass(frozen=True, slots=True)
class FailedPush:
    """An order whose newest push-back gave up, with the channel's (or the hub's) error."""

    order_id: int
    channel: str
    external_id: str
    push_status: str
    error: str | None
    updated_at: datetime


def gave_up(conn: Connection) -> Any:
    """The condition "this order's newest push gave up" over the `push_status` index. On SQLite
    an ANALYZE taken while no push had failed says the index holds one value (NULL), and SQLite
    then scans every order; the hint says these rows are rare, as they are."""
    condition: Any = orders.c.push_status.in_(GAVE_UP)
    if conn.dialect.name == "sqlite":
        condition = func.likelihood(condition, literal_column("0.001"))
    return condition


class PushRepository(Repository):
    def set_state(
        self,
        order_id: int,
        status: PushStatus | None,
        error: str | None,
        *,
        bump_version: bool,
    ) -> None:
        """Record where the order's push stands. `bump_version` changes the ETag; the PUT that
        enqueues a push has bumped it already in the same transaction."""
        value = None if status is None else status.value
        values: dict[str, object] = {"push_status": value, "push_error": error}
        if bump_version:
            values["version"] = orders.c.version + 1
        changed = or_(
            orders.c.push_status.is_distinct_from(value),
            orders.c.push_error.is_distinct_from(error),
        )
        self.conn.execute(update(orders).where(orders.c.id == order_id, changed).values(**values))

    def earlier_pending(self, order_id: int, item_id: int) -> datetime | None:
        """When the earliest still-pending push row of this order enqueued before `item_id` is
        next due (None when there is none): changes of one order go out in order."""
        stmt = select(func.min(outbox.c.next_attempt_at)).where(
            outbox.c.topic == TOPIC,
            outbox.c.order_id == order_id,
            outbox.c.status == OutboxStatus.PENDING.value,
            outbox.c.id < item_id,
        )
        return self.conn.execute(stmt).scalar_one_or_none()

    def later_pending(self, order_id: int, item_id: int) -> bool:
        """Whether a newer push row of this order waits: it, not this one, settles the state."""
        stmt = select(outbox.c.id).where(
            outbox.c.topic == TOPIC,
            outbox.c.order_id == order_id,
            outbox.c.status == OutboxStatus.PENDING.value,
            outbox.c.id > item_id,
        )
        return self.conn.execute(stmt.limit(1)).first() is not None

    def requeue_failed(self, order_id: int, at: datetime) -> int:
        """Make the order's push rows that failed since its last settled success due at `at`
        with a fresh retry schedule; how many. Older failures a later push superseded stay."""
        last_ok = (
            select(func.max(outbox.c.id))
            .where(
                outbox.c.topic == TOPIC,
                outbox.c.order_id == order_id,
                outbox.c.status != OutboxStatus.FAILED.value,
            )
            .scalar_subquery()
        )
        stmt = (
            update(outbox)
            .where(
                outbox.c.topic == TOPIC,
                outbox.c.order_id == order_id,
                outbox.c.status == OutboxStatus.FAILED.value,
                outbox.c.id > func.coalesce(last_ok, 0),
            )
            .values(
                status=OutboxStatus.PENDING.value,
                attempts=0,
                next_attempt_at=at,
                lease_owner=None,
                lease_until=None,
            )
        )
        return int(self.conn.execute(stmt).rowcount)

    def failed(self, channel: str | None = None, limit: int = 100) -> list[FailedPush]:
        """Orders whose newest push gave up (through the `push_status` index), newest first."""
        stmt = select(
            orders.c.id.label("order_id"),
            orders.c.channel,
            orders.c.external_id,
            orders.c.push_status,
            orders.c.push_error.label("error"),
            orders.c.updated_at,
        ).where(gave_up(self.conn))
        if channel is not None:
            stmt = stmt.where(orders.c.channel == channel)
        stmt = stmt.order_by(orders.c.id.desc()).limit(limit)
        return [FailedPush(**row._mapping) for row in self.conn.execute(stmt)]
