"""Webhook subscriptions (how each matches events: its types and its query-language filter,
evaluated in SQL on the order as it is after the change) and the delivery log.

The fan-out that enqueues one outbox row per (subscription, event), topic "webhook",
de-duplicated on `"{subscription_id}:{event_id}"`, is store/webhook_fanout.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    RowMapping,
    Text,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain import InvalidInput
from orderhub.domain.jsonfmt import loads
from orderhub.query import compile_query, parse_query
from orderhub.query.parser import RESERVED
from orderhub.store.outbox import OutboxRepository, OutboxStatus, outbox
from orderhub.store.repository import Repository, from_row
from orderhub.store.secrets import reseal, seal
from orderhub.store.tables import id_table
from orderhub.store.tags import FILTER_COLUMNS
from orderhub.store.types import Str, UTCDateTime

log = logging.getLogger(__name__)

TOPIC = "webhook"

webhook_subscriptions = id_table(
    "webhook_subscriptions",
    Column("url", Text, nullable=False),
    # Comma-separated event types (order.created, ...).
    Column("event_types", Str(255), nullable=False),
    # The raw query-language string (`channel=mall-cz&status=in:shipped`), or NULL: every order.
    Column("filter", Text),
    # `whsec_<base64>` sealed (store/secrets.py: a Fernet token, never the plain secret):
    # signing needs the secret itself, so it cannot be a hash (migration 0017 sealed them).
    Column("secret", Str(255), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    # After a rotation, the old secret signs too until then (migration 0012).
    Column("previous_secret", Str(255)),
    Column("previous_secret_until", UTCDateTime),
    # The first failure of the current run of failed deliveries; None after a success (0017).
    Column("failing_since", UTCDateTime),
    # Pacing (services/webhook_pacing.py): at most this many deliveries a second, and the
    # time up to which the sending budget is spent (the GCRA's theoretical arrival time).
    Column("max_per_second", Integer, nullable=False),
    Column("paced_until", UTCDateTime),
)


@dataclass(frozen=True, slots=True)
class Subscription:
    """Events of `event_types` on the orders `filter` matches (every order when None) go to
    `url`, signed with `secret`, while `active`: a 410 Gone from `url` disables it, saying so
    in `disabled_reason`."""

    id: int
    url: str
    event_types: tuple[str, ...]
    filter: str | None
    secret: str
    active: bool
    disabled_reason: str | None
    created_at: datetime
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    failing_since: datetime | None = None
    max_per_second: int = 50
    paced_until: datetime | None = None

    def signing_secrets(self, at: datetime) -> tuple[str, ...]:
        """The secrets a delivery at `at` is signed with: the old one too during its grace
        (as read from the database: sealed, store/secrets.py `unseal` opens them)."""
        until = self.previous_secret_until
        if self.previous_secret and until is not None and at < until:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row of a subscription, as the delivery log shows it."""

    id: int
    event_id: str
    type: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class LoggedDelivery:
    """A delivery with what the web UI's delivery log shows beside it: the order and the
    event's sequence number on it (None for events of no order)."""

    delivery: Delivery
    order_id: int | None
    sequence: int | None


def filter_params(raw: str) -> list[tuple[str, str]]:
    """`a=b&c=in:d,e` -> [(a, b), (c, in:d,e)]; InvalidInput naming `filter` when malformed."""
    try:
        params = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise InvalidInput("filter", "field=modifier:value pairs joined by &", raw) from exc
    reserved = sorted({name for name, _ in params if name in RESERVED})
    if reserved:
        raise InvalidInput("filter", f"field filters only (not {', '.join(reserved)})", raw)
    return params


def filter_predicate(raw: str) -> ColumnElement[bool]:
    """The SQL condition of a subscription filter (no default visibility rules apply)."""
    try:
        query = parse_query(filter_params(raw), defaults=None)
    except InvalidInput as exc:
        if exc.parameter == "filter":
            raise
        raise InvalidInput(
            "filter", f"a query-language filter ({exc.parameter}: {exc.expected})", raw
        ) from exc
    return compile_query(query, FILTER_COLUMNS).where


# Built once: asked by every recorded batch of events (a sync's every page).
_ACTIVE = select(webhook_subscriptions).where(webhook_subscriptions.c.active.is_(True))


class WebhookRepository(Repository):
    def insert(
        self,
        *,
        url: str,
        event_types: Sequence[str],
        filter: str | None,
        secret: str,
        created_at: datetime,
        max_per_second: int,
    ) -> Subscription:
        values = {
            "max_per_second": max_per_second,
            "url": url,
            "event_types": ",".join(event_types),
            "filter": filter,
            "secret": secret,
            "active": True,
            "disabled_reason": None,
            "created_at": created_at,
        }
        values["secret"] = seal(self.conn, secret)
        stmt = webhook_subscriptions.insert().values(values).returning(webhook_subscriptions.c.id)
        new_id = int(self.conn.execute(stmt).scalar_one())
        found = self.get(new_id)
        assert found is not None
        return found

    def get(self, subscription_id: int) -> Subscription | None:
        stmt = select(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
        return self._first(stmt, _subscription)

    def all(self) -> list[Subscription]:
        stmt = select(webhook_subscriptions).order_by(webhook_subscriptions.c.id)
        return self._all(stmt, _subscription)

    def delete(self, subscription_id: int) -> bool:
        """Delete it and fail its pending deliveries; True when there was one."""
        stmt = delete(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
        if self.conn.execute(stmt).rowcount != 1:
            return False
        self.conn.execute(
            update(outbox)
            .where(of_subscription(subscription_id), outbox.c.status == OutboxStatus.PENDING.value)
            .values(status=OutboxStatus.FAILED.value, last_error="subscription deleted")
        )
        return True

    def reseal_all(self) -> int:
        """Every stored secret encrypted again with the first key; how many."""
        table, count = webhook_subscriptions, 0
        rows = self.conn.execute(select(table.c.id, table.c.secret, table.c.previous_secret))
        for row in rows.all():
            values = {"secret": reseal(self.conn, row.secret)}
            if row.previous_secret:
                values["previous_secret"] = reseal(self.conn, row.previous_secret)
            self.conn.execute(update(table).where(table.c.id == row.id).values(**values))
            count += len(values)
        return count

    def active(self) -> list[Subscription]:
        return self._all(_ACTIVE, _subscription)

    def rotate(self, subscription_id: int, secret: str, grace_until: datetime) -> bool:
        """A new secret; the current one keeps signing until `grace_until`."""
        table = webhook_subscriptions
        stmt = (
            update(table)
            .where(table.c.id == subscription_id)
            .values(
                secret=seal(self.conn, secret),
                previous_secret=table.c.secret,
                previous_secret_until=grace_until,
            )
        )
        return self.conn.execute(stmt).rowcount == 1

    def disable(self, subscription_id: int, reason: str) -> bool:
        """Disable an active subscription; False when it was not (so it is disabled once)."""
        table = webhook_subscriptions
        result = self.conn.execute(
            update(table)
            .where(table.c.id == subscription_id, table.c.active.is_(True))
            .values(active=False, disabled_reason=reason)
        )
        return result.rowcount == 1

    def failing(self, subscription_id: int, at: datetime) -> datetime | None:
        """A delivery failed at `at`: the first failure of the current run (None: no such
        subscription)."""
        table = webhook_subscriptions
        first = func.coalesce(table.c.failing_since, literal(at, table.c.failing_since.type))
        self.conn.execute(
            update(table).where(table.c.id == subscription_id).values(failing_since=first)
        )
        stmt = select(table.c.failing_since).where(table.c.id == subscription_id)
        since: datetime | None = self.conn.execute(stmt).scalar()
        return since

    def update(self, subscription_id: int, **values: Any) -> bool:
        """Set these columns; False when there is no such subscription."""
        table = webhook_subscriptions
        stmt = update(table).where(table.c.id == subscription_id).values(**values)
        return self.conn.execute(stmt).rowcount == 1

    def take_turn(self, subscription_id: int, seen: datetime | None, until: datetime) -> bool:
        """Move `paced_until` from `seen` (what the caller read) to `until`; False when
        another worker moved it first (compare and set)."""
        table = webhook_subscriptions
        current = table.c.paced_until
        unchanged = current.is_(None) if seen is None else current == seen
        stmt = update(table).where(table.c.id == subscription_id, unchanged)
        return self.conn.execute(stmt.values(paced_until=until)).rowcount == 1

    def paced_until(self, subscription_id: int) -> datetime | None:
        stmt = select(webhook_subscriptions.c.paced_until).where(
            webhook_subscriptions.c.id == subscription_id
        )
        found: datetime | None = self.conn.execute(stmt).scalar()
        return found

    def working(self, subscription_id: int) -> None:
        """A delivery went through: the run of failures (if any) is over."""
        table = webhook_subscriptions
        self.conn.execute(
            update(table)
            .where(table.c.id == subscription_id, table.c.failing_since.is_not(None))
            .values(failing_since=None)
        )

    def deliveries(
        self,
        subscription_id: int,
        status: str | None = None,
        limit: int = 100,
        before: int | None = None,
    ) -> list[Delivery]:
        """The subscription's outbox rows, newest first (only those older than `before`)."""
        stmt = select(outbox).where(of_subscription(subscription_id))
        if status is not None:
            stmt = stmt.where(outbox.c.status == status)
        if before is not None:
            stmt = stmt.where(outbox.c.id < before)
        return self._all(stmt.order_by(outbox.c.id.desc()).limit(limit), _delivery)

    def of_order(self, order_id: int, limit: int = 50) -> list[tuple[int, Delivery]]:
        """Deliveries of the order's events to any subscription, newest first, each with its
        subscription's id."""
        stmt = (
            select(outbox)
            .where(outbox.c.order_id == order_id, outbox.c.topic == TOPIC)
            .order_by(outbox.c.id.desc())
            .limit(limit)
        )
        return [
            (int(loads(row["payload"])["subscription_id"]), _delivery(row))
            for row in self.conn.execute(stmt).mappings()
        ]

    def delivery_log(
        self, subscription_id: int, limit: int = 100, before: int | None = None
    ) -> list[LoggedDelivery]:
        """`deliveries`, each with its order and the event's sequence number."""
        stmt = select(outbox).where(of_subscription(subscription_id))
        if before is not None:
            stmt = stmt.where(outbox.c.id < before)
        return self._all(stmt.order_by(outbox.c.id.desc()).limit(limit), _logged)

    def failed_count(self, subscription_id: int) -> int:
        """How many of the subscription's deliveries have failed (and were not sent again)."""
        stmt = select(func.count()).where(
            of_subscription(subscription_id), outbox.c.status == OutboxStatus.FAILED.value
        )
        return int(self.conn.execute(stmt).scalar_one())

    def delivery(self, subscription_id: int, delivery_id: int) -> Delivery | None:
        stmt = select(outbox).where(of_subscription(subscription_id), outbox.c.id == delivery_id)
        return self._first(stmt, _delivery)

    def resend(self, delivery_id: int, at: datetime | None = None) -> bool:
        """Make a settled (failed or delivered) row due at `at` (default now) with a fresh
        retry schedule."""
        return OutboxRepository(self.conn).resend(delivery_id, at)


def of_subscription(subscription_id: int) -> ColumnElement[bool]:
    """Outbox rows of one subscription: dedupe keys "<id>:evt_..." (a range, so indexed)."""
    prefix = f"{subscription_id}:"
    return (
        (outbox.c.topic == TOPIC)
        & (outbox.c.dedupe_key >= prefix)
        & (outbox.c.dedupe_key < f"{subscription_id};")  # ';' sorts right after ':'
    )


def _subscription(row: RowMapping) -> Subscription:
    event_types = tuple(t for t in row["event_types"].split(",") if t)
    return from_row(Subscription, row, event_types=event_types, active=bool(row["active"]))


def _logged(row: RowMapping) -> LoggedDelivery:
    data = loads(loads(row["payload"])["body"]).get("data")
    sequence = data.get("sequence") if isinstance(data, dict) else None
    return LoggedDelivery(_delivery(row), row["order_id"], sequence)


def _delivery(row: RowMapping) -> Delivery:
    payload = loads(row["payload"])
    pending = row["status"] == OutboxStatus.PENDING
    return from_row(
        Delivery,
        row,
        event_id=payload["event_id"],
        type=payload["type"],
        next_attempt_at=row["next_attempt_at"] if pending else None,
    )
