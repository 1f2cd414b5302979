"""How many orders a list matches, as `count=` asks (docs/query-language.md, "Counting").

- exact: `count(*)` of the matches (the default; a cursor page reuses its walk's first count;
  on SQLite a total counted before is reused until the database changes: store/count_cache.py).
- estimated, PostgreSQL: the planner's row estimate for the query (`EXPLAIN`): no row is read,
  whatever the size.
- estimated, SQLite (no planner estimate to ask): the matches counted up to `ESTIMATE_CAP`, and
  past it "at least ESTIMATE_CAP": the count stops after that many rows.
- none: nothing counted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.expression import Executable

from orderhub.query import Count, OrderQuery
from orderhub.store.count_cache import TOTALS
from orderhub.store.tables import orders

#: SQLite's estimate counts this many matches at most.
ESTIMATE_CAP = 10_000

#: What `paging.count` says was done: the three modes, and SQLite's capped estimate.
EXACT, ESTIMATED, AT_LEAST, NONE = "exact", "estimated", "at_least", "none"


class _Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <select>`, its parameters bound as the select's own."""

    inherit_cache = False

    def __init__(self, statement: Any) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _explain(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def count_matches(conn: Connection, query: OrderQuery, where: Any) -> tuple[int | None, str]:
    """The total of the list's envelope, and how it was found."""
    if query.count is Count.NONE:
        return None, NONE
    if query.count is Count.ESTIMATED:
        if conn.dialect.name == "postgresql":
            return _planner_estimate(conn, where), ESTIMATED
        return _capped(conn, where)
    if query.after is not None and query.after.total is not None:
        return query.after.total, EXACT  # deep keyset pages cost what the first page costs
    return TOTALS.count(conn, select(func.count()).select_from(orders).where(where)), EXACT


def count_compiled(
    conn: Connection, query: OrderQuery, sql: str, params: tuple[Any, ...]
) -> tuple[int | None, str]:
    """`count_matches` for a count compiled already (store/shaped.py: exact or none)."""
    return _exact_or_none(query, lambda: TOTALS.count_sql(conn, sql, params))


def count_compiled_on(
    engine: Engine, driver: sqlite3.Connection, query: OrderQuery, sql: str, params: tuple[Any, ...]
) -> tuple[int | None, str]:
    """`count_compiled` on one of the engine's driver connections (store/held.py)."""
    return _exact_or_none(query, lambda: TOTALS.count_driver(engine, driver, sql, params))


def _exact_or_none(query: OrderQuery, count: Callable[[], int]) -> tuple[int | None, str]:
    if query.count is Count.NONE:
        return None, NONE
    assert query.count is Count.EXACT, query.count
    if query.after is not None and query.after.total is not None:
        return query.after.total, EXACT
    return count(), EXACT


def _planner_estimate(conn: Connection, where: Any) -> int:
    stmt: Select[Any] = select(literal_column("1")).select_from(orders).where(where)
    plan = conn.execute(_Explain(stmt)).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _capped(conn: Connection, where: Any) -> tuple[int, str]:
    first: Select[Any] = (
        select(literal_column("1")).select_from(orders).where(where).limit(ESTIMATE_CAP + 1)
    )
    seen = int(conn.execute(select(func.count()).select_from(first.subquery())).scalar_one())
    if seen > ESTIMATE_CAP:
        return ESTIMATE_CAP, AT_LEAST
    return seen, EXACT
