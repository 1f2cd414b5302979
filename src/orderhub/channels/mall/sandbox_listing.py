"""GET /orders and /orders/unconfirmed of the MALL sandbox: parameters -> query -> MALL envelope.

The filter language is orderhub's own (`query.parse_query`) over the MALL field registry; what
differs is MALL's: default visibility, the view chosen, and the paging block.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

import orjson

from orderhub.channels.mall.sandbox_store import MALL_FIELDS, MallOrderStore, loads
from orderhub.channels.mall.sandbox_updates import MallError
from orderhub.domain import FieldKind, InvalidInput
from orderhub.query import Filter, OrderQuery, View, parse_query

OK = {"code": 200, "status": "OK"}
#: Parameters a list ignores: the client id, and `days` (MALL's v3 client keeps sending the
#: `days` of its last stats call on every later request).
NOT_FILTERS = frozenset({"client_id", "days"})
#: The basic object (`filter=basic`): seed 001's fields, then those MALL's client reads from
#: it besides (`BasicOrder`: payment type, MALL Delivery service, tracking).
BASIC_FIELDS = (
    "id", "external_id", "purchase_id", "cod", "ship_date", "delivered_at", "status",
    "confirmed", "test", "mdp", "customer_id", "customer",
    "payment_type", "mdp_classic", "mdp_spectrum", "tracking_number", "tracking_url",
)  # fmt: skip
#: The per-status lists (`GET /orders/open` ...): the statuses each one lists. `open` lists every
#: order not closed yet, blocked to shipped (the client's README); the others their own status.
STATUS_LISTS: dict[str, tuple[str, ...]] = {
    "open": ("blocked", "open", "shipping", "shipped"),
    **{word: (word,) for word in ("blocked", "shipping", "shipped", "delivered", "returned",
                                  "cancelled", "lost")},
}  # fmt: skip
#: A zone in a time value: MALL's times are wall times and carry none.
_ZONED = re.compile(r"(Z|[+-][0-9]{2}:[0-9]{2})(,|$)")


class Shape(Enum):
    IDS = "ids"
    BASIC = "basic"
    FULL = "full"


def visible_orders(query: OrderQuery) -> tuple[Filter, ...]:
    """GET /orders: blocked orders unless filtering on status, test orders unless on test."""
    implicit = list(_hide_tests(query))
    if not query.filters_on("status"):
        implicit.append(Filter("status", "neq", ("blocked",), "blocked"))
    return tuple(implicit)


def unconfirmed_orders(query: OrderQuery) -> tuple[Filter, ...]:
    """GET /orders/unconfirmed: every unconfirmed order, blocked ones included (seed 000:
    an order created in blocked is unconfirmed); test orders unless filtering on test."""
    return (Filter("confirmed", "eq", (False,), "0"), *_hide_tests(query))


def status_orders(words: tuple[str, ...]) -> Defaults:
    """GET /orders/{status}: the list's statuses (blocked too), test orders unless asked for."""

    def defaults(query: OrderQuery) -> tuple[Filter, ...]:
        modifier = "eq" if len(words) == 1 else "in"
        status = Filter("status", modifier, words, ",".join(words))
        return (status, *_hide_tests(query))

    return defaults


Defaults = Callable[[OrderQuery], tuple[Filter, ...]]


def _hide_tests(query: OrderQuery) -> tuple[Filter, ...]:
    if query.filters_on("test"):
        return ()
    return (Filter("test", "eq", (False,), "0"),)


def parse_mall_query(
    params: Sequence[tuple[str, str]], *, unconfirmed: bool, defaults: Defaults | None = None
) -> OrderQuery:
    """The query of a MALL list request (client_id left out); MallError(400) when bad."""
    rest = [(name, value) for name, value in params if name not in NOT_FILTERS]
    if any(name == "cursor" for name, _ in rest):
        raise MallError(400, "INVALID_PARAMETER", "cursor: MALL pages with page and page_size")
    if defaults is None:
        defaults = unconfirmed_orders if unconfirmed else visible_orders
    try:
        query = parse_query(rest, fields=MALL_FIELDS, defaults=defaults, hub=False)
    except InvalidInput as exc:
        attributes = {"parameter": exc.parameter, "expected": exc.expected, "value": exc.value}
        raise MallError(400, "INVALID_PARAMETER", str(exc), attributes) from None
    for f in query.filters:
        if MALL_FIELDS[f.field].kind is FieldKind.DATETIME and _ZONED.search(f.raw):
            raise MallError(
                400,
                "INVALID_PARAMETER",
                f"{f.field}: expected a MALL time YYYY-MM-DD HH:MM:SS without a zone",
                {"parameter": f.field, "expected": "YYYY-MM-DD HH:MM:SS", "value": f.raw},
            )
    return query


def shape_of(query: OrderQuery, *, unconfirmed: bool) -> Shape:
    """Seed 001: ids when filtering on status, basic objects with filter=basic, else full.
    Seed 000: the unconfirmed queue gives ids unless filter=basic."""
    if query.view is View.BASIC:
        return Shape.BASIC
    if unconfirmed or query.filters_on("status"):
        return Shape.IDS
    return Shape.FULL


def list_orders(
    store: MallOrderStore,
    params: Sequence[tuple[str, str]],
    *,
    unconfirmed: bool,
    status_list: str | None = None,
) -> dict[str, Any]:
    """The answer of a MALL list request: data, result, paging {total, pages, size, page}.
    `status_list` names a per-status list (ids unless filter=basic, like the unconfirmed one)."""
    words = STATUS_LISTS[status_list] if status_list else None
    defaults = status_orders(words) if words else None
    query = parse_mall_query(params, unconfirmed=unconfirmed, defaults=defaults)
    total, rows = store.page(query)
    shape = shape_of(query, unconfirmed=unconfirmed or words is not None)
    return {
        "data": [_item(shape, order_id, text) for order_id, text in rows],
        "result": OK,
        "paging": {
            "total": total,
            "pages": math.ceil(total / query.page_size),
            "size": query.page_size,
            "page": query.page,
        },
    }


def _item(shape: Shape, order_id: int, text: str) -> Any:
    if shape is Shape.IDS:
        return order_id
    if shape is Shape.BASIC:
        return basic(loads(text))
    return orjson.Fragment(text)


def basic(payload: dict[str, Any]) -> dict[str, Any]:
    """The basic object: seed 001's fields and the client's (`BASIC_FIELDS`)."""
    return {name: payload.get(name, False if name == "mdp" else None) for name in BASIC_FIELDS}
