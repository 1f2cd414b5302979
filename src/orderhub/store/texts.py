"""Each order's JSON text kept by SQLite beside the order, for the lists of full orders.

A list of 100 full orders spent most of its SQL writing each order's JSON (store/rendered.py):
~1.0 of ~1.6 ms for the ship window of `bench/read.py`, against ~0.45 ms to find the page's
ids (docs/performance.md, "Read API"). SQLite now writes that text when an order is written, in
triggers (migration 0026), into `order_texts` (the scalars' object, `head`, and what follows
the tags, `tail`: exactly `rendered.HEAD` and `rendered.TAIL` of the row), and a list reads it.
Written by SQLite's own triggers, the text cannot miss a write, whichever path makes it: an
insert, an upsert's update, an edit, a delete. A row without a text (none should be) is
written on the fly as before (`coalesce`), so an answer never differs. PostgreSQL has no such
table: its lists are encoded in Python.

The triggers hold the rendering's SQL as it was when they were made: `TRIGGERS` is what the
code writes now, and tests/test_order_texts.py checks the migration made the same, so changing
the rendering needs a migration that remakes them (and the texts).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, column, literal_column, select, table
from sqlalchemy.sql.selectable import Join

from orderhub.domain import SCALAR_FIELDS
from orderhub.domain.codec import NESTED_FIELDS
from orderhub.store.rendered import head_sql, tail_sql
from orderhub.store.tables import orders

TEXTS_TABLE = "order_texts"
order_texts = table(TEXTS_TABLE, column("id"), column("head"), column("tail"))

#: The order's texts, kept or (when none is kept) written now.
KEPT_HEAD: ColumnElement[Any] = literal_column(
    f"coalesce({TEXTS_TABLE}.head, {head_sql('orders')})"
).label("json_head")
KEPT_TAIL: ColumnElement[Any] = literal_column(
    f"coalesce({TEXTS_TABLE}.tail, {tail_sql('orders')})"
).label("json_tail")
_WITH_TEXTS: Join = orders.outerjoin(order_texts, order_texts.c.id == orders.c.id)

#: Columns whose change changes the text.
_RENDERED = ", ".join([*SCALAR_FIELDS, *NESTED_FIELDS])
_WRITE = (
    f"DELETE FROM {TEXTS_TABLE} WHERE id = new.id;"
    f" INSERT INTO {TEXTS_TABLE} (id, head, tail)"
    f" VALUES (new.id, {head_sql('new')}, {tail_sql('new')});"
)
#: The triggers keeping `order_texts`, as the code renders an order now. Each write deletes
#: then inserts: an INSERT OR REPLACE in a trigger would take the outer statement's conflict
#: policy instead (an `UPDATE OR IGNORE` would leave the old text).
_FORGET = f"DELETE FROM {TEXTS_TABLE} WHERE id = old.id;"
_BODIES = {
    "order_texts_insert": f"AFTER INSERT ON orders BEGIN {_WRITE} END",
    "order_texts_update": f"AFTER UPDATE OF {_RENDERED} ON orders BEGIN {_WRITE} END",
    "order_texts_delete": f"AFTER DELETE ON orders BEGIN {_FORGET} END",
}
TRIGGERS = {name: f"CREATE TRIGGER {name} {body}" for name, body in _BODIES.items()}


def rows_of(columns: list[Any]) -> Select[Any]:
    """SELECT of these columns of orders, with the kept texts joined when they are among
    them."""
    stmt = select(*columns)
    if any(c is KEPT_HEAD or c is KEPT_TAIL for c in columns):
        stmt = stmt.select_from(_WITH_TEXTS)
    return stmt
