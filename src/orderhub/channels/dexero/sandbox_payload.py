"""The Dexero sandbox's own writer of Dexero Order objects, in Dexero's spelling and types.

Written independently of the hub's codec (`codec.encode_order` is never called here), so the
sync tests can hold the hub's decoding against payloads it did not shape itself. It starts from
a generated canonical order already reshaped to what Dexero can say (`sandbox_orders.as_dexero`)
and writes the seed's Order, Address, OrderProduct and OrderForm objects: status words,
ISO-8601 times with the shop's UTC offset, amounts as two-place Decimals, catalogue product ids
(a product bought twice repeats its id), digital orders without a shipping address.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from orderhub.domain import Order, PaymentStatus, Status
from orderhub.domain.order import Address, OrderLine

Payload = dict[str, Any]

#: The order's last-change time (assumed, see docs/channels-dexero.md "The order timestamp").
UPDATED = "updated_date"
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
_VAT = Decimal(25)

#: Dexero's word for each status a reshaped order can be in (open orders carry their own).
_WORDS = {
    Status.SHIPPING: "treated",
    Status.SHIPPED: "completed",
    Status.RETURNED: "refunded",
    Status.CANCELLED: "cancelled",
}
#: UTC offsets (minutes) the shops write their times in: Copenhagen winter and summer, UTC, and
#: the seed's own example (-05:00).
ZONES = (60, 120, 0, -300)
LOCALES = ("da_DK", "da", "da-DK", "en_GB")
FORM_SHARE = 0.15
CUSTOM_SHARE = 0.2
DIGITAL_SHARE = 0.08
OTHER_BILLING_SHARE = 0.25
TWICE_SHARE = 0.05
COMMENT_SHARE = 0.1
PARTLY_SHARE = 0.2
COLOURS = ("red", "blue", "black", "white", "green")
ENGRAVINGS = ("For Anna", "Happy birthday", "Tak!", "2026")
PROVIDERS = (("paypal", None), ("stripe", "visa"), ("stripe", "mastercard"), ("nets", "dankort"))
COMPANIES = ("Nordlys ApS", "Havn & Co A/S", "Bager Jensen I/S")
REGIONS = ("DK-84", "DK-82", "DK-83", "DK-85", "DK-81")


def dexero_payload(order: Order, seed: int) -> Payload:
    """The Dexero Order object for a generated order reshaped to Dexero's rules."""
    number = int(order.external_id)
    rng = random.Random(f"dexero:{seed}:{number}")
    offset = rng.choice(ZONES)
    products = _products(rng, order)
    gross = sum((p["price_for_quantity"] for p in products), _ZERO)
    net = sum((p["total_price"] for p in products), _ZERO)
    shipping = _money(order.shipping_cost or 0)
    total = net + shipping
    provider, card = rng.choice(PROVIDERS)
    digital = rng.random() < DIGITAL_SHARE
    shipping_address = None if digital else _address(order.shipping_address, order.phone, rng)
    billing = _billing(rng, order, shipping_address)
    payment, refunded, left = _payment_totals(rng, order.payment_status, total)
    payload: Payload = {
        "id": number,
        "customer_id": order.customer_id,
        "purchase_date": dexero_time(order.created_at, offset),
        "currency": order.currency,
        "customer_comment": "Ring venligst på" if rng.random() < COMMENT_SHARE else None,
        "customer_email": order.email or "",
        "locale": rng.choice(LOCALES),
        "subtotal_order": gross,
        "subtotal_cancelled": _ZERO,
        "total_order": total,
        "total_cancelled": total if order.status is Status.CANCELLED else _ZERO,
        "total_products": net,
        "total_payment": payment,
        "total_refunded": refunded,
        "total_transactions": payment,
        "total_shipping": shipping,
        "total_left_to_pay": left,
        "total_tax": sum((p["tax_amount"] for p in products), _ZERO),
        "total_tax_cancelled": _ZERO,
        "ip_address": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "is_archived": False,
        "status": _status_word(rng, order),
        "is_shippable": not digital,
        "transaction_type": "sale",
        "payment_method": order.payment_method,
        "payment_provider": provider,
        "card_type": card,
        "reference_number": f"DX-{number}",
        "is_test": order.test,
        "billing_address": billing,
        "shipping_address": shipping_address,
        "order_form": [_form(rng, number)] if products and rng.random() < FORM_SHARE else [],
        "product": products,
        "customer": None,
    }
    if order.updated_at != order.created_at:
        payload[UPDATED] = dexero_time(order.updated_at, offset)
    return payload


def dexero_time(at: datetime, offset_minutes: int) -> str:
    """ISO-8601 in the shop's offset: `2026-03-14T08:03:43+01:00`, or `...Z` at UTC."""
    local = at.astimezone(timezone(timedelta(minutes=offset_minutes)))
    text = local.replace(tzinfo=None).isoformat()
    if offset_minutes == 0:
        return text + "Z"
    sign, minutes = ("-", -offset_minutes) if offset_minutes < 0 else ("+", offset_minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def offset_of(text: str) -> int:
    """The UTC offset (minutes) a Dexero time was written in."""
    if text.endswith("Z"):
        return 0
    sign = -1 if text[-6] == "-" else 1
    return sign * (int(text[-5:-3]) * 60 + int(text[-2:]))


def read_time(text: str) -> datetime:
    """A Dexero time as an aware UTC datetime (the sandbox's own reading, for its filters)."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def paid_in_full(payload: Payload) -> None:
    """The customer paid: nothing left to pay."""
    payload.update(total_payment=payload["total_order"], total_left_to_pay=_ZERO)
    payload["total_transactions"] = payload["total_order"]


def _status_word(rng: random.Random, order: Order) -> str:
    if order.status is Status.OPEN:
        return order.channel_status  # pending or untreated, chosen by as_dexero
    word = _WORDS[order.status]
    if word == "cancelled" and rng.random() < 0.3:
        return "canceled"  # Dexero spells it both ways
    return word


def _payment_totals(
    rng: random.Random, payment: PaymentStatus, total: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """(total_payment, total_refunded, total_left_to_pay) that say the payment status."""
    partly = rng.random() < PARTLY_SHARE and total > _CENT
    part = _money(total / 3) if partly else _ZERO
    if payment is PaymentStatus.REFUNDED:
        return total, total, _ZERO
    if payment is PaymentStatus.PAID:
        return total, part, _ZERO  # a partial refund leaves the order paid
    return part, _ZERO, total - part  # unpaid, maybe partly paid


def _products(rng: random.Random, order: Order) -> list[Payload]:
    share = _rebate_share(order)
    products = [_product(rng, line, share) for line in order.lines]
    if products and rng.random() < TWICE_SHARE:
        again = dict(products[0], custom_param=[], attribute=[])
        products.append(again)  # the same product bought again: Dexero repeats its id
    return products


def _rebate_share(order: Order) -> Decimal:
    if not order.discount or not order.subtotal:
        return _ZERO
    return order.discount / order.subtotal


def _product(rng: random.Random, line: OrderLine, rebate_share: Decimal) -> Payload:
    gross = _money(line.unit_price * line.quantity)
    rebate = _money(gross * rebate_share)
    net = gross - rebate
    custom = rng.random() < CUSTOM_SHARE
    return {
        "id": 90_000 + int((line.sku or "0").rsplit("-", 1)[-1]),
        "sku": line.sku,
        "name": line.name,
        "type": "buy",
        "product_price": _money(line.unit_price),
        "total_price": net,
        "price_for_quantity": gross,
        "rebate_amount": rebate,
        "tax_amount": _money(net * _VAT / (100 + _VAT)),
        "quantity": line.quantity,
        "custom_param": [{"identifier": "engraving", "value": rng.choice(ENGRAVINGS)}]
        if custom
        else [],
        "attribute": [{"identifier": "colour", "value": rng.choice(COLOURS)}] if custom else [],
    }


def _address(address: Address | None, phone: str | None, rng: random.Random) -> Payload | None:
    if address is None:
        return None
    return {
        "name": address.name or "",
        "phone_number": phone or "",
        "postal_code": address.zip or "",
        "company": rng.choice(COMPANIES) if rng.random() < 0.1 else None,
        "street_address": address.street or "",
        "city": address.city or "",
        "iso_country": (address.country or "").lower() if rng.random() < 0.1 else address.country,
        "iso_region": rng.choice(REGIONS) if rng.random() < 0.5 else "",
    }


def _billing(rng: random.Random, order: Order, shipping: Payload | None) -> Payload | None:
    """Mostly the shipping address; sometimes someone else's, without a phone number."""
    if shipping is not None and rng.random() >= OTHER_BILLING_SHARE:
        return dict(shipping)
    own = _address(order.billing_address, None if shipping else order.phone, rng)
    if own is None:
        return None
    if shipping is not None:
        own.update(name=f"{rng.choice(COMPANIES)} att. {own['name']}", phone_number=None)
        own.update(street_address=f"Faktura {rng.randrange(1, 99)}", city="Kobenhavn")
    return own


def _form(rng: random.Random, number: int) -> Payload:
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


def _money(value: Decimal | int) -> Decimal:
    return Decimal(value).quantize(_CENT)
