"""Cursor pages sorted by a money field, on both databases: the keyset compares amounts exactly
(SQLite stores them as an integer of 1/10,000 units; a cursor value bound as a bare Decimal
was compared as a float there, and the walk returned the same row forever)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from helpers import client, make_order, store

#: (external id, total): ties, the smallest amount, and amounts with cents.
TOTALS = [("a", "0.0001"), ("b", "100.00"), ("c", "0.0001"), ("d", "250.50"), ("e", "100.00")]


@pytest.mark.parametrize(("sort", "expected"), [
    ("total:asc", ["a", "c", "b", "e", "d"]),
    ("total:desc", ["d", "b", "e", "a", "c"]),  # ties by id, ascending (query-language.md)
])  # fmt: skip
def test_a_cursor_walk_by_total_visits_each_order_once_in_order(
    engine: Engine, sort: str, expected: list[str]
) -> None:
    store(engine, [make_order(x, total=Decimal(t)) for x, t in TOTALS])
    http = client(engine)
    seen: list[str] = []
    cursor = None
    for _ in range(len(TOTALS) + 1):
        params = {"_sort": sort, "page_size": "1", **({"cursor": cursor} if cursor else {})}
        body = http.get("/v1/orders", params=params).json()
        seen += [order["external_id"] for order in body["data"]]
        cursor = body["paging"]["cursor"]
        if cursor is None:
            break
    assert seen == expected
