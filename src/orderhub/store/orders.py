"""The order repository: the only place that reads and writes the orders table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.engine import Dialect

from orderhub.domain import Order
from orderhub.domain.codec import NESTED_FIELDS
from orderhub.domain.jsonfmt import dumps
from orderhub.query import OrderQuery, View
from orderhub.query.ast import After
from orderhub.store.bulk import execute_many
from orderhub.store.counting import EXACT, count_compiled, count_compiled_on, count_matches
from orderhub.store.encoded import driver_rows, encode, encoded_driver_rows, encoded_rows
from orderhub.store.held import Held, held_rows, on_held
from orderhub.store.listing import page_of, sort_values
from orderhub.store.merging import MergeResult, ids_by_external, merge_from_channel
from orderhub.store.order_rows import (
    FULL_COLUMNS,
    INDEXED_AS_A_BATCH_FROM,
    StoredOrder,
    order_row,
    stored,
    upsert_rows,
)
from orderhub.store.rendered import order_text, rendered_objects, rendered_rows, scalars_object
from orderhub.store.repository import Repository
from orderhub.store.search import compile_orders
from orderhub.store.shaped import compiled_shape, shaped_sql
from orderhub.store.tables import orders
from orderhub.store.tags import TAGS_TEXT, replace_tags
from orderhub.store.texts import KEPT_HEAD, KEPT_TAIL, rows_of

__all__ = [
    "BASIC_FIELDS",
    "INDEXED_AS_A_BATCH_FROM",
    "MergeResult",
    "OrderPage",
    "OrderRepository",
    "StoredOrder",
    "order_row",
    "stored",
]

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

_BASIC_COLUMNS = [orders.c[n] for n in BASIC_FIELDS]
#: A basic order's JSON text, written by SQLite (store/rendered.py).
_BASIC_HEAD = scalars_object(BASIC_FIELDS)
# Built once: a statement made per call costs more to build and key than to run.
_BY_ID = select(*FULL_COLUMNS).where(orders.c.id == bindparam("order_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
#: An order's JSON text in parts (store/texts.py) and its version.
_TEXT_BY_ID = rows_of([KEPT_HEAD, TAGS_TEXT, KEPT_TAIL, orders.c.version]).where(
    orders.c.id == bindparam("order_id")
)
_TOUCH = (
    orders.update().where(orders.c.id == bindparam("order_id")).values(version=orders.c.version)
)


@dataclass(frozen=True, slots=True)
class OrderPage:
    rows: Sequence[Mapping[Any, Any]]
    #: None with count=none; an estimate or a lower bound as `counted` says (store/counting.py).
    total: int | None
    page: int
    page_size: int
    #: The sort values of the last row when more rows follow; None on the last page.
    next_after: After | None
    counted: str = EXACT
    #: The rows are each order's JSON text in its view (`orjson.Fragment`s, store/rendered.py).
    rendered: bool = False

    @property
    def pages(self) -> int | None:
        if self.total is None:
            return None
        return math.ceil(self.total / self.page_size) if self.total else 0


class OrderRepository(Repository):
    def insert_many(self, batch: Sequence[Order]) -> None:
        """Insert new orders (no conflict handling): the fast path for generated data."""
        if batch:
            execute_many(self.conn, orders.insert(), orders, [order_row(order) for order in batch])

    def upsert_many(
        self, batch: Sequence[Order], *, keep_confirmed: bool = True, or_same_time: bool = False
    ) -> None:
        """Insert or update keyed on (channel, external_id); an update applies only if newer.

        An update follows the channel's field ownership (domain/ownership.py): the hub's own
        fields stay (and `confirmed` too unless told otherwise), a field both write keeps the
        hub's value when the report has none or the merchant's change is still being pushed.
        `or_same_time`: a report stamped at the stored `updated_at` applies too (the caller
        has checked it differs).
        """
        rows = [order_row(order) for order in batch]
        upsert_rows(self.conn, rows, keep_confirmed=keep_confirmed, or_same_time=or_same_time)

    def merge_from_channel(self, batch: Sequence[Order]) -> MergeResult:
        """Store orders as a channel reports them, and say what changed (store/merging.py)."""
        return merge_from_channel(self.conn, batch)

    @staticmethod
    def get_held(engine: Engine, order_id: int) -> StoredOrder | Literal[False] | None:
        """The order encoded, read on the engine's held connection (store/held.py); False
        when that connection cannot be used now (the caller then reads through the pool)."""
        rows = held_rows(engine, _BY_ID, FULL_COLUMNS, {"order_id": order_id})
        if rows is None:
            return False
        return stored(rows[0]) if rows else None

    @staticmethod
    def text_held(engine: Engine, order_id: int) -> tuple[str, int] | Literal[False] | None:
        """The order's JSON answer text and its version, read on the engine's held connection
        (SQLite); None when there is no such order; False when the text cannot be had now
        (the held connection busy or failing, a value SQLite could not write): the caller
        then reads the order itself."""
        params = {"order_id": order_id}
        rows = on_held(
            engine,
            lambda held: held.driver.execute(
                *held.parameters(_TEXT_BY_ID, engine, params)
            ).fetchall(),
        )
        if rows is None:
            return False
        if not rows:
            return None
        head, tags, tail, version = rows[0]
        text = order_text(head, tags, tail)
        return False if text is None else (text, version)

    def get(self, order_id: int, *, encoded: bool = False) -> StoredOrder | None:
        """The order; `encoded`: on SQLite its scalars as the JSON answer writes them."""
        params = {"order_id": order_id}
        if encoded and self.conn.dialect.name == "sqlite":
            rows, _ = encoded_rows(self.conn, _BY_ID, FULL_COLUMNS, params)
            return stored(rows[0]) if rows else None
        return self._first(_BY_ID, stored, params)

    def get_for_update(self, order_id: int) -> StoredOrder | None:
        """The order, locked until this transaction ends, so concurrent writers take turns."""
        stmt = _BY_ID
        if self.conn.dialect.name == "postgresql":
            stmt = _BY_ID_LOCKED
        else:
            # SQLite has no row locks; a write that changes nothing takes the database's write
            # lock now, so the read below is not stale by the time this transaction writes.
            self.conn.execute(_TOUCH, {"order_id": order_id})
        return self._first(stmt, stored, {"order_id": order_id})

    def update(self, order: Order, names: Sequence[str], expected_version: int) -> bool:
        """Write the named fields of `order` and bump its version, only if it is still at
        `expected_version` (If-Match, and no lost update); False when it was not."""
        values: dict[str, Any] = {}
        for name in names:
            if name == "tags":
                continue  # their own table: written below, once the version check passed
            value = getattr(order, name)
            if name in NESTED_FIELDS:
                value = None if value is None else dumps(value).decode()
            values[name] = value
        stmt = (
            orders.update()
            .where(orders.c.id == order.id, orders.c.version == expected_version)
            .values(**values, version=expected_version + 1)
        )
        if self.conn.execute(stmt).rowcount != 1:
            return False
        if "tags" in names:
            replace_tags(self.conn, order.id or 0, order.tags)
        return True

    def with_vendor_ref(self, vendor_ref: str) -> list[StoredOrder]:
        """Every order carrying this merchant reference (test and pending ones too), by id."""
        stmt = select(*FULL_COLUMNS).where(orders.c.vendor_ref == vendor_ref)
        return self._all(stmt.order_by(orders.c.id), stored)

    def ids_by_external(self, channel: str, external_ids: Iterable[str]) -> dict[str, int]:
        return ids_by_external(self.conn, channel, external_ids)

    def count(self) -> int:
        return self.conn.execute(select(func.count()).select_from(orders)).scalar_one()

    def find(
        self, query: OrderQuery, *, ids_only: bool = False, encoded: bool = False
    ) -> OrderPage:
        """One page of orders matching the query, and the total count; `encoded`: on SQLite
        the rows' values as the JSON answer writes them (store/encoded.py)."""
        encode = encoded and self.conn.dialect.name == "sqlite"
        render = encode and not ids_only and query.picked is None
        if render:
            page = self._find(query, _rendered_columns(query), encode=True, render=True)
            if page is not None:
                return page
        found = self._find(query, _select_columns(query, ids_only), encode=encode, render=False)
        assert found is not None
        return found

    @staticmethod
    def find_held(engine: Engine, query: OrderQuery, *, ids_only: bool = False) -> OrderPage | None:
        """`find(query, encoded=True)` read on the engine's held connection (store/held.py),
        once the query's shape is compiled (store/shaped.py); None when that cannot be used
        now (the caller then reads through the pool, which compiles the shape the first time)."""
        render = not ids_only and query.picked is None
        columns = _rendered_columns(query) if render else _select_columns(query, ids_only)
        shaped = compiled_shape(engine.dialect, query, columns)
        if shaped is None:
            return None
        sql, given = shaped

        def read(held: Held) -> tuple[list[Any], int | None, str]:
            raw = held.driver.execute(sql.page.text, sql.page.bind(given)).fetchall()
            count = sql.count
            return raw, *count_compiled_on(
                engine, held.driver, query, count.text, count.bind(given)
            )

        found = on_held(engine, read)
        if found is None:
            return None
        raw, total, counted = found
        rows = None if render else encode(raw, columns, engine.dialect)
        return _paged(query, columns, engine.dialect, rows, raw, total, counted, encode=True)

    def _find(
        self, query: OrderQuery, columns: list[Any], *, encode: bool, render: bool
    ) -> OrderPage | None:
        """`find` with these columns; `render`: the rows as JSON text (store/rendered.py), or
        None when SQLite could not write one of them."""
        shaped = shaped_sql(self.conn, query, columns) if encode else None
        rows: Sequence[Any] | None = None
        if shaped is not None:  # the SQL compiled once for the query's shape
            sql, given = shaped
            page_params = sql.page.bind(given)
            if render:
                raw = driver_rows(self.conn, sql.page.text, page_params)
            else:
                rows, raw = encoded_driver_rows(self.conn, sql.page.text, page_params, columns)
            count_params = sql.count.bind(given)
            total, counted = count_compiled(self.conn, query, sql.count.text, count_params)
        else:
            rows, raw, total, counted = self._built(query, columns, encode=encode)
        return _paged(query, columns, self.conn.dialect, None if render else rows, raw, total,
                      counted, encode=encode)  # fmt: skip

    def _built(
        self, query: OrderQuery, columns: list[Any], *, encode: bool
    ) -> tuple[Sequence[Any], Sequence[Any], int | None, str]:
        """The page's rows (and the driver's), its total and how it was counted, from a
        statement built for this query."""
        compiled = compile_orders(query, self.conn)
        stmt = page_of(select(*columns), compiled, query)
        if self.conn.dialect.name == "sqlite" and len(columns) > 1:
            # SQLite sorts whole result rows: a page's ids first (from an index alone where
            # one covers the filters), then only those rows read in full.
            ids = page_of(select(orders.c.id), compiled, query).correlate(None)
            stmt = rows_of(columns).where(orders.c.id.in_(ids)).order_by(*compiled.order_by)
        rows: Sequence[Any]
        if encode:
            rows, raw = encoded_rows(self.conn, stmt, columns)
        else:
            rows = raw = [row._mapping for row in self.conn.execute(stmt)]
        total, counted = count_matches(self.conn, query, compiled.where)
        return rows, raw, total, counted


def _paged(
    query: OrderQuery,
    columns: list[Any],
    dialect: Dialect,
    rows: Sequence[Mapping[Any, Any]] | None,
    raw: Sequence[Any],
    total: int | None,
    counted: str,
    *,
    encode: bool,
) -> OrderPage | None:
    """The page of a list's rows (None: `raw` are rows of JSON text, rendered here), or None
    when SQLite could not write one of those texts."""
    rendered = rows is None
    if rows is None:
        texts = rendered_objects(raw) if query.view is View.BASIC else rendered_rows(raw)
        if texts is None:
            return None
        rows = cast(list[Mapping[Any, Any]], texts)  # JSON texts where rows would be
    next_after = None
    if len(rows) > query.page_size:
        rows = rows[: query.page_size]
        values = sort_values(dialect, query, columns, raw[query.page_size - 1], encode)
        # Only an exact count is carried to the next pages (an estimate is asked again).
        carried = total if counted == EXACT else None
        next_after = After(values, query.page + 1, carried)
    return OrderPage(rows, total, query.page, query.page_size, next_after, counted, rendered)


def _rendered_columns(query: OrderQuery) -> list[Any]:
    """The order's JSON text (a full one in parts, store/rendered.py, as kept by
    store/texts.py), then the sort keys' columns."""
    text = [_BASIC_HEAD] if query.view is View.BASIC else [KEPT_HEAD, TAGS_TEXT, KEPT_TAIL]
    return [*text, *(orders.c[k.field] for k in query.sort)]


def _select_columns(query: OrderQuery, ids_only: bool) -> list[Any]:
    sort_columns = [orders.c[k.field] for k in query.sort]
    base: list[Any]
    if query.picked is not None:
        base = FULL_COLUMNS  # `fields=` may name any key of the full order
    elif ids_only:
        base = [orders.c.id]
    elif query.view is View.BASIC:
        base = _BASIC_COLUMNS
    else:
        base = FULL_COLUMNS
    return base + [c for c in sort_columns if c not in base]
