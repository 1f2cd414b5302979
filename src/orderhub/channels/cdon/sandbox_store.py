"""The CDON sandbox's orders: an in-memory SQLite table of what the list call filters and sorts on
(when each order was last modified, its country) and what order life picks orders by, each
order's `{OrderDetails, Invoices}` JSON text beside it (`SqlOrderStore`: in a dict, or from a
snapshot on disk).

A list call's matching ids, in its order, are kept until the next write (`ordered_ids`):
paging through one filter sorts once, then slices, and a page splices the orders' JSON text as
it is. docs/performance.md, "Sandboxes", has the figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, MetaData, String, Table, func, select
from sqlalchemy.sql.elements import ColumnElement

from orderhub.channels.cdon.sandbox_rows import Payload, goods, open_quantity
from orderhub.channels.sandbox_store import SqlOrderStore, from_micros, micros, texts_of

#: Which orders order life may pick for a move (a column of the table).
Predicate = ColumnElement[bool]

_metadata = MetaData()
cdon_orders = Table(
    "cdon_orders",
    _metadata,
    Column("order_id", BigInteger, primary_key=True),
    #: LastModifiedDateUtc in microseconds since the epoch (what the list filters and sorts on).
    Column("modified", BigInteger, nullable=False),
    Column("country", String, nullable=False),
    Column("awaiting_payment", Boolean, nullable=False),
    Column("pending", Boolean, nullable=False),
    Column("untouched", Boolean, nullable=False),
    Column("several_open", Boolean, nullable=False),
)
C = cdon_orders.c


class CdonOrderStore(SqlOrderStore):
    """The orders by OrderId. Thread-safe (`lock`)."""

    def __init__(self) -> None:
        super().__init__(cdon_orders, C.order_id, row)

    def by_modification(
        self,
        country: str | None,
        since: datetime | None,
        until: datetime | None,
        skip: int,
        take: int,
    ) -> list[str]:
        """The JSON texts of orders skip.. skip+take of those of `country` modified from `since`
        to `until` (each when given), by (LastModifiedDateUtc, OrderId)."""
        key = (country, since, until)

        def query() -> Any:
            where = []
            if country is not None:
                where.append(C.country == country)
            if since is not None:
                where.append(C.modified >= micros(since))
            if until is not None:
                where.append(C.modified <= micros(until))
            return select(C.order_id).where(*where).order_by(C.modified, C.order_id)

        with self.lock:
            ids = self.ordered_ids(query, key)
            return texts_of(self.texts, ids[skip : skip + take])

    def save(self, payload: Payload) -> None:
        """Insert the order, or replace the one with its OrderId."""
        self.put(payload)

    def put(self, payload: Payload) -> int:
        order_id = int(payload["OrderDetails"]["OrderId"])
        with self.lock:
            if order_id not in self.texts:
                self.insert([payload])
            else:
                self._raw.update(self.id_column.name, order_id, self._row(payload))
                self._keep(order_id, payload)
                self.version += 1
        return order_id

    def latest(self) -> datetime | None:
        """The latest LastModifiedDateUtc of any order."""
        with self.lock, self.engine.connect() as conn:
            found = conn.scalar(select(func.max(C.modified)))
        return None if found is None else from_micros(found)


def row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The table row of an order."""
    details = payload["OrderDetails"]
    rows = details["OrderRows"]
    return {
        "order_id": int(details["OrderId"]),
        "modified": micros(_modified(details["LastModifiedDateUtc"])),
        "country": details["CountryCode"],
        "awaiting_payment": details["PaymentStatus"] == "AwaitingPayment",
        "pending": _pending(rows),
        "untouched": all(r["DeliveredQuantity"] == 0 for r in rows) and _pending(rows),
        "several_open": sum(goods(r) and open_quantity(r) > 0 for r in rows) > 1,
    }


def _pending(rows: list[Payload]) -> bool:
    return any(goods(r) and open_quantity(r) > 0 for r in rows)


def _modified(text: str) -> datetime:
    """The sandbox's own times (`sandbox_payload.cdon_time`), read back to the microsecond."""
    return datetime.strptime(text[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
