"""The Dexero sandbox's orders: generated canonical orders, reshaped to what Dexero can say, and
written as Dexero JSON by the sandbox's own writer (`sandbox_payload`, not the hub's codec).

Deterministic: the same seed gives the same orders (and ids).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderhub.channels.dexero.sandbox_payload import dexero_payload
from orderhub.channels.sandbox_life import starting_orders
from orderhub.domain import Order, PaymentStatus, Status, StatusChange, StatusSource
from orderhub.domain.samples import ACCOUNTS, generate_orders

#: The Dexero account the sandbox generates orders for.
ACCOUNT = next(account for account in ACCOUNTS if account.type == "dexero")
#: An order as Dexero JSON (amounts as Decimal).
Payload = dict[str, Any]

#: Canonical statuses Dexero has no word for: dropped from a generated order's path.
_NOT_IN_DEXERO = frozenset({Status.BACKORDERED, Status.DELIVERED, Status.RETURNING, Status.LOST})
#: Payment states Dexero's totals cannot say, and what the sandbox says instead.
_PAYMENT = {PaymentStatus.NOT_APPLICABLE: PaymentStatus.UNPAID,
            PaymentStatus.REFUND_PENDING: PaymentStatus.PAID}  # fmt: skip


def generated(count: int, seed: int, start: int = 0) -> Iterator[Order]:
    """Orders number start.. of the seed's Dexero order sequence, reshaped to Dexero's rules."""
    for order in generate_orders(count, seed, start=start, accounts=[ACCOUNT]):
        yield as_dexero(order)


def initial_orders(count: int, seed: int) -> tuple[list[Payload], datetime | None]:
    """The sandbox's starting orders as Dexero JSON, and the latest time any of them carries."""
    return starting_orders(generated(count, seed), lambda order: to_payload(order, seed))


def arrival(order: Order, seed: int, now: datetime) -> Payload:
    """A generated order placed just now: `pending`, not yet paid."""
    fresh = replace(
        order,
        status=Status.OPEN,
        channel_status="pending",
        payment_status=PaymentStatus.UNPAID,
        status_history=[StatusChange(Status.OPEN, now, StatusSource.CHANNEL)],
        created_at=now,
        updated_at=now,
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
