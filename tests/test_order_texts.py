"""Each order's JSON text kept by SQLite (store/texts.py, migration 0026): after any write,
by any path (the hub's inserts, upserts and edits, a channel's merge, hand-written SQL with
its own conflict policy, a delete), the kept texts are what SQLite writes of the orders as
they stand, one for each order and none else; the triggers are the code's; a store migrated
with orders in it gets their texts; a list reads them, and answers the same without them.
What the texts say is compared with the typed path in tests/test_rendered_rows.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from helpers import client, make_order, store
from orderhub.api.render import Format, page_envelope, page_items, render
from orderhub.domain import Status
from orderhub.domain.samples import generate_orders
from orderhub.query import parse_query
from orderhub.services import orders as service
from orderhub.services.generate import write_orders
from orderhub.store import UnitOfWork, make_engine
from orderhub.store.migrate import upgrade
from orderhub.store.rendered import head_sql, tail_sql
from orderhub.store.texts import TRIGGERS

#: What SQLite writes of each order now (the rendering a list did before the texts were kept).
LIVE = f"SELECT id, {head_sql('orders')}, {tail_sql('orders')} FROM orders ORDER BY id"
KEPT = "SELECT id, head, tail FROM order_texts ORDER BY id"
#: The kept texts changed where a list or a detail shows it.
MARK = (
    "UPDATE order_texts"
    ' SET head = replace(head, \'"channel_status":"\', \'"channel_status":"marked\')'
)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'texts.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _assert_kept_as_written(engine: Engine) -> int:
    with engine.connect() as conn:
        live = [tuple(row) for row in conn.execute(text(LIVE))]
        kept = [tuple(row) for row in conn.execute(text(KEPT))]
    assert [row[0] for row in kept] == [row[0] for row in live], "a text missing or left over"
    assert kept == live
    return len(kept)


def test_the_migration_made_the_triggers_the_code_writes(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        made = dict(
            conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        )
    for name, sql in TRIGGERS.items():
        assert made.get(name) == sql, name


def test_every_kind_of_write_leaves_the_texts_of_the_orders_as_they_stand(
    sqlite_engine: Engine,
) -> None:
    generated = [replace(o, id=None) for o in generate_orders(60, seed=5)]
    store(sqlite_engine, generated)
    assert _assert_kept_as_written(sqlite_engine) == 60

    # A channel's report of changed orders, and of new ones, merged as a sync merges them.
    later = datetime(2030, 1, 1, tzinfo=UTC)
    changed = [
        replace(o, status=Status.CANCELLED, total=Decimal("1.0001"), updated_at=later)
        for o in generated[:10]
    ]
    fresh = [make_order(f"new-{n}") for n in range(5)]
    with UnitOfWork(sqlite_engine) as uow:
        result = uow.orders.merge_from_channel([*changed, *fresh])
    assert len(result.changed) == 10 and len(result.created) == 5
    assert _assert_kept_as_written(sqlite_engine) == 65

    # An edit through the repository (If-Match's version check), then the bare SQL a
    # migration or an operator might run, with a conflict policy of its own.
    with UnitOfWork(sqlite_engine) as uow:
        found = uow.orders.get(1)
        assert found is not None
        edited = replace(found.to_order(), tracking_number="TRACK-1", cod=Decimal("-3.5"))
        assert uow.orders.update(edited, ["tracking_number", "cod"], found.version)
    with sqlite_engine.begin() as conn:
        conn.execute(text("UPDATE OR IGNORE orders SET status = 'shipped' WHERE id % 3 = 0"))
        conn.execute(text("UPDATE OR REPLACE orders SET extra = '{\"k\": 1}' WHERE id = 2"))
        conn.execute(text("UPDATE orders SET created_at = '2024-01-10 08:30:00' WHERE id = 4"))
        conn.execute(text("INSERT OR REPLACE INTO orders SELECT * FROM orders WHERE id = 5"))
        conn.execute(text("DELETE FROM orders WHERE id IN (6, 7)"))
    assert _assert_kept_as_written(sqlite_engine) == 63


def test_the_bulk_writes_of_orderhub_generate_leave_every_text(sqlite_engine: Engine) -> None:
    write_orders(sqlite_engine, 300, seed=3, workers=1, batch=120)  # into the empty table
    write_orders(sqlite_engine, 400, seed=3, workers=1, batch=120)  # 300 again, 100 new
    assert _assert_kept_as_written(sqlite_engine) == 400


def test_a_store_migrated_with_orders_gets_their_texts(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    try:
        upgrade(engine, "0025")
        store(engine, [replace(o, id=None) for o in generate_orders(40, seed=9)])
        upgrade(engine)
        assert _assert_kept_as_written(engine) == 40
    finally:
        engine.dispose()


def _answer(engine: Engine, params: list[tuple[str, str]]) -> bytes:
    query = parse_query(params)
    page = service.list_orders(engine, query, encoded=True)
    assert page.rendered  # the texts path, not the fallback to rows read in Python
    items = page_items(query, page, ids_only=False, fmt=Format.JSON)
    return render(page_envelope(query, page, items), Format.JSON)[0]


@pytest.mark.parametrize(
    "params",
    [
        [("page_size", "50")],
        [("status", "open"), ("_sort", "id:desc")],
        [("_sort", "total:desc"), ("page_size", "7"), ("page", "3")],
    ],
)
def test_a_list_reads_the_kept_texts_and_answers_the_same_without_them(
    sqlite_engine: Engine, params: list[tuple[str, str]]
) -> None:
    orders = [replace(o, id=None) for o in generate_orders(80, seed=13)]
    store(sqlite_engine, orders)
    kept = _answer(sqlite_engine, params)
    kept_again = _answer(sqlite_engine, params)  # compiled for the shape, on the held connection
    with sqlite_engine.begin() as conn:
        # The kept texts marked, so an answer that read them differs.
        conn.exec_driver_sql(MARK)
    marked = _answer(sqlite_engine, params)
    with sqlite_engine.begin() as conn:
        conn.execute(text("DELETE FROM order_texts"))
    assert _answer(sqlite_engine, params) == kept == kept_again  # written on the fly
    assert marked != kept and b'"channel_status":"marked' in marked


def test_a_text_follows_a_change_made_a_moment_after_a_list(sqlite_engine: Engine) -> None:
    store(sqlite_engine, [make_order("one", total=Decimal("10.00"))])
    params = [("page_size", "10")]
    before = _answer(sqlite_engine, params)
    later = datetime(2024, 1, 10, 8, 30, tzinfo=UTC) + timedelta(days=1)
    store(sqlite_engine, [make_order("one", total=Decimal("12.34"), updated_at=later)])
    after = _answer(sqlite_engine, params)
    assert b'"total":10.00,' in before and b'"total":12.34,' in after


def test_a_detail_reads_the_kept_text_with_its_etag(sqlite_engine: Engine) -> None:
    store(sqlite_engine, [make_order("one"), make_order("two")])
    with client(sqlite_engine) as http:
        first = http.get("/v1/orders/1")
        assert first.status_code == 200 and first.headers["etag"] == '"1"'
        with sqlite_engine.begin() as conn:
            conn.exec_driver_sql(MARK)  # a value the answer's schema allows
        marked = http.get("/v1/orders/1")
        assert marked.content != first.content and b'"channel_status":"marked' in marked.content
        assert http.get("/v1/orders/1", headers={"If-None-Match": '"1"'}).status_code == 304
        assert b"marked" not in http.get("/v1/orders/1.xml").content  # XML: read typed
        assert b"marked" not in http.get("/v1/orders/1?fields=id,channel_status").content
        with sqlite_engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM order_texts")
        again = http.get("/v1/orders/1")
        assert (again.content, again.headers["etag"]) == (first.content, '"1"')
        assert http.get("/v1/orders/3").status_code == 404
