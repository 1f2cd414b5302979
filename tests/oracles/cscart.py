"""CS-Cart oracle: the canonical values a CS-Cart order details object must give, by hand.

Sources (copied by hand, nothing imported from orderhub.channels.cscart): the status letters of
seed 002 and design section 3 with the payment column of docs/channels-cscart.md ("Status
letters", assumption 1); the mapping and products tables of docs/channels-cscart.md; Unix
seconds (seed 002: `timestamp` is Unix time) read as UTC instants.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from oracles import address, cents, line, money, text

#: Status letter -> (canonical status, payment status).
LETTERS = {
    "N": ("pending", "unpaid"),  # incomplete: awaiting the payment gateway
    "O": ("pending", "unpaid"),  # open, not yet paid
    "E": ("pending", "unpaid"),  # unpaid, payment instructions sent
    "P": ("open", "paid"),  # processed: paid, ready to ship
    "B": ("backordered", "unpaid"),
    "C": ("shipped", "paid"),  # complete
    "G": ("returning", "refund_pending"),  # return in progress
    "H": ("returned", "refunded"),  # return complete and repaid
    "D": ("cancelled", "unpaid"),  # declined by the merchant
    "I": ("cancelled", "unpaid"),  # cancelled by the customer
    "F": ("failed", "unpaid"),  # payment failed
}
#: The shop's primary currency when the details name none (docs/channels-cscart.md, 3).
SHOP_CURRENCY = "EUR"
#: Address field -> the CS-Cart key after `s_` / `b_`.
ADDRESS_KEYS = {
    "street": "address", "street2": "address_2", "city": "city", "zip": "zipcode",
    "region": "state", "country": "country", "phone": "phone",
}  # fmt: skip
#: Top-level fields with a canonical place (the mapping table); all others go to `extra`.
MAPPED = {
    "order_id", "status", "timestamp", "updated_at", "user_id", "firstname", "lastname",
    "email", "phone", "lang_code", "total", "subtotal", "discount", "shipping_cost",
    "tax_subtotal", "currency", "vendor_ref", "products",
    *(p + k for p in ("s_", "b_") for k in (*ADDRESS_KEYS.values(), "firstname", "lastname")),
}  # fmt: skip
PRODUCT_MAPPED = {"item_id", "product_code", "product", "price", "amount", "subtotal", "tax_value"}


def external_id(payload: Mapping[str, Any]) -> str:
    return str(int(payload["order_id"]))


def instant(value: object) -> datetime | None:
    """Unix seconds (a string, as the shop sends them) -> an aware UTC datetime."""
    return None if value in (None, "") else datetime.fromtimestamp(int(str(value)), UTC)


def expected(payload: Mapping[str, Any], channel: str) -> dict[str, Any]:
    """Every canonical field the CS-Cart order details carry, as the hub must store it."""
    letter = payload["status"]
    status, payment = LETTERS[letter]
    created = instant(payload["timestamp"])
    updated = instant(payload.get("updated_at")) or created
    lines = [_line(key, item, payload.get("taxes")) for key, item in _products(payload)]
    shipping, billing = _address(payload, "s_"), _address(payload, "b_")
    tax_total = money(payload.get("tax_subtotal"))
    if tax_total is None and lines:
        tax_total = sum((x["tax_amount"] for x in lines), Decimal(0))
    return {
        "channel": channel,
        "channel_type": "cscart",
        "external_id": external_id(payload),
        "status": status,
        "channel_status": letter,
        "payment_status": payment,
        "created_at": created,
        "updated_at": updated,
        "test": False,  # CS-Cart has no test orders
        "ship_date": None,  # nor ship dates, delivery times or cash on delivery amounts
        "delivered_at": None,
        "cod": None,
        "customer_id": int(payload.get("user_id") or 0) or None,  # guests: user_id 0
        "customer": _name(payload, ""),
        "email": text(payload.get("email")),
        "phone": text(payload.get("phone")),
        "language": text(payload.get("lang_code")),
        "currency": text(payload.get("currency")) or SHOP_CURRENCY,
        "total": money(payload["total"]),
        "subtotal": money(payload.get("subtotal")),
        "discount": money(payload.get("discount")),
        "shipping_cost": money(payload.get("shipping_cost")),
        "tax_total": tax_total,
        "payment_method": text((payload.get("payment_method") or {}).get("payment")),
        "vendor_ref": text(payload.get("vendor_ref")),
        "country": (shipping or {}).get("country") or (billing or {}).get("country"),
        "shipping_address": shipping,
        "billing_address": billing,
        "lines": lines,
        "status_history": [(status, updated, "channel")],  # the details carry no history
        "extra": _extra(payload),
    }


def _name(payload: Mapping[str, Any], prefix: str) -> str | None:
    """firstname and lastname joined by one space; None when both are empty."""
    words = f"{payload.get(prefix + 'firstname') or ''} {payload.get(prefix + 'lastname') or ''}"
    return " ".join(words.split()) or None


def _address(payload: Mapping[str, Any], prefix: str) -> dict[str, Any] | None:
    fields = {name: text(payload.get(prefix + key)) for name, key in ADDRESS_KEYS.items()}
    name = _name(payload, prefix)
    if name is None and not any(fields.values()):
        return None
    return address(name=name, **fields)


def _products(payload: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """`products` keyed by item id (PHP writes an empty one as [])."""
    products = payload.get("products") or {}
    return [(str(key), item) for key, item in products.items()]


def _line(item_id: str, item: Mapping[str, Any], taxes: Any) -> dict[str, Any]:
    quantity = int(item["amount"])
    unit = money(item["price"])
    assert unit is not None
    total = money(item.get("subtotal"))
    total = unit * quantity if total is None else total
    rate, included = _rate(item_id, taxes or {})
    tax = money(item.get("tax_value"))
    if tax is None:
        tax = cents(total * rate / (100 + rate) if included else total * rate / 100)
    return line(
        line_id=item_id,
        sku=text(item.get("product_code")),
        name=text(item.get("product")) or "",
        type="article",
        quantity=quantity,
        unit_price=unit,
        tax_rate=rate,
        tax_amount=tax,
        total=total,
    )


def _rate(item_id: str, taxes: Mapping[str, Any]) -> tuple[Decimal, bool]:
    """The summed percentage rate of the taxes that name the item, and whether prices include
    them."""
    rate, included = Decimal(0), False
    for tax in taxes.values():
        applies = ((tax.get("applies") or {}).get("items") or {}).get("P") or {}
        if tax.get("rate_type") == "P" and item_id in applies:
            rate += money(tax.get("rate_value")) or Decimal(0)
            included = tax.get("price_includes_tax") == "Y"
    return rate, included


def _extra(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The fields without a canonical place, verbatim; products' leftovers by item id."""
    extra = {key: value for key, value in payload.items() if key not in MAPPED}
    rests = {
        key: {k: v for k, v in item.items() if k not in PRODUCT_MAPPED}
        for key, item in _products(payload)
    }
    if any(rests.values()):
        extra["products_extra"] = {key: rest for key, rest in rests.items() if rest}
    return extra
