"""Join the four branches (api keys, sync, webhooks, order writes/push) into one head.

No schema change: from here on the history is linear and `upgrade head` is the only target
(docs/architecture.md, "Migrations"). A database already at every old head upgrades to this one.
"""

revision = "0008"
down_revision = ("0003", "0004", "0005", "0007")


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
