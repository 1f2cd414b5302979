"""Order tags: one row per (order, tag), indexed by tag (store/tags.py)."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_index
from orderhub.store.types import Id64, Str

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.create_table(
        "order_tags",
        sa.Column("order_id", Id64, nullable=False),
        sa.Column("tag", Str(50), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "tag", name="pk_order_tags"),
    )
    create_index("order_tags", "tag")


def downgrade() -> None:
    op.drop_table("order_tags")
