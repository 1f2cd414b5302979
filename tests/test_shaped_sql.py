"""A list's SQL compiled once per query shape (store/shaped.py) sends SQLite the very statements
and parameters the statement built per request sends, and answers the same bytes, whether it runs
through the pool or on the engine's held connection (store/held.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from helpers import make_order, store
from orderhub.api.render import Format, page_envelope, page_items, render
from orderhub.domain.samples import generate_orders
from orderhub.query import parse_query
from orderhub.services import orders as service
from orderhub.store import held, make_engine, shaped
from orderhub.store import orders as store_orders
from orderhub.store.count_cache import TOTALS
from orderhub.store.migrate import upgrade
from orderhub.store.orders import _select_columns

Params = list[tuple[str, str]]

#: Every operator, every kind of field (int, str, enum, bool, money, date, timestamps given as
#: a day or an instant), NULLs, negations of nullable and NOT NULL fields, sorts with NULLs.
QUERIES: list[Params] = [
    [],
    [("page_size", "7"), ("page", "3")],
    [("filter", "basic"), ("customer_id", "in:1,2,3,4,5,6,7,8,9,10,11,12")],
    [("status", "open"), ("ship_date", "bt:2020-01-01,2030-12-31"), ("_sort", "id:desc")],
    [("status", "in:pending,open,cancelled,shipped"), ("page_size", "1000")],
    [("status", "neq:open"), ("test", "true")],
    [("test", "in:0,1"), ("status", "pending")],  # an IN over booleans: part of the shape
    [("confirmed", "false"), ("cod", "gt:0")],
    [("total", "bt:10.5,500"), ("_sort", "total:desc")],
    [("total", "nbt:10.5,500"), ("currency", "nin:EUR,USD")],
    [("created_at", "2024-02-29"), ("_sort", "created_at")],
    [("created_at", "in:2024-02-29,2025-01-01"), ("page_size", "3")],
    [("created_at", "ge:2024-01-01T00:00:00Z"), ("delivered_at", "lt:2030-01-01")],
    [("delivered_at", "$null"), ("ship_date", "neq:$null")],
    [("delivered_at", "le:2029-12-31"), ("_sort", "delivered_at:desc,cod")],
    [("customer", "neq:Jane Doe"), ("country", "eq:CZ")],
    [("email", "lt:m"), ("_sort", "email")],
    [("id", "ge:5"), ("count", "none"), ("page_size", "10")],
    [("fields", "id,total,cod,created_at,shipping_address,tags"), ("page_size", "20")],
    [("_sort", "ship_date:desc,id"), ("page_size", "13"), ("page", "2")],
]


#: The statements SQLite runs, as it runs them (values in place), while a list is being noted.
_NOTED: list[list[str]] = []


@pytest.fixture
def sqlite_orders(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'shaped.db'}"
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def trace(dbapi_connection: Any, _record: Any) -> None:
        # SQLite's own trace, not SQLAlchemy's events: the held connection runs statements
        # on the driver alone.
        dbapi_connection.set_trace_callback(lambda sql: _NOTED[-1].append(sql) if _NOTED else None)

    upgrade(engine)
    orders = list(generate_orders(300, seed=11))
    orders += [
        make_order("edge-day", created_at=datetime(2024, 2, 29, 12, 0, tzinfo=UTC)),
        make_order("edge-null", delivered_at=None, ship_date=date(2025, 12, 31)),
        make_order("edge-money", total=Decimal("10.5"), cod=Decimal("0.0001")),
    ]
    store(engine, [replace(order, id=None) for order in orders])
    yield engine
    engine.dispose()


def _sent(
    engine: Engine, params: Params, *, shaped_sql: bool, held: bool = True
) -> tuple[list[Any], bytes]:
    """The statements the list sent to SQLite (values in place), and its JSON answer.
    `shaped_sql` False: the statements built per request, through the pool (the oracle);
    `held` False: no list on the held connection."""
    sent: list[str] = []
    TOTALS.changed()  # every count runs, so both paths send it
    _NOTED.append(sent)
    try:
        with pytest.MonkeyPatch.context() as patch:
            if not shaped_sql:
                patch.setattr(store_orders, "shaped_sql", lambda *args: None)
            if not shaped_sql or not held:
                patch.setattr(store_orders, "compiled_shape", lambda *args: None)
            query = parse_query(params)
            page = service.list_orders(engine, query, encoded=True)
    finally:
        _NOTED.pop()
    items = page_items(query, page, ids_only=False, fmt=Format.JSON)
    sent = [sql for sql in sent if "data_version" not in sql]
    return sent, render(page_envelope(query, page, items), Format.JSON)[0]


def _walk(engine: Engine, params: Params, pages: int, *, shaped_sql: bool) -> list[Any]:
    """The statements and answers of the first pages of a walk by cursor."""
    seen: list[Any] = []
    cursor = None
    for _ in range(pages):
        sent, body = _sent(
            engine, [*params, *([("cursor", cursor)] if cursor else [])], shaped_sql=shaped_sql
        )
        seen.append((sent, body))
        cursor = parse_cursor(body)
        if cursor is None:
            break
    return seen


def parse_cursor(body: bytes) -> str | None:
    import orjson

    cursor: str | None = orjson.loads(body)["paging"]["cursor"]
    return cursor


@pytest.mark.parametrize("params", QUERIES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p))
def test_a_shaped_list_sends_the_statements_and_answers_of_the_built_one(
    sqlite_orders: Engine, params: Params
) -> None:
    query = parse_query(params)
    with sqlite_orders.connect() as conn:  # the shaped path is taken: not a fallback
        assert shaped.shaped_sql(conn, query, _select_columns(query, False)) is not None
    built = _sent(sqlite_orders, params, shaped_sql=False)
    assert _sent(sqlite_orders, params, shaped_sql=True) == built  # compiled for the shape
    assert _sent(sqlite_orders, params, shaped_sql=True, held=False) == built  # from the cache
    assert _sent(sqlite_orders, params, shaped_sql=True) == built  # on the held connection
    assert built[0], "the list sent no statement"


@pytest.mark.parametrize(
    "params",
    [
        [("_sort", "total:desc,created_at"), ("page_size", "40")],
        [("_sort", "delivered_at:desc,cod"), ("page_size", "60")],
        [("status", "open"), ("_sort", "id:desc"), ("page_size", "25")],
    ],
)
def test_a_walk_by_cursor_is_the_same_shaped(sqlite_orders: Engine, params: Params) -> None:
    built = _walk(sqlite_orders, params, 6, shaped_sql=False)
    assert _walk(sqlite_orders, params, 6, shaped_sql=True) == built
    assert len(built) > 2


def test_the_same_shape_binds_each_request_s_own_values(sqlite_orders: Engine) -> None:
    first = _sent(sqlite_orders, [("customer_id", "in:1,2,3")], shaped_sql=True)
    other = _sent(sqlite_orders, [("customer_id", "in:4,5,6")], shaped_sql=False)
    assert _sent(sqlite_orders, [("customer_id", "in:4,5,6")], shaped_sql=True) == other
    assert first != other


@pytest.mark.parametrize(
    "params",
    [[("q", "a")], [("tags", "vip")], [("count", "estimated")]],
    ids=["search", "tags", "estimated"],
)
def test_what_the_shapes_do_not_cover_is_built_per_request(
    sqlite_orders: Engine, params: Params
) -> None:
    with sqlite_orders.connect() as conn:
        assert shaped.shaped_sql(conn, parse_query(params), []) is None
    assert _sent(sqlite_orders, params, shaped_sql=True) == _sent(
        sqlite_orders, params, shaped_sql=False
    )


def test_a_shaped_total_follows_a_write(sqlite_orders: Engine) -> None:
    params = [("customer_id", "in:424242"), ("status", "open")]
    query = parse_query(params)
    assert service.list_orders(sqlite_orders, query, encoded=True).total == 0
    store(sqlite_orders, [make_order("new-one", customer_id=424242)])
    assert service.list_orders(sqlite_orders, query, encoded=True).total == 1


@pytest.mark.parametrize("params", QUERIES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p))
def test_a_request_s_values_are_named_as_the_shape_s_parameters(params: Params) -> None:
    query = parse_query(params)
    named: dict[str, Any] = {}

    def note(name: str, value: Any, kind: Any) -> Any:
        named[name] = value
        return value

    shaped._slots(query, note)
    assert shaped._values(query) == {**named, "page_offset": query.offset}


def test_a_compiled_shape_is_listed_on_the_held_connection(sqlite_orders: Engine) -> None:
    """Once its shape is compiled, a list takes no connection from the pool, and answers the
    same; while the held connection is busy (another thread's), it goes through the pool."""
    params = [("status", "open"), ("_sort", "id:desc"), ("page_size", "25")]
    built = _sent(sqlite_orders, params, shaped_sql=False)
    checkouts: list[object] = []
    event.listen(sqlite_orders, "checkout", lambda *args: checkouts.append(args))
    assert _sent(sqlite_orders, params, shaped_sql=True) == built  # compiles it, pooled
    assert len(checkouts) >= 1
    # The engine's held connection is taken from the pool once, by its first list or lookup
    # (this one's, unless an earlier test compiled this shape already).
    assert _sent(sqlite_orders, params, shaped_sql=True) == built
    taken = len(checkouts)
    assert _sent(sqlite_orders, params, shaped_sql=True) == built
    assert len(checkouts) == taken, "a compiled shape went through the pool"
    with held._HELD[sqlite_orders].lock:  # busy
        assert _sent(sqlite_orders, params, shaped_sql=True) == built
    assert len(checkouts) > taken
