"""The Dexero sandbox's orders: generated canonical orders, reshaped to what Dexero can say, as
Dexero JSON with Dexero's own fields (forms, custom parameters, attributes, references).

Deterministic: the same seed gives the same orders (and ids).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderhub.channels.dexero.codec import encode_order
from orderhub.domain import Order, PaymentStatus, Status, StatusChange, StatusSource
from orderhub.domain.jsonfmt import dumps
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
FORM_SHARE = 0.15
CUSTOM_SHARE = 0.2
COLOURS = ("red", "blue", "black", "white", "green")
ENGRAVINGS = ("For Anna", "Happy birthday", "Tak!", "2026")
PROVIDERS = (("paypal", None), ("stripe", "visa"), ("stripe", "mastercard"), ("nets", "dankort"))


def generated(count: int, seed: int, start: int = 0) -> Iterator[Order]:
    """Orders number start.. of the seed's Dexero order sequence, reshaped to Dexero's rules."""
    for order in generate_orders(count, seed, start=start, accounts=[ACCOUNT]):
        yield as_dexero(order)


def initial_orders(count: int, seed: int) -> tuple[list[Payload], datetime | None]:
    """The sandbox's starting orders as Dexero JSON, and the latest time any of them carries."""
    orders = list(generated(count, seed))
    latest = max((order.updated_at for order in orders), default=None)
    return [to_payload(order, seed) for order in orders], latest


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
    """Dexero JSON for a Dexero-shaped order, with Dexero's own fields."""
    number = int(order.external_id)
    payload = encode_order(replace(order, extra=dexero_extras(order, number, seed)))
    return loads(dumps(payload))  # amounts exactly as a client reads them back


def dexero_extras(order: Order, number: int, seed: int) -> dict[str, Any]:
    rng = random.Random(f"dexero:{seed}:{number}")
    provider, card = rng.choice(PROVIDERS)
    extra: dict[str, Any] = {
        "reference_number": f"DX-{number}",
        "ip_address": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "transaction_type": "sale",
        "payment_provider": provider,
        "card_type": card,
        "is_shippable": True,
    }
    if rng.random() < FORM_SHARE and order.lines:
        extra["order_form"] = [_form(rng, number)]
    lines = {line.line_id: _line_extra(rng) for line in order.lines}
    if any(lines.values()):
        extra["lines"] = {line_id: rest for line_id, rest in lines.items() if rest}
    return extra


def _form(rng: random.Random, number: int) -> dict[str, Any]:
    return {
        "title": "Gift wrapping",
        "quantity_number": 1,
        "product_id": number * 10 + 1,
        "value": [
            {
                "id": number * 100 + 1,
                "identifier": "gift_message",
                "label": "Message",
                "value": rng.choice(ENGRAVINGS),
                "fileName": "",
                "fileSizeBytes": "",
                "fileContentBase64": "",
            },
        ],
    }


def _line_extra(rng: random.Random) -> dict[str, Any]:
    if rng.random() >= CUSTOM_SHARE:
        return {}
    return {
        "custom_param": [{"identifier": "engraving", "value": rng.choice(ENGRAVINGS)}],
        "attribute": [{"identifier": "colour", "value": rng.choice(COLOURS)}],
    }


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
