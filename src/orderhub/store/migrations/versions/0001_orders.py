"""Canonical orders."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_id_table, create_index
from orderhub.store.types import Amount, Str, UTCDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_id_table(
        "orders",
        sa.Column("channel", Str(64), nullable=False),
        sa.Column("channel_type", Str(16), nullable=False),
        sa.Column("external_id", Str(128), nullable=False),
        sa.Column("status", Str(16), nullable=False),
        sa.Column("channel_status", Str(64), nullable=False),
        sa.Column("payment_status", Str(16), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("ship_date", sa.Date()),
        sa.Column("delivered_at", UTCDateTime()),
        sa.Column("customer_id", sa.BigInteger()),
        sa.Column("customer", Str(255)),
        sa.Column("email", Str(320)),
        sa.Column("phone", Str(64)),
        sa.Column("country", Str(2)),
        sa.Column("currency", Str(3), nullable=False),
        sa.Column("total", Amount(), nullable=False),
        sa.Column("subtotal", Amount()),
        sa.Column("shipping_cost", Amount()),
        sa.Column("discount", Amount()),
        sa.Column("tax_total", Amount()),
        sa.Column("cod", Amount()),
        sa.Column("payment_method", Str(64)),
        sa.Column("tracking_number", Str(128)),
        sa.Column("tracking_url", Str(1024)),
        sa.Column("vendor_ref", Str(64)),
        sa.Column("language", Str(16)),
        sa.Column("shipping_address", sa.Text()),
        sa.Column("billing_address", sa.Text()),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("status_history", sa.Text(), nullable=False),
        sa.Column("extra", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("channel", "external_id", name="uq_orders_channel_external_id"),
    )
    for columns in (
        ["status", "ship_date"],
        ["customer_id"],
        ["confirmed", "test", "status"],
        ["test", "status"],
        ["created_at"],
        ["updated_at"],
        ["vendor_ref"],
        ["email"],
    ):
        create_index("orders", *columns)


def downgrade() -> None:
    op.drop_table("orders")
