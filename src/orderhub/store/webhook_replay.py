"""Replaying a subscription's deliveries since a time, in order (POST /v1/webhooks/{id}/replay).

A replay copies the subscription's own deliveries created at or after `since` (its original
ones, not earlier replays) into new outbox rows, in the order they were first enqueued. Each
copy keeps the event's id and body and is keyed `"{subscription}:rpl_{replay}:{position}:
{event}"`: inside the subscription's key range (so the delivery log shows it), never equal to
the original's key (so the outbox's de-duplication does not swallow it), and ordered by its
zero-padded position, which is how the deliverer tells which copies come before a given one.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from orderhub.domain.jsonfmt import dumps, loads
from orderhub.store.outbox import OutboxStatus, outbox
from orderhub.store.webhooks import TOPIC, of_subscription

REPLAY_MARK = "rpl_"
_BATCH = 1000


def new_replay_id() -> str:
    return secrets.token_hex(6)


def replay_prefix(subscription_id: int, replay_id: str) -> str:
    """The start of every dedupe key of one replay's copies."""
    return f"{subscription_id}:{REPLAY_MARK}{replay_id}:"


def enqueue_replay(
    conn: Connection, subscription_id: int, since: datetime, replay_id: str, at: datetime
) -> int:
    """Copy the subscription's original deliveries created at or after `since`, due at `at`,
    in their first order; returns how many were queued."""
    prefix = replay_prefix(subscription_id, replay_id)
    position, last = 0, 0
    while batch := conn.execute(_originals(subscription_id, since, last)).all():
        rows = []
        for row in batch:
            payload = loads(row.payload) | {"replay": replay_id}
            rows.append(_copy(prefix, position, row.order_id, payload, at))
            position += 1
        conn.execute(outbox.insert(), rows)
        last = batch[-1].id
    return position


def _originals(subscription_id: int, since: datetime, after: int) -> Select[Any]:
    """The next batch of the subscription's original deliveries since `since`, by id."""
    replays = f"{subscription_id}:{REPLAY_MARK}"
    return (
        select(outbox.c.id, outbox.c.order_id, outbox.c.payload)
        .where(
            of_subscription(subscription_id),
            ~outbox.c.dedupe_key.startswith(replays, autoescape=True),
            outbox.c.created_at >= since,
            outbox.c.id > after,
        )
        .order_by(outbox.c.id)
        .limit(_BATCH)
    )


def _copy(
    prefix: str, position: int, order_id: int | None, payload: dict[str, Any], at: datetime
) -> dict[str, Any]:
    return {
        "topic": TOPIC,
        "dedupe_key": f"{prefix}{position:09d}:{payload['event_id']}",
        "order_id": order_id,
        "payload": dumps(payload).decode(),
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }


def earlier_pending(conn: Connection, dedupe_key: str) -> datetime | None:
    """When the first still-pending copy before this one in its replay is due (None: none)."""
    prefix = dedupe_key[: dedupe_key.index(":", dedupe_key.index(REPLAY_MARK)) + 1]
    stmt = select(func.min(outbox.c.next_attempt_at)).where(
        outbox.c.dedupe_key >= prefix,
        outbox.c.dedupe_key < dedupe_key,
        outbox.c.status == OutboxStatus.PENDING.value,
    )
    due: datetime | None = conn.execute(stmt).scalar()
    return due
