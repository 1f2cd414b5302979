"""The CS-Cart sandbox's orders: generated canonical orders, reshaped to the shop's rules, written
as CS-Cart order details JSON by the sandbox's own code (`sandbox_payload`), never by the hub's
codec. Deterministic: the same seed gives the same orders.

Seed 002's status rules: an order is placed Incomplete (N) while the payment gateway answers;
offline payment moves it to Open (O, or E once the customer got payment instructions), online
payment to Processed (P). So a generated order still awaiting payment is N when paid online, O
or E when paid offline.
"""

from __future__ import annotations

import random
from datetime import datetime

from orderhub.channels.cscart.sandbox_payload import INVOICED, cscart_payload, invoice_id
from orderhub.channels.cscart.sandbox_store import Payload
from orderhub.channels.sandbox_life import SampleOrders, placed_now
from orderhub.domain import Order, Status

__all__ = ["INVOICED", "ORDERS", "arrival", "invoice_id", "to_payload"]

#: Payment methods the customer pays outside the shop (the order waits in O or E).
OFFLINE_PAYMENTS = frozenset({"bank_transfer", "invoice", "cod"})
#: Share of customers who order as guests (`user_id` 0).
GUEST_SHARE = 0.1


def arrival(order: Order, seed: int, now: datetime) -> Payload:
    """A generated order placed just now: Incomplete (online payment) or Open (offline)."""
    payload = to_payload(placed_now(order, Status.PENDING, now), seed)
    payload["status"] = "O" if _offline(order) else "N"
    return payload


def to_payload(order: Order, seed: int) -> Payload:
    """CS-Cart order details for a generated order, with the shop's own fields."""
    rng = random.Random(f"cscart:{seed}:{order.external_id}")
    letter = _letter(order, rng)
    guest = rng.random() < GUEST_SHARE
    return cscart_payload(order, letter, None if guest else order.customer_id, rng)


#: The letter of a generated order in every status but pending and cancelled (drawn).
STATUS_LETTERS = {
    Status.OPEN: "P",
    Status.BACKORDERED: "B",
    Status.SHIPPING: "P",
    Status.SHIPPED: "C",
    Status.DELIVERED: "C",
    Status.LOST: "C",
    Status.RETURNING: "G",
    Status.RETURNED: "H",
    Status.FAILED: "F",
}


def _letter(order: Order, rng: random.Random) -> str:
    """The letter of a generated order, by seed 002's rules (see the module docstring)."""
    if order.status is Status.PENDING:
        if not _offline(order):
            return "N"
        return "E" if rng.random() < 1 / 3 else "O"
    if order.status is Status.CANCELLED:
        return "I" if rng.random() < 0.5 else "D"
    return STATUS_LETTERS[order.status]


def _offline(order: Order) -> bool:
    return (order.payment_method or "") in OFFLINE_PAYMENTS


#: The sandbox's orders: those of the sample account shop-de, as generated.
ORDERS = SampleOrders("shop-de", to_payload)
