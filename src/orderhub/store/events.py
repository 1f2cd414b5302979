"""Recorded events and the per-field change history, written in the order change's transaction.

Recording an event also hands it to every registered sink in the same transaction: that is
how webhook deliveries land in the outbox atomically with the change (store/webhooks.py
registers its fan-out here), without the store importing the services above it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Index, Integer, Text, bindparam, func, select

from orderhub.domain.events import EventType, OrderEvent
from orderhub.domain.jsonfmt import dumps
from orderhub.store.bulk import execute_many
from orderhub.store.repository import Repository
from orderhub.store.tables import id_table
from orderhub.store.types import Str, UTCDateTime

events = id_table(
    "events",
    # The stable id subscribers de-duplicate on (the Standard Webhooks `webhook-id`).
    Column("event_id", Str(40), nullable=False, unique=True),
    Column("type", Str(40), nullable=False),
    Column("order_id", BigInteger, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("source", Str(16), nullable=False),
    Column("actor", Str(64)),
    Column("data", Text, nullable=False),
    # The event's number among its order's events: 1, 2, 3, ... (migration 0013).
    Column("sequence", Integer, nullable=False),
    Index(None, "order_id"),
)

order_changes = id_table(
    "order_changes",
    Column("order_id", BigInteger, nullable=False),
    Column("event_id", Str(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("source", Str(16), nullable=False),
    Column("actor", Str(64)),
    Column("field", Str(64), nullable=False),
    Column("old", Text),
    Column("new", Text),
    Index(None, "order_id", "id"),
)


#: Built once, so store/bulk.py compiles them once.
_INSERT_EVENTS = events.insert()
_INSERT_CHANGES = order_changes.insert()


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    event_id: str
    event: OrderEvent
    #: Its number among its order's events, so a receiver can put them in order.
    sequence: int = 0


Sink = Callable[[Connection, Sequence[RecordedEvent]], None]
#: Called with every batch of recorded events, inside the recording transaction.
SINKS: list[Sink] = []


# Built once: per page of a sync, building and keying it cost more than running it.
_LAST_SEQUENCES = (
    select(events.c.order_id, func.max(events.c.sequence))
    .where(events.c.order_id.in_(bindparam("order_ids", expanding=True)))
    .group_by(events.c.order_id)
)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


class EventRepository(Repository):
    def record(self, batch: Sequence[OrderEvent]) -> list[RecordedEvent]:
        """Store events (and, for updates, one history row per changed field); feed the sinks."""
        if not batch:
            return []
        last = self._last_sequences({event.order_id for event in batch})
        recorded = []
        for event in batch:
            last[event.order_id] = last.get(event.order_id, 0) + 1
            recorded.append(RecordedEvent(new_event_id(), event, last[event.order_id]))
        execute_many(self.conn, _INSERT_EVENTS, events, [_event_row(r) for r in recorded])
        history = [row for r in recorded for row in _history_rows(r)]
        if history:
            execute_many(self.conn, _INSERT_CHANGES, order_changes, history)
        for sink in SINKS:
            sink(self.conn, recorded)
        return recorded

    def _last_sequences(self, order_ids: set[int]) -> dict[int, int]:
        """Each order's last event number so far (the order's writers take turns on its lock)."""
        ids, last = sorted(order_ids), {}
        for start in range(0, len(ids), 500):
            rows = self.conn.execute(_LAST_SEQUENCES, {"order_ids": ids[start : start + 500]})
            last.update({order_id: int(top) for order_id, top in rows})
        return last

    def history(self, order_id: int) -> list[dict[str, Any]]:
        """The order's recorded changes, oldest first."""
        stmt = (
            select(order_changes)
            .where(order_changes.c.order_id == order_id)
            .order_by(order_changes.c.id)
        )
        return self._all(stmt, _change)

    def for_order(self, order_id: int) -> list[dict[str, Any]]:
        stmt = select(events).where(events.c.order_id == order_id).order_by(events.c.id)
        return self._all(stmt, lambda row: dict(row) | {"data": _exact(row["data"])})


def event_payload(recorded: RecordedEvent) -> dict[str, Any]:
    """The JSON body subscribers receive (the order itself is fetched by the deliverer)."""
    event = recorded.event
    return {
        "id": recorded.event_id,
        "type": str(event.type),
        "order_id": event.order_id,
        "sequence": recorded.sequence,
        "occurred_at": event.occurred_at,
        "source": str(event.source),
        "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in event.changes],
    }


def _event_row(recorded: RecordedEvent) -> dict[str, Any]:
    """The events row: the payload's columns, the actor, and the payload itself as `data`."""
    payload = event_payload(recorded)
    names = ("type", "order_id", "sequence", "occurred_at", "source")
    return {name: payload[name] for name in names} | {
        "event_id": recorded.event_id,
        "actor": recorded.event.actor,
        "data": dumps(payload).decode(),
    }


def _history_rows(recorded: RecordedEvent) -> list[dict[str, Any]]:
    event = recorded.event
    if event.type is not EventType.UPDATED:
        return []
    return [
        {
            "order_id": event.order_id,
            "event_id": recorded.event_id,
            "at": event.occurred_at,
            "source": str(event.source),
            "actor": event.actor,
            "field": change.field,
            "old": dumps(change.old).decode(),
            "new": dumps(change.new).decode(),
        }
        for change in event.changes
    ]


def _change(row: Any) -> dict[str, Any]:
    return {
        "event_id": row["event_id"],
        "at": row["at"],
        "source": row["source"],
        "actor": row["actor"],
        "field": row["field"],
        "old": _exact(row["old"]),
        "new": _exact(row["new"]),
    }


def _exact(text: str | None) -> Any:
    """JSON text back to values, amounts as Decimal (history must not round money)."""
    return None if text is None else json.loads(text, parse_float=Decimal)
