"""MALL order JSON written by the sandbox itself, in MALL's own words and types.

The sandbox does not use the hub's codec to build its orders: it writes each one here from a
generated (canonical) order, so that a mistake in the codec cannot hide itself by being made in
both directions. MALL's spelling: status words, one timestamp per status, Prague wall time
without a zone (`YYYY-MM-DD HH:MM:SS`), `cod` 0 for a prepaid order, integer ids and
quantities, prices that include VAT, `vat` as a percentage.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from orderhub.channels.mall.sandbox_delivery import (
    consignment_entry,
    consignment_steps,
    delivery_fields,
    ulozenka_entry,
)
from orderhub.domain import Address, Order, OrderLine, Status

#: MALL writes its times as Prague wall time, without a zone.
PRAGUE = ZoneInfo("Europe/Prague")
WALL_TIME = "%Y-%m-%d %H:%M:%S"
SOURCE = "mallCz"
#: Share of orders delivered by MALL Delivery (`mdp`), then of those the `classic` service.
MDP_SHARE = 0.25
MDP_CLASSIC_SHARE = 0.7
#: Shares of orders whose billing address differs from the delivery address, and that have none.
OTHER_BILLING_SHARE = 0.25
NO_BILLING_SHARE = 0.15
#: MALL's commission on an item, in percent (the client's `Item.commission`).
COMMISSIONS = (Decimal("8"), Decimal("12.5"), Decimal("15"))
#: Days between the ship date and the expected delivery (`delivery_date`).
DELIVERY_DAYS = 1

#: The MALL status word for each status a generated MALL order can be in (sandbox_orders
#: reshapes generated orders so that no other status occurs).
WORDS: dict[Status, str] = {
    Status.PENDING: "blocked",
    Status.OPEN: "open",
    Status.SHIPPING: "shipping",
    Status.SHIPPED: "shipped",
    Status.DELIVERED: "delivered",
    Status.RETURNED: "returned",
    Status.CANCELLED: "cancelled",
    Status.LOST: "lost",
}
#: MALL's timestamp fields, one per status word.
TIMESTAMPS = tuple(WORDS.values())


def mall_time(at: datetime) -> str:
    """A zoned instant as MALL writes times: Prague wall time, no zone (WALL_TIME; isoformat
    writes it three times faster than strftime, and a sandbox writes millions)."""
    return at.astimezone(PRAGUE).replace(tzinfo=None).isoformat(" ", "seconds")


def wall_time(at: datetime | None) -> str | None:
    return None if at is None else mall_time(at)


def mall_payload(order: Order, seed: int) -> dict[str, Any]:
    """The MALL order object of a generated order, with MALL's own fields drawn from the seed."""
    number = int(order.external_id)
    rng = random.Random(f"mall:{seed}:{number}")
    payload: dict[str, Any] = {"id": number, **_shop_fields(rng, number)}
    payload.update(_head(order))
    payload.update(_stamps(order))
    payload["address"] = _address(order.shipping_address, order, customer=order.customer_id)
    payload["billing_address"] = _billing(rng, order)
    more = random.Random(f"mall-more:{seed}:{number}")  # a stream of its own: the above stay
    payload["items"] = [_item(line, more) for line in order.lines]
    payload.update(delivery_fields(order, more, payload["mdp"], mall_time))
    payload.update(_delivery(order))
    payload.update(_consignments(order, payload["delivery_method"]))
    return payload


def _shop_fields(rng: random.Random, number: int) -> dict[str, Any]:
    """MALL's own fields: its UUID, the purchase, the shop, MALL Delivery."""
    mdp = rng.random() < MDP_SHARE
    classic = mdp and rng.random() < MDP_CLASSIC_SHARE
    return {
        "external_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "purchase_id": number + 1,  # the seed's example purchase is its order id + 1
        "source": SOURCE,
        "mdp": mdp,
        "mdp_classic": classic,
        "mdp_spectrum": mdp and not classic,
    }


def _head(order: Order) -> dict[str, Any]:
    return {
        "customer_id": order.customer_id,
        "customer": order.customer,
        "status": WORDS[order.status],
        "confirmed": order.confirmed,
        "test": order.test,
        "ship_date": order.ship_date.isoformat() if order.ship_date else None,
        "delivered_at": wall_time(order.delivered_at),
        "currency": order.currency,
        "cod": order.cod if order.cod is not None else 0,
        "cod_price": 0,  # no COD fee: the generated totals carry none
        "price": order.total,
        "delivery_price": order.shipping_cost,
        "discount": order.discount,
        "payment_type": order.payment_method,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "external_order_id": None,
        "ready_to_return": False,
    }


def _stamps(order: Order) -> dict[str, str | None]:
    """One timestamp per MALL status: when the order last entered it, null if never."""
    stamps: dict[str, str | None] = dict.fromkeys(TIMESTAMPS)
    for change in order.status_history:  # in time order, so the last one wins
        stamps[WORDS[change.status]] = wall_time(change.at)
    return stamps


def _delivery(order: Order) -> dict[str, Any]:
    """When it should arrive and when the courier first tried (the delivery, for delivered)."""
    expected = order.ship_date + timedelta(days=DELIVERY_DAYS) if order.ship_date else None
    return {
        "delivery_date": expected.isoformat() if expected else None,
        "delivery_position": None,
        "first_delivery_attempt": wall_time(order.delivered_at),
    }


def _consignments(order: Order, method: str) -> dict[str, Any]:
    """The carrier's history of the parcel; Uloženka's own too when it carries the order."""
    steps = [(code, mall_time(at)) for code, at in consignment_steps(order)]
    number = order.tracking_number or ""
    ulozenka = method == "ulozenka"
    return {
        "consignment_status_history": [consignment_entry(c, at, number) for c, at in steps],
        "ulozenka_status_history": [ulozenka_entry(c, at) for c, at in steps] if ulozenka else [],
    }


def _address(found: Address | None, order: Order, **more: Any) -> dict[str, Any] | None:
    """A MALL address object, with the customer's contact in it (strings, as MALL's client
    reads them: "" when unknown)."""
    if found is None:
        return None
    return {
        **({"customer_id": more["customer"]} if "customer" in more else {}),
        "name": found.name,
        "company": found.company,
        "street": found.street,
        "city": found.city,
        "zip": found.zip,
        "country": found.country,
        "phone": order.phone or "",
        "email": order.email or "",
    }


def _billing(rng: random.Random, order: Order) -> dict[str, Any] | None:
    """The same as the delivery address, another one (a company's), or none."""
    draw = rng.random()
    if draw < NO_BILLING_SHARE:
        return None
    billing = _address(order.billing_address, order)
    if billing is not None and draw < NO_BILLING_SHARE + OTHER_BILLING_SHARE:
        surname = (order.customer or "Firma").split()[-1]
        billing["company"] = f"{surname} s.r.o."
        billing["street"] = f"Namesti {rng.randrange(1, 90)}"
        billing["zip"] = f"{rng.randrange(10000, 80000)}"
    return billing


def _item(line: OrderLine, rng: random.Random) -> dict[str, Any]:
    """A MALL item: the merchant's product id, MALL's article id, unit price with VAT, VAT and
    MALL's commission in percent, the serial numbers the merchant gave (none yet)."""
    return {
        "id": line.sku,
        "article_id": 100_000 + int((line.sku or "0").removeprefix("SKU-")),
        "title": line.name,
        "quantity": line.quantity,
        "price": line.unit_price,
        "vat": _percent(line.tax_rate),
        "commission": _percent(rng.choice(COMMISSIONS)),
        "serial_numbers": [],
    }


def _percent(rate: Decimal) -> int | Decimal:
    """A VAT rate as MALL writes it: 21, not 21.00."""
    return int(rate) if rate == rate.to_integral_value() else rate
