"""Order writes: the merchant's `carrier` on orders."""

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import Str

revision = "0006"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("carrier", Str(64)))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("carrier")
