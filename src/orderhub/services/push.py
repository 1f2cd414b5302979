"""Push-back: a merchant's change (PUT /v1/orders/{id}) goes to the channel that owns the order.

`enqueue_push` runs inside the change's transaction (services/updates.py): one outbox row,
topic "push", per change that touches something a channel takes, de-duplicated on the change's
event id, and the order's `push_status` becomes `pending`. `Pusher` is the outbox handler: it
loads the order as it is NOW and pushes the current values of the fields that change touched
(never a stale snapshot), at the status that change set (each status change is one step the
channel checks), one row at a time per order, in the order the changes were made.
Outcomes: `pushed`; `unsupported` (the channel has no call for it); `refused` with the
channel's message (no retry); transient failures retry, and `failed` once retries run out.
See docs/push-back.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine

from orderhub.channels.base import (
    Account,
    ChannelError,
    Connector,
    Fatal,
    LineChange,
    LineTarget,
    OrderChange,
    Retriable,
    Unsupported,
)
from orderhub.channels.registry import open_connector
from orderhub.domain import ChannelType, Order, Status
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.domain.events import EventType, FieldChange
from orderhub.domain.fulfilment import LineAction
from orderhub.domain.order import PushStatus
from orderhub.services.channels import ConfigError, load_config
from orderhub.services.outbox import Backoff, Defer, GiveUp, RetryLater, register
from orderhub.settings import get_settings
from orderhub.store import UnitOfWork
from orderhub.store.events import RecordedEvent
from orderhub.store.fulfilment import LineRecord, LineRecordRepository
from orderhub.store.outbox import OutboxItem
from orderhub.store.push import TOPIC, FailedPush, PushRepository

__all__ = [
    "SCHEDULE", "TOPIC", "FailedPush", "Pusher", "change_for", "enqueue_line_push", "enqueue_push",
    "failed_pushes", "install", "line_change", "send_lines",
]  # fmt: skip

log = logging.getLogger(__name__)

#: 10 s, doubling to at most 30 min, 12 attempts (about 2.5 hours) before `failed`.
SCHEDULE = Backoff(first=10.0, factor=2.0, cap=1800.0, attempts=12)
#: Channel types with no write calls at all: the change stays in the hub, and the PUT says so.
NO_WRITE_CALLS = {
    ChannelType.DEXERO.value: "Dexero documents no write calls: the change is kept in the hub only"
}
_TRACKING = frozenset({"tracking_number", "tracking_url", "carrier"})
#: The statuses a status change sends the order's tracking with (MALL's client: both).
_WITH_TRACKING = frozenset({Status.SHIPPING, Status.SHIPPED})
#: The statuses a channel without per-line calls is told when a line action reaches them.
_ORDER_LEVEL = frozenset({Status.SHIPPED, Status.CANCELLED, Status.RETURNED})
_PUSHABLE = frozenset({"status", "confirmed", "vendor_ref", "delivered_at", *_TRACKING})

AccountLookup = Callable[[str], Account]


def change_for(order: Order, fields: Collection[str], notify_user: bool = False) -> OrderChange:
    """What to send for a change of `fields`: the order's CURRENT values of them.

    Tracking travels with `shipping` and `shipped` (or alone while the order is shipped),
    `delivered_at` with `delivered`; `confirmed` only as true and `vendor_ref` only when set
    (channels have no "unconfirm" or "remove the reference" call).
    """
    status = order.status if "status" in fields else None
    shipped = status in _WITH_TRACKING or (status is None and order.status is Status.SHIPPED)
    tracking = shipped and (status is not None or bool(_TRACKING & set(fields)))
    return OrderChange(
        external_id=order.external_id,
        status=status,
        tracking_number=order.tracking_number if tracking else None,
        tracking_url=order.tracking_url if tracking else None,
        carrier=order.carrier if tracking else None,
        delivered_at=order.delivered_at if status is Status.DELIVERED else None,
        notify_user=notify_user and status is not None,
        vendor_ref=order.vendor_ref if "vendor_ref" in fields else None,
        confirmed="confirmed" in fields and order.confirmed,
    )


def is_empty(change: OrderChange) -> bool:
    """Nothing a channel could be told (the hub's own fields only)."""
    return change == OrderChange(change.external_id)


def enqueue_push(
    uow: UnitOfWork,
    order: Order,
    changes: Sequence[FieldChange],
    recorded: Sequence[RecordedEvent],
    notify_user: bool,
) -> None:
    """In the change's transaction: queue its push (or say why there is none) on the order."""
    assert order.id is not None
    fields = sorted(_PUSHABLE & {c.field for c in changes})
    if is_empty(change_for(order, fields, notify_user)):
        return
    repo = PushRepository(uow.conn)
    reason = NO_WRITE_CALLS.get(str(order.channel_type))
    if reason is not None:
        repo.set_state(order.id, PushStatus.UNSUPPORTED, reason, bump_version=False)
        return
    event_id = next(r.event_id for r in recorded if r.event.type is EventType.UPDATED)
    # The status this change set travels with it: a channel checks each step of the path
    # (MALL: open -> shipped -> delivered), so two quick changes are two steps, not one jump.
    step = order.status.value if "status" in fields else None
    payload = {"order_id": order.id, "event_id": event_id, "fields": fields,
               "notify_user": notify_user, "status": step}  # fmt: skip
    uow.outbox.enqueue(TOPIC, payload, dedupe_key=f"push:{event_id}", order_id=order.id)
    repo.set_state(order.id, PushStatus.PENDING, None, bump_version=False)


def enqueue_line_push(
    uow: UnitOfWork,
    order: Order,
    action: LineAction,
    record_id: int,
    recorded: Sequence[RecordedEvent],
) -> None:
    """In a shipment's (cancellation's, return's) transaction: queue its push, on the same
    topic as the order's other changes, so they reach the channel in the order made."""
    assert order.id is not None
    repo = PushRepository(uow.conn)
    records = LineRecordRepository(uow.conn)
    reason = NO_WRITE_CALLS.get(str(order.channel_type))
    if reason is not None:
        records.set_push(action, record_id, PushStatus.UNSUPPORTED, reason)
        repo.set_state(order.id, PushStatus.UNSUPPORTED, reason, bump_version=False)
        return
    event_id = next(r.event_id for r in recorded if r.event.type is EventType.UPDATED)
    payload = {
        "order_id": order.id,
        "event_id": event_id,
        "fields": [],
        "notify_user": False,
        "status": order.status.value,
        "action": action.value,
        "record_id": record_id,
    }
    uow.outbox.enqueue(TOPIC, payload, dedupe_key=f"push:{event_id}", order_id=order.id)
    records.set_push(action, record_id, PushStatus.PENDING, None)
    repo.set_state(order.id, PushStatus.PENDING, None, bump_version=False)


def line_change(order: Order, record: LineRecord) -> LineChange:
    """What to send for a shipment, cancellation or return: its lines as recorded."""
    return LineChange(
        external_id=order.external_id,
        action=record.action,
        lines=tuple(
            LineTarget(str(line["line_id"]), int(line["quantity"]), int(line["total_after"]))
            for line in record.lines
        ),
        status=order.status,
        tracking_number=record.tracking_number,
        tracking_url=record.tracking_url,
        carrier=record.carrier,
        reason=record.reason,
    )


def send_lines(connector: Connector, change: LineChange, order: Order) -> None:
    """The channel's per-line call; a channel without one hears the order's status once the
    lines complete it (shipped, cancelled, returned), and nothing before (unsupported)."""
    try:
        connector.push_lines(change)
    except Unsupported as exc:
        if change.status not in _ORDER_LEVEL:
            raise Unsupported(f"{exc}: the {change.action} stays in the hub; the order's "
                              "status is pushed when its lines complete it") from exc  # fmt: skip
        connector.push(change_for(order, ["status"]))


def configured_account(name: str) -> Account:
    """The account from orderhub.toml (read at every push: a fixed config applies at once)."""
    for config in load_config(get_settings().config_file):
        if config.name == name:
            return config.account()
    raise ConfigError(f"channel {name!r} is not in {get_settings().config_file}")


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: PushStatus
    error: str | None = None


@dataclass
class Pusher:
    """The outbox handler of topic "push"."""

    engine: Engine
    accounts: AccountLookup = configured_account
    backoff: Backoff = SCHEDULE
    clock: Clock = SYSTEM_CLOCK

    def __call__(self, item: OutboxItem) -> None:
        order_id = int(item.payload["order_id"])
        last = item.attempts + 1 >= self.backoff.attempts
        try:
            outcome = self._attempt(item, order_id)
        except RetryLater as exc:
            self._record(item, order_id, _Outcome(PushStatus.FAILED if last else PushStatus.PENDING,
                                                  str(exc)))  # fmt: skip
            if last:
                raise GiveUp(str(exc)) from exc
            raise
        self._record(item, order_id, outcome)
        if outcome.status in (PushStatus.REFUSED, PushStatus.FAILED):
            raise GiveUp(outcome.error or str(outcome.status))

    def _attempt(self, item: OutboxItem, order_id: int) -> _Outcome:
        try:
            self._wait_for_earlier(item, order_id)
            with UnitOfWork(self.engine) as uow:
                stored = uow.orders.get(order_id)
            if stored is None:
                return _Outcome(PushStatus.FAILED, "the order no longer exists in the hub")
            order = _at_step(stored.to_order(), item.payload.get("status"))
            if "record_id" in item.payload:
                return self._push_record(order, item.payload)
            change = change_for(order, item.payload["fields"], bool(item.payload["notify_user"]))
            if is_empty(change):  # a later change took back what this one asked for
                return _Outcome(PushStatus.PUSHED)
            return self._push(
                self._account(order.channel),
                lambda connector: connector.push(change),
                lambda connector: _already_there(connector, change),
            )
        except (RetryLater, Defer):
            raise
        except Exception as exc:  # a bug or a database hiccup: retried, and shown meanwhile
            log.exception("push of order %s failed", order_id)
            raise RetryLater(f"{type(exc).__name__}: {exc}") from exc

    def _wait_for_earlier(self, item: OutboxItem, order_id: int) -> None:
        with UnitOfWork(self.engine) as uow:
            due = PushRepository(uow.conn).earlier_pending(order_id, item.id)
        if due is not None:
            wait = (due - self.clock.now()).total_seconds() + 1.0
            raise Defer("waiting for an earlier change of this order", after=max(1.0, wait))

    def _account(self, name: str) -> Account:
        try:
            return self.accounts(name)
        except ConfigError as exc:
            raise RetryLater(f"configuration: {exc}") from exc

    def _push_record(self, order: Order, payload: dict[str, Any]) -> _Outcome:
        action = LineAction(payload["action"])
        with UnitOfWork(self.engine) as uow:
            record = LineRecordRepository(uow.conn).get(action, int(payload["record_id"]))
        if record is None:
            return _Outcome(PushStatus.FAILED, f"the {action} no longer exists in the hub")
        change = line_change(order, record)
        return self._push(
            self._account(order.channel),
            lambda connector: send_lines(connector, change, order),
            # A per-line push sends only what the channel lacks; the order's status that
            # completes it may be refused as already there (a repeat after a lost answer).
            lambda connector: (
                change.status in _ORDER_LEVEL
                and _already_there(connector, change_for(order, ["status"]))
            ),
        )

    def _push(
        self,
        account: Account,
        send: Callable[[Connector], None],
        there: Callable[[Connector], bool],
    ) -> _Outcome:
        try:
            connector = open_connector(account)
        except Unsupported as exc:
            return _Outcome(PushStatus.UNSUPPORTED, str(exc))
        except ChannelError as exc:
            raise RetryLater(f"configuration: {exc}") from exc
        try:
            send(connector)
        except Unsupported as exc:
            return _Outcome(PushStatus.UNSUPPORTED, str(exc))
        except Fatal as exc:
            if there(connector):
                return _Outcome(PushStatus.PUSHED)
            return _Outcome(PushStatus.REFUSED, str(exc) or type(exc).__name__)
        except Retriable as exc:
            raise RetryLater(str(exc), after=exc.retry_after) from exc
        finally:
            connector.close()
        return _Outcome(PushStatus.PUSHED)

    def _record(self, item: OutboxItem, order_id: int, outcome: _Outcome) -> None:
        """The order shows the outcome of its newest change: a newer row still waiting for
        its turn settles the state, so this one leaves it `pending`."""
        with UnitOfWork(self.engine) as uow:
            repo = PushRepository(uow.conn)
            if "record_id" in item.payload:
                LineRecordRepository(uow.conn).set_push(
                    LineAction(item.payload["action"]), int(item.payload["record_id"]),
                    outcome.status, outcome.error,
                )  # fmt: skip
            if not repo.later_pending(order_id, item.id):
                repo.set_state(order_id, outcome.status, outcome.error, bump_version=True)


def _at_step(order: Order, step: str | None) -> Order:
    """The order's current values, at the status the change set (rows queued before the
    status travelled with them carry none: the current status)."""
    return order if step is None else replace(order, status=Status(step))


def _already_there(connector: Connector, change: OrderChange) -> bool:
    """A refusal of what the channel already holds is success: at-least-once delivery repeats
    a push whose answer was lost, and the channel refuses e.g. shipped -> shipped."""
    if change.status is None and change.tracking_number is None:
        return False
    try:
        page = connector.fetch([change.external_id])
    except ChannelError:
        return False
    current = next((o for o in page.orders if o.external_id == change.external_id), None)
    if current is None:
        return False
    return all(
        getattr(current, name) == value
        for name in ("status", "tracking_number", "tracking_url")
        if (value := getattr(change, name)) is not None
    )


def failed_pushes(engine: Engine, channel: str | None = None, limit: int = 100) -> list[FailedPush]:
    """Orders whose newest push-back gave up (refused, or out of retries), newest first."""
    with engine.connect() as conn:
        return PushRepository(conn).failed(channel, limit)


def install(engine: Engine, clock: Clock = SYSTEM_CLOCK) -> None:
    """Register the push handler for `orderhub worker` (services.outbox.TOPICS)."""
    register(TOPIC, Pusher(engine, clock=clock), SCHEDULE)
