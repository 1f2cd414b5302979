"""Domain events: what happened to an order, recorded with the change that caused it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from orderhub.domain.order import Order, StatusSource

#: Fields whose changes are bookkeeping, not news: never recorded as a change on their own.
_NOT_NEWS = frozenset({"id", "updated_at", "status_history"})


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class OrderEvent:
    type: EventType
    order_id: int
    occurred_at: datetime
    source: StatusSource
    changes: tuple[FieldChange, ...] = ()
    #: Who asked for it: the API key's name for merchant changes, None for channel and system.
    actor: str | None = None


class EventType(StrEnum):
    CREATED = "order.created"
    UPDATED = "order.updated"
    STATUS_CHANGED = "order.status_changed"


def diff_orders(old: Order, new: Order) -> list[FieldChange]:
    """Every field (scalar or nested) whose value differs, in the model's field order."""
    changes = []
    for spec in fields(Order):
        name = spec.name
        if name in _NOT_NEWS:
            continue
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            changes.append(FieldChange(name, before, after))
    return changes


def events_for_change(
    order_id: int,
    changes: list[FieldChange],
    at: datetime,
    source: StatusSource,
    actor: str | None = None,
) -> list[OrderEvent]:
    """order.updated for any change, plus order.status_changed when the status moved."""
    if not changes:
        return []
    events = [OrderEvent(EventType.UPDATED, order_id, at, source, tuple(changes), actor)]
    status = [c for c in changes if c.field == "status"]
    if status:
        events.append(
            OrderEvent(EventType.STATUS_CHANGED, order_id, at, source, tuple(status), actor)
        )
    return events


class ChannelEventType(StrEnum):
    """What happened to a channel account's syncing (docs/sync.md, "Sync health")."""

    SYNC_FAILED = "channel.sync_failed"
    SYNC_RECOVERED = "channel.sync_recovered"
    OVERDUE = "channel.overdue"


class JobEventType(StrEnum):
    """What happened to a bulk job (docs/bulk-jobs.md)."""

    FINISHED = "job.finished"


class WebhookEventType(StrEnum):
    """What happened to a webhook subscription (docs/webhooks.md)."""

    DISABLED = "webhook.disabled"


__all__ = [
    "ChannelEventType",
    "EventType",
    "FieldChange",
    "JobEventType",
    "OrderEvent",
    "WebhookEventType",
    "diff_orders",
    "events_for_change",
]
