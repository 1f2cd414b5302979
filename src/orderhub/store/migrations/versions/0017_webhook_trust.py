"""Webhook subscriptions: since when every delivery has failed (disabled after 5 days), and
their pacing (at most `max_per_second` deliveries a second; existing ones get the default)."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import UTCDateTime

revision = "0017"
down_revision = "0013"


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("failing_since", UTCDateTime()))
        batch.add_column(
            sa.Column("max_per_second", sa.Integer(), nullable=False, server_default="50")
        )
        batch.add_column(sa.Column("paced_until", UTCDateTime()))
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("max_per_second", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("paced_until")
        batch.drop_column("max_per_second")
        batch.drop_column("failing_since")
