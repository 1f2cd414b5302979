"""Compile an OrderQuery to SQLAlchemy Core: a WHERE clause, an ORDER BY and a keyset predicate.

Every value is a bound parameter, and only registered fields reach SQL: the caller supplies the
column for each field name. NULL sorts as the greatest value on both databases (NULLS LAST when
ascending, NULLS FIRST when descending), so keyset paging means the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, false, or_, true, tuple_
from sqlalchemy.sql.elements import BindParameter, ColumnElement, UnaryExpression

from orderhub.domain import QUERY_FIELDS, InvalidInput
from orderhub.query.ast import Fields, Filter, OrderQuery, SortKey
from orderhub.query.operators import OPERATORS, Column, Predicate, null_predicate
from orderhub.query.sets import SetColumn
from orderhub.query.values import Value

#: The column behind each field name; a set field (tags) names the table that holds it.
Columns = Mapping[str, Column | SetColumn]
#: The condition "the searchable text holds every term": the store supplies it, as the
#: columns, since where that text lives is the database's business (store/search.py).
Search = Callable[[Sequence[str]], Predicate]


@dataclass(frozen=True, slots=True)
class Compiled:
    where: Predicate
    order_by: list[UnaryExpression[Any]]
    #: The keyset condition "comes after the cursor's row", or None on the first page.
    after: Predicate | None


def compile_filter(f: Filter, columns: Columns, fields: Fields = QUERY_FIELDS) -> Predicate:
    col = columns[f.field]
    if isinstance(col, SetColumn):
        return col.predicate(f.operator, f.values)
    if f.is_null:
        return null_predicate(col, negated=f.operator == "neq")
    predicate = OPERATORS[f.operator].build(col, f.values)
    if OPERATORS[f.operator].negated and not fields[f.field].nullable:
        # The "or is null" arm of a negation can never match a NOT NULL column: drop it.
        predicate = ~OPERATORS[_positive(f.operator)].build(col, f.values)
    return predicate


def compile_where(
    filters: Sequence[Filter], columns: Columns, fields: Fields = QUERY_FIELDS
) -> Predicate:
    if not filters:
        return true()
    return and_(*(compile_filter(f, columns, fields) for f in filters))


def compile_order_by(
    sort: Sequence[SortKey], columns: Columns, fields: Fields = QUERY_FIELDS
) -> list[UnaryExpression[Any]]:
    clauses = []
    for key in sort:
        col = _sortable(columns, key.field)
        nullable = fields[key.field].nullable
        if key.descending:
            clauses.append(col.desc().nulls_first() if nullable else col.desc())
        else:
            clauses.append(col.asc().nulls_last() if nullable else col.asc())
    return clauses


def compile_after(
    sort: Sequence[SortKey],
    values: Sequence[Value | None],
    columns: Columns,
    fields: Fields = QUERY_FIELDS,
) -> Predicate:
    """Rows strictly after `values` in the order of `sort` (NULL greatest)."""
    cols = [_sortable(columns, k.field) for k in sort]
    directions = {k.descending for k in sort}
    plain = all(
        v is not None and not fields[k.field].nullable for k, v in zip(sort, values, strict=True)
    )
    if plain and len(directions) == 1:
        # One direction, no NULLs: a row-value comparison the index can serve directly.
        # Each value bound with its column's type, as `col > value` would be: SQLite keeps money
        # as a scaled integer, and a bare Decimal would be compared as a float.
        bound = [_bound(v, c) for c, v in zip(cols, values, strict=True)]
        left, right = tuple_(*cols), tuple_(*bound)
        return left < right if sort[0].descending else left > right
    arms = []
    for i, key in enumerate(sort):
        ties = [_same(cols[j], values[j]) for j in range(i)]
        arms.append(and_(*ties, _beyond(cols[i], key, values[i], fields[key.field].nullable)))
    return or_(*arms)


def compile_query(query: OrderQuery, columns: Columns, search: Search | None = None) -> Compiled:
    fields = query.fields
    where = compile_where((*query.filters, *query.implicit), columns, fields)
    if query.search:
        if search is None:
            raise InvalidInput("q", "no free-text search here (filters only)")
        where = and_(where, search(query.search))
    after = None
    if query.after is not None:
        after = compile_after(query.sort, query.after.values, columns, fields)
    return Compiled(where, compile_order_by(query.sort, columns, fields), after)


def _sortable(columns: Columns, name: str) -> Column:
    """A sort key's column (parse_sort admits no set field)."""
    col = columns[name]
    assert not isinstance(col, SetColumn), name
    return col


def _bound(value: Any, col: Column) -> BindParameter[Any]:
    # A parameter already (a statement built once per query shape, store/shaped.py) as it is.
    return value if isinstance(value, BindParameter) else bindparam(None, value, type_=col.type)


def _same(col: Column, value: Value | None) -> Predicate:
    return col.is_(None) if value is None else col == value


def _beyond(col: Column, key: SortKey, value: Value | None, nullable: bool) -> ColumnElement[bool]:
    if key.descending:
        return col.is_not(None) if value is None else col < value
    if value is None:
        return false()
    return or_(col > value, col.is_(None)) if nullable else col > value


def _positive(name: str) -> str:
    return {"neq": "eq", "nin": "in", "nbt": "bt"}[name]
