"""The tables, in SQLAlchemy Core. Migrations in store/migrations create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain import SCALAR_FIELDS
from orderhub.store.types import Amount, Id64, Str, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def id_table(name: str, *items: SchemaItem) -> Table:
    """A table on `metadata` keyed by a 64-bit autoincrement `id`, its first column."""
    return Table(name, metadata, Column("id", Id64, primary_key=True, autoincrement=True), *items)


orders = id_table(
    "orders",
    Column("channel", Str(64), nullable=False),
    Column("channel_type", Str(16), nullable=False),
    Column("external_id", Str(128), nullable=False),
    Column("status", Str(32), nullable=False),  # migration 0014: partially_shipped is 17
    Column("channel_status", Str(64), nullable=False),
    Column("payment_status", Str(16), nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("test", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("ship_date", Date),
    Column("delivered_at", UTCDateTime),
    Column("customer_id", BigInteger),
    Column("customer", Str(255)),
    Column("email", Str(320)),
    Column("phone", Str(64)),
    Column("country", Str(2)),
    Column("currency", Str(3), nullable=False),
    Column("total", Amount, nullable=False),
    # The order's other amounts, each in its currency; null when the channel does not say.
    *(
        Column(name, Amount)
        for name in ("subtotal", "shipping_cost", "discount", "tax_total", "cod")
    ),
    Column("payment_method", Str(64)),
    Column("tracking_number", Str(128)),
    Column("tracking_url", Str(1024)),
    Column("carrier", Str(64)),  # migration 0006
    Column("vendor_ref", Str(64)),
    Column("language", Str(16)),
    Column("push_status", Str(16)),  # migration 0007: push-back to the channel
    Column("push_error", Text),
    # Nested parts, each one JSON document kept as text: rendered by splicing, never re-parsed.
    Column("shipping_address", Text),
    Column("billing_address", Text),
    Column("lines", Text, nullable=False),
    Column("status_history", Text, nullable=False),
    Column("extra", Text, nullable=False),
    # Bumped on every change: the ETag and the optimistic-concurrency token.
    Column("version", Integer, nullable=False),
    UniqueConstraint("channel", "external_id"),
    Index(None, "status", "test", "ship_date"),  # migration 0024
    Index(None, "customer_id"),
    Index(None, "confirmed", "test", "status"),
    Index(None, "test", "status", "created_at"),  # visible orders by status, newest first
    Index(None, "created_at"),
    Index(None, "updated_at"),
    Index(None, "vendor_ref"),
    Index(None, "email"),
    Index(None, "push_status"),
)

#: The column behind each query-language field: the only names that ever reach SQL.
ORDER_COLUMNS: dict[str, ColumnElement[object]] = {name: orders.c[name] for name in SCALAR_FIELDS}
