"""A list's SQL compiled once per query shape (SQLite, answers in JSON).

Of a cheap list's Python time (20 customers, basic view), building its statement with
SQLAlchemy's expression layer, keying it for the compiled cache, binding its values and keying
its count took about three quarters (docs/performance.md, "Read API"); the SQL itself a tenth.
The shape of a query is all of it but its values: the fields and operators of its filters, how
many values each has (and which are whole days), the sort, the view, the page size, whether it
starts after a cursor (and which of the cursor's values are NULL). Per shape, the statements
`OrderRepository.find` would build (the page, with its ids first, and the count) are built once
with a named parameter in each value's place, and compiled once; per request only the values
are bound, each through its parameter's own type processing as SQLAlchemy binds it, and the SQL
runs through `exec_driver_sql` (SQLAlchemy's events still see it).

A query this does not cover (a free-text search, a filter on tags, `count=estimated`, fields
other than the orders'), or a statement whose SQL depends on its values at execution time,
returns None here: the caller builds it the usual way. tests/test_shaped_sql.py checks, over
queries of every operator and kind, that the SQL and parameters are the ones SQLAlchemy would
send for the statement built the usual way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import BindParameter, Connection, Integer, Select, bindparam, func, select
from sqlalchemy.engine import Dialect

from orderhub.domain import QUERY_FIELDS
from orderhub.query import Count, OrderQuery
from orderhub.query.compiler import Compiled
from orderhub.query.sets import SetColumn
from orderhub.query.values import Day
from orderhub.store.search import compile_orders
from orderhub.store.tables import orders
from orderhub.store.tags import FILTER_COLUMNS
from orderhub.store.texts import rows_of

_OFFSET = "page_offset"
_MAX_SHAPES = 512


@dataclass(frozen=True, slots=True)
class ShapedSql:
    """One compiled statement: its SQL, and how to bind a request's values to it."""

    text: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    #: Values the statement carries itself (the page's LIMIT), by parameter name.
    fixed: Mapping[str, Any]

    def bind(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        bound = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = values[name] if name in values else self.fixed[name]
            bound.append(value if process is None else process(value))
        return tuple(bound)


@dataclass(frozen=True, slots=True)
class Shaped:
    page: ShapedSql
    count: ShapedSql


_SHAPES: dict[tuple[Any, ...], Shaped | None] = {}
_LOCK = threading.Lock()


def shaped_sql(
    conn: Connection, query: OrderQuery, columns: list[Any]
) -> tuple[Shaped, dict[str, Any]] | None:
    """The query's compiled statements and its values, or None where this does not apply."""
    key = _shape(conn.dialect, query, columns)
    if key is None:
        return None
    shaped = _SHAPES.get(key)
    if shaped is None and key not in _SHAPES:
        shaped = _build(conn, query, columns)
        with _LOCK:
            if len(_SHAPES) >= _MAX_SHAPES:
                _SHAPES.clear()
            _SHAPES[key] = shaped
    if shaped is None:
        return None
    return shaped, _values(query)


def compiled_shape(
    dialect: Dialect, query: OrderQuery, columns: list[Any]
) -> tuple[Shaped, dict[str, Any]] | None:
    """`shaped_sql` where the query's shape is compiled already, else None (no connection to
    compile it with: `shaped_sql` does, the first time)."""
    key = _shape(dialect, query, columns)
    shaped = None if key is None else _SHAPES.get(key)
    return None if shaped is None else (shaped, _values(query))


def _shape(dialect: Dialect, query: OrderQuery, columns: list[Any]) -> tuple[Any, ...] | None:
    if (
        dialect.name != "sqlite"
        or query.search
        or query.count is Count.ESTIMATED
        or query.fields is not QUERY_FIELDS
    ):
        return None
    filters = (*query.filters, *query.implicit)
    if any(isinstance(FILTER_COLUMNS[f.field], SetColumn) for f in filters):
        return None
    return (
        tuple((f.field, f.operator, tuple(map(_kind, f.values))) for f in query.filters),
        tuple((f.field, f.operator, tuple(map(_kind, f.values))) for f in query.implicit),
        query.sort,
        query.page_size,
        None if query.after is None else tuple(map(_kind, query.after.values)),
        query.count is Count.NONE,
        tuple(id(column) for column in columns),  # module-level column lists: stable ids
        dialect.paramstyle,
    )


def _kind(value: Any) -> Any:
    # A boolean stays in the SQL as SQLAlchemy writes it (`orders.test = 0`): part of the shape.
    return value if isinstance(value, bool) else type(value)


def _slots(query: OrderQuery, slot: Callable[[str, Any, Any], Any]) -> OrderQuery:
    """The query with each value replaced by `slot(name, value, column type)`; the names are
    the same for every query of a shape."""
    filters = []
    for i, f in enumerate((*query.filters, *query.implicit)):
        kind = _type_of(f.field)
        values: list[Any] = []
        for j, value in enumerate(f.values):
            name = f"f{i}_{j}"
            if isinstance(value, bool):
                values.append(value)
            elif isinstance(value, Day):
                start, end = slot(f"{name}s", value.start, kind), slot(f"{name}e", value.end, kind)
                values.append(Day(start, end))
            else:
                values.append(slot(name, value, kind))
        filters.append(replace(f, values=tuple(values)))
    after = query.after
    if after is not None:
        kinds = [_type_of(k.field) for k in query.sort]
        marks = tuple(
            v if v is None or isinstance(v, bool) else slot(f"a{i}", v, kinds[i])
            for i, v in enumerate(after.values)
        )
        after = replace(after, values=marks)
    count = len(query.filters)
    return replace(
        query, filters=tuple(filters[:count]), implicit=tuple(filters[count:]), after=after
    )


def _type_of(field: str) -> Any:
    column = FILTER_COLUMNS[field]
    assert not isinstance(column, SetColumn), field  # `_shape` leaves set fields out
    return column.type


def _values(query: OrderQuery) -> dict[str, Any]:
    """The request's values under `_slots`'s names (the same walk, without building a query)."""
    values: dict[str, Any] = {_OFFSET: query.offset}
    for i, f in enumerate((*query.filters, *query.implicit)):
        for j, value in enumerate(f.values):
            if isinstance(value, Day):
                values[f"f{i}_{j}s"], values[f"f{i}_{j}e"] = value.start, value.end
            elif not isinstance(value, bool):
                values[f"f{i}_{j}"] = value
    if query.after is not None:
        for i, mark in enumerate(query.after.values):
            if mark is not None and not isinstance(mark, bool):
                values[f"a{i}"] = mark
    return values


def _build(conn: Connection, query: OrderQuery, columns: list[Any]) -> Shaped | None:
    def named(name: str, value: Any, kind: Any) -> BindParameter[Any]:
        return bindparam(name, type_=kind)

    template = _slots(query, named)
    compiled = compile_orders(template, conn)
    count = select(func.count()).select_from(orders).where(compiled.where)
    page = _page(columns, compiled, template)
    made = [_compile(stmt, conn.dialect) for stmt in (page, count)]
    if made[0] is None or made[1] is None:
        return None
    return Shaped(made[0], made[1])


def _page(columns: list[Any], compiled: Compiled, query: OrderQuery) -> Select[Any]:
    """`OrderRepository.find`'s page statement on SQLite (store/listing.py's `page_of`, the
    page's ids first), the offset a parameter."""
    ids = select(orders.c.id).where(compiled.where).order_by(*compiled.order_by)
    if compiled.after is not None:
        ids = ids.where(compiled.after)
    else:
        ids = ids.offset(bindparam(_OFFSET, type_=Integer))
    ids = ids.limit(query.page_size + 1).correlate(None)
    if len(columns) == 1:
        return ids
    return rows_of(columns).where(orders.c.id.in_(ids)).order_by(*compiled.order_by)


def _compile(stmt: Select[Any], dialect: Dialect) -> ShapedSql | None:
    compiled = stmt.compile(dialect=dialect)
    fixed = compiled.construct_params(_check=False)
    # Constants SQLAlchemy writes into the SQL when it runs (the tags' separator), written now.
    expanded = compiled.construct_expanded_state(fixed)
    names = expanded.positiontup
    if "POSTCOMPILE" in expanded.statement or names is None:
        return None  # SQL that depends on the values at execution time
    # The expanded state's names: an IN over booleans (part of the shape) is `test_1_1, ...`.
    processors = {**compiled._bind_processors, **expanded.processors}
    return ShapedSql(
        expanded.statement,
        tuple(names),
        tuple(cast(Callable[[Any], Any] | None, processors.get(name)) for name in names),
        expanded.parameters,
    )
