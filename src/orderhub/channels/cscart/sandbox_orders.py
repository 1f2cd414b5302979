"""The CS-Cart sandbox's orders: generated canonical orders, reshaped to the shop's rules, as
CS-Cart order details JSON. Deterministic: the same seed gives the same orders.

Seed 002's status rules: an order is placed Incomplete (N) while the payment gateway answers;
offline payment moves it to Open (O, or E once the customer got payment instructions), online
payment to Processed (P). So a generated order still awaiting payment is N when paid online, O
or E when paid offline.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from orderhub.channels.cscart.codec import encode_order
from orderhub.channels.cscart.sandbox_store import Payload, loads
from orderhub.domain import Order, Status, StatusChange, StatusSource
from orderhub.domain.jsonfmt import dumps
from orderhub.domain.samples import ACCOUNTS, generate_orders

#: The CS-Cart account the sandbox generates orders for.
ACCOUNT = next(account for account in ACCOUNTS if account.name == "shop-de")
#: Payment methods the customer pays outside the shop (the order waits in O or E).
OFFLINE_PAYMENTS = frozenset({"bank_transfer", "invoice", "cod"})
#: CS-Cart payment ids of the generator's payment methods.
PAYMENT_IDS = {"card": "1", "paypal": "2", "bank_transfer": "3", "invoice": "4", "cod": "5"}
#: Share of customers who order as guests (`user_id` 0).
GUEST_SHARE = 0.1
#: Letters that carry an invoice.
INVOICED = frozenset("CGH")
COUNTRY_NAMES = {"DE": "Germany"}


def generated(count: int, seed: int, start: int = 0) -> Iterator[Order]:
    """Orders number start.. of the seed's CS-Cart order sequence."""
    yield from generate_orders(count, seed, start=start, accounts=[ACCOUNT])


def initial_orders(count: int, seed: int) -> tuple[list[Payload], datetime | None]:
    """The sandbox's starting orders as CS-Cart JSON, and the latest time any of them carries."""
    orders = list(generated(count, seed))
    latest = max((order.updated_at for order in orders), default=None)
    return [to_payload(order, seed) for order in orders], latest


def arrival(order: Order, seed: int, now: datetime) -> Payload:
    """A generated order placed just now: Incomplete (online payment) or Open (offline)."""
    fresh = replace(
        order,
        status=Status.PENDING,
        status_history=[StatusChange(Status.PENDING, now, StatusSource.CHANNEL)],
        created_at=now,
        updated_at=now,
    )
    payload = to_payload(fresh, seed)
    payload["status"] = "O" if _offline(order) else "N"
    return payload


def to_payload(order: Order, seed: int) -> Payload:
    """CS-Cart order details for a generated order, with the shop's own fields."""
    rng = random.Random(f"cscart:{seed}:{order.external_id}")
    letter = _letter(order, rng)
    shaped = replace(
        order,
        channel_status=letter,
        customer_id=None if rng.random() < GUEST_SHARE else order.customer_id,
        extra=shop_fields(order, letter),
    )
    payload = encode_order(shaped)
    payload["status"] = letter
    head = {key: payload[key] for key in ("order_id", "status", "timestamp", "updated_at")}
    return loads(dumps(head | payload))


def _letter(order: Order, rng: random.Random) -> str:
    """The letter of a generated order, by seed 002's rules (see the module docstring)."""
    if order.status is Status.PENDING:
        if not _offline(order):
            return "N"
        return "E" if rng.random() < 1 / 3 else "O"
    if order.status is Status.CANCELLED:
        return "I" if rng.random() < 0.5 else "D"
    return {
        Status.OPEN: "P",
        Status.BACKORDERED: "B",
        Status.SHIPPING: "P",
        Status.SHIPPED: "C",
        Status.DELIVERED: "C",
        Status.LOST: "C",
        Status.RETURNING: "G",
        Status.RETURNED: "H",
        Status.FAILED: "F",
    }[order.status]


def _offline(order: Order) -> bool:
    return (order.payment_method or "") in OFFLINE_PAYMENTS


def shop_fields(order: Order, letter: str) -> dict[str, Any]:
    """The order details fields of seed 002 that have no canonical place (kept in `extra`)."""
    method = order.payment_method or "card"
    number = int(order.external_id)
    country = COUNTRY_NAMES.get(order.country or "", order.country or "")
    return {
        "company_id": "1",
        "issuer_id": "",
        "subtotal_discount": "0.00",
        "display_subtotal": format(order.subtotal or 0, "f"),
        "invoice_id": invoice_id(number) if letter in INVOICED else "",
        "credit_memo_id": str(number) if letter == "H" else "",
        "payment_id": PAYMENT_IDS.get(method, "1"),
        "payment_info": [],
        "payment_method": {"payment_id": PAYMENT_IDS.get(method, "1"), "payment": method},
        "payment_surcharge": "0.00",
        "repaid": "1" if letter == "H" else "0",
        "promotion_ids": "",
        "promotions": [],
        "need_shipping": True,
        "shipping_ids": "1",
        "shipping_id": "1",
        "shipping": [{"shipping_id": "1", "shipping": "DHL Paket"}],
        "need_shipment": letter in "PB",
        "shipment_ids": "",
        "display_shipping_cost": format(order.shipping_cost or 0, "f"),
        "tax_exempt": "N",
        "notes": "",
        "details": "",
        "s_country_descr": country,
        "s_state_descr": "",
        "b_country_descr": country,
        "b_state_descr": "",
    }


def invoice_id(order_id: int) -> str:
    """The invoice number the shop gives an order once it is complete."""
    return str(order_id % 10_000_000 + 1)
