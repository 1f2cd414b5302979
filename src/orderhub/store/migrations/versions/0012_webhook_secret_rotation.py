"""Webhook secret rotation: the secret before the last rotation, and until when it still signs."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import Str, UTCDateTime

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("previous_secret", Str(128)))
        batch.add_column(sa.Column("previous_secret_until", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("previous_secret_until")
        batch.drop_column("previous_secret")
