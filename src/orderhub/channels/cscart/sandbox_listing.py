"""GET /api/orders of the CS-Cart sandbox: seed 002's parameters -> SQL -> CS-Cart's envelope.

`{"orders": [summary, ...], "params": {...}}`, every value a string as the real API sends it.
The list gives each order's summary (the "order preview"); the details come from
`GET /api/orders/{id}`. Incomplete (N) orders are left out unless the `status` filter names N.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from sqlalchemy import and_, true
from sqlalchemy.sql.elements import ColumnElement

from orderhub.channels.cscart.codec import STATUS_BY_LETTER
from orderhub.channels.cscart.sandbox_store import C, CsCartOrderStore
from orderhub.channels.sandbox_app import SandboxError
from orderhub.domain.jsonfmt import dumps

#: The status letters of seed 002.
LETTERS = "PCOFDBIHGNE"
#: `sort_by` values and the column each sorts on (ties: order_id, in the same direction).
SORTS: dict[str, ColumnElement[Any]] = {
    "date": C.timestamp,
    "order_id": C.order_id,
    "status": C.status,
    "customer": C.customer,
    "email": C.email,
    "total": C.total,
    "updated_at": C.updated_at,
}
DEFAULTS = {"page": "1", "items_per_page": "10", "sort_by": "date", "sort_order": "desc"}
MAX_ITEMS_PER_PAGE = 1000
FILTERS = (
    "status", "user_id", "company_id", "email", "invoice_id", "credit_memo_id",
    "updated_at_from", "updated_at_to",
)  # fmt: skip
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LARGEST_ID = 2**63 - 1


class CsCartError(SandboxError):
    """An error answered in CS-Cart's shape: `{"message": "...", "status": 404}` (its status is
    its only code)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, status, message)

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "status": self.status}


def error_body(status: int, message: str) -> bytes:
    """CS-Cart's error shape for a bare status (faults, unknown routes)."""
    return dumps(CsCartError(status, message).body())


def bad_request(message: str) -> CsCartError:
    return CsCartError(400, f"Bad Request: {message}")


def list_orders(store: CsCartOrderStore, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The answer of `GET /api/orders`."""
    given = _given(params)
    page = _integer(given, "page", low=1)
    per_page = _integer(given, "items_per_page", low=1, high=MAX_ITEMS_PER_PAGE)
    sort_by = _choice(given, "sort_by", tuple(SORTS))
    descending = _choice(given, "sort_order", ("asc", "desc")) == "desc"
    column = SORTS[sort_by]
    order_by = [column.desc(), C.order_id.desc()] if descending else [column, C.order_id]
    total, summaries = store.page(_where(given), order_by, per_page, (page - 1) * per_page)
    return {
        "orders": [orjson.Fragment(text) for text in summaries],
        "params": {**given, "total_items": str(total)},
    }


def _given(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The parameters (defaults filled in); the last value of a repeated one, except `status`,
    whose values add up."""
    known = (*DEFAULTS, *FILTERS)
    given = dict(DEFAULTS)
    for name, value in params:
        if name not in known:
            raise bad_request(f"unknown parameter {name!r} (known: {', '.join(known)})")
        if name == "status" and "status" in given:
            value = f"{given['status']},{value}"
        given[name] = value
    return given


def _where(given: dict[str, str]) -> ColumnElement[bool]:
    letters = _letters(given["status"]) if "status" in given else None
    conditions = [C.status.in_(letters) if letters else C.status != "N"]
    if "user_id" in given:
        conditions.append(C.user_id == _integer(given, "user_id", low=0))
    if "email" in given:
        conditions.append(C.email == given["email"].strip().lower())
    for name in ("company_id", "invoice_id", "credit_memo_id"):
        if name in given:
            conditions.append(C[name] == _integer(given, name, low=0))
    if "updated_at_from" in given:
        conditions.append(C.updated_at >= _unix(given, "updated_at_from", end_of_day=False))
    if "updated_at_to" in given:
        conditions.append(C.updated_at <= _unix(given, "updated_at_to", end_of_day=True))
    return and_(true(), *conditions)


def _letters(value: str) -> list[str]:
    letters = [letter.strip() for letter in value.split(",") if letter.strip()]
    wrong = [letter for letter in letters if letter not in STATUS_BY_LETTER]
    if not letters or wrong:
        raise bad_request(f"status: expected status letters out of {LETTERS}, got {value!r}")
    return letters


def _integer(given: dict[str, str], name: str, low: int, high: int = _LARGEST_ID) -> int:
    value = given[name]
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        bound = f" to {high}" if high != _LARGEST_ID else " or more"
        raise bad_request(f"{name}: expected an integer from {low}{bound}, got {value!r}")
    return int(value)


def _choice(given: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = given[name]
    if value not in allowed:
        raise bad_request(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _unix(given: dict[str, str], name: str, *, end_of_day: bool) -> int:
    """Unix seconds, or a date YYYY-MM-DD meaning that whole UTC day (from its first second,
    to its last)."""
    value = given[name]
    if value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    if _DAY.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            at = datetime.combine(day, time.max if end_of_day else time.min, UTC)
            return int(at.timestamp())
    raise bad_request(f"{name}: expected a Unix time or a date YYYY-MM-DD, got {value!r}")
