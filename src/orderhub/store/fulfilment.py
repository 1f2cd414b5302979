"""Shipments, and cancellations and returns of single lines: one row per merchant action, with
the lines and quantities it took and where its push to the channel stands (migration 0014).

The order's lines carry the running totals (delivered, cancelled, returned quantities); these
rows are the record of each action that made them, in the order they were made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Index, Table, Text, insert, select, update

from orderhub.domain.fulfilment import LineAction
from orderhub.domain.jsonfmt import dumps, loads
from orderhub.domain.order import PushStatus
from orderhub.store.repository import Repository
from orderhub.store.tables import id_table
from orderhub.store.types import Amount, Id64, Str, UTCDateTime

#: Reasons are short free text (a cancellation's or return's why).
MAX_REASON = 255


def _common() -> list[Any]:
    return [
        Column("order_id", Id64, nullable=False),
        # JSON: [{"line_id", "quantity", "total_after"}]: each line taken, and its total after.
        Column("lines", Text, nullable=False),
        # The value of the quantities taken (unit price x quantity), in the order's currency.
        Column("amount", Amount, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("created_by", Str(64), nullable=False),
        Column("push_status", Str(16)),
        Column("push_error", Text),
    ]


shipments = id_table(
    "shipments",
    *_common(),
    Column("carrier", Str(64)),
    Column("tracking_number", Str(128)),
    Column("tracking_url", Str(1024)),
    Index(None, "order_id"),
)

line_changes = id_table(
    "line_changes",
    *_common(),
    Column("kind", Str(16), nullable=False),  # cancellation or return
    Column("reason", Str(MAX_REASON), nullable=False),
    Index(None, "order_id", "kind"),
)


@dataclass(frozen=True, slots=True)
class LineRecord:
    """One shipment, cancellation or return as stored."""

    id: int
    order_id: int
    action: LineAction
    lines: list[dict[str, Any]]
    amount: Decimal
    created_at: datetime
    created_by: str
    push_status: str | None
    push_error: str | None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class NewRecord:
    order_id: int
    action: LineAction
    lines: Sequence[dict[str, Any]]
    amount: Decimal
    created_at: datetime
    created_by: str
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    reason: str | None = None


def _table(action: LineAction) -> Table:
    return shipments if action is LineAction.SHIPMENT else line_changes


class LineRecordRepository(Repository):
    def add(self, record: NewRecord) -> int:
        values: dict[str, Any] = {
            "order_id": record.order_id,
            "lines": dumps(list(record.lines)).decode(),
            "amount": record.amount,
            "created_at": record.created_at,
            "created_by": record.created_by,
        }
        if record.action is LineAction.SHIPMENT:
            values |= {"carrier": record.carrier, "tracking_number": record.tracking_number,
                       "tracking_url": record.tracking_url}  # fmt: skip
        else:
            values |= {"kind": record.action.value, "reason": record.reason}
        table = _table(record.action)
        stmt = insert(table).values(**values).returning(table.c.id)
        return int(self.conn.execute(stmt).scalar_one())

    def get(self, action: LineAction, record_id: int) -> LineRecord | None:
        table = _table(action)
        return self._first(select(table).where(table.c.id == record_id), _reader(action))

    def of_order(self, action: LineAction, order_id: int) -> list[LineRecord]:
        """The order's records of this kind, oldest first."""
        table = _table(action)
        stmt = select(table).where(table.c.order_id == order_id)
        if action is not LineAction.SHIPMENT:
            stmt = stmt.where(table.c.kind == action.value)
        return self._all(stmt.order_by(table.c.id), _reader(action))

    def set_push(
        self, action: LineAction, record_id: int, status: PushStatus, error: str | None
    ) -> None:
        table = _table(action)
        stmt = update(table).where(table.c.id == record_id)
        self.conn.execute(stmt.values(push_status=status.value, push_error=error))


def _reader(action: LineAction) -> Any:
    def read(row: Any) -> LineRecord:
        extra = (
            {k: row[k] for k in ("carrier", "tracking_number", "tracking_url")}
            if action is LineAction.SHIPMENT
            else {"reason": row["reason"]}
        )
        return LineRecord(
            id=row["id"],
            order_id=row["order_id"],
            action=action,
            lines=loads(row["lines"]),
            amount=row["amount"],
            created_at=row["created_at"],
            created_by=row["created_by"],
            push_status=row["push_status"],
            push_error=row["push_error"],
            **extra,
        )

    return read
