"""What the order page shows beside the order itself, read in one connection: its change
history as a timeline, its shipments, cancellations and returns, the e-mails and webhook
deliveries it caused, and the statuses a merchant may move it to next.

A stale form (services/updates.py's PreconditionFailed) is explained with `changes_since`:
the timeline entries recorded after the ones the page showed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import Engine

from orderhub.domain import Order, Status
from orderhub.domain.events import FieldChange
from orderhub.domain.fulfilment import LineAction
from orderhub.domain.status import MERCHANT_TRANSITIONS
from orderhub.services.mail import TOPIC as MAIL_TOPIC
from orderhub.services.orders import OrderNotFound
from orderhub.store import OrderRepository, StoredOrder
from orderhub.store.events import EventRepository
from orderhub.store.fulfilment import LineRecord, LineRecordRepository
from orderhub.store.outbox import OutboxItem, OutboxRepository
from orderhub.store.webhooks import Delivery, WebhookRepository

#: How many e-mails and webhook deliveries the page lists (the newest).
LISTED = 50
#: A value longer than this is shown as "changed" (lines, addresses: the API's history has them).
_SHORT = 80


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One moment of the order's life: who or what did it, and the fields it changed."""

    at: datetime
    who: str
    what: str
    #: Each field's old and new value in words (`shown`).
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderDetail:
    stored: StoredOrder
    order: Order
    timeline: list[TimelineEntry]
    #: The recorded changes, one row per field, oldest first (GET /v1/orders/{id}/history).
    history: list[dict[str, Any]]
    records: dict[LineAction, list[LineRecord]]
    mail: list[OutboxItem]
    #: (subscription id, delivery), newest first.
    deliveries: list[tuple[int, Delivery]]
    next_statuses: list[Status] = field(default_factory=list)

    @property
    def version(self) -> int:
        return self.stored.version

    @property
    def seen(self) -> int:
        """How many history rows the page showed: a form carries it, so a stale post can
        list what was recorded after them."""
        return len(self.history)

    def changes_since(self, seen: int) -> list[TimelineEntry]:
        """The changes recorded after the first `seen` history rows."""
        return _grouped(self.history[max(seen, 0) :])


def next_statuses(current: Status) -> list[Status]:
    """What the status form offers: the transition table's next statuses, less
    `partially_shipped`, which only a shipment of some lines reaches (the PUT refuses it)."""
    allowed = MERCHANT_TRANSITIONS[current] - {Status.PARTIALLY_SHIPPED}
    return sorted(allowed, key=lambda status: status.value)


def order_detail(engine: Engine, order_id: int) -> OrderDetail:
    """The order and everything its page shows; OrderNotFound when there is none."""
    with engine.connect() as conn:  # a read: no write lock (a UnitOfWork takes one)
        stored = OrderRepository(conn).get(order_id)
        if stored is None:
            raise OrderNotFound(order_id)
        history = EventRepository(conn).history(order_id)
        lines = LineRecordRepository(conn)
        records = {action: lines.of_order(action, order_id) for action in LineAction}
        mail = OutboxRepository(conn).of_order(order_id, MAIL_TOPIC, LISTED)
        deliveries = WebhookRepository(conn).of_order(order_id, LISTED)
    order = stored.to_order()
    return OrderDetail(
        stored=stored,
        order=order,
        timeline=timeline(order, history),
        history=history,
        records=records,
        mail=mail,
        deliveries=deliveries,
        next_statuses=next_statuses(order.status),
    )


def timeline(order: Order, history: list[dict[str, Any]]) -> list[TimelineEntry]:
    """Oldest first: the order placed, the statuses the channel reported before the hub
    recorded changes, then each recorded change (its fields, who made it)."""
    first_change = history[0]["at"] if history else None
    entries = [TimelineEntry(order.created_at, "customer", f"Order placed on {order.channel}")]
    entries += [
        TimelineEntry(change.at, str(change.source), f"Status {change.status}")
        for change in order.status_history
        if first_change is None or change.at < first_change
    ]
    entries += _grouped(history)
    return sorted(entries, key=lambda entry: entry.at)


def _grouped(history: list[dict[str, Any]]) -> list[TimelineEntry]:
    """History rows (one per field) as one entry per change (event)."""
    entries = []
    for _, rows in groupby(history, key=lambda row: row["event_id"]):
        group = list(rows)
        first = group[0]
        changes = tuple(
            FieldChange(row["field"], shown(row["old"]), shown(row["new"])) for row in group
        )
        who = first["actor"] or first["source"]
        fields = ", ".join(change.field for change in changes)
        entries.append(TimelineEntry(first["at"], str(who), f"changed {fields}", changes))
    return entries


def shown(value: Any) -> str:
    """A history value in words: nested parts (lines, addresses) as "changed"."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        text = ", ".join(value) or "(none)"
    elif isinstance(value, dict | list):
        return "(changed)"
    else:
        text = str(value)
    return text if len(text) <= _SHORT else text[:_SHORT] + "…"
