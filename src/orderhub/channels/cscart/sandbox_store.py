"""The CS-Cart sandbox's orders: an in-memory SQLite table holding each order's details JSON,
with the fields the list call filters and sorts on as columns.

Times are Unix seconds as CS-Cart keeps them; amounts are exact (orderhub's `Amount` column).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, select
from sqlalchemy.sql.elements import ColumnElement

from orderhub.channels.sandbox_store import SqlOrderStore, exact_loads
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
)
C = cscart_orders.c


class CsCartOrderStore(SqlOrderStore):
    def __init__(self) -> None:
        super().__init__(cscart_orders, C.order_id, row, summary)

    def page(
        self,
        where: ColumnElement[bool],
        order_by: Sequence[ColumnElement[Any]],
        limit: int,
        offset: int,
    ) -> tuple[int, list[str]]:
        """(total matching, the summaries of one page as JSON text)."""
        ordered = select(C.order_id).where(where).order_by(*order_by)
        return self.page_texts(ordered, offset, limit, summaries=True)


def row(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The table row of an order: the listed fields as columns."""
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
    }


#: The fields of an order's summary in the list (the rest is in its details).
SUMMARY_FIELDS = (
    "order_id", "issuer_id", "user_id", "company_id", "timestamp", "updated_at", "firstname",
    "lastname", "email", "phone", "status", "total", "invoice_id", "credit_memo_id", "vendor_ref",
)  # fmt: skip


def summary(payload: Payload) -> dict[str, Any]:
    """An order as the list shows it."""
    return {key: payload[key] for key in SUMMARY_FIELDS if key in payload}


def loads(text: str | bytes) -> Payload:
    """CS-Cart JSON with exact amounts (a JSON number with a fraction is read as Decimal)."""
    return exact_loads(text)
