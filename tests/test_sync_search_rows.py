"""A sync page's new orders indexed for search from the documents `row_document` writes
(store/search.py): the same text SQLite's SQLITE_DOCUMENT makes of the stored row (the
oracle: what the trigger, or the batch's INSERT ... SELECT, writes), on hostile values too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

import orderhub.store.search as search
from orderhub.domain import Order
from orderhub.domain.samples import generate_orders
from orderhub.store import UnitOfWork
from orderhub.store.engine import make_engine
from orderhub.store.merging import _channel_row
from orderhub.store.migrate import upgrade
from orderhub.store.order_rows import upsert_rows
from orderhub.store.search import SEARCH_TABLE, SQLITE_DOCUMENT, row_document

COUNT = 80
SKUS: list[str | None] = [None, "", "é ü 日本", "two words", 'quo"te', "back\\slash", "A-1"]
TEXTS: list[str | None] = [None, "", "Zoë  Ünal", "tab\there", "line\nbreak"]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'search.db'}")
    upgrade(engine)
    return engine


def _hostile(orders: list[Order]) -> list[Order]:
    """Orders whose searched values are missing, empty, spaced or not ASCII."""
    changed = []
    for n, order in enumerate(orders):
        sample = order.lines[0] if order.lines else None
        lines = order.lines
        if sample is not None and n % 3:
            skus = [SKUS[(n + k) % len(SKUS)] for k in range(n % 4)]
            lines = [replace(sample, line_id=str(k), sku=sku) for k, sku in enumerate(skus)]
        text = TEXTS[n % len(TEXTS)]
        changed.append(
            replace(order, lines=lines, customer=text, email=TEXTS[(n + 1) % len(TEXTS)])
        )
    return changed


def _rows(orders: list[Order]) -> list[dict[str, Any]]:
    return [_channel_row(order, confirmed=False) for order in orders]


def _indexed(conn: Connection) -> dict[int, str]:
    rows = conn.exec_driver_sql(f"SELECT rowid, doc FROM {SEARCH_TABLE}").all()
    return {int(rowid): doc for rowid, doc in rows}


def _made_by_sqlite(conn: Connection) -> dict[int, str]:
    rows = conn.exec_driver_sql(f"SELECT id, {SQLITE_DOCUMENT} FROM orders").all()
    return {int(order_id): doc for order_id, doc in rows}


def _upsert(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with UnitOfWork(engine) as uow:
        upsert_rows(uow.conn, rows, keep_confirmed=False, or_same_time=True)


def test_a_first_page_is_indexed_from_its_documents_as_sqlite_writes_them(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = _hostile(list(generate_orders(COUNT, 5)))
    rows = _rows(orders)
    assert all(row_document(row) is not None for row in rows)
    taken: list[bool] = []
    all_new = search._all_new
    monkeypatch.setattr(search, "_all_new", lambda *a: taken.append(all_new(*a)) or taken[-1])
    _upsert(sqlite_engine, rows[:60])
    _upsert(sqlite_engine, rows[60:])  # a second page, below the batch size: the trigger's
    with sqlite_engine.connect() as conn:
        assert _indexed(conn) == _made_by_sqlite(conn)
        assert len(_indexed(conn)) == COUNT
    assert taken == [True]


def test_a_page_that_updates_stored_orders_is_indexed_by_sqlite(sqlite_engine: Engine) -> None:
    orders = _hostile(list(generate_orders(COUNT, 6)))
    _upsert(sqlite_engine, _rows(orders[:30]))
    newer = [
        replace(order, updated_at=order.updated_at.replace(year=2031), customer="Renamed")
        for order in orders[:30]
    ]
    _upsert(sqlite_engine, _rows([*newer[:20], *orders[30:]]))
    with sqlite_engine.connect() as conn:
        indexed = _indexed(conn)
        assert indexed == _made_by_sqlite(conn)
        assert sum("Renamed" in doc for doc in indexed.values()) == 20


@pytest.mark.parametrize(
    "row",
    [
        {"lines": '[{"sku": 7}]'},
        {"lines": '[{"sku": "a"}, "not an object"]'},
        {"lines": '{"sku": "a"}'},
        {"lines": "[]", "customer": 5},
        {"lines": "[]", "email": "nul\x00inside"},
        {"lines": '[{"sku": "a", "total": 1' + "0" * 400 + "}]"},
    ],
)
def test_a_document_sqlite_might_write_otherwise_is_left_to_it(row: dict[str, Any]) -> None:
    names = ("external_id", "customer", "email", "vendor_ref", "tracking_number")
    assert row_document({name: None for name in names} | row) is None


def test_line_without_sku_is_left_out_as_group_concat_does() -> None:
    names = ("external_id", "customer", "email", "vendor_ref", "tracking_number")
    row = {name: None for name in names} | {"external_id": "9", "customer": "Ann"}
    row["lines"] = '[{"sku": "A"}, {"sku": null}, {"name": "x"}, {"sku": ""}, {"sku": "B"}]'
    assert row_document(row) == " 9 Ann    A  B"
    assert row_document(row | {"lines": None}) == " 9 Ann    "
