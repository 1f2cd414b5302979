"""Shipments, cancellations and returns of single lines (POST /v1/orders/{id}/shipments,
/cancellations, /returns): the same write path as PUT /v1/orders/{id} (services/updates.py:
If-Match, history, webhooks, one transaction), plus the action's own record and its push.

Every refusal (an unknown line, more than is left, a status the transition table does not
allow, shipped without tracking) is raised before anything is written.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import Engine

from orderhub.domain import Order, check_transition
from orderhub.domain.fulfilment import LineAction, LineQuantity, applied, resolve
from orderhub.domain.order import OrderLine
from orderhub.services.line_request import LineActionRequest
from orderhub.services.mail import STATUS_UNCHANGED, Notification, notify_customer
from orderhub.services.orders import OrderNotFound
from orderhub.services.push import enqueue_line_push
from orderhub.services.updates import check_requirements, locked_order, run_change, write_change
from orderhub.store import OrderRepository, StoredOrder, UnitOfWork
from orderhub.store.fulfilment import LineRecord, LineRecordRepository, NewRecord

_TOTAL_FIELD = {
    LineAction.SHIPMENT: "delivered_quantity",
    LineAction.CANCELLATION: "cancelled_quantity",
    LineAction.RETURN: "returned_quantity",
}


@dataclass(frozen=True, slots=True)
class LineActionResult:
    record: LineRecord
    order: StoredOrder
    #: None unless the request asked for notify_user.
    notification: Notification | None = None


def record_line_action(
    engine: Engine,
    order_id: int,
    request: LineActionRequest,
    actor: str,
    if_match: Collection[int] | None = None,
) -> LineActionResult:
    """Apply the action to the order's lines, record it, and queue its push."""
    return run_change(
        engine, order_id, if_match, lambda uow: _apply(uow, order_id, request, actor, if_match)
    )


def _apply(
    uow: UnitOfWork,
    order_id: int,
    request: LineActionRequest,
    actor: str,
    if_match: Collection[int] | None,
) -> LineActionResult:
    stored = locked_order(uow, order_id, if_match)
    before = stored.to_order()
    quantities = resolve(before, request.action, request.lines)
    after = planned(before, request, quantities)
    written = write_change(uow, stored, after, actor)
    records = LineRecordRepository(uow.conn)
    record_id = records.add(
        NewRecord(
            order_id=order_id,
            action=request.action,
            lines=_record_lines(written.order, request.action, quantities),
            amount=_amount(before.lines, quantities),
            created_at=written.order.updated_at,
            created_by=actor,
            carrier=request.carrier,
            tracking_number=request.tracking_number,
            tracking_url=request.tracking_url,
            reason=request.reason,
        )
    )
    enqueue_line_push(uow, written.order, request.action, record_id, written.recorded)
    notification = None
    if request.notify_user:
        changed = written.order.status != before.status
        notification = (
            notify_customer(uow.outbox, written.order, stored.version + 1)
            if changed
            else STATUS_UNCHANGED
        )
    record = records.get(request.action, record_id)
    fresh = uow.orders.get(order_id)
    assert record is not None and fresh is not None  # written in this transaction
    return LineActionResult(record, fresh, notification)


def planned(before: Order, request: LineActionRequest, quantities: list[LineQuantity]) -> Order:
    """The order after the action: its lines, the status they say, a shipment's tracking."""
    after = applied(before, request.action, quantities)
    tracking = {
        name: value
        for name in ("carrier", "tracking_number", "tracking_url")
        if (value := getattr(request, name)) is not None
    }
    after = replace(after, **tracking)
    if after.status != before.status:
        check_transition(before.status, after.status)
    check_requirements(before, after, tracking.keys())
    return after


def _record_lines(
    order: Order, action: LineAction, quantities: list[LineQuantity]
) -> list[dict[str, object]]:
    lines = {line.line_id: line for line in order.lines}
    field = _TOTAL_FIELD[action]
    return [
        {"line_id": item.line_id, "sku": lines[item.line_id].sku, "quantity": item.quantity,
         "total_after": getattr(lines[item.line_id], field)}
        for item in quantities
    ]  # fmt: skip


def _amount(lines: list[OrderLine], quantities: list[LineQuantity]) -> Decimal:
    prices = {line.line_id: line.unit_price for line in lines}
    return sum((prices[item.line_id] * item.quantity for item in quantities), Decimal(0))


def list_line_actions(engine: Engine, order_id: int, action: LineAction) -> list[LineRecord]:
    """The order's shipments (or cancellations, or returns), oldest first; 404 for no order."""
    with engine.connect() as conn:  # a read: no write lock (a UnitOfWork takes one)
        if OrderRepository(conn).get(order_id) is None:
            raise OrderNotFound(order_id)
        return LineRecordRepository(conn).of_order(action, order_id)
