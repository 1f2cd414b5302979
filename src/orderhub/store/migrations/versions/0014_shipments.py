"""Shipments and line cancellations/returns (one row per merchant action, with its lines and
its push state); `orders.status` widened to 32 characters for `partially_shipped`."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_id_table, create_index
from orderhub.store.types import Amount, Id64, Str, UTCDateTime

revision = "0014"
down_revision = "0013"


def _common() -> list[sa.Column[object]]:
    return [
        sa.Column("order_id", Id64, nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("amount", Amount(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", Str(64), nullable=False),
        sa.Column("push_status", Str(16)),
        sa.Column("push_error", sa.Text()),
    ]


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("status", type_=Str(32), existing_type=Str(16), existing_nullable=False)
    create_id_table(
        "shipments",
        *_common(),
        sa.Column("carrier", Str(64)),
        sa.Column("tracking_number", Str(128)),
        sa.Column("tracking_url", Str(1024)),
    )
    create_index("shipments", "order_id")
    create_id_table(
        "line_changes",
        *_common(),
        sa.Column("kind", Str(16), nullable=False),
        sa.Column("reason", Str(255), nullable=False),
    )
    create_index("line_changes", "order_id", "kind")


def downgrade() -> None:
    op.drop_table("line_changes")
    op.drop_table("shipments")
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("status", type_=Str(16), existing_type=Str(32), existing_nullable=False)
