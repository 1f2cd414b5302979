"""Sync bookkeeping: channel cursors, sync runs with their metrics, the quarantine."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_id_table, create_index
from orderhub.store.types import Str, UTCDateTime

revision = "0004"
down_revision = "0001"

_COUNTS = (
    "orders_new",
    "orders_changed",
    "orders_unchanged",
    "quarantined",
    "acknowledged",
    "requests",
    "retries",
    "errors",
)


def upgrade() -> None:
    op.create_table(
        "channel_state",
        sa.Column("channel", Str(64), nullable=False),
        sa.Column("channel_type", Str(16), nullable=False),
        sa.Column("cursor", sa.Text()),
        sa.Column("last_success_at", UTCDateTime()),
        sa.Column("last_run_id", sa.BigInteger()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name="pk_channel_state"),
    )
    create_id_table(
        "sync_runs",
        sa.Column("channel", Str(64), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("status", Str(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("error", sa.Text()),
    )
    create_index("sync_runs", "channel", "id")
    create_id_table(
        "quarantine",
        sa.Column("channel", Str(64), nullable=False),
        sa.Column("record_key", Str(128), nullable=False),
        sa.Column("external_id", Str(128)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.BigInteger()),
        sa.UniqueConstraint("channel", "record_key", name="uq_quarantine_channel_record_key"),
    )


def downgrade() -> None:
    op.drop_table("quarantine")
    op.drop_index("ix_sync_runs_channel_id", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_table("channel_state")
