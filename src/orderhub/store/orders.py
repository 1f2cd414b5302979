"""The order repository: the only place that reads and writes the orders table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

from orderhub.domain import SCALAR_FIELDS, Order
from orderhub.domain.codec import NESTED_FIELDS, order_from_parts, scalars_of
from orderhub.domain.jsonfmt import dumps, loads
from orderhub.query import OrderQuery, View, compile_query
from orderhub.query.ast import After
from orderhub.store.bulk import execute_many
from orderhub.store.tables import ORDER_COLUMNS, orders

#: Fields of the basic view (seed 001's "basic data").
BASIC_FIELDS = (
    "id",
    "channel",
    "external_id",
    "status",
    "payment_status",
    "confirmed",
    "test",
    "cod",
    "total",
    "currency",
    "ship_date",
    "delivered_at",
    "customer_id",
    "customer",
    "created_at",
)

_FULL_COLUMNS = [*ORDER_COLUMNS.values(), *(orders.c[n] for n in NESTED_FIELDS), orders.c.version]
_BASIC_COLUMNS = [orders.c[n] for n in BASIC_FIELDS]


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """One order as stored: native scalar values, nested parts as JSON text, and its version."""

    scalars: dict[str, Any]
    nested_json: dict[str, str | None]
    version: int

    def to_order(self) -> Order:
        nested = {k: (loads(v) if v is not None else None) for k, v in self.nested_json.items()}
        return order_from_parts(self.scalars, nested)


@dataclass(frozen=True, slots=True)
class OrderPage:
    rows: Sequence[Mapping[Any, Any]]
    total: int
    page: int
    page_size: int
    #: The sort values of the last row when more rows follow; None on the last page.
    next_after: After | None

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.page_size) if self.total else 0


class OrderRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert_many(self, batch: Sequence[Order]) -> None:
        """Insert new orders (no conflict handling): the fast path for generated data."""
        if batch:
            execute_many(self.conn, orders.insert(), orders, [_row(order) for order in batch])

    def upsert_many(self, batch: Sequence[Order]) -> None:
        """Insert or update keyed on (channel, external_id); an update applies only if newer."""
        if not batch:
            return
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(orders)
        updated = {c.name: stmt.excluded[c.name] for c in orders.c if c.name not in _KEEP}
        updated["version"] = orders.c.version + literal_column("1")
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel", "external_id"],
            set_=updated,
            where=stmt.excluded.updated_at > orders.c.updated_at,
        )
        execute_many(self.conn, stmt, orders, [_row(order) for order in batch])

    def get(self, order_id: int) -> StoredOrder | None:
        row = self.conn.execute(select(*_FULL_COLUMNS).where(orders.c.id == order_id)).first()
        return None if row is None else stored(row._mapping)

    def ids_by_external(self, channel: str, external_ids: Iterable[str]) -> dict[str, int]:
        stmt = select(orders.c.external_id, orders.c.id).where(
            orders.c.channel == channel, orders.c.external_id.in_(list(external_ids))
        )
        return {row.external_id: row.id for row in self.conn.execute(stmt)}

    def count(self) -> int:
        return self.conn.execute(select(func.count()).select_from(orders)).scalar_one()

    def find(self, query: OrderQuery, *, ids_only: bool = False) -> OrderPage:
        """One page of orders matching the query, and the total count."""
        compiled = compile_query(query, ORDER_COLUMNS)
        columns = _select_columns(query, ids_only)
        stmt: Select[Any] = select(*columns).where(compiled.where).order_by(*compiled.order_by)
        if compiled.after is not None:
            stmt = stmt.where(compiled.after)
        else:
            stmt = stmt.offset(query.offset)
        rows = [row._mapping for row in self.conn.execute(stmt.limit(query.page_size + 1))]
        total = self.conn.execute(
            select(func.count()).select_from(orders).where(compiled.where)
        ).scalar_one()
        next_after = None
        if len(rows) > query.page_size:
            rows = rows[: query.page_size]
            last = rows[-1]
            next_after = After(tuple(last[k.field] for k in query.sort), query.page + 1)
        return OrderPage(rows, total, query.page, query.page_size, next_after)


_KEEP = {"id", "channel", "external_id", "confirmed", "vendor_ref", "version"}


def _select_columns(query: OrderQuery, ids_only: bool) -> list[Any]:
    sort_columns = [orders.c[k.field] for k in query.sort]
    base: list[Any]
    if ids_only:
        base = [orders.c.id]
    elif query.view is View.BASIC:
        base = _BASIC_COLUMNS
    else:
        base = _FULL_COLUMNS
    return base + [c for c in sort_columns if c not in base]


def stored(mapping: Mapping[Any, Any]) -> StoredOrder:
    return StoredOrder(
        scalars={name: mapping[name] for name in SCALAR_FIELDS},
        nested_json={name: mapping[name] for name in NESTED_FIELDS},
        version=mapping["version"],
    )


def _row(order: Order) -> dict[str, Any]:
    row = scalars_of(order)
    if row["id"] is None:
        del row["id"]
    for name in NESTED_FIELDS:
        # orjson encodes the dataclasses directly, far faster than dataclasses.asdict.
        value = getattr(order, name)
        row[name] = None if value is None else dumps(value).decode()
    row["version"] = 1
    return row
