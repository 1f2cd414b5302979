"""Webhook subscriptions (their deliveries are outbox rows, topic "webhook")."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_id_table
from orderhub.store.types import Str, UTCDateTime

revision = "0005"
down_revision = "0002"


def upgrade() -> None:
    create_id_table(
        "webhook_subscriptions",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", Str(255), nullable=False),
        sa.Column("filter", sa.Text()),
        sa.Column("secret", Str(128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_subscriptions")
