"""Order tags: one row per (order, tag) in `order_tags`, indexed by tag (docs/tags.md).

No other table holds them, so a sync's upsert of the orders table cannot touch them: they are
the hub's by construction. Reads take them with the order through one scalar subquery
(`TAGS_TEXT`: the tags joined by spaces, which a tag cannot hold); `replace_tags` writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    PrimaryKeyConstraint,
    Table,
    delete,
    func,
    insert,
    select,
)

from orderhub.domain.tags import MAX_TAG_LENGTH
from orderhub.query.compiler import Columns
from orderhub.query.sets import SetColumn
from orderhub.store.tables import ORDER_COLUMNS, metadata, orders
from orderhub.store.types import Id64, Str

order_tags = Table(
    "order_tags",
    metadata,
    Column("order_id", Id64, nullable=False),
    Column("tag", Str(MAX_TAG_LENGTH), nullable=False),
    PrimaryKeyConstraint("order_id", "tag"),
    Index(None, "tag"),
)

#: An order's tags as one text, `a b c` (NULL for none); labelled `tags` in a select of orders.
TAGS_TEXT = (
    select(func.aggregate_strings(order_tags.c.tag, " "))
    .where(order_tags.c.order_id == orders.c.id)
    .scalar_subquery()
    .label("tags")
)

#: The query language's columns: every scalar field's, and `tags` (a membership test).
FILTER_COLUMNS: Columns = {
    **ORDER_COLUMNS,
    "tags": SetColumn(orders.c.id, order_tags.c.order_id, order_tags.c.tag),
}


def tags_of(row: Mapping[Any, Any]) -> list[str]:
    """The sorted tags of a row read with TAGS_TEXT."""
    text = row["tags"]
    return sorted(text.split()) if text else []


def replace_tags(conn: Connection, order_id: int, new: Iterable[str]) -> None:
    """Make the order's tags `new`: only the differences are written."""
    stored = select(order_tags.c.tag).where(order_tags.c.order_id == order_id)
    before, after = set(conn.execute(stored).scalars()), set(new)
    if gone := before - after:
        conn.execute(
            delete(order_tags).where(
                order_tags.c.order_id == order_id, order_tags.c.tag.in_(sorted(gone))
            )
        )
    if added := after - before:
        conn.execute(insert(order_tags), [{"order_id": order_id, "tag": t} for t in sorted(added)])
