"""CDON's enums, order State from rows, and its zone-less UTC times. Pure: no I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from orderhub.domain.order import LineType
from orderhub.domain.status import PaymentStatus, Status

#: CDON's enums, each name at its documented numeric value.
STATES = ("Pending", "Delivered", "Cancelled", "Returned", "Invoiced")
PAYMENT_STATES = ("NotApplicable", "AwaitingPayment", "Paid", "AwaitingRefund", "Refunded")
PRODUCT_TYPES = ("Article", "Service", "Postage", "Fee", "Compensation")

PAYMENT_MAP: dict[str, PaymentStatus] = {
    "NotApplicable": PaymentStatus.NOT_APPLICABLE,
    "AwaitingPayment": PaymentStatus.UNPAID,
    "Paid": PaymentStatus.PAID,
    "AwaitingRefund": PaymentStatus.REFUND_PENDING,
    "Refunded": PaymentStatus.REFUNDED,
}
#: Compensation has no line type of its own: it is a fee (the raw type is kept in extra).
TYPE_MAP: dict[str, LineType] = {
    "Article": LineType.ARTICLE,
    "Service": LineType.SERVICE,
    "Postage": LineType.POSTAGE,
    "Fee": LineType.FEE,
    "Compensation": LineType.FEE,
}
#: CDON's CountryCode (a country name) -> ISO 3166 alpha-2.
COUNTRIES = {"Sweden": "SE", "Denmark": "DK", "Norway": "NO", "Finland": "FI"}

DONE = frozenset({"Delivered", "Invoiced"})
_ISO = {name.lower(): code for name, code in COUNTRIES.items()}
_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def enum_name(value: object, names: tuple[str, ...], field: str) -> str:
    """A CDON enum value, by name (any case) or by its number, as its documented name."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    text = str(value).strip()
    if text.isdigit() and int(text) < len(names):
        return names[int(text)]
    for name in names:
        if name.lower() == text.lower():
            return name
    raise ValueError(f"{field}: expected one of {list(names)}, got {value!r}")


def status_of(state: str, rows: list[dict[str, Any]]) -> Status:
    """Pending with a row delivered is partially_shipped; Delivered and Invoiced are shipped."""
    if state == "Pending":
        started = any(_row_started(row) for row in rows)
        return Status.PARTIALLY_SHIPPED if started else Status.OPEN
    if state in DONE:
        return Status.SHIPPED
    return Status.RETURNED if state == "Returned" else Status.CANCELLED


def row_state(row: dict[str, Any]) -> str:
    """A row's FulfillmentStatus, or the one its quantities say when it has none."""
    if row.get("FulfillmentStatus") is not None:
        return enum_name(row["FulfillmentStatus"], STATES, "FulfillmentStatus")
    return state_from_quantities(row)


def order_state_from_rows(rows: list[dict[str, Any]]) -> str:
    """CDON's order State from its rows (the rules are in docs/channels-cdon.md).

    Cancelled rows are left out; any row still Pending keeps the order Pending; the rest is
    Returned when every row is, else Invoiced when every row not returned is, else Delivered.
    """
    active = [state for state in map(row_state, rows) if state != "Cancelled"]
    if not active:
        return "Cancelled" if rows else "Pending"
    if "Pending" in active:
        return "Pending"
    kept = [state for state in active if state != "Returned"]
    if not kept:
        return "Returned"
    return "Invoiced" if all(state == "Invoiced" for state in kept) else "Delivered"


def state_from_quantities(row: dict[str, Any]) -> str:
    """The FulfillmentStatus a row's quantities say (cancelled ones left out of the count)."""
    active = int(row.get("Quantity") or 0) - int(row.get("CancelledQuantity") or 0)
    if active <= 0:
        return "Cancelled"
    if int(row.get("ReturnedQuantity") or 0) >= active:
        return "Returned"
    if int(row.get("DeliveredQuantity") or 0) >= active:
        return "Invoiced" if int(row.get("InvoicedQuantity") or 0) >= active else "Delivered"
    return "Pending"


def _row_started(row: dict[str, Any]) -> bool:
    return row_state(row) in DONE or int(row.get("DeliveredQuantity") or 0) > 0


def iso_country(value: object) -> str | None:
    """ISO alpha-2 for a CDON country name (Sweden -> SE); a two-letter code passes through."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) == 2:
        return text.upper()
    return _ISO.get(text.lower())


def country_name(code: str | None) -> str | None:
    """CDON's country name for an ISO alpha-2 code; an unknown code passes through."""
    names = {iso: name for name, iso in COUNTRIES.items()}
    return names.get(code or "", code)


def parse_time(value: object) -> datetime:
    """CDON's zone-less UTC time (any number of fractional digits) as an aware UTC datetime."""
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"expected a date-time like 2014-02-07T19:22:48.5942457, got {value!r}")
    day, clock, fraction, zone = match.groups()
    parsed = datetime.fromisoformat(f"{day}T{clock or '00:00'}")
    parsed = parsed.replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))
    return parsed.replace(tzinfo=_zone(zone)).astimezone(UTC)


def format_time(value: datetime) -> str:
    """CDON's form: zone-less UTC with seven fractional digits."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}0"


def _zone(text: str | None) -> timezone:
    if text is None or text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    offset = timedelta(hours=int(text[1:3]), minutes=int(text[-2:]))
    return timezone(sign * offset)
