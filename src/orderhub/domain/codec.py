"""Order <-> plain dicts of native values (Decimal, datetime), where storage and APIs start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from orjson import Fragment

from orderhub.domain import (
    SCALAR_FIELDS,
    Address,
    ChannelType,
    FieldKind,
    LineType,
    Order,
    OrderLine,
    PaymentStatus,
    Status,
    StatusChange,
    StatusSource,
)
from orderhub.domain.jsonfmt import dumps, dumps_utc, money_text

#: The nested parts of an order, each stored and rendered as one JSON document.
NESTED_FIELDS = ("shipping_address", "billing_address", "lines", "status_history", "extra")

_LINE_DECIMALS = ("unit_price", "tax_rate", "tax_amount", "total")


def scalars_of(order: Order) -> dict[str, Any]:
    """The top-level scalar fields of an order, by name (id included, possibly None)."""
    return {name: getattr(order, name) for name in SCALAR_FIELDS}


def nested_of(order: Order) -> dict[str, Any]:
    """The nested parts as plain dicts and lists of native values."""
    return {
        "shipping_address": _address(order.shipping_address),
        "billing_address": _address(order.billing_address),
        "lines": [asdict(line) for line in order.lines],
        "status_history": [asdict(change) for change in order.status_history],
        "extra": order.extra,
    }


def nested_texts(order: Order) -> dict[str, str | None]:
    """The nested parts as the JSON text stored for them: `jsonfmt.dumps`'s, byte for byte.
    Addresses and lines hold no datetimes, and a history's are UTC as the codecs make them, so
    orjson writes those itself (`dumps_utc`); `extra` may hold anything, through `dumps`."""
    history = order.status_history
    history_in_utc = all(change.at.tzinfo is UTC for change in history)
    return {
        "shipping_address": _text(dumps_utc, order.shipping_address),
        "billing_address": _text(dumps_utc, order.billing_address),
        "lines": None if order.lines is None else _lines_text(order.lines),
        "status_history": _text(dumps_utc if history_in_utc else dumps, history),
        "extra": _text(dumps, order.extra),
    }


def _text(encode: Callable[[Any], bytes], value: Any) -> str | None:
    return None if value is None else encode(value).decode()


def _lines_text(lines: list[OrderLine]) -> str:
    """`dumps_utc(lines)`, each line as the dict of its fields (in their order) with its
    amounts as orjson's fragments: orjson calls back into Python for each Decimal otherwise
    (four a line, ~0.7 us each)."""
    return dumps_utc([_line_document(line) for line in lines]).decode()


#: An order line's keys in the stored JSON: its fields, in their order (as `asdict` gives them).
_LINE_FIELDS = tuple(f.name for f in fields(OrderLine))


def _line_document(line: OrderLine) -> dict[str, Any]:
    return {name: _amount(getattr(line, name)) for name in _LINE_FIELDS}


def _amount(value: Any) -> Any:
    """A Decimal as `jsonfmt`'s hook writes it; anything else left to `dumps_utc`."""
    return Fragment(money_text(value)) if type(value) is Decimal else value


def order_from_parts(scalars: dict[str, Any], nested: dict[str, Any]) -> Order:
    """Rebuild an Order from stored scalars and nested parts (as nested_of made them, or JSON)."""
    fields: dict[str, Any] = {name: scalars.get(name) for name in SCALAR_FIELDS}
    fields["channel_type"] = ChannelType(fields["channel_type"])
    fields["status"] = Status(fields["status"])
    fields["payment_status"] = PaymentStatus(fields["payment_status"])
    return Order(
        **fields,
        shipping_address=_address_from(nested.get("shipping_address")),
        billing_address=_address_from(nested.get("billing_address")),
        lines=[_line_from(item) for item in nested.get("lines") or []],
        status_history=[_change_from(item) for item in nested.get("status_history") or []],
        extra=dict(nested.get("extra") or {}),
    )


def parse_scalar(kind: FieldKind, value: Any) -> Any:
    """A JSON value (str for money and times) back to the native type of a scalar field kind."""
    if value is None:
        return None
    if kind is FieldKind.DECIMAL:
        return Decimal(str(value))
    if kind is FieldKind.DATETIME:
        return _datetime(value)
    if kind is FieldKind.DATE:
        return date.fromisoformat(value) if isinstance(value, str) else value
    return value


def _address(address: Address | None) -> dict[str, Any] | None:
    return None if address is None else asdict(address)


def _address_from(data: dict[str, Any] | None) -> Address | None:
    return None if data is None else Address(**data)


def _line_from(data: dict[str, Any]) -> OrderLine:
    values = dict(data)
    for name in _LINE_DECIMALS:
        values[name] = Decimal(str(values[name]))
    values["type"] = LineType(values["type"])
    return OrderLine(**values)


def _change_from(data: dict[str, Any]) -> StatusChange:
    return StatusChange(Status(data["status"]), _datetime(data["at"]), StatusSource(data["source"]))


def _datetime(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
