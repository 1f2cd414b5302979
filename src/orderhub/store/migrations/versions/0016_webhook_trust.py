"""Webhook subscriptions: since when every delivery has failed (disabled after 5 days), their
pacing (at most `max_per_second` deliveries a second; existing ones get the default), and their
secrets sealed (encrypted at rest, store/secrets.py; the columns widened for the tokens), as
are the answers kept for Idempotency-Key replays."""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection

from orderhub.store.secrets import seal, seal_bytes, unseal, unseal_bytes
from orderhub.store.types import Str, UTCDateTime

revision = "0016"
down_revision = "0015"

_SECRETS = ("secret", "previous_secret")


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("failing_since", UTCDateTime()))
        batch.add_column(
            sa.Column("max_per_second", sa.Integer(), nullable=False, server_default="50")
        )
        batch.add_column(sa.Column("paced_until", UTCDateTime()))
        batch.alter_column("secret", type_=Str(255), existing_nullable=False)
        batch.alter_column("previous_secret", type_=Str(255))
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("max_per_second", server_default=None)
    _convert(seal)
    _convert_answers(seal_bytes)


def downgrade() -> None:
    _convert_answers(unseal_bytes)
    _convert(unseal)
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("previous_secret", type_=Str(128))
        batch.alter_column("secret", type_=Str(128), existing_nullable=False)
        batch.drop_column("paced_until")
        batch.drop_column("max_per_second")
        batch.drop_column("failing_since")


def _convert(change: Callable[[Connection, str], str]) -> None:
    """Every stored secret through `change` (seal or unseal; no key is needed for none)."""
    conn = op.get_bind()
    table = sa.table("webhook_subscriptions", sa.column("id"), *map(sa.column, _SECRETS))
    for row in conn.execute(sa.select(table)).all():
        stored = row._mapping
        values = {name: change(conn, stored[name]) for name in _SECRETS if stored[name]}
        conn.execute(sa.update(table).where(table.c.id == row.id).values(**values))


def _convert_answers(change: Callable[[Connection, bytes], bytes]) -> None:
    conn = op.get_bind()
    table = sa.table(
        "idempotency_keys",
        sa.column("api_key_id"),
        sa.column("key"),
        sa.column("body", sa.LargeBinary()),
    )
    for row in conn.execute(sa.select(table).where(table.c.body.is_not(None))).all():
        where = (table.c.api_key_id == row.api_key_id) & (table.c.key == row.key)
        conn.execute(sa.update(table).where(where).values(body=change(conn, row.body)))
