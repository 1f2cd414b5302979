"""A hand-written oracle: a raw Dexero Order object -> the canonical values the hub must hold.

Written from docs/channels-dexero.md, design section 3 and the seed (003), never from the hub's
codec: the tables below are copied by hand, money is parsed with Decimal, times are turned into
UTC by the rule written here. What the hub owns (id, confirmed, vendor_ref, push state, the
history it records) and what Dexero does not carry (ship_date, tracking, cod) are left out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from oracles.order_view import Expected

#: Dexero `status` (any case) -> canonical status (docs/channels-dexero.md, "Statuses").
STATUS = {
    "pending": "open",
    "untreated": "open",
    "treated": "shipping",
    "completed": "shipped",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "refunded": "returned",
}
#: Dexero Address field -> canonical Address field.
ADDRESS = {
    "name": "name",
    "company": "company",
    "street_address": "street",
    "city": "city",
    "postal_code": "zip",
    "iso_region": "region",
    "iso_country": "country",
    "phone_number": "phone",
}
#: Order fields the canonical model carries; every other field is kept in `extra` verbatim.
MAPPED = {
    "id", "customer_id", "purchase_date", "updated_date", "currency", "customer_email",
    "locale", "subtotal_order", "total_order", "total_shipping", "total_tax", "status",
    "is_test", "payment_method", "billing_address", "shipping_address", "product",
}  # fmt: skip
#: Amounts kept in `extra`, as exact decimal text.
EXTRA_AMOUNTS = {
    "subtotal_cancelled", "total_cancelled", "total_products", "total_payment",
    "total_refunded", "total_transactions", "total_left_to_pay", "total_tax_cancelled",
}  # fmt: skip
PRODUCT_MAPPED = {"id", "sku", "name", "product_price", "total_price", "tax_amount", "quantity"}
PRODUCT_AMOUNTS = {"price_for_quantity", "rebate_amount"}

_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|([+-])(\d{2}):(\d{2}))?"
)


def utc(text: str) -> datetime:
    """ISO-8601 to UTC by hand: local time minus its offset; no offset (or Z) is UTC."""
    match = _TIME.fullmatch(text)
    assert match, f"not a Dexero time: {text!r}"
    y, mo, d, h, mi, s, fraction, zone, sign, oh, om = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    local = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=UTC)
    if zone is None or zone == "Z":
        return local
    offset = timedelta(hours=int(oh), minutes=int(om))
    return local - offset if sign == "+" else local + offset


def money(value: Any) -> Decimal:
    assert not isinstance(value, float), f"a Dexero amount arrived as a float: {value!r}"
    return Decimal(str(value))


def expected(payload: dict[str, Any]) -> Expected:
    """Every canonical field a Dexero order carries, as the hub must store it."""
    status = STATUS[payload["status"].lower()]
    billing = _address(payload.get("billing_address"))
    shipping = _address(payload.get("shipping_address"))
    located = [a for a in (shipping, billing) if a is not None]
    products = payload.get("product") or []
    created = utc(payload["purchase_date"])
    country = next((a["country"] for a in located if a["country"]), None)
    return {
        "channel_type": "dexero",
        "external_id": str(payload["id"]),
        "status": status,
        "channel_status": payload["status"],
        "payment_status": payment_status(payload),
        "created_at": created,
        "updated_at": utc(payload["updated_date"]) if payload.get("updated_date") else created,
        "currency": payload["currency"],
        "total": money(payload["total_order"]),
        "subtotal": money(payload["subtotal_order"]),
        "shipping_cost": money(payload["total_shipping"]),
        "tax_total": money(payload["total_tax"]),
        "discount": _discount(products),
        "test": bool(payload["is_test"]),
        "customer_id": payload["customer_id"],
        "customer": next((a["name"] for a in (billing, shipping) if a and a["name"]), None),
        "email": payload["customer_email"] or None,
        "phone": next((a["phone"] for a in located if a["phone"]), None),
        "country": country.upper() if country else None,
        "payment_method": payload["payment_method"] or None,
        "language": _language(payload.get("locale")),
        "billing_address": billing,
        "shipping_address": shipping,
        "lines": _lines(products, status),
        "extra": _extra(payload, products),
    }


def payment_status(payload: dict[str, Any]) -> str:
    """Dexero has no payment status: refunds covering the payment are `refunded`, money still
    owed `unpaid`, anything else `paid` (docs/channels-dexero.md, "Payment status")."""
    paid, refunded, left = (
        money(payload.get(key) or 0)
        for key in ("total_payment", "total_refunded", "total_left_to_pay")
    )
    if refunded > 0 and refunded >= paid:
        return "refunded"
    return "unpaid" if left > 0 else "paid"


def _address(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    values = {field: raw.get(key) or None for key, field in ADDRESS.items()}
    return {
        "name": values["name"], "company": values["company"], "street": values["street"],
        "street2": None, "city": values["city"], "zip": values["zip"], "region": values["region"],
        "country": values["country"], "phone": values["phone"], "email": None,
    }  # fmt: skip


def _lines(products: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    """Dexero has no per-row fulfilment: the quantities follow the order's status."""
    lines = []
    for product, line_id in zip(products, _line_ids(products), strict=True):
        quantity = int(product["quantity"])
        total = money(product["total_price"])
        tax = money(product["tax_amount"])
        lines.append({
            "line_id": line_id,
            "sku": product["sku"] or None,
            "name": product["name"],
            "type": "article",
            "quantity": quantity,
            "unit_price": money(product["product_price"]),
            "tax_rate": (tax * 100 / total).quantize(Decimal("0.01")) if total else Decimal(0),
            "tax_amount": tax,
            "total": total,
            "delivered_quantity": quantity if status in ("shipped", "returned") else 0,
            "cancelled_quantity": quantity if status == "cancelled" else 0,
            "returned_quantity": quantity if status == "returned" else 0,
        })  # fmt: skip
    return lines


def _line_ids(products: list[dict[str, Any]]) -> list[str]:
    """`str(id)`; a product id seen before gets `-2`, `-3`..."""
    ids: list[str] = []
    for product in products:
        base, n = str(product["id"]), 2
        line_id = base
        while line_id in ids:
            line_id, n = f"{base}-{n}", n + 1
        ids.append(line_id)
    return ids


def _discount(products: list[dict[str, Any]]) -> Decimal | None:
    if not products:
        return None
    bought = [p for p in products if p.get("type", "buy") != "refund"]
    return sum((money(p["rebate_amount"]) for p in bought), Decimal(0))


def _language(locale: str | None) -> str | None:
    if not locale:
        return None
    return re.split(r"[_-]", locale)[0].lower()


def _extra(payload: dict[str, Any], products: list[dict[str, Any]]) -> dict[str, Any]:
    """The fields the model has no place for, verbatim; amounts as exact decimal text."""
    extra: dict[str, Any] = {
        key: (_text(value) if key in EXTRA_AMOUNTS else value)
        for key, value in payload.items()
        if key not in MAPPED
    }
    if payload.get("locale") and payload["locale"] != _language(payload["locale"]):
        extra["locale"] = payload["locale"]
    for key in ("billing_address", "shipping_address"):
        rest = {k: v for k, v in (payload.get(key) or {}).items() if k not in ADDRESS}
        if rest:
            extra[key] = rest
    lines = {}
    for product, line_id in zip(products, _line_ids(products), strict=True):
        rest = {
            k: (_text(v) if k in PRODUCT_AMOUNTS else v)
            for k, v in product.items()
            if k not in PRODUCT_MAPPED
        }
        if line_id != str(product["id"]):
            rest["id"] = product["id"]
        if rest:
            lines[line_id] = rest
    if lines:
        extra["lines"] = lines
    return extra


def _text(value: Any) -> Any:
    return None if value is None else str(money(value))
