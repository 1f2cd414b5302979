"""The order repository: the only place that reads and writes the orders table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, bindparam, func, select

from orderhub.domain import SCALAR_FIELDS, ChannelType, Order, StatusSource
from orderhub.domain.codec import NESTED_FIELDS, nested_texts, order_from_parts, scalars_of
from orderhub.domain.events import (
    EventType,
    FieldChange,
    OrderEvent,
    diff_orders,
    events_for_change,
)
from orderhub.domain.jsonfmt import dumps, loads
from orderhub.domain.ownership import Owner, fields_owned
from orderhub.domain.ownership import merge as apply_report
from orderhub.query import OrderQuery, View
from orderhub.query.ast import After
from orderhub.store.bulk import execute_many
from orderhub.store.counting import EXACT, count_compiled, count_matches
from orderhub.store.encoded import driver_rows, encoded_driver_rows, encoded_rows
from orderhub.store.held import held_rows
from orderhub.store.listing import page_of, sort_values
from orderhub.store.rendered import HEAD, TAIL, rendered_rows
from orderhub.store.repository import Repository
from orderhub.store.search import compile_orders, indexed_as_a_batch
from orderhub.store.shaped import shaped_sql
from orderhub.store.tables import ORDER_COLUMNS, orders
from orderhub.store.tags import TAGS_TEXT, replace_tags, tags_of
from orderhub.store.upsert import upsert_statement

#: From this many orders an upsert indexes its new ones for search in one statement (a first
#: sync's page): fewer, the search trigger's row each costs less than its DROP and CREATE.
INDEXED_AS_A_BATCH_FROM = 50

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

_NESTED_COLUMNS = [orders.c[n] for n in NESTED_FIELDS]
_FULL_COLUMNS = [*ORDER_COLUMNS.values(), *_NESTED_COLUMNS, orders.c.version, TAGS_TEXT]
_BASIC_COLUMNS = [orders.c[n] for n in BASIC_FIELDS]
# Built once: a statement made per call costs more to build and key than to run.
_BY_ID = select(*_FULL_COLUMNS).where(orders.c.id == bindparam("order_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_TOUCH = (
    orders.update().where(orders.c.id == bindparam("order_id")).values(version=orders.c.version)
)


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """One order as stored: native scalar values, nested parts as JSON text, its version and
    its tags (sorted)."""

    scalars: dict[str, Any]
    nested_json: dict[str, str | None]
    version: int
    tags: tuple[str, ...] = ()

    def to_order(self) -> Order:
        nested = {k: (loads(v) if v is not None else None) for k, v in self.nested_json.items()}
        return replace(order_from_parts(self.scalars, nested), tags=list(self.tags))


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What merging a batch of channel orders did: new ids, changed ids, how many were same."""

    created: list[int]
    changed: list[int]
    unchanged: int
    events: list[OrderEvent]


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
    #: The rows are each full order's JSON text (`orjson.Fragment`s, store/rendered.py).
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
        self._upsert_rows(rows, keep_confirmed=keep_confirmed, or_same_time=or_same_time)

    def _upsert_rows(
        self, rows: Sequence[dict[str, Any]], *, keep_confirmed: bool, or_same_time: bool
    ) -> None:
        """`upsert_many` of rows `order_row` made."""
        postgres = self.conn.dialect.name == "postgresql"
        # Rows given their id may land below the largest one: the trigger indexes those.
        many = len(rows) >= INDEXED_AS_A_BATCH_FROM and all("id" not in row for row in rows)
        with indexed_as_a_batch(self.conn, len(rows)) if many else nullcontext():
            for channel_type, group in _by_channel_type(rows).items():
                stmt = upsert_statement(postgres, keep_confirmed, channel_type, or_same_time)
                execute_many(self.conn, stmt, orders, group)

    def merge_from_channel(self, batch: Sequence[Order]) -> MergeResult:
        """Store orders as a channel reports them, and say what changed.

        New orders and orders the channel changed are written: a newer `updated_at`, or the
        same one with other values (channels stamp to the second, and a second change within
        that second is news too); older reports, and the same report read again, change
        nothing. The hub's `confirmed` flag is the merchant's: a
        new order, or one the channel changed, waits for the merchant again. The caller
        records `result.events` (history and webhooks) in the same transaction.
        """
        latest = _latest_per_key(batch)
        # Only the stored update times first: whole orders are read (and decoded) only for
        # the ones the channel reports newer; new and unchanged ones need nothing more.
        known = self._updated_at(latest)
        newer = [k for k, at in known.items() if latest[k].updated_at > at]
        same_time = [k for k, at in known.items() if latest[k].updated_at == at]
        existing = self._existing(newer + self._reported_otherwise(same_time, latest))
        writes: list[dict[str, Any]] = []
        changed: list[tuple[int, list[FieldChange]]] = []
        events: list[OrderEvent] = []
        at = datetime.now(UTC)
        for key, order in latest.items():
            if key not in known:
                writes.append(_channel_row(order, confirmed=False))
            elif (before := existing.get(key)) is not None:
                merged = apply_report(before, order)
                diffs = diff_orders(before, merged)
                if not diffs and order.updated_at == before.updated_at:
                    continue  # read again, nothing new: no write, no version bump
                if diffs and before.confirmed:  # news the merchant has not seen: said aloud
                    diffs.append(FieldChange("confirmed", True, False))
                changed.append((before.id or 0, diffs))
                writes.append(_channel_row(merged, confirmed=before.confirmed and not diffs))
        self._upsert_rows(writes, keep_confirmed=False, or_same_time=True)
        created_ids = self._ids_for([o for k, o in latest.items() if k not in known])
        for order_id in created_ids:
            events.append(OrderEvent(EventType.CREATED, order_id, at, StatusSource.CHANNEL))
        for order_id, diffs in changed:
            events += events_for_change(order_id, diffs, at, StatusSource.CHANNEL)
        changed_ids = [order_id for order_id, diffs in changed if diffs]
        unchanged = len(latest) - len(created_ids) - len(changed_ids)
        return MergeResult(created_ids, changed_ids, unchanged, events)

    def _updated_at(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
        """The stored `updated_at` of each (channel, external_id) that is stored, those rows
        locked until the merge commits (on SQLite the unit of work holds the write lock)."""
        found: dict[tuple[str, str], datetime] = {}
        for channel, external_ids in _by_channel(keys).items():
            stmt = select(orders.c.external_id, orders.c.updated_at).where(
                orders.c.channel == channel, orders.c.external_id.in_(external_ids)
            )
            if self.conn.dialect.name == "postgresql":
                # A PUT committing between this read and the upsert would be overwritten
                # unseen (the diff, and so the history, taken from the older row); locked in id
                # order, so two merges of overlapping pages wait instead of deadlocking.
                stmt = stmt.order_by(orders.c.id).with_for_update()
            for external_id, updated_at in self.conn.execute(stmt):
                found[(channel, external_id)] = updated_at
        return found

    def _reported_otherwise(
        self, keys: Sequence[tuple[str, str]], latest: Mapping[tuple[str, str], Order]
    ) -> list[tuple[str, str]]:
        """Of reports stamped at the stored time, those whose channel's columns differ from the
        stored row: raw columns compared, so an overlap re-read of an unchanged order (most of
        them) costs no decoding."""
        differ: list[tuple[str, str]] = []
        for channel, external_ids in _by_channel(keys).items():
            reports = {i: order_row(latest[(channel, i)]) for i in external_ids}
            names = _compared(latest[(channel, external_ids[0])].channel_type, reports)
            stmt = select(*(orders.c[n] for n in names)).where(
                orders.c.channel == channel, orders.c.external_id.in_(external_ids)
            )
            for row in self.conn.execute(stmt):
                stored_row = row._mapping
                report = reports[stored_row["external_id"]]
                if any(stored_row[n] != report[n] for n in names):
                    differ.append((channel, stored_row["external_id"]))
        return differ

    def _existing(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Order]:
        found: dict[tuple[str, str], Order] = {}
        for channel, external_ids in _by_channel(keys).items():
            stmt = select(*_FULL_COLUMNS).where(
                orders.c.channel == channel, orders.c.external_id.in_(external_ids)
            )
            for row in self.conn.execute(stmt):
                order = stored(row._mapping).to_order()
                found[(order.channel, order.external_id)] = order
        return found

    def _ids_for(self, batch: Sequence[Order]) -> list[int]:
        ids: list[int] = []
        for channel in sorted({o.channel for o in batch}):
            mine = [o.external_id for o in batch if o.channel == channel]
            found = self.ids_by_external(channel, mine)
            ids += [found[external_id] for external_id in mine]
        return ids

    @staticmethod
    def get_held(engine: Engine, order_id: int) -> StoredOrder | Literal[False] | None:
        """The order encoded, read on the engine's held connection (store/held.py); False
        when that connection cannot be used now (the caller then reads through the pool)."""
        rows = held_rows(engine, _BY_ID, _FULL_COLUMNS, {"order_id": order_id})
        if rows is None:
            return False
        return stored(rows[0]) if rows else None

    def get(self, order_id: int, *, encoded: bool = False) -> StoredOrder | None:
        """The order; `encoded`: on SQLite its scalars as the JSON answer writes them."""
        params = {"order_id": order_id}
        if encoded and self.conn.dialect.name == "sqlite":
            rows, _ = encoded_rows(self.conn, _BY_ID, _FULL_COLUMNS, params)
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
        stmt = select(*_FULL_COLUMNS).where(orders.c.vendor_ref == vendor_ref)
        return self._all(stmt.order_by(orders.c.id), stored)

    def ids_by_external(self, channel: str, external_ids: Iterable[str]) -> dict[str, int]:
        stmt = select(orders.c.external_id, orders.c.id).where(
            orders.c.channel == channel, orders.c.external_id.in_(list(external_ids))
        )
        return {row.external_id: row.id for row in self.conn.execute(stmt)}

    def count(self) -> int:
        return self.conn.execute(select(func.count()).select_from(orders)).scalar_one()

    def find(
        self, query: OrderQuery, *, ids_only: bool = False, encoded: bool = False
    ) -> OrderPage:
        """One page of orders matching the query, and the total count; `encoded`: on SQLite
        the rows' values as the JSON answer writes them (store/encoded.py)."""
        encode = encoded and self.conn.dialect.name == "sqlite"
        render = encode and not ids_only and query.picked is None and query.view is View.FULL
        if render:
            page = self._find(query, _rendered_columns(query), encode=True, render=True)
            if page is not None:
                return page
        found = self._find(query, _select_columns(query, ids_only), encode=encode, render=False)
        assert found is not None
        return found

    def _find(
        self, query: OrderQuery, columns: list[Any], *, encode: bool, render: bool
    ) -> OrderPage | None:
        """`find` with these columns; `render`: the rows as JSON text (store/rendered.py), or
        None when SQLite could not write one of them."""
        shaped = shaped_sql(self.conn, query, columns) if encode else None
        rows: Sequence[Any]
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
        if render:
            texts = rendered_rows(raw)
            if texts is None:
                return None
            rows = texts
        next_after = None
        if len(rows) > query.page_size:
            rows = rows[: query.page_size]
            values = sort_values(self.conn, query, columns, raw[query.page_size - 1], encode)
            # Only an exact count is carried to the next pages (an estimate is asked again).
            carried = total if counted == EXACT else None
            next_after = After(values, query.page + 1, carried)
        return OrderPage(rows, total, query.page, query.page_size, next_after, counted, render)

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
            stmt = select(*columns).where(orders.c.id.in_(ids)).order_by(*compiled.order_by)
        rows: Sequence[Any]
        if encode:
            rows, raw = encoded_rows(self.conn, stmt, columns)
        else:
            rows = raw = [row._mapping for row in self.conn.execute(stmt)]
        total, counted = count_matches(self.conn, query, compiled.where)
        return rows, raw, total, counted


def _compared(channel_type: ChannelType, reports: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The columns a report at the stored time is compared on: all but the hub's own."""
    skip = {"id", "version", "confirmed", *fields_owned(ChannelType(channel_type), Owner.HUB)}
    first = next(iter(reports.values()))
    return ["external_id", *(n for n in first if n not in skip and n != "external_id")]


def _by_channel_type(rows: Sequence[dict[str, Any]]) -> dict[ChannelType, list[dict[str, Any]]]:
    groups: dict[ChannelType, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(ChannelType(row["channel_type"]), []).append(row)
    return groups


def _channel_row(order: Order, *, confirmed: bool) -> dict[str, Any]:
    """The row a channel's report writes: no id (the upsert keys on channel and external id),
    the hub's `confirmed` as the merge decided it (the order itself is not copied)."""
    row = order_row(order)
    row.pop("id", None)
    row["confirmed"] = confirmed
    return row


def _by_channel(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, []).append(external_id)
    return by_channel


def _latest_per_key(batch: Sequence[Order]) -> dict[tuple[str, str], Order]:
    """One order per (channel, external_id): the newest, when a batch repeats one."""
    latest: dict[tuple[str, str], Order] = {}
    for order in batch:
        key = (order.channel, order.external_id)
        if key not in latest or order.updated_at > latest[key].updated_at:
            latest[key] = order
    return latest


def _rendered_columns(query: OrderQuery) -> list[Any]:
    """A full order's JSON text in parts (store/rendered.py), then the sort keys' columns."""
    return [HEAD, TAGS_TEXT, TAIL, *(orders.c[k.field] for k in query.sort)]


def _select_columns(query: OrderQuery, ids_only: bool) -> list[Any]:
    sort_columns = [orders.c[k.field] for k in query.sort]
    base: list[Any]
    if query.picked is not None:
        base = _FULL_COLUMNS  # `fields=` may name any key of the full order
    elif ids_only:
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
        tags=tuple(tags_of(mapping)),
    )


def order_row(order: Order) -> dict[str, Any]:
    """The orders table's row of an order (no `id` when it has none): the values before the
    columns' bind conversion."""
    row = scalars_of(order)
    if row["id"] is None:
        del row["id"]
    row.update(nested_texts(order))
    row["version"] = 1
    return row
