"""Staff accounts of the web UI (store/users.py, docs/web-accounts.md): `users` (argon2 password
hashes, never passwords), `web_sessions` (keyed by the sha256 of the session token, never the
token) and `login_failures` (wrong passwords, counted per account and per address to throttle).
"""

import sqlalchemy as sa
from alembic import op

from orderhub.store.migrations.columns import create_id_table, create_index
from orderhub.store.types import Id64, Str, UTCDateTime

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    create_id_table(
        "users",
        sa.Column("email", Str(254), nullable=False),
        sa.Column("role", Str(16), nullable=False),
        sa.Column("password_hash", Str(255), nullable=False),
        sa.Column("disabled_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("password_changed_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", Str(64), nullable=False),
        sa.Column("user_id", Id64, nullable=False),
        sa.Column("csrf", Str(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
    )
    create_index("web_sessions", "user_id")
    create_id_table(
        "login_failures",
        sa.Column("email", Str(254), nullable=False),
        sa.Column("address", Str(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    create_index("login_failures", "email", "at")
    create_index("login_failures", "address", "at")


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("web_sessions")
    op.drop_table("users")
