"""The fan-out of events into webhook deliveries (outbox rows, topic "webhook").

`fan_out` is registered in `store.events.SINKS`: it runs inside the transaction that records
the events, so a delivery is enqueued exactly when the change commits (store/webhooks.py says
how subscriptions match). `enqueue_event` and `enqueue_channel_event` do the same for events
of no order (channel health, bulk jobs, subscriptions disabled).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, and_, literal, select
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain import InvalidInput
from orderhub.domain.jsonfmt import dumps
from orderhub.query.compiler import compile_filter
from orderhub.query.parser import parse_filter
from orderhub.store.documents import order_document
from orderhub.store.events import SINKS, RecordedEvent, event_payload
from orderhub.store.outbox import OutboxRepository
from orderhub.store.tables import orders
from orderhub.store.tags import TAGS_TEXT
from orderhub.store.webhooks import (
    TOPIC,
    Subscription,
    WebhookRepository,
    filter_params,
    filter_predicate,
)

log = logging.getLogger(__name__)


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
    stmt = select(orders, TAGS_TEXT).where(orders.c.id.in_(wanted))
    return {row.id: order_document(row._mapping) for row in conn.execute(stmt)}


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


if fan_out not in SINKS:
    SINKS.append(fan_out)
