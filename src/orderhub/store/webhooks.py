"""Webhook subscriptions, their fan-out into the outbox, and the delivery log.

`fan_out` is registered in `store.events.SINKS`: every batch of recorded events is matched
against the active subscriptions (event type, and the subscription's query-language filter
evaluated in SQL on the order as it is after the change) inside the recording transaction,
so a delivery is enqueued exactly when the change commits. One outbox row per (subscription,
event), topic "webhook", de-duplicated on `"{subscription_id}:{event_id}"`.

Channel events (`channel.*`, services/sync_health.py) have no order: `enqueue_channel_event`
hands one to every active subscription of its type whose filter's `channel` conditions admit
the account (the filter's other fields are about orders and do not apply to them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    RowMapping,
    String,
    Text,
    and_,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain import SCALAR_FIELDS, InvalidInput
from orderhub.domain.codec import NESTED_FIELDS
from orderhub.domain.jsonfmt import dumps, loads
from orderhub.query import compile_query, parse_query
from orderhub.query.compiler import compile_filter
from orderhub.query.parser import RESERVED, parse_filter
from orderhub.store.events import SINKS, RecordedEvent, event_payload
from orderhub.store.outbox import OutboxRepository, OutboxStatus, now, outbox
from orderhub.store.repository import Repository, from_row
from orderhub.store.tables import ORDER_COLUMNS, id_table, orders
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
    # `whsec_<base64>`: kept as is, because signing needs the secret itself (not a hash).
    Column("secret", Str(128), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    # After a rotation, the old secret signs too until then (migration 0012).
    Column("previous_secret", Str(128)),
    Column("previous_secret_until", UTCDateTime),
    # The first failure of the current run of failed deliveries; None after a success (0017).
    Column("failing_since", UTCDateTime),
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

    def signing_secrets(self, at: datetime) -> tuple[str, ...]:
        """The secrets a delivery at `at` is signed with: the old one too during its grace."""
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
    return compile_query(query, ORDER_COLUMNS).where


class WebhookRepository(Repository):
    def insert(
        self,
        *,
        url: str,
        event_types: Sequence[str],
        filter: str | None,
        secret: str,
        created_at: datetime,
    ) -> Subscription:
        values = {
            "url": url,
            "event_types": ",".join(event_types),
            "filter": filter,
            "secret": secret,
            "active": True,
            "disabled_reason": None,
            "created_at": created_at,
        }
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

    def active(self) -> list[Subscription]:
        stmt = select(webhook_subscriptions).where(webhook_subscriptions.c.active.is_(True))
        return self._all(stmt, _subscription)

    def rotate(self, subscription_id: int, secret: str, grace_until: datetime) -> bool:
        """A new secret; the current one keeps signing until `grace_until`."""
        table = webhook_subscriptions
        stmt = (
            update(table)
            .where(table.c.id == subscription_id)
            .values(
                secret=secret, previous_secret=table.c.secret, previous_secret_until=grace_until
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

    def delivery(self, subscription_id: int, delivery_id: int) -> Delivery | None:
        stmt = select(outbox).where(of_subscription(subscription_id), outbox.c.id == delivery_id)
        return self._first(stmt, _delivery)

    def resend(self, delivery_id: int, at: datetime | None = None) -> bool:
        """Make a settled (failed or delivered) row due at `at` (default now) with a fresh
        retry schedule."""
        result = self.conn.execute(
            update(outbox)
            .where(outbox.c.id == delivery_id, outbox.c.status != OutboxStatus.PENDING.value)
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


def fan_out(conn: Connection, recorded: Sequence[RecordedEvent]) -> None:
    """Enqueue one delivery per (matching active subscription, event): the sink."""
    subscriptions = WebhookRepository(conn).active()
    if not subscriptions or not recorded:
        return
    order_ids = sorted({r.event.order_id for r in recorded})
    matches = {s.id: _matching(conn, s, order_ids) for s in subscriptions}
    documents = _order_documents(conn, set().union(*matches.values()))
    queue = OutboxRepository(conn)
    for item in recorded:
        event = item.event
        document = documents.get(event.order_id)
        if document is None:
            continue
        body: bytes | None = None
        for sub in subscriptions:
            if str(event.type) in sub.event_types and event.order_id in matches[sub.id]:
                body = body or _body(item, document)
                queue.enqueue(
                    TOPIC,
                    _payload(sub.id, item, body),
                    dedupe_key=f"{sub.id}:{item.event_id}",
                    order_id=event.order_id,
                )


def enqueue_event(
    conn: Connection, event_type: str, event_id: str, body: bytes, at: datetime
) -> int:
    """One delivery of an event of no order and no channel (e.g. `job.finished`) per active
    subscription to its type, whatever the subscription's filter."""
    return enqueue_channel_event(conn, event_type, None, event_id, body, at)


def enqueue_channel_event(
    conn: Connection,
    event_type: str,
    channel: str | None,
    event_id: str,
    body: bytes,
    at: datetime,
) -> int:
    """One delivery of a channel event per active subscription to `event_type` whose filter
    admits the account (None: any filter); a (subscription, event id) pair already enqueued is
    skipped. Returns how many were enqueued now."""
    queue = OutboxRepository(conn)
    payload = {"event_id": event_id, "type": event_type, "body": body.decode()}
    enqueued = 0
    for sub in WebhookRepository(conn).active():
        if event_type not in sub.event_types:
            continue
        if channel is not None and not _admits_channel(conn, sub, channel):
            continue
        added = queue.enqueue(
            TOPIC,
            {"subscription_id": sub.id, **payload},
            dedupe_key=f"{sub.id}:{event_id}",
            at=at,
        )
        enqueued += added
    return enqueued


def _admits_channel(conn: Connection, sub: Subscription, channel: str) -> bool:
    """Whether the filter's `channel=` conditions (if any) hold for this account, in SQL."""
    if not sub.filter:
        return True
    try:
        conditions = [parse_filter(n, v) for n, v in filter_params(sub.filter) if n == "channel"]
    except InvalidInput:
        log.warning("webhook subscription %s: filter %r no longer valid", sub.id, sub.filter)
        return False
    if not conditions:
        return True
    value: ColumnElement[str] = literal(channel, String(64))
    if conn.dialect.name == "postgresql":
        value = value.collate("C")  # compared as the orders column is: byte by byte
    account = select(value.label("channel")).subquery()
    columns = {"channel": account.c.channel}
    where = and_(*(compile_filter(f, columns) for f in conditions))
    return conn.execute(select(account.c.channel).where(where)).first() is not None


def _matching(conn: Connection, sub: Subscription, order_ids: Sequence[int]) -> set[int]:
    """Which of these orders the subscription's filter matches, as they are now (in SQL)."""
    stmt = select(orders.c.id).where(orders.c.id.in_(order_ids))
    if sub.filter:
        try:
            stmt = stmt.where(filter_predicate(sub.filter))
        except InvalidInput:
            # Checked when subscribing; one that no longer parses must not break the change.
            log.warning("webhook subscription %s: filter %r no longer valid", sub.id, sub.filter)
            return set()
    return {row.id for row in conn.execute(stmt)}


def _order_documents(conn: Connection, order_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The full orders as the API renders them (nested parts spliced as stored JSON)."""
    wanted = sorted(order_ids)
    if not wanted:
        return {}
    stmt = select(orders).where(orders.c.id.in_(wanted))
    return {row.id: _order_document(row._mapping) for row in conn.execute(stmt)}


def _order_document(row: RowMapping) -> dict[str, Any]:
    document = {name: row[name] for name in SCALAR_FIELDS}
    for name in NESTED_FIELDS:
        text = row[name]
        document[name] = None if text is None else orjson.Fragment(text)
    return document


def _body(item: RecordedEvent, order: dict[str, Any]) -> bytes:
    """What the subscriber receives: the event, its changes and the order after it."""
    event = event_payload(item)
    data = {
        "order_id": event["order_id"],
        "sequence": event["sequence"],
        "source": event["source"],
        "changes": event["changes"],
        "order": order,
    }
    envelope = {"id": item.event_id, "type": event["type"], "timestamp": event["occurred_at"]}
    return dumps(envelope | {"data": data})


def _payload(subscription_id: int, item: RecordedEvent, body: bytes) -> dict[str, Any]:
    # The body is kept as text: re-encoding parsed JSON would turn exact money into floats.
    return {
        "subscription_id": subscription_id,
        "event_id": item.event_id,
        "type": str(item.event.type),
        "body": body.decode(),
    }


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


if fan_out not in SINKS:
    SINKS.append(fan_out)
