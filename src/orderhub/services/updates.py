"""Merchant changes to an order (PUT /v1/orders/{id}): one transaction for the change, its
history and events (webhooks), and the customer's e-mail in the outbox."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine

from orderhub.domain import (
    Conflict,
    InvalidInput,
    Order,
    OrderhubError,
    Status,
    StatusChange,
    StatusSource,
    check_transition,
)
from orderhub.domain.events import FieldChange, diff_orders, events_for_change
from orderhub.domain.status import REQUIRED_FOR
from orderhub.domain.tags import edited, too_many
from orderhub.services.mail import (
    STATUS_UNCHANGED,
    Notification,
    Notifier,
    notify_customer,
    who_notifies,
)
from orderhub.services.orders import OrderNotFound
from orderhub.services.push import enqueue_push
from orderhub.services.update_request import OrderUpdate
from orderhub.store import StoredOrder, UnitOfWork
from orderhub.store.events import RecordedEvent

T = TypeVar("T")

#: Tries when another writer changed the order between our read and our write (no If-Match);
#: the row lock of get_for_update makes that rare, the version check makes it safe.
_ATTEMPTS = 3


class PreconditionFailed(OrderhubError):
    """If-Match named a version the order is no longer at (412)."""

    status_code = 412
    title = "Precondition failed"

    def __init__(self, order_id: int, current: int | None = None) -> None:
        self.current = current
        now = f"; it is now at {current}" if current is not None else ""
        super().__init__(f"order {order_id} changed since the version If-Match names{now}")


class _LostRace(Exception):
    """Another writer changed the order after we read it."""


@dataclass(frozen=True, slots=True)
class UpdateResult:
    order: StoredOrder
    changes: tuple[FieldChange, ...]
    #: None unless the request asked for notify_user.
    notification: Notification | None


def update_order(
    engine: Engine,
    order_id: int,
    update: OrderUpdate,
    actor: str,
    if_match: Collection[int] | None = None,
) -> UpdateResult:
    """Apply a merchant's change; `if_match` holds the versions the client accepts (None: any)."""
    return run_change(
        engine, order_id, if_match, lambda uow: apply_update(uow, order_id, update, actor, if_match)
    )


def run_change(
    engine: Engine,
    order_id: int,
    if_match: Collection[int] | None,
    change: Callable[[UnitOfWork], T],
) -> T:
    """`change` in a unit of work, read again when another writer won the race (without
    If-Match; with it, a 412)."""
    for _ in range(_ATTEMPTS):
        try:
            with UnitOfWork(engine) as uow:
                return change(uow)
        except _LostRace:
            if if_match is not None:
                raise PreconditionFailed(order_id) from None
    raise Conflict(f"order {order_id} kept changing while this change was made; send it again")


def locked_order(uow: UnitOfWork, order_id: int, if_match: Collection[int] | None) -> StoredOrder:
    """The order, locked for this change, at a version If-Match accepts."""
    stored = uow.orders.get_for_update(order_id)
    if stored is None:
        raise OrderNotFound(order_id)
    if if_match is not None and stored.version not in if_match:
        raise PreconditionFailed(order_id, stored.version)
    return stored


@dataclass(frozen=True, slots=True)
class Written:
    """A merchant's change as written: the order (stamped), what changed, the events."""

    order: Order
    changes: list[FieldChange]
    recorded: list[RecordedEvent]


def write_change(uow: UnitOfWork, stored: StoredOrder, after: Order, actor: str) -> Written:
    """Write `after` over `stored` (its history, events and webhooks too) if anything changed."""
    before = stored.to_order()
    at = datetime.now(UTC)
    changes = diff_orders(before, after)
    if not changes:
        return Written(before, [], [])
    after, written = _stamped(before, after, changes, at)
    if not uow.orders.update(after, written, stored.version):
        raise _LostRace
    assert before.id is not None
    recorded = uow.publish(events_for_change(before.id, changes, at, StatusSource.API, actor))
    return Written(after, changes, recorded)


def apply_update(
    uow: UnitOfWork,
    order_id: int,
    update: OrderUpdate,
    actor: str,
    if_match: Collection[int] | None,
) -> UpdateResult:
    """The change in the caller's unit of work; every refusal is raised before any write."""
    stored = locked_order(uow, order_id, if_match)
    before = stored.to_order()
    written = write_change(uow, stored, planned(before, update), actor)
    if not written.changes:
        return UpdateResult(stored, (), STATUS_UNCHANGED if update.notify_user else None)
    after = written.order
    # The channel that owns the order hears of it through the outbox (services/push.py).
    enqueue_push(uow, after, written.changes, written.recorded, _channel_notifies(after, update))
    notification = _notify(uow, before, after, update, version=stored.version + 1)
    fresh = uow.orders.get(order_id)
    assert fresh is not None  # we hold the row we just wrote
    return UpdateResult(fresh, tuple(written.changes), notification)


def _channel_notifies(order: Order, update: OrderUpdate) -> bool:
    """notify_user travels with the push when the channel, not the hub, e-mails the customer."""
    return update.notify_user and who_notifies(order) is Notifier.CHANNEL


def _notify(
    uow: UnitOfWork, before: Order, after: Order, update: OrderUpdate, version: int
) -> Notification | None:
    """The customer hears about status changes only, and only when the merchant asks."""
    if not update.notify_user:
        return None
    if after.status == before.status:
        return STATUS_UNCHANGED
    return notify_customer(uow.outbox, after, version)


def planned(before: Order, update: OrderUpdate) -> Order:
    """The order as the merchant wants it, or TransitionRefused / InvalidInput why not."""
    requested = update.changes.get("status")
    if isinstance(requested, Status):
        check_transition(before.status, requested)
    after = replace(before, **update.changes)
    if update.add_tags or update.remove_tags:
        after.tags = edited(after.tags, update.add_tags, update.remove_tags)
    if (why := too_many(after.tags)) is not None:
        raise InvalidInput("tags", why)
    _by_lines_only(requested)
    check_requirements(before, after, update.changes.keys())
    delivered_at = update.changes.get("delivered_at")
    if delivered_at is not None and delivered_at < after.created_at:
        raise InvalidInput(
            "delivered_at", f"a time after the order was placed ({after.created_at.isoformat()})"
        )
    return after


def _by_lines_only(requested: object) -> None:
    if requested is Status.PARTIALLY_SHIPPED:
        raise InvalidInput("status", "a status other than partially_shipped: an order is partly "
                           "shipped by POST /v1/orders/{id}/shipments")  # fmt: skip


def check_requirements(before: Order, after: Order, touched: Collection[str]) -> None:
    """A status that needs fields (shipped: tracking, delivered: delivered_at) gets them when it
    is entered, and keeps them while the merchant changes other things."""
    required = REQUIRED_FOR.get(after.status, ())
    if after.status == before.status and not set(required) & set(touched):
        return
    missing = [name for name in required if getattr(after, name) is None]
    if missing:
        raise InvalidInput(
            missing[0], f"a value: status {after.status} needs {' and '.join(required)}"
        )


def _stamped(
    before: Order, after: Order, changes: list[FieldChange], at: datetime
) -> tuple[Order, list[str]]:
    """The order with its bookkeeping (updated_at, the status history) and the fields to write.

    Tags alone leave `updated_at`: it is what a channel's report is compared with (a sync
    ignores reports older than it), and labelling orders must not hide the channel's news.
    """
    written = [change.field for change in changes]
    if written == ["tags"]:
        return after, written
    written.append("updated_at")
    history = before.status_history
    if after.status != before.status:
        history = [*history, StatusChange(after.status, at, StatusSource.API)]
        written.append("status_history")
    # Never backwards: a channel clock ahead of ours must not make the order look older.
    updated_at = max(at, before.updated_at)
    return replace(after, updated_at=updated_at, status_history=history), written
