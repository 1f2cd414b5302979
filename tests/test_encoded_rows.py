"""The hot reads' rows read as JSON writes them (store/encoded.py) give the very bytes the
typed rows (SQLAlchemy's Decimal and datetime) gave: lists, lookups, `fields=`, cursors."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from helpers import make_order, store
from orderhub.api.render import Format, full_order, page_envelope, page_items, render
from orderhub.domain.jsonfmt import money_text
from orderhub.domain.samples import generate_orders
from orderhub.query import parse_query
from orderhub.services import orders as service
from orderhub.store.encoded import money_fragment
from orderhub.store.types import Amount

QUERIES = [
    [],
    [("page_size", "7")],
    [("filter", "basic"), ("page_size", "50")],
    [("status", "open"), ("ship_date", "bt:2020-01-01,2030-12-31"), ("_sort", "id:desc")],
    [("_sort", "total:desc"), ("page_size", "5")],
    [("_sort", "created_at"), ("page_size", "9"), ("page", "3")],
    [("_sort", "delivered_at:desc,cod"), ("page_size", "11")],
    [("fields", "id,total,cod,created_at,shipping_address,tags"), ("page_size", "20")],
    [("status", "in:pending,open,cancelled,shipped"), ("page_size", "1000")],
    [("q", "a"), ("page_size", "30")],
]


def _amount(scaled: int) -> Decimal:
    """The Decimal SQLAlchemy reads from a scaled integer on SQLite (the typed path)."""
    amount = Amount().process_result_value(scaled, _SQLITE)
    assert amount is not None
    return amount


def _text(scaled: int) -> str:
    """The JSON text of the amount read as encoded."""
    return orjson.dumps(money_fragment(scaled)).decode()


class _Dialect:
    name = "sqlite"


_SQLITE: Any = _Dialect()


@pytest.mark.parametrize(
    "scaled",
    [0, 1, -1, 5, 50, 99, 100, 10_000, -10_000, 123_456, -123_456, 10**18, -(10**18), 2**63 - 1],
)
def test_a_scaled_amount_reads_as_money_text_writes_its_decimal(scaled: int) -> None:
    assert _text(scaled) == money_text(_amount(scaled))


def test_random_amounts_read_as_money_text_writes_them() -> None:
    rng = random.Random(15)
    for _ in range(20_000):
        scaled = rng.randint(-(10**12), 10**12) // rng.choice([1, 10, 100, 1000, 10_000])
        assert _text(scaled) == money_text(_amount(scaled)), scaled
    assert money_fragment(None) is None


def _edge_orders() -> list[Any]:
    """Orders with what a converter could get wrong: nulls, sub-cent and negative amounts,
    microseconds, a date at a year's edge."""
    plain = make_order("edge-nulls", customer=None, shipping_address=None, ship_date=None)
    return [
        plain,
        make_order(
            "edge-money",
            total=Decimal("12.3456"),
            discount=Decimal("-0.0050"),
            cod=Decimal("0"),
            shipping_cost=Decimal("1495.10"),
            ship_date=date(2025, 12, 31),
        ),
        make_order(
            "edge-micro",
            created_at=datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
            delivered_at=datetime(2024, 3, 1, 0, 0, 0, 1, tzinfo=UTC),
            customer_id=2**62,
        ),
    ]


@pytest.fixture
def orders_stored(engine: Engine) -> Engine:
    orders = list(generate_orders(300, seed=7)) + _edge_orders()
    store(engine, [replace(order, id=None) for order in orders])
    if engine.dialect.name == "sqlite":
        # Timestamps in another form than SQLAlchemy writes (an older import, a hand edit).
        with engine.begin() as conn:
            conn.execute(text("UPDATE orders SET updated_at = '2024-01-10 08:30:00' WHERE id = 1"))
            conn.execute(
                text("UPDATE orders SET created_at = '2024-01-10 08:30:00.5' WHERE id = 2")
            )
    return engine


def _page_json(engine: Engine, params: list[tuple[str, str]], *, encoded: bool) -> bytes:
    query = parse_query(params)
    page = service.list_orders(engine, query, encoded=encoded)
    items = page_items(query, page, ids_only=False, fmt=Format.JSON)
    return render(page_envelope(query, page, items), Format.JSON)[0]


@pytest.mark.parametrize("params", QUERIES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p))
def test_a_page_in_json_is_the_same_from_encoded_rows(
    orders_stored: Engine, params: list[tuple[str, str]]
) -> None:
    typed = _page_json(orders_stored, params, encoded=False)
    assert _page_json(orders_stored, params, encoded=True) == typed
    assert b'"data":[]' not in typed  # the query matched orders: something was compared


def test_the_next_cursor_from_encoded_rows_walks_the_same_pages(orders_stored: Engine) -> None:
    params = [("_sort", "total:desc,created_at"), ("page_size", "40")]
    walks = []
    for encoded in (False, True):
        seen, cursor = [], None
        while True:
            query = parse_query([*params, *([("cursor", cursor)] if cursor else [])])
            page = service.list_orders(orders_stored, query, encoded=encoded)
            items = page_items(query, page, ids_only=False, fmt=Format.JSON)
            seen += [item["id"] for item in orjson.loads(render(items, Format.JSON)[0])]
            cursor = page_envelope(query, page, [])["paging"]["cursor"]
            if cursor is None:
                break
        walks.append(seen)
    assert walks[0] == walks[1]
    assert len(walks[1]) == len(set(walks[1])) > 300 - 50  # visible orders, each once


def test_a_lookup_in_json_is_the_same_from_encoded_rows(orders_stored: Engine) -> None:
    with orders_stored.connect() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM orders ORDER BY id"))]
    for order_id in ids:
        typed = service.get_order(orders_stored, order_id)
        encoded = service.get_order(orders_stored, order_id, encoded=True)
        assert encoded.version == typed.version
        assert render(full_order(encoded), Format.JSON) == render(full_order(typed), Format.JSON)
