"""Full orders written as JSON by SQLite (store/rendered.py) are the very bytes the typed rows
(SQLAlchemy's Decimal and datetime, orjson) give: money, timestamps, nulls, unicode, escapes,
tags, big ids; a value SQLite cannot write so falls back to the rows read in Python. Basic
orders (`filter=basic`, their scalars alone) are compared the same way."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from helpers import make_order, store
from orderhub.api.render import Format, full_order, page_envelope, page_items, render
from orderhub.domain import SCALAR_FIELDS
from orderhub.domain.samples import generate_orders
from orderhub.query import parse_query
from orderhub.services import orders as service
from orderhub.store import BASIC_FIELDS, make_engine
from orderhub.store.migrate import upgrade
from orderhub.store.tables import orders
from orderhub.store.tags import replace_tags

Params = list[tuple[str, str]]
MAX_ID = 2**63 - 1

#: Scaled money integers (1/10,000 units) of every form: sub-cent, negative, the int64 ends.
AMOUNTS = [0, 1, -1, 5, 50, 99, 100, -100, -5000, 10_000, -10_000, 123_456, -123_456, 10**18]
AMOUNTS += [-(10**18), MAX_ID, -MAX_ID - 1, 1_234_500, 9_999, -9_999, 10_100, 10_010, 10_001]
TEXTS = [
    'quote " and backslash \\',
    "new\nline\ttab\rreturn\x08\x0c",
    "control \x00\x02\x1f\x7f",
    "unicode Žluťoučký kůň 日本 😀 \u2028\u2029 \ufeff",
    "</script>&<>'",
    "",
    " spaces ",
]
#: Timestamps not in SQLAlchemy's storage format (an older import, a hand edit).
ODD_TIMESTAMPS = ["2024-01-10 08:30:00", "2024-01-10 08:30:00.5"]
PAGES: list[Params] = [
    [("page_size", "1000")],
    [("_sort", "id:desc"), ("page_size", "1000")],
    [("status", "open"), ("ship_date", "bt:2020-01-01,2030-12-31"), ("_sort", "id:desc")],
    [("_sort", "total:desc"), ("page_size", "17"), ("page", "2")],
    [("_sort", "delivered_at:desc,cod"), ("page_size", "1000")],
    [("q", "a"), ("page_size", "1000")],  # built per request, not shaped
]


@pytest.fixture
def sqlite_orders(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'rendered.db'}")
    upgrade(engine)
    found = list(generate_orders(200, seed=23))
    found += [
        make_order("edge-micro", created_at=datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC)),
        make_order("edge-one-micro", delivered_at=datetime(2024, 3, 1, 0, 0, 0, 1, tzinfo=UTC)),
        make_order("edge-day", ship_date=date(2025, 12, 31), total=Decimal("12.3456")),
        make_order("edge-tags"),
        make_order("edge-no-tags"),
    ]
    store(engine, [replace(order, id=None) for order in found])
    with engine.begin() as conn:
        for order_id in range(1, 200, 3):
            replace_tags(conn, order_id, ["vip", "z-last", f"n:{order_id}"][: order_id % 4])
        edge = conn.execute(text("SELECT id FROM orders WHERE external_id = 'edge-tags'"))
        replace_tags(conn, edge.scalar_one(), ["vip", "a:1", "b-2", "0.z"])
    yield engine
    engine.dispose()


def _set(engine: Engine, sql: str, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), values)


def _page_json(engine: Engine, params: Params, *, encoded: bool) -> tuple[bytes, bool]:
    query = parse_query(params)
    page = service.list_orders(engine, query, encoded=encoded)
    items = page_items(query, page, ids_only=False, fmt=Format.JSON)
    return render(page_envelope(query, page, items), Format.JSON)[0], page.rendered


#: The full view (the default) and the basic one: every page is compared in each.
VIEWS: list[Params] = [[], [("filter", "basic")]]


def _same_pages(engine: Engine, *, rendered: bool = True) -> None:
    for view, page in [(view, page) for view in VIEWS for page in PAGES]:
        params = [*page, *view]
        typed, was_rendered = _page_json(engine, params, encoded=False)
        assert not was_rendered
        body, was_rendered = _page_json(engine, params, encoded=True)
        assert body == typed, params
        assert was_rendered is rendered, params
        assert b'"data":[]' not in typed  # the query matched orders: something was compared
    _same_details(engine, rendered=rendered)


def _same_details(engine: Engine, *, rendered: bool) -> None:
    """Each order's detail (`GET /v1/orders/{id}`) from SQLite's text is the typed one."""
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM orders ORDER BY id")).scalars().all()
    from_texts = 0
    for order_id in ids:
        order = service.get_order(engine, order_id)
        typed = render(full_order(order), Format.JSON, root="order")[0]
        kept = service.order_text(engine, order_id)
        if kept is not None:
            from_texts += 1
            assert (kept[0].encode(), kept[1]) == (typed, order.version), order_id
    # Every order's text when SQLite could write them all, else at least one read typed.
    assert (from_texts == len(ids)) if rendered else (from_texts < len(ids))


def test_generated_orders_are_the_same_rendered(sqlite_orders: Engine) -> None:
    _same_pages(sqlite_orders)
    body, _ = _page_json(sqlite_orders, [("_sort", "id"), ("page_size", "1000")], encoded=True)
    tags = {o["external_id"]: o["tags"] for o in orjson.loads(body)["data"]}
    assert tags["edge-tags"] == ["0.z", "a:1", "b-2", "vip"]
    assert tags["edge-no-tags"] == []


def test_every_form_of_amount_is_the_same_rendered(sqlite_orders: Engine) -> None:
    rng = random.Random(15)
    amounts = AMOUNTS + [
        rng.randint(-(10**12), 10**12) // rng.choice([1, 10, 100, 1000, 10_000]) for _ in range(150)
    ]
    money = [c.name for c in orders.c if type(c.type).__name__ == "Amount"]
    for order_id, scaled in enumerate(amounts, start=1):
        column = money[order_id % len(money)]
        _set(
            sqlite_orders, f"UPDATE orders SET {column} = :v WHERE id = :id", v=scaled, id=order_id
        )
    _set(sqlite_orders, "UPDATE orders SET total = :v WHERE id = 200", v=-MAX_ID - 1)
    _same_pages(sqlite_orders)


def test_texts_that_need_escapes_are_the_same_rendered(sqlite_orders: Engine) -> None:
    columns = ["customer", "email", "channel_status", "tracking_url", "push_error", "currency"]
    for i, value in enumerate(TEXTS):
        for j, column in enumerate(columns):
            order_id = 1 + i * len(columns) + j
            sql = f"UPDATE orders SET {column} = :v WHERE id = :id"
            _set(sqlite_orders, sql, v=value, id=order_id)
    _same_pages(sqlite_orders)


def test_nulls_in_every_nullable_column_and_big_ids_are_the_same_rendered(
    sqlite_orders: Engine,
) -> None:
    nullable = [name for name, field in SCALAR_FIELDS.items() if field.nullable]
    nullable += [c.name for c in orders.c if c.nullable and c.name not in SCALAR_FIELDS]
    for column in nullable:
        _set(sqlite_orders, f"UPDATE orders SET {column} = NULL WHERE id IN (3, 4)")
    _set(sqlite_orders, "UPDATE orders SET customer_id = :v WHERE id = 5", v=MAX_ID)
    _set(sqlite_orders, "UPDATE orders SET customer_id = :v WHERE id = 6", v=-MAX_ID - 1)
    _set(sqlite_orders, "DELETE FROM order_tags WHERE order_id = 7")
    _set(sqlite_orders, "UPDATE orders SET id = :v WHERE id = 7", v=MAX_ID)
    _same_pages(sqlite_orders)
    body, _ = _page_json(sqlite_orders, [("_sort", "id:desc")], encoded=True)
    assert orjson.loads(body)["data"][0]["id"] == MAX_ID


def test_a_text_holding_the_unwritten_mark_is_read_the_usual_way(sqlite_orders: Engine) -> None:
    _set(sqlite_orders, "UPDATE orders SET customer = 'a \x01 b' WHERE id % 2 = 1")
    _same_pages(sqlite_orders, rendered=False)


@pytest.mark.parametrize("stored", ODD_TIMESTAMPS)
def test_a_timestamp_in_another_form_falls_back_to_the_rows_read_in_python(
    sqlite_orders: Engine, stored: str
) -> None:
    # updated_at in the full view only, delivered_at in the basic one too.
    sql = "UPDATE orders SET updated_at = :v, delivered_at = :v WHERE id % 2 = 1"
    _set(sqlite_orders, sql, v=stored)
    _same_pages(sqlite_orders, rendered=False)  # every page holds an odd id


def test_an_amount_written_as_a_whole_real_is_the_same_rendered(sqlite_orders: Engine) -> None:
    # The column's numeric affinity stores it as the integer (a fraction would not be money).
    _set(sqlite_orders, "UPDATE orders SET total = 1250000.0 WHERE id % 2 = 1")
    _same_pages(sqlite_orders)


@pytest.mark.parametrize("view", VIEWS)
def test_a_walk_by_cursor_is_the_same_rendered(sqlite_orders: Engine, view: Params) -> None:
    params = [("_sort", "total:desc,created_at"), ("page_size", "30"), *view]
    walks = []
    for encoded in (False, True):
        bodies, cursor = [], None
        while True:
            body, _ = _page_json(
                sqlite_orders, [*params, *([("cursor", cursor)] if cursor else [])], encoded=encoded
            )
            bodies.append(body)
            cursor = orjson.loads(body)["paging"]["cursor"]
            if cursor is None:
                break
        walks.append(bodies)
    assert walks[0] == walks[1]
    assert len(walks[0]) > 3


def test_a_basic_page_is_its_fields_alone(sqlite_orders: Engine) -> None:
    body, was_rendered = _page_json(sqlite_orders, [("filter", "basic")], encoded=True)
    assert was_rendered
    first = orjson.loads(body)["data"][0]
    assert list(first) == list(BASIC_FIELDS)
