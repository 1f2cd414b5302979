"""Push-back: where the merchant's last change stands with the channel, on orders.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import Str

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("push_status", Str(16), nullable=True))
        batch.add_column(sa.Column("push_error", sa.Text(), nullable=True))
        batch.create_index("ix_orders_push_status", ["push_status"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_push_status")
        batch.drop_column("push_error")
        batch.drop_column("push_status")
