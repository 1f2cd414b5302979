"""Saved views: a unique name and the list query it stands for (store/views.py)."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_id_table
from orderhub.store.types import Str, UTCDateTime

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    create_id_table(
        "views",
        sa.Column("name", Str(64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_views_name"),
    )


def downgrade() -> None:
    op.drop_table("views")
