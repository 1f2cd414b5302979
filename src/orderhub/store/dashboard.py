"""The dashboard's aggregate reads: a few grouped queries, each over an index.

- `orders_by_day`: ONE grouped query over the `created_at` index for the window (orders and
  revenue per UTC day, account and currency); only the window's rows are read.
- `status_counts`: a scan of the `(test, status, created_at)` index alone (no table rows are read).
- `unconfirmed_count`: the `(confirmed, test, status)` index, as the unconfirmed queue reads it.
- `failed_pushes`: the `push_status` index (few rows: those whose push-back failed).
- `outbox_counts`: a small table (the outbox's
  `(topic, status)` index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    false,
    func,
    select,
    type_coerce,
)

from orderhub.domain import Status
from orderhub.store.outbox import outbox
from orderhub.store.push import gave_up
from orderhub.store.tables import orders
from orderhub.store.types import Amount

#: Orders in these statuses are counted per day but bring no revenue.
NO_REVENUE = (Status.CANCELLED.value, Status.RETURNED.value)
#: Push-back outcomes that need someone: retries ran out, or the channel said no.


@dataclass(frozen=True, slots=True)
class DayGroup:
    """The orders of one UTC day, account and currency, and the revenue among them."""

    day: date
    channel: str
    currency: str
    orders: int
    revenue: Decimal


def _utc_day(conn: Connection) -> Any:
    """`created_at`'s UTC day as `YYYY-MM-DD` text (SQLite keeps UTC text; PostgreSQL is told
    the zone, whatever the session's)."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", orders.c.created_at), "YYYY-MM-DD")
    return func.substr(orders.c.created_at, 1, 10)


def _listed() -> list[Any]:
    """What the orders list shows by default: no test orders, no pending ones."""
    return [orders.c.test == false(), orders.c.status != Status.PENDING.value]


def orders_by_day(conn: Connection, start: datetime, end: datetime) -> list[DayGroup]:
    """Orders created in [start, end) as the list shows them, grouped by UTC day, account and
    currency; revenue is the sum of their totals but those cancelled or returned (exact).

    Only the time range is in WHERE, so both databases read the window through the
    `created_at` index (with `test` there too, SQLite's planner preferred the `(test, status)`
    index and read every order); the list's conditions are applied inside the aggregates."""
    day = _utc_day(conn).label("day")
    listed = and_(*_listed())
    counted = func.count(case((listed, 1))).label("n")
    earning = case((and_(listed, orders.c.status.not_in(NO_REVENUE)), orders.c.total))
    revenue = type_coerce(func.sum(earning), Amount()).label("revenue")
    stmt = (
        select(day, orders.c.channel, orders.c.currency, counted, revenue)
        .where(orders.c.created_at >= start, orders.c.created_at < end)
        .group_by(day, orders.c.channel, orders.c.currency)
    )
    return [
        DayGroup(
            date.fromisoformat(row.day),
            row.channel,
            row.currency,
            int(row.n),
            row.revenue if row.revenue is not None else Decimal(0),
        )
        for row in conn.execute(stmt)
        if row.n
    ]


def status_counts(conn: Connection) -> dict[str, int]:
    """Non-test orders per status (pending included: a status filter shows them)."""
    stmt = (
        select(orders.c.status, func.count().label("n"))
        .where(orders.c.test == false())
        .group_by(orders.c.status)
    )
    return {row.status: int(row.n) for row in conn.execute(stmt)}


def unconfirmed_count(conn: Connection) -> int:
    """The unconfirmed queue's length: `confirmed=0` as the list shows it."""
    stmt = select(func.count()).where(orders.c.confirmed == false(), *_listed())
    return int(conn.execute(stmt).scalar_one())


def failed_pushes(conn: Connection) -> dict[str, int]:
    """Per account: orders whose last push-back failed or was refused."""
    stmt = select(orders.c.channel, func.count().label("n")).where(gave_up(conn))
    return {row.channel: int(row.n) for row in conn.execute(stmt.group_by(orders.c.channel))}


def outbox_counts(conn: Connection, topic: str, statuses: Sequence[str]) -> dict[str, int]:
    """Rows of one outbox topic per status (only the statuses asked for; 0 when none)."""
    stmt = (
        select(outbox.c.status, func.count().label("n"))
        .where(outbox.c.topic == topic, outbox.c.status.in_(statuses))
        .group_by(outbox.c.status)
    )
    found = {row.status: int(row.n) for row in conn.execute(stmt)}
    return {status: found.get(status, 0) for status in statuses}
