"""Order events numbered per order (`sequence`: 1, 2, 3, ...), the existing ones by their order."""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE events SET sequence = (SELECT count(*) FROM events AS earlier"
        " WHERE earlier.order_id = events.order_id AND earlier.id <= events.id)"
    )
    with op.batch_alter_table("events") as batch:
        batch.alter_column("sequence", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("sequence")
