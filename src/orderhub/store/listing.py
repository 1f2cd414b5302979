"""A list's page as SQL: the page's statement, and the sort values a cursor carries on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect

from orderhub.query import OrderQuery
from orderhub.query.compiler import Compiled
from orderhub.store.encoded import typed
from orderhub.store.tables import orders


def page_of(stmt: Select[Any], compiled: Compiled, query: OrderQuery) -> Select[Any]:
    """The page's rows of `stmt` (and one more, to tell whether a next page follows)."""
    stmt = stmt.where(compiled.where).order_by(*compiled.order_by)
    after = compiled.after
    stmt = stmt.where(after) if after is not None else stmt.offset(query.offset)
    return stmt.limit(query.page_size + 1)


def sort_values(
    dialect: Dialect, query: OrderQuery, columns: list[Any], row: Any, encoded: bool
) -> tuple[Any, ...]:
    """The sort keys' values of a row (a cursor's), typed even when the rows are encoded."""
    if not encoded:
        return tuple(row[k.field] for k in query.sort)
    places = {column.key: i for i, column in enumerate(columns)}
    return tuple(typed(orders.c[k.field], dialect, row[places[k.field]]) for k in query.sort)
