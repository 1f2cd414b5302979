"""Bulk jobs: the job with its counts, and the orders it acts on (store/jobs.py)."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_id_table
from orderhub.store.types import Id64, Str, UTCDateTime

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    create_id_table(
        "jobs",
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", Str(64), nullable=False),
        sa.Column("status", Str(16), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("selection", sa.Text(), nullable=False),
        *(sa.Column(n, sa.Integer(), nullable=False) for n in _COUNTS),
        sa.Column("checkpoint", Id64, nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("started_at", UTCDateTime()),
        sa.Column("finished_at", UTCDateTime()),
    )
    op.create_table(
        "job_items",
        sa.Column("job_id", Id64, nullable=False),
        sa.Column("order_id", Id64, nullable=False),
        sa.Column("outcome", Str(16)),
        sa.Column("reason", sa.Text()),
        sa.PrimaryKeyConstraint("job_id", "order_id", name="pk_job_items"),
    )


_COUNTS = ("matched", "processed", "changed", "unchanged", "failed")


def downgrade() -> None:
    op.drop_table("job_items")
    op.drop_table("jobs")
