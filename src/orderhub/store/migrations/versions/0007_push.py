"""Push-back: where the merchant's last change stands with the channel, on orders."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import Str

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("push_status", Str(16)))
        batch.add_column(sa.Column("push_error", sa.Text()))
        batch.create_index("ix_orders_push_status", ["push_status"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_push_status")
        batch.drop_column("push_error")
        batch.drop_column("push_status")
