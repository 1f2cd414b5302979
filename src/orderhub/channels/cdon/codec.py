"""CDON `{OrderDetails, Invoices}` <-> the canonical Order. Pure: no I/O.

`extra` holds the payload minus what the canonical model carries: OrderDetails fields by their
CDON names, CustomerInfo leftovers (Phones) under `CustomerInfo`, per-row leftovers under
`lines[<OrderRowId>]`, and the invoices under the key they came in (`Invoices` or `invoices`).
Amounts in `extra` are exact decimal text. See docs/channels-cdon.md for the mapping.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from orderhub.channels.cdon.states import (
    DONE,
    PAYMENT_MAP,
    PAYMENT_STATES,
    PRODUCT_TYPES,
    STATES,
    TYPE_MAP,
    country_name,
    enum_name,
    format_time,
    iso_country,
    order_state_from_rows,
    parse_time,
    state_from_quantities,
    status_of,
)
from orderhub.channels.extra import decimal_amounts, int_or_text, leftovers, text_amounts
from orderhub.channels.fields import (
    ZERO,
    first,
    optional_int,
    optional_money,
    required,
    required_id,
)
from orderhub.domain.money import to_decimal
from orderhub.domain.order import Address, LineType, Order, OrderLine
from orderhub.domain.status import ChannelType, PaymentStatus, Status

__all__ = [
    "decode_order", "encode_order", "format_time", "iso_country", "order_state_from_rows",
    "parse_time", "status_of",
]  # fmt: skip

_STATE_OUT = {
    Status.OPEN: "Pending",
    Status.SHIPPING: "Pending",
    Status.PARTIALLY_SHIPPED: "Pending",
    Status.SHIPPED: "Delivered",
    Status.RETURNED: "Returned",
    Status.CANCELLED: "Cancelled",
}
_PAYMENT_OUT = {status: name for name, status in PAYMENT_MAP.items()}
_TYPE_OUT = {line_type: name for name, line_type in reversed(TYPE_MAP.items())}
_GOODS = (LineType.ARTICLE, LineType.SERVICE)

_DETAILS_MAPPED = frozenset(
    {
        "OrderId", "State", "PaymentStatus", "CreatedDateUtc", "LastModifiedDateUtc",
        "CurrencyCode", "TotalAmount", "TotalVat", "CustomerInfo", "OrderRows",
    }
)  # fmt: skip
_CUSTOMER_MAPPED = frozenset({"CustomerId", "EmailAddress", "ShippingAddress", "BillingAddress"})
_ROW_MAPPED = frozenset(
    {
        "OrderRowId", "ProductId", "ProductName", "ProductType", "Quantity", "DeliveredQuantity",
        "CancelledQuantity", "ReturnedQuantity", "PricePerUnit", "VatPerUnit", "VatPercentage",
    }
)  # fmt: skip
_DETAILS_AMOUNTS = frozenset({"TotalAmountExcludingVat", "TotalSalesAmount"})
_ROW_AMOUNTS = frozenset(
    {"OrdinaryPricePerUnit", "DebitedAmount", "CreditedAmount", "PaidAmount", "RefundedAmount"}
)
_ADDRESS_FIELDS = {
    "Name": "name",
    "StreetAddress": "street",
    "CoAddress": "street2",
    "ZipCode": "zip",
    "City": "city",
    "Country": "country",
}
_PHONES = ("PhoneMobile", "PhoneHome", "PhoneWork")
_INVOICE_KEYS = ("Invoices", "invoices")


# ---------------------------------------------------------------- decoding


def decode_order(payload: dict[str, Any], *, channel: str) -> Order:
    """Decode one element of `GET api/order/`; ValueError names the field that is wrong."""
    try:
        return _decode(payload, channel)
    except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        details = payload.get("OrderDetails") if isinstance(payload, dict) else None
        order_id = details.get("OrderId") if isinstance(details, dict) else None
        raise ValueError(f"CDON order {order_id!r}: {exc}") from exc


def _decode(payload: dict[str, Any], channel: str) -> Order:
    details = required(payload, "OrderDetails")
    rows = details.get("OrderRows") or []
    info = details.get("CustomerInfo") or {}
    shipping, billing = _address(info.get("ShippingAddress")), _address(info.get("BillingAddress"))
    lines = [_line(row) for row in rows]
    state = enum_name(required(details, "State"), STATES, "State")
    return Order(
        channel=channel,
        channel_type=ChannelType.CDON,
        external_id=required_id(details, "OrderId"),
        status=status_of(state, rows),
        channel_status=state,
        payment_status=_payment(details.get("PaymentStatus")),
        created_at=parse_time(required(details, "CreatedDateUtc")),
        updated_at=parse_time(details.get("LastModifiedDateUtc") or details["CreatedDateUtc"]),
        currency=str(required(details, "CurrencyCode")),
        total=to_decimal(required(details, "TotalAmount")),
        customer_id=optional_int(info.get("CustomerId")),
        customer=first(a.name for a in (billing, shipping) if a is not None),
        email=info.get("EmailAddress") or None,
        phone=_phone(info.get("Phones")),
        country=iso_country(details.get("CountryCode")) or (shipping.country if shipping else None),
        subtotal=_sum(line.total for line in lines if line.type in _GOODS),
        shipping_cost=_sum(line.total for line in lines if line.type is LineType.POSTAGE),
        discount=_sum(_row_discount(row) for row in rows),
        tax_total=optional_money(details.get("TotalVat")),
        tracking_number=first(str(row.get("PackageId") or "") for row in rows),
        shipping_address=shipping,
        billing_address=billing,
        lines=lines,
        extra=_extra(payload, details, info, lines),
    )


def _payment(value: object) -> PaymentStatus:
    return PAYMENT_MAP[enum_name(value, PAYMENT_STATES, "PaymentStatus")]


def _product_type(row: dict[str, Any]) -> str:
    return enum_name(row.get("ProductType", "Article"), PRODUCT_TYPES, "ProductType")


def _line(row: dict[str, Any]) -> OrderLine:
    quantity = int(required(row, "Quantity"))
    price = to_decimal(required(row, "PricePerUnit"))
    return OrderLine(
        line_id=str(required(row, "OrderRowId")),
        sku=row.get("ProductId") or None,
        name=str(row.get("ProductName") or ""),
        type=TYPE_MAP[_product_type(row)],
        quantity=quantity,
        unit_price=price,
        tax_rate=optional_money(row.get("VatPercentage")) or ZERO,
        tax_amount=(optional_money(row.get("VatPerUnit")) or ZERO) * quantity,
        total=price * quantity,
        delivered_quantity=int(row.get("DeliveredQuantity") or 0),
        cancelled_quantity=int(row.get("CancelledQuantity") or 0),
        returned_quantity=int(row.get("ReturnedQuantity") or 0),
    )


def _row_discount(row: dict[str, Any]) -> Decimal:
    """What the row sells below its ordinary price, over its quantity."""
    ordinary = optional_money(row.get("OrdinaryPricePerUnit"))
    price = to_decimal(row["PricePerUnit"])
    if ordinary is None or ordinary <= price:
        return ZERO
    return (ordinary - price) * int(row["Quantity"])


def _address(data: object) -> Address | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"address: expected an object, got {data!r}")
    values = {field: data.get(key) or None for key, field in _ADDRESS_FIELDS.items()}
    values["country"] = iso_country(values["country"]) or values["country"]
    return Address(**values)


def _phone(phones: object) -> str | None:
    """The mobile number, else the home number, else the work number."""
    if not isinstance(phones, dict):
        return None
    return first(phones.get(key) for key in _PHONES)


def _extra(
    payload: dict[str, Any], details: dict[str, Any], info: dict[str, Any], lines: list[OrderLine]
) -> dict[str, Any]:
    extra = text_amounts(leftovers(details, _DETAILS_MAPPED), _DETAILS_AMOUNTS)
    customer = leftovers(info, _CUSTOMER_MAPPED)
    if customer:
        extra["CustomerInfo"] = customer
    key = next((key for key in _INVOICE_KEYS if key in payload), None)
    if key is not None:
        extra[key] = copy.deepcopy(payload[key])
    pairs = zip(details.get("OrderRows") or [], lines, strict=True)
    rows = {line.line_id: rest for row, line in pairs if (rest := _row_extra(row, line))}
    if rows:
        extra["lines"] = rows
    return extra


def _row_extra(row: dict[str, Any], line: OrderLine) -> dict[str, Any]:
    rest = text_amounts(leftovers(row, _ROW_MAPPED), _ROW_AMOUNTS)
    for key, names in (("FulfillmentStatus", STATES), ("PaymentStatus", PAYMENT_STATES)):
        if rest.get(key) is not None:
            rest[key] = enum_name(rest[key], names, key)
    if _TYPE_OUT[line.type] != _product_type(row):
        rest["ProductType"] = _product_type(row)
    return rest


# ---------------------------------------------------------------- encoding


def encode_order(order: Order) -> dict[str, Any]:
    """The `{OrderDetails, Invoices}` element for a canonical order (amounts as Decimal)."""
    extra = copy.deepcopy(order.extra)
    line_rest = extra.pop("lines", None) or {}
    customer_rest = extra.pop("CustomerInfo", None) or {}
    invoice_key = next((key for key in _INVOICE_KEYS if key in extra), "Invoices")
    invoices = extra.pop(invoice_key, [])
    rows = [_encode_row(order, line, line_rest.get(line.line_id) or {}) for line in order.lines]
    details = {
        "OrderKey": None,
        "MerchantId": None,
        "TotalAmountExcludingVat": order.total - (order.tax_total or ZERO),
        "TotalSalesAmount": order.total,
        "InvoiceNumbers": [],
        **decimal_amounts(extra, _DETAILS_AMOUNTS),
        "OrderId": int_or_text(order.external_id),
        "State": _encode_state(order, rows),
        "PaymentStatus": _PAYMENT_OUT[order.payment_status],
        "CreatedDateUtc": format_time(order.created_at),
        "LastModifiedDateUtc": format_time(order.updated_at),
        "CountryCode": _encode_country(order.country, extra.get("CountryCode")),
        "CurrencyCode": order.currency,
        "TotalAmount": order.total,
        "CustomerInfo": _encode_customer(order, customer_rest),
        "OrderRows": rows,
        "TotalVat": order.tax_total,
    }
    return {"OrderDetails": details, invoice_key: invoices}


def _encode_state(order: Order, rows: list[dict[str, Any]]) -> str:
    """The channel's own State while it still says the order's status, else one that does."""
    for state in (order.channel_status, order_state_from_rows(rows)):
        if state in STATES and status_of(state, rows) is order.status:
            return state
    if order.status not in _STATE_OUT:
        raise ValueError(f"status: CDON has no State for {order.status}")
    return _STATE_OUT[order.status]


def _encode_country(country: str | None, raw: object) -> str | None:
    """The channel's own CountryCode unless it names another country than the order's."""
    if isinstance(raw, str) and iso_country(raw) in (country, None):
        return raw
    return country_name(country)


def _encode_customer(order: Order, rest: dict[str, Any]) -> dict[str, Any]:
    phones = rest.get("Phones")
    if _phone(phones) != order.phone:
        phones = {"PhoneMobile": order.phone, "PhoneWork": None, "PhoneHome": None}
    return {
        **rest,
        "CustomerId": order.customer_id,
        "EmailAddress": order.email or "",
        "ShippingAddress": _encode_address(order.shipping_address),
        "BillingAddress": _encode_address(order.billing_address),
        "Phones": phones,
    }


def _encode_address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {key: getattr(address, field) or "" for key, field in _ADDRESS_FIELDS.items()}


def _encode_row(order: Order, line: OrderLine, rest: dict[str, Any]) -> dict[str, Any]:
    row = {
        "PaymentStatus": _PAYMENT_OUT[order.payment_status],
        "InvoicedQuantity": 0,
        "PickedQuantity": None,
        "OrdinaryPricePerUnit": line.unit_price,
        "PackageId": order.tracking_number if line.delivered_quantity else None,
        "DebitedAmount": ZERO,
        "CreditedAmount": ZERO,
        "PaidAmount": ZERO,
        "RefundedAmount": ZERO,
        "AddonToProductId": None,
        **decimal_amounts(rest, _ROW_AMOUNTS),
        "OrderRowId": int_or_text(line.line_id),
        "ProductId": line.sku,
        "ProductName": line.name,
        "ProductType": _encode_type(line.type, rest.get("ProductType")),
        "Quantity": line.quantity,
        "DeliveredQuantity": line.delivered_quantity,
        "CancelledQuantity": line.cancelled_quantity,
        "ReturnedQuantity": line.returned_quantity,
        "PricePerUnit": line.unit_price,
        "VatPerUnit": line.tax_amount / line.quantity if line.quantity else ZERO,
        "VatPercentage": line.tax_rate,
    }
    row["FulfillmentStatus"] = _encode_row_state(row, rest.get("FulfillmentStatus"))
    return row


def _encode_type(line_type: LineType, raw: object) -> str:
    if isinstance(raw, str) and TYPE_MAP.get(raw) is line_type:
        return raw
    return _TYPE_OUT[line_type]


def _encode_row_state(row: dict[str, Any], raw: object) -> str:
    """The row's own FulfillmentStatus while its quantities still say it, else theirs."""
    derived = state_from_quantities(row)
    if isinstance(raw, str) and (raw == derived or (raw in DONE and derived in DONE)):
        return raw
    return derived


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)
