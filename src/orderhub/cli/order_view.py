"""One order as a person reads it in a terminal: the header fields, addresses, lines, history."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from orderhub.domain.jsonfmt import money_text
from orderhub.store import StoredOrder

#: The header, in reading order: (label, fields shown together).
_HEADER = (
    ("channel", ("channel", "external_id")),
    ("status", ("status", "channel_status")),
    ("payment", ("payment_status", "payment_method")),
    ("total", ("total", "currency")),
    ("customer", ("customer", "email", "phone")),
    ("confirmed", ("confirmed",)),
    ("test order", ("test",)),
    ("created", ("created_at",)),
    ("updated", ("updated_at",)),
    ("ship date", ("ship_date",)),
    ("tracking", ("carrier", "tracking_number", "tracking_url")),
    ("delivered", ("delivered_at",)),
    ("vendor ref", ("vendor_ref",)),
    ("tags", ("tags",)),
    ("push", ("push_status", "push_error")),
)
_LINE_COLUMNS = ("sku", "name", "type", "quantity", "unit_price", "tax_rate", "total")
_ADDRESS_PARTS = (
    ("name", "company"),
    ("street", "street2"),
    ("zip", "city", "region", "country"),
    ("phone", "email"),
)


def order_view(order: StoredOrder) -> RenderableType:
    """A panel per part of the order; empty parts are left out."""
    scalars = order.scalars
    nested = {k: _exact(v) for k, v in order.nested_json.items()}
    parts: list[RenderableType] = [
        _header(scalars | {"tags": ", ".join(order.tags)}, order.version)
    ]
    addresses = _addresses(nested)
    if addresses is not None:
        parts.append(addresses)
    if nested.get("lines"):
        parts.append(_lines(nested["lines"]))
    if nested.get("status_history"):
        parts.append(_history(nested["status_history"]))
    return Group(*parts)


def _exact(text: str | None) -> Any:
    """The nested JSON with its money as Decimal, shown digit for digit."""
    return None if text is None else json.loads(text, parse_float=Decimal)


def _header(scalars: dict[str, Any], version: int) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, names in _HEADER:
        shown = [text(scalars[name]) for name in names if scalars.get(name) not in (None, "")]
        if shown:
            table.add_row(label, Text("  ".join(shown)))
    title = f"order {scalars['id']} (version {version})"
    return Panel(table, title=title, title_align="left")


def _addresses(nested: dict[str, Any]) -> Table | None:
    found: dict[str, dict[str, Any]] = {
        label: nested[name]
        for label, name in (
            ("shipping address", "shipping_address"),
            ("billing", "billing_address"),
        )
        if nested.get(name)
    }
    if not found:
        return None
    table = Table(*found, box=None, padding=(0, 4))
    table.add_row(*(Text(_address_text(address)) for address in found.values()))
    return table


def _address_text(address: dict[str, Any]) -> str:
    rows = (" ".join(str(address[k]) for k in keys if address.get(k)) for keys in _ADDRESS_PARTS)
    return "\n".join(row for row in rows if row)


def _lines(lines: list[dict[str, Any]]) -> Table:
    table = Table(*_LINE_COLUMNS, title="lines", title_justify="left")
    for line in lines:
        table.add_row(*(cell(line.get(name)) for name in _LINE_COLUMNS))
    return table


def _history(changes: list[dict[str, Any]]) -> Table:
    table = Table("at", "status", "source", title="status history", title_justify="left")
    for change in changes:
        table.add_row(
            text(change.get("at")), text(change.get("status")), text(change.get("source"))
        )
    return table


def cell(value: object) -> Text:
    """A table cell shown as it is: text from orders and channels is never read as markup."""
    return Text(text(value))


def text(value: object) -> str:
    """A value as a table cell: money in its exact digits, times to the minute in UTC."""
    if value is None:
        return ""
    if isinstance(value, list):  # tags
        return ", ".join(text(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
