"""What the SQL-backed channel sandbox stores share: an in-memory SQLite table of orders, each
row the payload JSON plus the columns the channel's list call filters and sorts on.

A channel's store subclasses `SqlOrderStore` with its table, its id column and how a payload
becomes a row; it adds its own queries (its list call's page).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Table, create_engine, func, select
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ColumnElement

#: An order as the channel's JSON.
Payload = dict[str, Any]


class SqlOrderStore:
    """Thread-safe: the API, the life ticker and tests may touch it at once."""

    def __init__(
        self, table: Table, id_column: Column[Any], row: Callable[[Mapping[str, Any]], Any]
    ) -> None:
        self.engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        table.metadata.create_all(self.engine)
        self.lock = threading.RLock()
        self.table = table
        self.id_column = id_column
        self._row = row

    def insert(self, payloads: Sequence[Payload]) -> None:
        if payloads:
            with self.lock, self.engine.begin() as conn:
                conn.execute(self.table.insert(), [self._row(p) for p in payloads])

    def save(self, payload: Payload) -> None:
        with self.lock, self.engine.begin() as conn:
            where = self.id_column == int(payload[self.id_column.name])
            conn.execute(self.table.update().where(where).values(self._row(payload)))

    def put(self, payload: Payload) -> int:
        """Insert the order, or replace the one with its id; its id."""
        order_id = int(payload[self.id_column.name])
        with self.lock:
            if self.get(order_id) is None:
                self.insert([payload])
            else:
                self.save(payload)
        return order_id

    def get(self, order_id: int) -> Payload | None:
        with self.lock, self.engine.connect() as conn:
            text = conn.scalar(select(self.table.c.payload).where(self.id_column == order_id))
        return None if text is None else exact_loads(text)

    def ids(self, where: ColumnElement[bool]) -> list[int]:
        with self.lock, self.engine.connect() as conn:
            return list(conn.scalars(select(self.id_column).where(where).order_by(self.id_column)))

    def find(self, where: ColumnElement[bool]) -> list[Payload]:
        with self.lock, self.engine.connect() as conn:
            texts = conn.scalars(select(self.table.c.payload).where(where).order_by(self.id_column))
            return [exact_loads(text) for text in texts]

    def all(self) -> list[Payload]:
        return self.find(self.id_column.is_not(None))

    def count(self) -> int:
        with self.lock, self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(self.table)) or 0)


def exact_loads(text: str | bytes) -> Payload:
    """Channel JSON with exact amounts (a JSON number with a fraction is read as Decimal)."""
    value: Payload = json.loads(text, parse_float=Decimal)
    return value
