"""What one exported order becomes: CSV cells or an NDJSON object (docs/exports.md).

Columns are named once here: the CSV columns (every scalar field, `tags` joined by `, `, the
`lines` summary, the address parts, `status_history` and `extra` as JSON text, and with
`lines=rows` the `line_*` columns) and the NDJSON keys (the order detail's keys, and `line`
with `lines=rows`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields as dataclass_fields
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import orjson

from orderhub.domain import SCALAR_FIELDS, Address, FieldKind, OrderLine
from orderhub.domain.jsonfmt import money_text, timestamp_text
from orderhub.query.parser import ORDER_KEYS
from orderhub.store import BASIC_FIELDS
from orderhub.store.documents import document_value
from orderhub.store.tags import tags_of

Row = Mapping[str, Any]

#: Cells starting with one of these are prefixed with `'` (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_ADDRESS_PARTS = tuple(f.name for f in dataclass_fields(Address))
ADDRESS_COLUMNS = tuple(
    f"{which}_{part}" for which in ("shipping", "billing") for part in _ADDRESS_PARTS
)
_LINE_KEYS = tuple(f.name for f in dataclass_fields(OrderLine))
#: `line_id` keeps its name; every other line field gets the `line_` prefix.
LINE_COLUMNS = tuple(key if key.startswith("line_") else f"line_{key}" for key in _LINE_KEYS)
_LINE_KEY_OF = dict(zip(LINE_COLUMNS, _LINE_KEYS, strict=True))

#: Every order column of a CSV export, in this order when picked with fields=.
CSV_ORDER_COLUMNS = (
    *SCALAR_FIELDS,
    "tags",
    "lines",
    *ADDRESS_COLUMNS,
    "status_history",
    "extra",
)
#: The columns of a CSV export without fields= (filter=basic: the basic view's fields).
CSV_DEFAULT = (
    "id",
    "channel",
    "external_id",
    "status",
    "payment_status",
    "created_at",
    "updated_at",
    "ship_date",
    "delivered_at",
    "customer",
    "email",
    "phone",
    "country",
    "currency",
    "subtotal",
    "shipping_cost",
    "discount",
    "tax_total",
    "total",
    "cod",
    "payment_method",
    "carrier",
    "tracking_number",
    "vendor_ref",
    "tags",
    "lines",
)
#: Every key of an NDJSON export's object: the order detail's (GET /v1/orders/{id}), which
#: `fields=` of every read names too.
JSON_ORDER_KEYS = ORDER_KEYS
#: The key holding one line's object with lines=rows.
LINE_KEY = "line"


def line_columns(rows: bool, *, csv: bool) -> tuple[str, ...]:
    """The per-line columns (CSV) or key (NDJSON) that lines=rows adds."""
    if not rows:
        return ()
    return LINE_COLUMNS if csv else (LINE_KEY,)


def default_columns(*, csv: bool, basic: bool, rows: bool) -> tuple[str, ...]:
    if basic:
        base: tuple[str, ...] = BASIC_FIELDS
    else:
        base = CSV_DEFAULT if csv else JSON_ORDER_KEYS
    if rows:
        base = tuple(name for name in base if name != "lines")
    return (*base, *line_columns(rows, csv=csv))


def needs_full_row(columns: tuple[str, ...]) -> bool:
    """Whether the columns read more than the basic view's fields from the store."""
    return not set(columns) <= set(BASIC_FIELDS)


# --- CSV ---------------------------------------------------------------------------------------


def cell(value: Any) -> str:
    """A cell of text or of a nested part's value (a line's, an address's): empty for null,
    exact money, `true`/`false`; text that a spreadsheet would run as a formula gets a `'`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    return money_text(value) if isinstance(value, Decimal) else str(value)


def csv_rows(row: Row, columns: tuple[str, ...], rows: bool) -> Iterator[list[str]]:
    """The CSV row(s) of one order: one, or with lines=rows one per line (one with empty line
    cells for an order without lines, so no order is left out)."""
    nested = _Nested(row)
    order = ["" if get is None else get(row, nested) for get in _getters(columns)]
    if not rows:
        yield order  # no line columns without lines=rows: every cell is the order's
        return
    lines: list[dict[str, Any] | None] = [*nested.lines(exact=True)] or [None]
    keys = [_LINE_KEY_OF.get(name) for name in columns]
    for line in lines:
        yield [
            _line_cell(line, key) if key is not None else text
            for key, text in zip(keys, order, strict=True)
        ]


def _line_cell(line: Mapping[str, Any] | None, key: str) -> str:
    return "" if line is None else cell(line[key])


Getter = Callable[[Row, "_Nested"], str]


@cache
def _getters(columns: tuple[str, ...]) -> tuple[Getter | None, ...]:
    """How each order column's cell is made (None for a line's column), chosen once."""
    return tuple(None if name in _LINE_KEY_OF else _getter(name) for name in columns)


def _getter(name: str) -> Getter:
    if name in SCALAR_FIELDS:
        text = _SCALAR_TEXT.get(SCALAR_FIELDS[name].kind, cell)  # STR: the guard
        return lambda row, _: "" if (value := row[name]) is None else text(value)
    if name == "tags":
        return lambda row, _: cell(", ".join(tags_of(row)))
    if name == "lines":
        return lambda _, nested: cell(lines_summary(nested.lines()))
    if name in ("status_history", "extra"):
        return lambda row, _: cell(row[name])  # JSON text, as the API writes it
    which, _, part = name.partition("_")
    return lambda _, nested: cell((nested.address(f"{which}_address") or {}).get(part))


#: A scalar field's cell by its kind (not null); text goes through `cell` and its guard.
_SCALAR_TEXT: dict[FieldKind, Callable[[Any], str]] = {
    FieldKind.INT: str,
    FieldKind.ENUM: str,
    FieldKind.DECIMAL: money_text,
    FieldKind.DATETIME: timestamp_text,
    FieldKind.DATE: date.isoformat,
    FieldKind.BOOL: lambda value: "true" if value else "false",
}


def lines_summary(lines: list[dict[str, Any]]) -> str:
    """`SKU x QUANTITY` per line (the line's name when it has no SKU), joined by `; `."""
    return "; ".join(f"{line['sku'] or line['name']} x {line['quantity']}" for line in lines)


class _Nested:
    """An order's nested JSON parts, each parsed only when first asked: exactly (money as
    Decimal) for what is written out, quickly (orjson) for the summary and the addresses."""

    def __init__(self, row: Row) -> None:
        self.row = row
        self.parsed: dict[tuple[str, bool], Any] = {}

    def get(self, name: str, exact: bool = False) -> Any:
        if (name, exact) not in self.parsed:
            text = self.row[name]
            if text is None:
                value = None
            else:
                value = json.loads(text, parse_float=Decimal) if exact else orjson.loads(text)
            self.parsed[(name, exact)] = value
        return self.parsed[(name, exact)]

    def lines(self, exact: bool = False) -> list[dict[str, Any]]:
        return self.get("lines", exact) or []

    def address(self, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.get(name)
        return found


# --- NDJSON ------------------------------------------------------------------------------------


def json_objects(row: Row, columns: tuple[str, ...], rows: bool) -> Iterator[dict[str, Any]]:
    """The NDJSON object(s) of one order: its detail's keys (nested parts spliced as stored),
    or with lines=rows one object per line whose `line` holds that line (null: no lines)."""
    order = {name: document_value(row, name) for name in columns if name != LINE_KEY}
    if not rows:
        yield order
        return
    lines: list[dict[str, Any] | None] = [*_Nested(row).lines(exact=True)] or [None]
    for line in lines:
        yield _with_line(order, columns, line) if LINE_KEY in columns else order


def _with_line(
    order: dict[str, Any], columns: tuple[str, ...], line: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The order's object with `line` at its place among the columns."""
    result: dict[str, Any] = {}
    for name in columns:
        result[name] = line if name == LINE_KEY else order[name]
    return result
