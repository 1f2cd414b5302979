"""The MALL sandbox's orders: an in-memory SQLite table with MALL's fields as columns, queried
with orderhub's own query language over a MALL field registry.

MALL times ("YYYY-MM-DD HH:MM:SS") carry no zone and MALL filters compare them as written, so
the time columns hold MALL's wall time as it is written (labelled UTC only to fit the column type).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    MetaData,
    Select,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from orderhub.channels.mall.sandbox_payload import TIMESTAMPS, WALL_TIME
from orderhub.channels.sandbox_store import SqlOrderStore, exact_loads, texts_of
from orderhub.domain import FieldKind, ScalarField
from orderhub.domain.money import to_decimal
from orderhub.query import OrderQuery, SortKey, compile_query
from orderhub.store.types import Amount, UTCDateTime

#: MALL's order statuses, in lifecycle order; each also names the order's timestamp for it.
MALL_STATUSES = TIMESTAMPS

#: An order as MALL JSON (amounts as Decimal).
Payload = dict[str, Any]


def _field(name: str, kind: FieldKind, nullable: bool, text: str) -> ScalarField:
    return ScalarField(name, kind, nullable, text)


_I, _S, _D, _B = FieldKind.INT, FieldKind.STR, FieldKind.DECIMAL, FieldKind.BOOL

#: Every filterable and sortable field of a MALL order (seed 001: "any field from the results").
MALL_FIELDS: dict[str, ScalarField] = {
    f.name: f
    for f in (
        _field("id", _I, False, "MALL order id (exceeds 32 bits)."),
        _field("external_id", _S, False, "MALL's UUID of the order."),
        _field("purchase_id", _I, True, "The purchase the order belongs to."),
        _field("source", _S, False, "The MALL shop, e.g. mallCz."),
        _field("customer_id", _I, True, "MALL customer id."),
        _field("customer", _S, True, "Customer name."),
        _field("cod", _D, False, "Cash-on-delivery amount; 0 when not COD."),
        _field("cod_price", _D, True, "Cash-on-delivery fee."),
        _field("currency", _S, False, "Currency of the amounts."),
        _field("price", _D, False, "Order total."),
        _field("delivery_price", _D, True, "Delivery price."),
        _field("discount", _D, True, "Discount."),
        _field("payment_type", _S, True, "How the customer pays."),
        _field("delivery_method", _S, True, "How the order travels, e.g. pplCz."),
        _field("delivery_method_id", _S, True, "MALL's id of the delivery method."),
        _field("branch_id", _I, True, "The pickup branch, for pickup deliveries."),
        _field("delivery_date", FieldKind.DATE, True, "Expected delivery date."),
        _field("first_delivery_attempt", FieldKind.DATETIME, True, "First delivery attempt."),
        _field("external_order_id", _I, True, "The merchant's own order number."),
        _field("ready_to_return", _B, False, "The order may be returned."),
        _field("ship_date", FieldKind.DATE, True, "Date the order is due to ship."),
        _field("delivered_at", FieldKind.DATETIME, True, "When it was delivered."),
        ScalarField("status", FieldKind.ENUM, False, "MALL order status.", MALL_STATUSES),
        _field("confirmed", _B, False, "The merchant confirmed the latest change."),
        _field("test", _B, False, "A test order."),
        _field("mdp", _B, False, "Delivered by MALL Delivery."),
        _field("mdp_classic", _B, False, "MALL Delivery classic."),
        _field("mdp_spectrum", _B, False, "MALL Delivery spectrum."),
        _field("tracking_number", _S, True, "Carrier tracking number."),
        _field("tracking_url", _S, True, "Carrier tracking URL."),
        *(_field(s, FieldKind.DATETIME, True, f"When it became {s}.") for s in MALL_STATUSES),
    )
}

_TYPES: dict[FieldKind, TypeEngine[Any]] = {
    FieldKind.INT: BigInteger(),
    FieldKind.STR: String(),
    FieldKind.DECIMAL: Amount(),
    FieldKind.BOOL: Boolean(),
    FieldKind.DATE: Date(),
    FieldKind.DATETIME: UTCDateTime(),
    FieldKind.ENUM: String(),
}

_metadata = MetaData()
mall_orders = Table(
    "mall_orders",
    _metadata,
    *(
        Column(f.name, _TYPES[f.kind], primary_key=f.name == "id", nullable=f.nullable)
        for f in MALL_FIELDS.values()
    ),
)
COLUMNS: dict[str, ColumnElement[Any]] = {name: mall_orders.c[name] for name in MALL_FIELDS}


class MallOrderStore(SqlOrderStore):
    def __init__(self) -> None:
        super().__init__(mall_orders, mall_orders.c.id, row)

    def page(self, query: OrderQuery) -> tuple[int, list[tuple[int, str]]]:
        """(total matching, [(id, payload JSON text)] of the query's page)."""
        key = ("list", query.filters, query.implicit, query.sort, query.search)
        with self.lock:
            ids = self.fresh_ids(key)
            walk = _keyset_walk(query) if ids is None and query.offset == 0 else None
            if walk is not None:
                page, total = self._walk_page(*walk, query.page_size)
            elif ids is None and query.offset == 0 and _ends_with_id(query):
                # A first page (every page of a keyset walk: `id=gt:LAST`) in SQL, the page
                # and the count: not every matching id, each walk's page a new query.
                page, total = self._first_page(query)
            else:
                ids = self.ordered_ids(lambda: _ordered(query), key) if ids is None else ids
                page, total = ids[query.offset : query.offset + query.page_size], len(ids)
            return total, list(zip(page, texts_of(self.texts, page), strict=True))

    def _walk_page(self, rest: OrderQuery, after: int, size: int) -> tuple[list[int], int]:
        """A keyset walk's page (`id=gt:after`, by id) and its total, from the ids of the walk's
        query without the bound (cached until the next write): its COUNT(*) in SQL read every
        row after the bound, each page (a 20,000-order walk: 4.5 ms a page on average)."""
        key = ("walk", rest.filters, rest.implicit, rest.sort, rest.search)
        ids = self.ordered_ids(lambda: _ordered(rest), key)
        start = bisect_right(ids, after)
        return ids[start : start + size], len(ids) - start

    def _first_page(self, query: OrderQuery) -> tuple[list[int], int]:
        ordered = _ordered(query)
        count = select(func.count()).select_from(ordered.order_by(None).subquery())
        with self.engine.connect() as conn:
            return list(conn.scalars(ordered.limit(query.page_size))), int(conn.scalar(count) or 0)


def _ordered(query: OrderQuery) -> Select[Any]:
    compiled = compile_query(query, COLUMNS)
    return select(mall_orders.c.id).where(compiled.where).order_by(*compiled.order_by)


def _keyset_walk(query: OrderQuery) -> tuple[OrderQuery, int] | None:
    """(the query without its bound, the bound) of a keyset walk's page: ordered by id alone,
    bounded by one `id=gt:N` (a whole number); None for any other query."""
    if query.sort != _BY_ID or query.after is not None or query.search:
        return None
    bounds = [f for f in (*query.filters, *query.implicit) if f.field == "id"]
    if len(bounds) != 1 or bounds[0] not in query.filters or bounds[0].operator != "gt":
        return None
    values = bounds[0].values
    if len(values) != 1 or type(values[0]) is not int:
        return None
    rest = tuple(f for f in query.filters if f is not bounds[0])
    return replace(query, filters=rest, page=1), values[0]


_BY_ID = (SortKey("id"),)


def _ends_with_id(query: OrderQuery) -> bool:
    """The query's order is total (its last key the unique id): a LIMIT gives the ids a slice
    of all of them would."""
    return bool(query.sort) and query.sort[-1].field == "id"


def row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The table row of a MALL order: each field's column value."""
    return {name: column_value(f, payload.get(name)) for name, f in MALL_FIELDS.items()}


def column_value(field: ScalarField, value: Any) -> Any:
    if value is None or value == "":
        return Decimal(0) if field.name == "cod" else None
    kind = field.kind
    if kind is FieldKind.INT:
        return int(value)
    if kind is FieldKind.DECIMAL:
        return to_decimal(value)
    if kind is FieldKind.BOOL:
        return bool(value)
    if kind is FieldKind.DATE:
        return date.fromisoformat(value)
    if kind is FieldKind.DATETIME:
        return wall_time(value)
    return str(value)


def wall_time(text: str) -> datetime:
    """A MALL time as written, labelled UTC (see the module docstring)."""
    # fromisoformat reads WALL_TIME ("YYYY-MM-DD HH:MM:SS") ten times faster than strptime;
    # the length check keeps it from taking what WALL_TIME would refuse (a zone, a fraction).
    if len(text) != len("2024-01-01 00:00:00") or text[10] != " ":
        return datetime.strptime(text, WALL_TIME).replace(tzinfo=UTC)
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def loads(text: str | bytes) -> Payload:
    """MALL JSON with exact amounts (JSON numbers with a fraction read as Decimal)."""
    return exact_loads(text)
