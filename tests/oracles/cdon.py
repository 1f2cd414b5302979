"""A hand-written oracle: a raw CDON `{OrderDetails, Invoices}` -> the canonical values the hub
must hold.

Written from docs/channels-cdon.md, design section 3 and the seed (004), never from the hub's
codec or `states.py`: the tables are copied by hand, money is parsed with Decimal, CDON's
zone-less times are read as UTC by the rule written here. What the hub owns (id, confirmed,
vendor_ref, push state, tracking_url, the history it records) is left out.

The payloads are the sandbox's own (amounts as Decimal). The hub reads CDON's JSON with a plain
parser (numbers with a fraction become floats, their shortest repr is the amount), so amounts it
keeps as text in `extra` are written here as that repr, and `Invoices` as floats.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from oracles.order_view import Expected

#: CDON's enums by name and documented number.
STATES = ("Pending", "Delivered", "Cancelled", "Returned", "Invoiced")
PAYMENTS = ("NotApplicable", "AwaitingPayment", "Paid", "AwaitingRefund", "Refunded")
#: Order State -> canonical status (Pending is refined by the rows, see `status`).
STATUS = {
    "Pending": "open",
    "Delivered": "shipped",
    "Invoiced": "shipped",
    "Returned": "returned",
    "Cancelled": "cancelled",
}
PAYMENT = {
    "NotApplicable": "not_applicable",
    "AwaitingPayment": "unpaid",
    "Paid": "paid",
    "AwaitingRefund": "refund_pending",
    "Refunded": "refunded",
}
TYPE = {
    "Article": "article",
    "Service": "service",
    "Postage": "postage",
    "Fee": "fee",
    "Compensation": "fee",
}
COUNTRY = {"sweden": "SE", "denmark": "DK", "norway": "NO", "finland": "FI"}
ADDRESS = {
    "Name": "name",
    "StreetAddress": "street",
    "CoAddress": "street2",
    "ZipCode": "zip",
    "City": "city",
    "Country": "country",
}
DETAILS_MAPPED = {
    "OrderId", "State", "PaymentStatus", "CreatedDateUtc", "LastModifiedDateUtc",
    "CurrencyCode", "TotalAmount", "TotalVat", "CustomerInfo", "OrderRows",
}  # fmt: skip
CUSTOMER_MAPPED = {"CustomerId", "EmailAddress", "ShippingAddress", "BillingAddress"}
#: The phone the hub shows: mobile, else home, else work.
PHONES = ("PhoneMobile", "PhoneHome", "PhoneWork")
DETAILS_AMOUNTS = {"TotalAmountExcludingVat", "TotalSalesAmount"}
ROW_MAPPED = {
    "OrderRowId", "ProductId", "ProductName", "ProductType", "Quantity", "DeliveredQuantity",
    "CancelledQuantity", "ReturnedQuantity", "PricePerUnit", "VatPerUnit", "VatPercentage",
}  # fmt: skip
ROW_AMOUNTS = {
    "OrdinaryPricePerUnit", "DebitedAmount", "CreditedAmount", "PaidAmount", "RefundedAmount",
}  # fmt: skip

_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?")


def utc(text: str) -> datetime:
    """CDON's time is UTC without a zone; fractions beyond microseconds are dropped."""
    match = _TIME.fullmatch(text)
    assert match, f"not a CDON time: {text!r}"
    y, mo, d, h, mi, s, fraction = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=UTC)


def money(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def name(value: Any, names: tuple[str, ...]) -> str:
    """An enum value by its name (any case) or its documented number."""
    if isinstance(value, int):
        return names[value]
    return next(n for n in names if n.lower() == str(value).lower())


def status(state: str, rows: list[dict[str, Any]]) -> str:
    """Pending with any row delivered (in part) is `partially_shipped`; the rest by the table."""
    started = any(
        name(row["FulfillmentStatus"], STATES) in ("Delivered", "Invoiced")
        or int(row["DeliveredQuantity"]) > 0
        for row in rows
    )
    return "partially_shipped" if state == "Pending" and started else STATUS[state]


def expected(payload: dict[str, Any]) -> Expected:
    """Every canonical field a CDON order carries, as the hub must store it."""
    details = payload["OrderDetails"]
    info = details["CustomerInfo"]
    rows = details["OrderRows"]
    state = name(details["State"], STATES)
    shipping, billing = _address(info["ShippingAddress"]), _address(info["BillingAddress"])
    lines = [_line(row) for row in rows]
    phones = info.get("Phones") or {}
    return {
        "channel_type": "cdon",
        "external_id": str(details["OrderId"]),
        "status": status(state, rows),
        "channel_status": state,
        "payment_status": PAYMENT[name(details["PaymentStatus"], PAYMENTS)],
        "created_at": utc(details["CreatedDateUtc"]),
        "updated_at": utc(details["LastModifiedDateUtc"] or details["CreatedDateUtc"]),
        "currency": details["CurrencyCode"],
        "total": money(details["TotalAmount"]),
        "tax_total": money(details["TotalVat"]),
        "customer_id": info["CustomerId"],
        "email": info["EmailAddress"] or None,
        "customer": next((a["name"] for a in (billing, shipping) if a and a["name"]), None),
        "phone": next((phones[k] for k in PHONES if phones.get(k)), None),
        "country": COUNTRY.get(str(details["CountryCode"]).lower()),
        "subtotal": _sum(ln["total"] for ln in lines if ln["type"] in ("article", "service")),
        "shipping_cost": _sum(ln["total"] for ln in lines if ln["type"] == "postage"),
        "discount": _sum(_discount(row) for row in rows),
        "tracking_number": next((str(r["PackageId"]) for r in rows if r.get("PackageId")), None),
        "shipping_address": shipping,
        "billing_address": billing,
        "lines": lines,
        "extra": _extra(payload, details, info),
    }


def _address(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    values = {field: raw.get(key) or None for key, field in ADDRESS.items()}
    country = values["country"]
    if country is not None:
        country = country.upper() if len(country) == 2 else COUNTRY.get(country.lower(), country)
    return {
        "name": values["name"], "company": None, "street": values["street"],
        "street2": values["street2"], "city": values["city"], "zip": values["zip"],
        "region": None, "country": country, "phone": None, "email": None,
    }  # fmt: skip


def _line(row: dict[str, Any]) -> dict[str, Any]:
    quantity = int(row["Quantity"])
    price = money(row["PricePerUnit"])
    return {
        "line_id": str(row["OrderRowId"]),
        "sku": row["ProductId"] or None,
        "name": row["ProductName"],
        "type": TYPE[name(row["ProductType"], tuple(TYPE))],
        "quantity": quantity,
        "unit_price": price,
        "tax_rate": money(row["VatPercentage"]),
        "tax_amount": money(row["VatPerUnit"]) * quantity,
        "total": price * quantity,
        "delivered_quantity": int(row["DeliveredQuantity"]),
        "cancelled_quantity": int(row["CancelledQuantity"]),
        "returned_quantity": int(row["ReturnedQuantity"]),
    }


def _discount(row: dict[str, Any]) -> Decimal:
    """What the row sells below its ordinary price, over its quantity."""
    below = money(row["OrdinaryPricePerUnit"]) - money(row["PricePerUnit"])
    return below * int(row["Quantity"]) if below > 0 else Decimal(0)


def _sum(values: Any) -> Decimal:
    return sum(values, Decimal(0))


def _extra(
    payload: dict[str, Any], details: dict[str, Any], info: dict[str, Any]
) -> dict[str, Any]:
    extra: dict[str, Any] = {
        key: (_text(value) if key in DETAILS_AMOUNTS else value)
        for key, value in details.items()
        if key not in DETAILS_MAPPED
    }
    rest = {k: v for k, v in info.items() if k not in CUSTOMER_MAPPED}
    if rest:
        extra["CustomerInfo"] = rest
    for key in ("Invoices", "invoices"):
        if key in payload:
            extra[key] = as_parsed(payload[key])
            break
    lines = {}
    for row in details["OrderRows"]:
        kept = {
            k: (_text(v) if k in ROW_AMOUNTS else v) for k, v in row.items() if k not in ROW_MAPPED
        }
        for key, names in (("FulfillmentStatus", STATES), ("PaymentStatus", PAYMENTS)):
            if kept.get(key) is not None:
                kept[key] = name(kept[key], names)
        if name(row["ProductType"], tuple(TYPE)) == "Compensation":
            kept["ProductType"] = "Compensation"
        if kept:
            lines[str(row["OrderRowId"])] = kept
    if lines:
        extra["lines"] = lines
    return extra


def as_parsed(value: Any) -> Any:
    """A value as a plain JSON parser hands it over: the sandbox writes every amount with a
    fraction (`1495.00`), so each arrives as a float."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: as_parsed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_parsed(v) for v in value]
    return value


def _text(value: Any) -> str | None:
    """An amount kept as text: the exact decimal the hub read (a float's shortest repr)."""
    if value is None:
        return None
    parsed = as_parsed(value)
    return str(money(parsed))
