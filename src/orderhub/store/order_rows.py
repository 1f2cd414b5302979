"""An order as the orders table stores it: its row, the row read back, and the upsert that
writes rows (store/orders.py's repository and store/merging.py's channel merge share them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from orderhub.domain import SCALAR_FIELDS, ChannelType, Order
from orderhub.domain.codec import NESTED_FIELDS, nested_texts, order_from_parts, scalars_of
from orderhub.domain.jsonfmt import loads
from orderhub.store.bulk import execute_many
from orderhub.store.search import indexed_as_a_batch, row_document
from orderhub.store.tables import ORDER_COLUMNS, orders
from orderhub.store.tags import TAGS_TEXT, tags_of
from orderhub.store.upsert import upsert_statement

#: From this many orders an upsert indexes its new ones for search in one statement (a first
#: sync's page): fewer, the search trigger's row each costs less than its DROP and CREATE.
INDEXED_AS_A_BATCH_FROM = 50

NESTED_COLUMNS = [orders.c[n] for n in NESTED_FIELDS]
#: Every column of a full order, its tags included.
FULL_COLUMNS = [*ORDER_COLUMNS.values(), *NESTED_COLUMNS, orders.c.version, TAGS_TEXT]


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


def upsert_rows(
    conn: Connection,
    rows: Sequence[dict[str, Any]],
    *,
    keep_confirmed: bool,
    or_same_time: bool,
) -> None:
    """`OrderRepository.upsert_many` of rows `order_row` made."""
    postgres = conn.dialect.name == "postgresql"
    groups = _by_channel_type(rows)
    # Rows given their id may land below the largest one: the trigger indexes those.
    many = len(rows) >= INDEXED_AS_A_BATCH_FROM and all("id" not in row for row in rows)
    documents = _documents(groups) if many and not postgres else None
    with indexed_as_a_batch(conn, len(rows), documents) if many else nullcontext():
        for channel_type, group in groups.items():
            stmt = upsert_statement(postgres, keep_confirmed, channel_type, or_same_time)
            execute_many(conn, stmt, orders, group)


def _documents(groups: Mapping[ChannelType, Sequence[Mapping[str, Any]]]) -> list[str] | None:
    """The rows' search documents in the order they are written (used if all are new: a first
    sync's page); None when one of them is SQLite's to write."""
    documents = [row_document(row) for group in groups.values() for row in group]
    return None if None in documents else documents  # type: ignore[return-value]


def _by_channel_type(rows: Sequence[dict[str, Any]]) -> dict[ChannelType, list[dict[str, Any]]]:
    groups: dict[ChannelType, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(ChannelType(row["channel_type"]), []).append(row)
    return groups
