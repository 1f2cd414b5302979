"""CDON's order calls as the sandbox answers them: the list filters and paging, and the three
row calls' bodies. Pure functions over payloads; `sandbox_state` holds the orders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, TypeVar

from orderhub.channels.cdon.sandbox_rows import (
    BAD_REQUEST,
    NO_ORDERS,
    NO_ROWS,
    CdonError,
    Payload,
    RowRequest,
    cancel,
    deliver,
    return_rows,
)
from orderhub.channels.cdon.states import COUNTRIES, parse_time

T = TypeVar("T")
DEFAULT_TAKE = 100
MAX_TAKE = 1000
_DATE_ONLY = 10  # len("2017-02-23")

RowCall = Callable[[Payload, list[RowRequest], datetime], None]


@dataclass(frozen=True, slots=True)
class ListQuery:
    country: str | None
    since: datetime | None
    until: datetime | None
    skip: int
    take: int


def list_query(params: Sequence[tuple[str, str]]) -> ListQuery:
    """`CountryCode`, `DateTimeRangeMin`/`Max` (on LastModifiedDateUtc), `skip`, `take`."""
    values: dict[str, str] = {}
    for name, value in params:
        values.setdefault(name.lower(), value)
    return ListQuery(
        country=_country(values.get("countrycode")),
        since=_bound(values.get("datetimerangemin"), "DateTimeRangeMin", end_of_day=False),
        until=_bound(values.get("datetimerangemax"), "DateTimeRangeMax", end_of_day=True),
        skip=_count(values.get("skip"), "skip", 0, 0, None),
        take=_count(values.get("take"), "take", DEFAULT_TAKE, 1, MAX_TAKE),
    )


def page_of(page: list[T]) -> list[T]:
    """The page; 404 in CDON's shape when it holds no orders."""
    if not page:
        raise CdonError(404, NO_ORDERS, "No orders found")
    return page


def _country(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    for name in COUNTRIES:
        if name.lower() == value.strip().lower():
            return name
    raise _bad(f"CountryCode: expected one of {sorted(COUNTRIES)}, got {value!r}")


def _bound(value: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = parse_time(value)
    except ValueError:
        raise _bad(f"{name}: expected a date or date-time like 2017-02-23 or "
                   f"2017-02-23T10:15:00, got {value!r}") from None  # fmt: skip
    if end_of_day and len(value.strip()) == _DATE_ONLY:
        # A date alone as the upper bound means that whole day.
        return datetime.combine(moment.date(), time.max, moment.tzinfo)
    return moment


def _count(value: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if value is None or value == "":
        return default
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise _bad(f"{name}: expected a whole number, got {value!r}")
    number = int(text)
    if number < low or (high is not None and number > high):
        bound = f"{low} to {high}" if high is not None else f"at least {low}"
        raise _bad(f"{name}: expected {bound}, got {number}")
    return number


# --- the row calls --------------------------------------------------------------------------

#: Each call: its function, the list of rows in its body, and the quantity field in each row.
ROW_CALLS: dict[str, tuple[RowCall, str, str]] = {
    "orderdelivery": (deliver, "Products", "QuantityToDeliver"),
    "ordercancel": (cancel, "Rows", "QuantityToCancel"),
    "orderreturn": (return_rows, "Rows", "QuantityToReturn"),
}


def row_body(call: str, body: object) -> tuple[int, list[RowRequest]]:
    """The OrderId and the row requests of a row call's JSON body (400 when malformed)."""
    _, rows_key, quantity_key = ROW_CALLS[call]
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    order_id = _whole(body.get("OrderId"), "OrderId")
    rows = body.get(rows_key)
    if not isinstance(rows, list):
        raise _bad(f"{rows_key}: expected an array of rows")
    if not rows:
        raise CdonError(400, NO_ROWS, f"{rows_key}: no rows were specified in the command")
    return order_id, [_row_request(row, rows_key, quantity_key) for row in rows]


def _row_request(row: object, rows_key: str, quantity_key: str) -> RowRequest:
    if not isinstance(row, dict):
        raise _bad(f"{rows_key}: each row must be an object")
    package = row.get("PackageId")
    if package is not None and not isinstance(package, str):
        raise _bad(f"PackageId: expected a string, got {package!r}")
    carrier = row.get("PackageCarrierId")
    if carrier is not None:
        _whole(carrier, "PackageCarrierId")
    quantity = _whole(row.get(quantity_key), quantity_key)
    return RowRequest(_whole(row.get("OrderRowId"), "OrderRowId"), quantity, package or None)


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{name}: expected an integer, got {value!r}")
    return value


def _bad(message: str) -> CdonError:
    return CdonError(400, BAD_REQUEST, message)
