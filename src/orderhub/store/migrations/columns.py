"""What the revisions share: the 64-bit `id` key and the names of store/tables.py's naming
convention (`pk_<table>`, `ix_<table>_<columns>`).

Revisions already applied somewhere call these, so what they build never changes: a different
column or name is a new helper (or plain `op` calls in the new revision), never an edit here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from orderhub.store.types import Id64


def create_id_table(name: str, *items: SchemaItem) -> None:
    """`op.create_table` with a 64-bit autoincrement `id` first, the primary key `pk_<name>`."""
    op.create_table(
        name,
        sa.Column("id", Id64, autoincrement=True, nullable=False),
        *items,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
    )


def create_index(table: str, *columns: str) -> None:
    """The index on these columns, named `ix_<table>_<column>_<column>...`."""
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns))
