"""`GET orders/{list}.{format}` of the Dexero sandbox: the seed's parameters -> a Selection ->
the page with its pagination info, in JSON or XML."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from orderhub.channels.dexero.sandbox_store import (
    PURCHASED,
    UPDATED,
    C,
    Selection,
    shown,
)
from orderhub.channels.dexero.xmlcodec import ORDER_SCHEMA
from orderhub.channels.sandbox_app import SandboxError
from orderhub.channels.sandbox_store import micros

#: The lists and the statuses each holds. The seed documents `pending` (its example order is
#: `treated`: the list holds every order still in progress), `untreated` and `treated`; `all`
#: is assumed (docs/channels-dexero.md) so that finished orders are reachable too.
LISTS: dict[str, frozenset[str] | None] = {
    "pending": frozenset({"pending", "untreated", "treated"}),
    "untreated": frozenset({"pending", "untreated"}),
    "treated": frozenset({"treated"}),
    "all": None,
}
DEFAULT_COUNT = 20
MAX_COUNT = 500
#: Order fields a list can sort by besides the two timestamps: the scalar ones.
SORTABLE = frozenset(
    name for name, kind in ORDER_SCHEMA.items() if kind in ("str", "int", "decimal", "bool")
)
#: Parameters that choose the page or how it is shown, not which orders match or their order.
_NOT_FILTERS = frozenset({"count", "offset", "include_forms", "sort_key", "sort_dir"})
_TIME_EXAMPLE = "ISO-8601 with an offset, e.g. 2011-11-25T15:58:50-05:00"
_NUMBER_NAMES = ("count", "offset", "min_id", "max_id")
_KNOWN = frozenset(
    {
        *_NUMBER_NAMES, "sort_key", "sort_dir", "customer_email", "earliest_time",
        "latest_time", "include_forms", "include_tests", "custom_field_identifier",
        "custom_field_value", "attribute_identifier", "attribute_value",
    }
)  # fmt: skip


__all__ = ["DexeroError", "flag", "page_body", "parse_selection", "shown"]


class DexeroError(SandboxError):
    """An answer in Dexero's error shape: `{"error": {"status", "code", "message"}}`."""

    def body(self) -> dict[str, Any]:
        return {"error": {"status": self.status, "code": self.code, "message": self.message}}


def invalid(parameter: str, expected: str, value: str) -> DexeroError:
    return DexeroError(400, "invalid_parameter", f"{parameter}: expected {expected}, got {value!r}")


def parse_selection(list_name: str, params: Sequence[tuple[str, str]]) -> Selection:
    """The Selection of a list request; DexeroError(400) naming the parameter when bad."""
    values = _single_values(params)
    numbers = {name: _number(name, values[name]) for name in _NUMBER_NAMES if name in values}
    count = numbers.get("count", DEFAULT_COUNT)
    if not 1 <= count <= MAX_COUNT:
        raise invalid("count", f"an integer from 1 to {MAX_COUNT}", values["count"])
    return Selection(
        statuses=LISTS[list_name],
        count=count,
        offset=numbers.get("offset", 0),
        sort_key=_sort_key(values.get("sort_key", PURCHASED)),
        descending=_direction(values.get("sort_dir", "asc")),
        include_tests=flag(values, "include_tests"),
        include_forms=flag(values, "include_forms"),
        conditions=_conditions(values, numbers),
        filters=tuple(sorted((k, v) for k, v in values.items() if k not in _NOT_FILTERS)),
    )


def page_body(selection: Selection, total: int, orders: list[Any]) -> dict[str, Any]:
    """The list answer: the seed's pagination info and the orders (each as `shown`, a dict or
    its JSON text)."""
    return {
        "totalResults": total,
        "startIndex": selection.offset,
        "itemsPerPage": selection.count,
        "pageCount": math.ceil(total / selection.count),
        "orders": orders,
    }


def flag(values: dict[str, str], name: str) -> bool:
    raw = values.get(name, "false")
    if raw.lower() not in ("true", "false", "1", "0"):
        raise invalid(name, "true or false", raw)
    return raw.lower() in ("true", "1")


def _single_values(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in params:
        if name not in _KNOWN:
            known = ", ".join(sorted(_KNOWN))
            raise DexeroError(400, "invalid_parameter", f"{name}: unknown parameter ({known})")
        if name in values:
            raise DexeroError(400, "invalid_parameter", f"{name}: given more than once")
        values[name] = value
    return values


def _number(name: str, raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise invalid(name, "a non-negative integer", raw)
    return int(raw)


def _sort_key(raw: str) -> str:
    if raw in (PURCHASED, UPDATED) or raw in SORTABLE:
        return raw
    raise invalid("sort_key", f"{PURCHASED}, {UPDATED} or a field of the Order object", raw)


def _direction(raw: str) -> bool:
    if raw.lower() not in ("asc", "desc"):
        raise invalid("sort_dir", "asc or desc", raw)
    return raw.lower() == "desc"


def _time(name: str, raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise invalid(name, _TIME_EXAMPLE, raw) from None
    if parsed.tzinfo is None:
        raise invalid(name, _TIME_EXAMPLE, raw)
    return parsed


Condition = ColumnElement[bool]


def _conditions(values: dict[str, str], numbers: dict[str, int]) -> list[Condition]:
    conditions: list[Condition] = []
    if "customer_email" in values:
        conditions.append(C.email == values["customer_email"].lower())
    if "earliest_time" in values:
        conditions.append(C.stamp >= micros(_time("earliest_time", values["earliest_time"])))
    if "latest_time" in values:
        conditions.append(C.stamp <= micros(_time("latest_time", values["latest_time"])))
    if "min_id" in numbers:
        conditions.append(C.id >= numbers["min_id"])
    if "max_id" in numbers:
        conditions.append(C.id <= numbers["max_id"])
    conditions += _presence(values, "custom_field", C.custom_params)
    conditions += _presence(values, "attribute", C.attributes)
    return conditions


def _presence(values: dict[str, str], prefix: str, pairs: Any) -> list[Condition]:
    """The seed: orders with the identifier (and/or the value) in any of their products (the
    column holds each order's (identifier, value) pairs as a JSON array)."""
    identifier = values.get(f"{prefix}_identifier")
    value = values.get(f"{prefix}_value")
    if identifier is None and value is None:
        return []
    pair = func.json_each(pairs).table_valued("value").alias("pair")
    matches = []
    if identifier is not None:
        matches.append(func.json_extract(pair.c.value, "$[0]") == identifier)
    if value is not None:
        matches.append(func.json_extract(pair.c.value, "$[1]") == value)
    return [exists(select(literal(1)).select_from(pair).where(*matches))]
