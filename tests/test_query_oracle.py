"""The query compiler against SQLite as the oracle, one generated table per example.

Each example draws a handful of rows (values from small pools, so ties, NULLs, day edges and
equal decimals written differently all happen), stores them in a migrated SQLite database, and
draws filters and a sort. The filters are drawn as Python values first and only then written as
query-string text, so the expected rows come from a plain-Python reading of the query language
(docs/query-language.md) over the drawn values, never from the hub's parser. The hub parses the
text, compiles it and runs it on SQLite, walking the cursor page by page; the ids must be exactly
the expected ones, in the expected order.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert

from orderhub.domain import InvalidInput
from orderhub.query import Cursor, encode_cursor, parse_query
from orderhub.query.ast import After
from orderhub.query.cursor import fingerprint
from orderhub.store import UnitOfWork, make_engine, upgrade
from orderhub.store.tables import orders

#: At least 300 examples each (issue 10), or the profile's count when that is higher; the
#: `mutation` profile's own count under `make mutation`, which runs these once per mutant.
MUTATION_RUN = os.environ.get("HYPOTHESIS_PROFILE") == "mutation"
AT_LEAST_300 = settings(
    max_examples=settings.default.max_examples
    if MUTATION_RUN
    else max(300, settings.default.max_examples),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('oracle') / 'orderhub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


# ---- the pools every row and every filter value is drawn from ------------------------------

STATUSES = ["pending", "open", "shipped", "cancelled"]
DAYS = [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)]
INSTANTS = [
    datetime(2024, 2, 28, 23, 59, 59, 999999, UTC),
    datetime(2024, 2, 29, 0, 0, 0, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 30, 5, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
    datetime(2024, 3, 1, 0, 0, 0, tzinfo=UTC),
]
INTS = [-(2**63), -1, 0, 7, 12345, 2**63 - 1]
NAMES = ["", "John", "john", "Jöhn", "Zoë", "a b", "%_"]
AMOUNTS = [
    Decimal(x) for x in ("0", "0.0001", "9.99", "10", "10.5", "-3.25", "99999999999999.9999")
]

#: field -> (kind, nullable, pool). The kinds are the query language's, spelled out here.
FIELDS: dict[str, tuple[str, bool, list[Any]]] = {
    "id": ("int", False, [1, 2, 3, 5, 8, 13, 21, 34, 55, 89]),
    "status": ("enum", False, STATUSES),
    "confirmed": ("bool", False, [True, False]),
    "test": ("bool", False, [True, False]),
    "created_at": ("datetime", False, INSTANTS),
    "delivered_at": ("datetime", True, INSTANTS),
    "ship_date": ("date", True, DAYS),
    "customer_id": ("int", True, INTS),
    "customer": ("str", True, NAMES),
    "total": ("decimal", False, AMOUNTS),
    "cod": ("decimal", True, AMOUNTS),
}
ORDERED_OPS = ["eq", "neq", "in", "nin", "gt", "ge", "lt", "le", "bt", "nbt"]
EQUALITY_OPS = ["eq", "neq", "in", "nin"]


def _value(field: str) -> st.SearchStrategy[Any]:
    _, nullable, pool = FIELDS[field]
    drawn = st.sampled_from(pool)
    return st.one_of(st.none(), drawn) if nullable else drawn


@st.composite
def a_table(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.sampled_from(FIELDS["id"][2]), max_size=9, unique=True))
    rows = []
    for order_id in ids:
        row = {name: draw(_value(name)) for name in FIELDS if name != "id"}
        rows.append({"id": order_id, **row})
    return rows


# ---- filters: a Python value first, then the text a client would write ---------------------


@dataclass(frozen=True)
class Bound:
    """A filter value as the oracle reads it: a point, or a whole UTC day [start, end)."""

    start: Any
    end: Any | None = None  # None: a point

    def eq(self, x: Any) -> bool:
        return x == self.start if self.end is None else self.start <= x < self.end


def _compare(op: str, x: Any, bounds: list[Bound]) -> bool:
    b = bounds[0]
    point = b.end is None
    checks: dict[str, Callable[[], bool]] = {
        "eq": lambda: b.eq(x),
        "gt": lambda: x > b.start if point else x >= b.end,
        "ge": lambda: x >= b.start,
        "lt": lambda: x < b.start,
        "le": lambda: x <= b.start if point else x < b.end,
        "in": lambda: any(v.eq(x) for v in bounds),
        "bt": lambda: _compare("ge", x, bounds[:1]) and _compare("le", x, bounds[1:]),
    }
    return checks[op]()


@dataclass(frozen=True)
class DrawnFilter:
    field: str
    op: str
    bounds: tuple[Bound, ...]  # empty: $null
    text: str

    def keeps(self, row: dict[str, Any]) -> bool:
        x = row[self.field]
        if not self.bounds:
            return (x is None) == (self.op == "eq")
        if self.op in ("neq", "nin", "nbt"):
            return x is None or not _compare(self.op[1:], x, list(self.bounds))
        return x is not None and _compare(self.op, x, list(self.bounds))


def _offset_text(instant: datetime, draw: st.DrawFn) -> str:
    """The same instant as UTC without a zone, with Z, or in another zone (seconds only)."""
    style = draw(st.sampled_from(["plain", "T", "Z", "zone"]))
    if style == "zone":
        hours = draw(st.sampled_from([-8, 2, 14]))
        local = instant.astimezone(timezone(timedelta(hours=hours)))
        return local.isoformat(sep=draw(st.sampled_from([" ", "T"])))
    text = instant.strftime("%Y-%m-%d %H:%M:%S")
    if instant.microsecond:
        text += f".{instant.microsecond:06d}"
    if style == "T":
        return text.replace(" ", "T")
    return text + "Z" if style == "Z" else text


@st.composite
def a_bound(draw: st.DrawFn, field: str) -> tuple[Bound, str]:
    kind, _, pool = FIELDS[field]
    if kind == "datetime" and draw(st.booleans()):
        day = draw(st.sampled_from([*DAYS, date(2024, 3, 2)]))
        start = datetime.combine(day, time(), UTC)
        return Bound(start, start + timedelta(days=1)), day.isoformat()
    if kind == "bool":
        value = draw(st.booleans())
        words = ["true", "1", "TRUE", "True"] if value else ["false", "0", "FALSE", "False"]
        return Bound(value), draw(st.sampled_from(words))
    if kind == "int" and draw(st.booleans()):
        value = draw(st.integers(-(2**63), 2**63 - 1))
    elif kind == "decimal" and draw(st.booleans()):
        value = draw(st.decimals(-(10**14) + 1, 10**14 - 1, places=draw(st.integers(0, 4))))
    else:
        value = draw(st.sampled_from([v for v in pool if v != ""]))  # `customer=` is refused
    if kind == "datetime":
        return Bound(value), _offset_text(value, draw)
    if kind == "decimal":
        # 10 may be written 10.00: the same amount.
        text = str(value) if draw(st.booleans()) else f"{value:.4f}"
        return Bound(value), text
    return Bound(value), value.isoformat() if kind == "date" else str(value)


@st.composite
def a_filter(draw: st.DrawFn) -> DrawnFilter:
    field = draw(st.sampled_from(list(FIELDS)))
    kind, nullable, _ = FIELDS[field]
    op = draw(st.sampled_from(EQUALITY_OPS if kind in ("bool", "enum") else ORDERED_OPS))
    if nullable and op in ("eq", "neq") and draw(st.integers(0, 3)) == 0:
        text = "$null" if op == "eq" and draw(st.booleans()) else f"{op}:$null"
        return DrawnFilter(field, op, (), text)
    count = {"in": 4, "nin": 4}.get(op, 1)
    if op in ("bt", "nbt"):
        drawn = [draw(a_bound(field)) for _ in range(2)]
    else:
        drawn = draw(st.lists(a_bound(field), min_size=1, max_size=count))
    bounds = tuple(b for b, _ in drawn)
    words = ",".join(text for _, text in drawn)
    if op == "eq" and draw(st.booleans()) and ":" not in words:
        return DrawnFilter(field, op, bounds, words)  # eq is the default modifier
    spelled = "ne" if op == "neq" and draw(st.booleans()) else op
    return DrawnFilter(field, op, bounds, f"{spelled}:{words}")


SORTABLE = ["id", "total", "cod", "customer_id", "customer", "created_at", "delivered_at"]
a_sort = st.lists(
    st.tuples(st.sampled_from(SORTABLE), st.booleans()), max_size=3, unique_by=lambda k: k[0]
)


# ---- the oracle and the hub, side by side ---------------------------------------------------


def expected_ids(
    rows: list[dict[str, Any]], filters: list[DrawnFilter], sort: list[tuple[str, bool]]
) -> list[int]:
    kept = [row for row in rows if all(f.keeps(row) for f in filters)]
    keys = sort if any(name == "id" for name, _ in sort) else [*sort, ("id", False)]
    for name, descending in reversed(keys):  # stable sorts, last key first; NULL is greatest
        kept.sort(key=lambda r, n=name: _nulls_last(r[n]), reverse=descending)
    return [row["id"] for row in kept]


def _nulls_last(value: Any) -> tuple[bool, Any]:
    return (True, 0) if value is None else (False, value)


def store(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(orders))
        if rows:
            conn.execute(insert(orders), [_full_row(row) for row in rows])


def _full_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "channel": "oracle",
        "channel_type": "mall",
        "external_id": str(row["id"]),
        "channel_status": row["status"],
        "payment_status": "paid",
        "updated_at": row["created_at"],
        "currency": "CZK",
        "lines": "[]",
        "status_history": "[]",
        "extra": "{}",
        "version": 1,
    }


def walk(engine: Engine, params: list[tuple[str, str]], page_size: int) -> list[int]:
    """Every page of the query, following the cursor as a client would."""
    ids: list[int] = []
    cursor: str | None = None
    for page_number in range(1, 100):
        extra = [("page_size", str(page_size))] + ([("cursor", cursor)] if cursor else [])
        query = parse_query([*params, *extra], defaults=None)
        assert query.page == page_number
        with UnitOfWork(engine) as uow:
            page = uow.orders.find(query, ids_only=True)
        assert len(page.rows) <= page_size
        ids += [row["id"] for row in page.rows]
        if page.next_after is None:
            return ids
        after = page.next_after
        cursor = encode_cursor(Cursor(fingerprint(query.filters, query.sort), after))
    raise AssertionError("the cursor walk did not end")


def _canonical(field: str) -> list[tuple[Bound, str]]:
    """Every pool value of a field as one bound with its plainest text; days too for date-times."""
    kind, _, pool = FIELDS[field]
    found = []
    for value in pool:
        if value == "":
            continue
        if kind == "bool":
            found.append((Bound(value), "true" if value else "false"))
        elif kind == "datetime":
            text = value.strftime("%Y-%m-%d %H:%M:%S") + (
                f".{value.microsecond:06d}" if value.microsecond else ""
            )
            found.append((Bound(value), text))
        else:
            found.append((Bound(value), value.isoformat() if kind == "date" else str(value)))
    if kind == "datetime":
        for day in [*DAYS, date(2024, 3, 2)]:
            start = datetime.combine(day, time(), UTC)
            found.append((Bound(start, start + timedelta(days=1)), day.isoformat()))
    return found


def every_filter(field: str) -> Iterator[DrawnFilter]:
    """Each modifier with every pool value, and with every pair of them (in, nin, bt, nbt)."""
    kind, nullable, _ = FIELDS[field]
    values = _canonical(field)
    if nullable:
        yield DrawnFilter(field, "eq", (), "$null")
        yield DrawnFilter(field, "neq", (), "neq:$null")
    for op in EQUALITY_OPS if kind in ("bool", "enum") else ORDERED_OPS:
        if op in ("in", "nin", "bt", "nbt"):
            for (a, a_text), (b, b_text) in itertools.product(values, repeat=2):
                yield DrawnFilter(field, op, (a, b), f"{op}:{a_text},{b_text}")
        else:
            for bound, text in values:
                yield DrawnFilter(field, op, (bound,), f"{op}:{text}")


def a_row_of_every_value() -> list[dict[str, Any]]:
    """Row i holds pool value i of every field (wrapping), and one row is NULL wherever it can."""
    ids = FIELDS["id"][2]
    rows = []
    for i, order_id in enumerate(ids):
        row = {name: pool[i % len(pool)] for name, (_, _, pool) in FIELDS.items() if name != "id"}
        rows.append({"id": order_id, **row})
    for name, (_, nullable, _) in FIELDS.items():
        if nullable:
            rows[-1][name] = None
    return rows


@pytest.mark.parametrize("field", list(FIELDS))
def test_every_modifier_with_every_value_selects_what_python_selects(
    engine: Engine, field: str
) -> None:
    rows = a_row_of_every_value()
    store(engine, rows)
    checked = 0
    with UnitOfWork(engine) as uow:
        for f in every_filter(field):
            query = parse_query([(f.field, f.text), ("page_size", "1000")], defaults=None)
            got = [row["id"] for row in uow.orders.find(query, ids_only=True).rows]
            assert got == expected_ids(rows, [f], []), f.text
            checked += 1
    assert checked >= 10


@AT_LEAST_300
@given(
    rows=a_table(),
    filters=st.lists(a_filter(), max_size=3),
    sort=a_sort,
    page_size=st.integers(1, 4),
)
def test_compiled_query_on_sqlite_selects_what_python_selects(
    engine: Engine,
    rows: list[dict[str, Any]],
    filters: list[DrawnFilter],
    sort: list[tuple[str, bool]],
    page_size: int,
) -> None:
    store(engine, rows)
    params = [(f.field, f.text) for f in filters]
    if sort:
        params.append(("_sort", ",".join(f"{n}:{'desc' if d else 'asc'}" for n, d in sort)))
    assert walk(engine, params, page_size) == expected_ids(rows, filters, sort), params


@AT_LEAST_300
@given(rows=a_table(), sort=a_sort, data=st.data())
def test_the_keyset_after_any_row_gives_exactly_the_rows_after_it(
    engine: Engine, rows: list[dict[str, Any]], sort: list[tuple[str, bool]], data: st.DataObject
) -> None:
    """The cursor's keyset predicate alone (no offset): from any row, the rest in order."""
    store(engine, rows)
    everything = expected_ids(rows, [], sort)
    if not everything:
        return
    position = data.draw(st.integers(0, len(everything) - 1))
    params = [("page_size", "1000")]
    if sort:
        params.append(("_sort", ",".join(f"{n}:{'desc' if d else 'asc'}" for n, d in sort)))
    query = parse_query(params, defaults=None)
    row = next(r for r in rows if r["id"] == everything[position])
    after = After(tuple(row[k.field] for k in query.sort), 2, len(everything))
    cursor = encode_cursor(Cursor(fingerprint(query.filters, query.sort), after))
    with UnitOfWork(engine) as uow:
        found = uow.orders.find(parse_query([*params, ("cursor", cursor)], defaults=None))
    assert [r["id"] for r in found.rows] == everything[position + 1 :]


@AT_LEAST_300
@given(rows=a_table(), sort=a_sort, page=st.integers(1, 4), page_size=st.integers(1, 4))
def test_numbered_pages_slice_the_python_order(
    engine: Engine,
    rows: list[dict[str, Any]],
    sort: list[tuple[str, bool]],
    page: int,
    page_size: int,
) -> None:
    store(engine, rows)
    params = [("page", str(page)), ("page_size", str(page_size))]
    if sort:
        params.append(("_sort", ",".join(f"{n}:{'desc' if d else 'asc'}" for n, d in sort)))
    with UnitOfWork(engine) as uow:
        found = uow.orders.find(parse_query(params, defaults=None), ids_only=True)
    everything = expected_ids(rows, [], sort)
    assert [r["id"] for r in found.rows] == everything[(page - 1) * page_size :][:page_size]
    assert found.total == len(everything)


RESERVED = ["_sort", "page", "page_size", "cursor", "filter"]
PARAM_NAMES = st.sampled_from([*FIELDS, *RESERVED, "nosuchfield"])
PARAM_TEXT = st.one_of(
    st.text(max_size=20),
    st.builds(
        lambda op, text: f"{op}:{text}",
        st.sampled_from([*ORDERED_OPS, "ne", "xx", "EQ"]),
        st.text(alphabet="0123456789-:., $nulTZa", max_size=20),
    ),
)


@AT_LEAST_300
@given(params=st.lists(st.tuples(PARAM_NAMES, PARAM_TEXT), max_size=5))
def test_the_parser_answers_any_parameters_with_a_query_or_a_named_refusal(
    params: list[tuple[str, str]],
) -> None:
    try:
        query = parse_query(params)
    except InvalidInput as refusal:
        assert refusal.parameter in {name for name, _ in params}, (refusal.parameter, params)
        assert refusal.expected
    else:
        assert [f.field for f in query.filters] == [n for n, _ in params if n not in RESERVED]
        assert 1 <= query.page_size <= 1000
