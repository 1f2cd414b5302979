"""Scheduled syncs: each channel account's next due time and the worker leasing it."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import Str, UTCDateTime

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "sync_schedule",
        sa.Column("channel", Str(64), nullable=False),
        sa.Column("next_due_at", UTCDateTime(), nullable=False),
        sa.Column("lease_owner", Str(64)),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_started_at", UTCDateTime()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name="pk_sync_schedule"),
    )


def downgrade() -> None:
    op.drop_table("sync_schedule")
