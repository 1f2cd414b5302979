"""The CS-Cart sandbox's orders: an in-memory SQLite table holding each order's details JSON,
with the fields the list call filters and sorts on as columns.

Times are Unix seconds as CS-Cart keeps them; amounts are exact (orderhub's `Amount` column).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    select,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain.jsonfmt import dumps
from orderhub.domain.money import to_decimal
from orderhub.store.types import Amount

#: An order's details as CS-Cart JSON (string values, as the API sends them).
Payload = dict[str, Any]

_metadata = MetaData()
cscart_orders = Table(
    "cscart_orders",
    _metadata,
    Column("order_id", BigInteger, primary_key=True),
    Column("status", String(1), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("email", String, nullable=False),
    Column("customer", String, nullable=False),
    Column("invoice_id", BigInteger, nullable=True),
    Column("company_id", BigInteger, nullable=True),
    Column("credit_memo_id", BigInteger, nullable=True),
    Column("total", Amount(), nullable=False),
    Column("vendor_ref", String, nullable=True),
    Column("payload", Text, nullable=False),
)
C = cscart_orders.c


class CsCartOrderStore:
    """Thread-safe: the API, the life ticker and tests may touch it at once."""

    def __init__(self) -> None:
        self.engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        _metadata.create_all(self.engine)
        self.lock = threading.RLock()

    def insert(self, payloads: Sequence[Payload]) -> None:
        if payloads:
            with self.lock, self.engine.begin() as conn:
                conn.execute(cscart_orders.insert(), [row(p) for p in payloads])

    def save(self, payload: Payload) -> None:
        with self.lock, self.engine.begin() as conn:
            where = C.order_id == int(payload["order_id"])
            conn.execute(cscart_orders.update().where(where).values(row(payload)))

    def put(self, payload: Payload) -> int:
        """Insert the order, or replace the one with its id; its id."""
        order_id = int(payload["order_id"])
        with self.lock:
            if self.get(order_id) is None:
                self.insert([payload])
            else:
                self.save(payload)
        return order_id

    def get(self, order_id: int) -> Payload | None:
        with self.lock, self.engine.connect() as conn:
            text = conn.scalar(select(C.payload).where(C.order_id == order_id))
        return None if text is None else loads(text)

    def ids(self, where: ColumnElement[bool]) -> list[int]:
        with self.lock, self.engine.connect() as conn:
            return list(conn.scalars(select(C.order_id).where(where).order_by(C.order_id)))

    def find(self, where: ColumnElement[bool]) -> list[Payload]:
        with self.lock, self.engine.connect() as conn:
            texts = conn.scalars(select(C.payload).where(where).order_by(C.order_id))
            return [loads(text) for text in texts]

    def all(self) -> list[Payload]:
        return self.find(C.order_id.is_not(None))

    def count(self) -> int:
        with self.lock, self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(cscart_orders)) or 0)

    def page(
        self,
        where: ColumnElement[bool],
        order_by: Sequence[ColumnElement[Any]],
        limit: int,
        offset: int,
    ) -> tuple[int, list[Payload]]:
        """(total matching, the payloads of one page)."""
        rows = select(C.payload).where(where).order_by(*order_by).limit(limit).offset(offset)
        total = select(func.count()).select_from(cscart_orders).where(where)
        with self.lock, self.engine.connect() as conn:
            count = int(conn.scalar(total) or 0)
            return count, [loads(text) for text in conn.scalars(rows)]


def row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The table row of an order: the listed fields as columns, plus the JSON itself."""
    name = f"{payload.get('firstname') or ''} {payload.get('lastname') or ''}".strip()
    invoice = str(payload.get("invoice_id") or "")
    company = str(payload.get("company_id") or "")
    memo = str(payload.get("credit_memo_id") or "")
    return {
        "order_id": int(payload["order_id"]),
        "status": payload["status"],
        "timestamp": int(payload["timestamp"]),
        "updated_at": int(payload["updated_at"]),
        "user_id": int(payload.get("user_id") or 0),
        "email": str(payload.get("email") or "").lower(),
        "customer": name,
        "invoice_id": int(invoice) if invoice.isdigit() else None,
        "company_id": int(company) if company.isdigit() else None,
        "credit_memo_id": int(memo) if memo.isdigit() else None,
        "total": to_decimal(payload["total"]),
        "vendor_ref": payload.get("vendor_ref") or None,
        "payload": dumps(payload).decode(),
    }


def loads(text: str | bytes) -> Payload:
    """CS-Cart JSON with exact amounts (a JSON number with a fraction is read as Decimal)."""
    value: Payload = json.loads(text, parse_float=Decimal)
    return value
