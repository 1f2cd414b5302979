"""The Dexero sandbox's orders: generated canonical orders, reshaped to what Dexero can say, and
written as Dexero JSON by the sandbox's own writer (`sandbox_payload`, not the hub's codec).

Deterministic: the same seed gives the same orders (and ids).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderhub.channels.dexero.sandbox_payload import dexero_payload
from orderhub.channels.sandbox_life import SampleOrders, placed_now
from orderhub.domain import Order, PaymentStatus, Status

#: An order as Dexero JSON (amounts as Decimal).
Payload = dict[str, Any]

#: Canonical statuses Dexero has no word for: dropped from a generated order's path.
_NOT_IN_DEXERO = frozenset({Status.BACKORDERED, Status.DELIVERED, Status.RETURNING, Status.LOST})
#: Payment states Dexero's totals cannot say, and what the sandbox says instead.
_PAYMENT = {PaymentStatus.NOT_APPLICABLE: PaymentStatus.UNPAID,
            PaymentStatus.REFUND_PENDING: PaymentStatus.PAID}  # fmt: skip


def arrival(order: Order, seed: int, now: datetime) -> Payload:
    """A generated order placed just now: `pending`, not yet paid."""
    fresh = placed_now(
        order, Status.OPEN, now, channel_status="pending", payment_status=PaymentStatus.UNPAID
    )
    return to_payload(fresh, seed)


def to_payload(order: Order, seed: int) -> Payload:
    """Dexero JSON for a Dexero-shaped order, written by the sandbox itself."""
    return dexero_payload(order, seed)


def as_dexero(order: Order) -> Order:
    """Reshape a generated order to what Dexero can show.

    Statuses Dexero lacks leave the path (failed becomes cancelled); an order never paid is
    `pending`, a paid one waiting for the merchant `untreated`; payment states Dexero's totals
    cannot express become the nearest one they can.
    """
    history = [
        replace(change, status=Status.CANCELLED) if change.status is Status.FAILED else change
        for change in order.status_history
        if change.status not in _NOT_IN_DEXERO
    ]
    paid = len(history) > 1 and history[1].status is Status.OPEN
    if history[0].status is Status.PENDING:
        history = history[1:] if paid else [replace(history[0], status=Status.OPEN), *history[1:]]
    last = history[-1]
    channel_status = ("untreated" if paid else "pending") if last.status is Status.OPEN else ""
    return replace(
        order,
        status=last.status,
        channel_status=channel_status,
        payment_status=_PAYMENT.get(order.payment_status, order.payment_status),
        status_history=history,
        updated_at=last.at,
        cod=None,
        extra={},
    )


def loads(text: str | bytes) -> Payload:
    """Dexero JSON with exact amounts (JSON numbers with a fraction read as Decimal)."""
    value: Payload = json.loads(text, parse_float=Decimal)
    return value


#: The sandbox's orders: those of the sample account dexero-dk, reshaped to what Dexero can say.
ORDERS = SampleOrders("dexero-dk", to_payload, as_dexero)
