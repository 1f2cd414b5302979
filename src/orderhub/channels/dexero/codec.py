"""Dexero REST v2 Order object <-> the canonical Order. Pure: no I/O.

`extra` holds the payload minus what the canonical model carries, in the payload's own shape:
order fields by their Dexero names, address leftovers under `billing_address`/`shipping_address`,
and per-product leftovers under `lines[<line_id>]`. Amounts in `extra` are exact decimal text.
See docs/channels-dexero.md for the mapping table and the assumptions.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderhub.channels.dexero.xmlcodec import (
    order_from_xml,
    order_to_xml,
    order_to_xml_element,
    orders_from_xml,
    page_from_xml,
    page_to_xml,
)
from orderhub.channels.extra import decimal_amounts, int_or_text, leftovers, text_amounts
from orderhub.channels.fields import ZERO, first, optional_int, optional_money, required
from orderhub.domain.jsonfmt import timestamp_text
from orderhub.domain.money import to_decimal
from orderhub.domain.order import Address, LineType, Order, OrderLine
from orderhub.domain.status import ChannelType, PaymentStatus, Status

__all__ = [
    "decode_order", "encode_order", "order_from_xml", "order_to_xml", "order_to_xml_element",
    "orders_from_xml", "page_from_xml", "page_to_xml", "parse_time", "payment_status_of",
    "status_of",
]  # fmt: skip

#: The order's last-change time (ISO-8601). Not in the seed: assumed, because a hub cannot see
#: status changes without one (docs/channels-dexero.md, "Sync"). Absent: never changed.
UPDATED_FIELD = "updated_date"

#: Dexero status (lower-cased) -> canonical status.
STATUS_MAP: dict[str, Status] = {
    "pending": Status.OPEN,
    "untreated": Status.OPEN,
    "treated": Status.SHIPPING,
    "completed": Status.SHIPPED,
    "cancelled": Status.CANCELLED,
    "canceled": Status.CANCELLED,
    "refunded": Status.RETURNED,
}
_STATUS_OUT: dict[Status, str] = {
    Status.OPEN: "pending",
    Status.SHIPPING: "treated",
    Status.PARTIALLY_SHIPPED: "treated",
    Status.SHIPPED: "completed",
    Status.CANCELLED: "cancelled",
    Status.RETURNED: "refunded",
}

_ADDRESS_FIELDS = {
    "name": "name",
    "company": "company",
    "street_address": "street",
    "city": "city",
    "postal_code": "zip",
    "iso_region": "region",
    "iso_country": "country",
    "phone_number": "phone",
}
_ORDER_MAPPED = frozenset(
    {
        "id", "customer_id", "purchase_date", "currency", "customer_email", "locale",
        "subtotal_order", "total_order", "total_shipping", "total_tax", "status", "is_test",
        "payment_method", "billing_address", "shipping_address", "product", UPDATED_FIELD,
    }
)  # fmt: skip
_PRODUCT_MAPPED = frozenset(
    {"id", "sku", "name", "product_price", "total_price", "tax_amount", "quantity"}
)
_PAYMENT_FIELDS = ("total_payment", "total_refunded", "total_left_to_pay")
_ORDER_AMOUNTS = frozenset(
    {
        "subtotal_cancelled", "total_cancelled", "total_products", "total_payment",
        "total_refunded", "total_transactions", "total_left_to_pay", "total_tax_cancelled",
    }
)  # fmt: skip
_PRODUCT_AMOUNTS = frozenset({"price_for_quantity", "rebate_amount"})
_ORDER_DEFAULTS: dict[str, Any] = {
    "customer_comment": None, "subtotal_cancelled": Decimal("0.00"),
    "total_cancelled": Decimal("0.00"), "total_transactions": None,
    "total_tax_cancelled": Decimal("0.00"), "ip_address": None, "is_archived": False,
    "is_shippable": True, "transaction_type": None, "payment_provider": None, "card_type": None,
    "reference_number": None, "order_form": [], "customer": None,
}  # fmt: skip
_RATE_PLACES = Decimal("0.01")


# ---------------------------------------------------------------- decoding


def decode_order(payload: dict[str, Any], *, channel: str) -> Order:
    """Decode one Dexero Order object; ValueError names the field that is wrong."""
    try:
        return _decode(payload, channel)
    except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        order_id = payload.get("id") if isinstance(payload, dict) else None
        raise ValueError(f"Dexero order {order_id!r}: {exc}") from exc


def _decode(payload: dict[str, Any], channel: str) -> Order:
    status = status_of(required(payload, "status"))
    created = parse_time(required(payload, "purchase_date"))
    updated = payload.get(UPDATED_FIELD)
    billing, billing_rest = _address(payload.get("billing_address"))
    shipping, shipping_rest = _address(payload.get("shipping_address"))
    products = payload.get("product") or []
    lines, line_rest = _lines(products, status)
    extra = _order_extra(payload, billing_rest, shipping_rest, line_rest)
    located = [a for a in (shipping, billing) if a is not None]
    return Order(
        channel=channel,
        channel_type=ChannelType.DEXERO,
        external_id=str(required(payload, "id")),
        status=status,
        channel_status=str(payload["status"]),
        payment_status=payment_status_of(*(optional_money(extra.get(k)) for k in _PAYMENT_FIELDS)),
        created_at=created,
        updated_at=created if updated is None else parse_time(updated, UPDATED_FIELD),
        currency=str(required(payload, "currency")),
        total=to_decimal(required(payload, "total_order")),
        test=_bool(payload.get("is_test"), "is_test"),
        customer_id=optional_int(payload.get("customer_id")),
        customer=first(a.name for a in (billing, shipping) if a is not None),
        email=payload.get("customer_email") or None,
        phone=first(a.phone for a in located),
        country=_upper(first(a.country for a in located)),
        subtotal=optional_money(payload.get("subtotal_order")),
        shipping_cost=optional_money(payload.get("total_shipping")),
        discount=_discount(products),
        tax_total=optional_money(payload.get("total_tax")),
        payment_method=payload.get("payment_method") or None,
        language=_language(payload.get("locale")),
        shipping_address=shipping,
        billing_address=billing,
        lines=lines,
        extra=extra,
    )


def status_of(value: object) -> Status:
    """The canonical status of a Dexero order status (case-insensitive)."""
    status = STATUS_MAP.get(str(value).strip().lower())
    if status is None:
        raise ValueError(f"status: expected one of {sorted(STATUS_MAP)}, got {value!r}")
    return status


def payment_status_of(
    total_payment: Decimal | None, total_refunded: Decimal | None, left_to_pay: Decimal | None
) -> PaymentStatus:
    """refunded when the refunds cover what was paid, unpaid while money is owed, else paid."""
    refunded = total_refunded or ZERO
    if refunded > 0 and refunded >= (total_payment or ZERO):
        return PaymentStatus.REFUNDED
    if (left_to_pay or ZERO) > 0:
        return PaymentStatus.UNPAID
    return PaymentStatus.PAID


def parse_time(value: object, name: str = "purchase_date") -> datetime:
    """An ISO-8601 date or date-time as an aware UTC datetime (no offset means UTC)."""
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected an ISO-8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{name}: expected ISO-8601, got {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _address(data: object) -> tuple[Address | None, dict[str, Any]]:
    if data is None:
        return None, {}
    if not isinstance(data, dict):
        raise ValueError(f"address: expected an object, got {data!r}")
    values = {field: data.get(key) or None for key, field in _ADDRESS_FIELDS.items()}
    rest = {k: v for k, v in data.items() if k not in _ADDRESS_FIELDS}
    return Address(**values), rest


def _lines(products: list[Any], status: Status) -> tuple[list[OrderLine], dict[str, Any]]:
    lines: list[OrderLine] = []
    rest: dict[str, Any] = {}
    for product in products:
        line_id = _unique_id(str(required(product, "id")), {line.line_id for line in lines})
        lines.append(_line(product, line_id, status))
        own = text_amounts(leftovers(product, _PRODUCT_MAPPED), _PRODUCT_AMOUNTS)
        if line_id != str(product["id"]):
            own["id"] = product["id"]
        if own:
            rest[line_id] = own
    return lines, rest


def _line(product: dict[str, Any], line_id: str, status: Status) -> OrderLine:
    quantity = int(required(product, "quantity"))
    total = to_decimal(required(product, "total_price"))
    tax = optional_money(product.get("tax_amount")) or ZERO
    return OrderLine(
        line_id=line_id,
        sku=product.get("sku") or None,
        name=str(product.get("name") or ""),
        type=LineType.ARTICLE,
        quantity=quantity,
        unit_price=to_decimal(required(product, "product_price")),
        tax_rate=(tax * 100 / total).quantize(_RATE_PLACES) if total else ZERO,
        tax_amount=tax,
        total=total,
        delivered_quantity=quantity if status in (Status.SHIPPED, Status.RETURNED) else 0,
        cancelled_quantity=quantity if status is Status.CANCELLED else 0,
        returned_quantity=quantity if status is Status.RETURNED else 0,
    )


def _unique_id(line_id: str, taken: set[str]) -> str:
    candidate, n = line_id, 2
    while candidate in taken:
        candidate, n = f"{line_id}-{n}", n + 1
    return candidate


def _order_extra(
    payload: dict[str, Any],
    billing: dict[str, Any],
    shipping: dict[str, Any],
    lines: dict[str, Any],
) -> dict[str, Any]:
    extra = text_amounts(leftovers(payload, _ORDER_MAPPED), _ORDER_AMOUNTS)
    locale = payload.get("locale")
    if locale and locale != _language(locale):
        extra["locale"] = locale
    for key, value in (("billing_address", billing), ("shipping_address", shipping)):
        if value:
            extra[key] = value
    if lines:
        extra["lines"] = lines
    return extra


def _discount(products: list[Any]) -> Decimal | None:
    """The sum of the rebates of the bought products (refund rows left out)."""
    if not products:
        return None
    rebates = (p.get("rebate_amount") for p in products if p.get("type", "buy") != "refund")
    return sum((to_decimal(r) for r in rebates if r is not None), ZERO)


def _language(locale: object) -> str | None:
    if not isinstance(locale, str) or not locale.strip():
        return None
    return locale.strip().replace("-", "_").split("_")[0].lower()


# ---------------------------------------------------------------- encoding


def encode_order(order: Order) -> dict[str, Any]:
    """The Dexero Order object for a canonical order (amounts as Decimal)."""
    extra = copy.deepcopy(order.extra)
    line_rest = extra.pop("lines", None) or {}
    billing_rest = extra.pop("billing_address", None) or {}
    shipping_rest = extra.pop("shipping_address", None) or {}
    locale = extra.pop("locale", None)
    lines = [_encode_line(line, line_rest.get(line.line_id) or {}) for line in order.lines]
    return {
        **copy.deepcopy(_ORDER_DEFAULTS),
        "total_products": order.subtotal,
        **decimal_amounts(extra, _ORDER_AMOUNTS),
        **_payment_fields(order, extra),
        "id": int_or_text(order.external_id),
        "customer_id": order.customer_id,
        "purchase_date": timestamp_text(order.created_at),
        "currency": order.currency,
        "customer_email": order.email,
        "locale": locale if _language(locale) == order.language else order.language,
        "subtotal_order": order.subtotal,
        "total_order": order.total,
        "total_shipping": order.shipping_cost,
        "total_tax": order.tax_total,
        "status": _encode_status(order),
        "is_test": order.test,
        "payment_method": order.payment_method,
        "billing_address": _encode_address(order.billing_address, billing_rest),
        "shipping_address": _encode_address(order.shipping_address, shipping_rest),
        "product": lines,
        **_updated(order),
    }


def _updated(order: Order) -> dict[str, str]:
    """`updated_date` only for an order changed since its purchase (see UPDATED_FIELD)."""
    if order.updated_at == order.created_at:
        return {}
    return {UPDATED_FIELD: timestamp_text(order.updated_at)}


def _encode_status(order: Order) -> str:
    current = order.channel_status.strip().lower()
    if STATUS_MAP.get(current) is order.status:
        return order.channel_status
    if order.status not in _STATUS_OUT:
        raise ValueError(f"status: Dexero has no status for {order.status}")
    return _STATUS_OUT[order.status]


def _payment_fields(order: Order, extra: dict[str, Any]) -> dict[str, Decimal | None]:
    """The payment totals from `extra` while they still say the order's payment status."""
    kept = {key: optional_money(extra.get(key)) for key in _PAYMENT_FIELDS}
    present = any(value is not None for value in kept.values())
    if present and payment_status_of(*kept.values()) is order.payment_status:
        return kept
    total = order.total
    derived = {
        PaymentStatus.UNPAID: (ZERO, ZERO, total),
        PaymentStatus.PAID: (total, ZERO, ZERO),
        PaymentStatus.REFUNDED: (total, total, ZERO),
    }.get(order.payment_status)
    if derived is None or (order.payment_status is PaymentStatus.REFUNDED and total <= 0):
        raise ValueError(f"payment_status: Dexero cannot express {order.payment_status}")
    return dict(zip(_PAYMENT_FIELDS, derived, strict=True))


def _encode_address(address: Address | None, rest: dict[str, Any]) -> dict[str, Any] | None:
    if address is None:
        return None
    return {**rest, **{key: getattr(address, field) for key, field in _ADDRESS_FIELDS.items()}}


def _encode_line(line: OrderLine, rest: dict[str, Any]) -> dict[str, Any]:
    gross = line.unit_price * line.quantity
    values = decimal_amounts(rest, _PRODUCT_AMOUNTS)
    return {
        "type": "buy",
        "price_for_quantity": gross,
        "rebate_amount": gross - line.total,
        "custom_param": [],
        "attribute": [],
        **values,
        "id": rest.get("id", int_or_text(line.line_id)),
        "sku": line.sku,
        "name": line.name,
        "product_price": line.unit_price,
        "total_price": line.total,
        "tax_amount": line.tax_amount,
        "quantity": line.quantity,
    }


# ---------------------------------------------------------------- small helpers


def _bool(value: object, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise ValueError(f"{name}: expected a boolean, got {value!r}")


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if value else None
