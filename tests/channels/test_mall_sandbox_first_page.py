"""A MALL list call's first page in SQL (a page and a count, as every page of a keyset walk
asks) gives what the cached list of every matching id gave, sliced: the same ids, the same
total. The oracle is that old path (`SqlOrderStore.ordered_ids` of the same statement)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from orderhub.channels.mall.sandbox_listing import parse_mall_query
from orderhub.channels.mall.sandbox_state import MallSandbox
from orderhub.channels.mall.sandbox_store import COLUMNS, MallOrderStore, _keyset_walk, mall_orders
from orderhub.channels.sandbox_kit import FaultSpec
from orderhub.query import compile_query


@pytest.fixture(scope="module")
def store() -> MallOrderStore:
    return MallSandbox(400, 7, FaultSpec.parse(None)).store


def _old_page(store: MallOrderStore, params: list[tuple[str, str]]) -> tuple[int, list[int]]:
    query = parse_mall_query(params, unconfirmed=False)
    compiled = compile_query(query, COLUMNS)
    statement = select(mall_orders.c.id).where(compiled.where).order_by(*compiled.order_by)
    ids = store.ordered_ids(statement)
    return len(ids), ids[query.offset : query.offset + query.page_size]


def _page(store: MallOrderStore, params: list[tuple[str, str]]) -> tuple[int, list[int]]:
    total, rows = store.page(parse_mall_query(params, unconfirmed=False))
    assert all(text for _, text in rows)
    return total, [order_id for order_id, _ in rows]


BOTH = ("test", "in:0,1")
PARAMS: list[list[tuple[str, str]]] = [
    [("_sort", "id:asc"), BOTH, ("page_size", "50")],
    [("_sort", "id:desc"), ("page_size", "30")],
    [("_sort", "open:asc,id:asc"), ("open", "ge:2020-01-01 00:00:00"), BOTH],
    [("_sort", "shipped:desc,id:desc"), ("page_size", "7")],
    [("_sort", "id:asc"), ("status", "blocked"), BOTH, ("page_size", "10")],
    [("_sort", "id:asc"), ("id", "gt:99999999999"), BOTH],  # nothing matches
    [("_sort", "open:asc"), BOTH, ("page_size", "10")],  # not a total order: the cached list
    [("_sort", "id:asc"), BOTH, ("page", "3"), ("page_size", "20")],  # not a first page
    # Keyset walks' pages (from the walk's ids) and shapes that are not one (SQL or the list).
    [("id", "gt:0"), ("_sort", "id:asc"), BOTH, ("page_size", "25")],
    [("id", "gt:0"), ("_sort", "id:asc"), ("status", "blocked"), BOTH, ("page_size", "5")],
    [("id", "gt:0"), ("_sort", "id:asc"), ("page", "2"), ("page_size", "25")],
    [("id", "gt:0"), ("_sort", "id:desc"), BOTH],
    [("id", "ge:0"), ("_sort", "id:asc"), BOTH, ("page_size", "25")],
    [("id", "gt:0"), ("id", "lt:99999999999"), ("_sort", "id:asc"), ("page_size", "25")],
    [("id", "gt:0"), ("_sort", "open:asc,id:asc"), ("page_size", "25")],
]


@pytest.mark.parametrize("params", PARAMS)
def test_a_first_page_is_the_slice_of_every_id(
    store: MallOrderStore, params: list[tuple[str, str]]
) -> None:
    assert _page(store, params) == _old_page(store, params)


def test_a_keyset_walk_lists_every_order_once_with_the_totals_of_the_old_path(
    store: MallOrderStore,
) -> None:
    seen: list[int] = []
    after = 0
    while True:
        params: list[tuple[str, Any]] = [("id", f"gt:{after}"), ("_sort", "id:asc"), BOTH]
        params.append(("page_size", "37"))
        total, ids = _page(store, params)
        assert (total, ids) == _old_page(store, params)
        seen += ids
        if len(ids) < 37:
            break
        after = ids[-1]
    listed = [int(p["id"]) for p in store.all() if p["status"] != "blocked"]  # MALL's rule
    assert seen == sorted(listed)


@pytest.mark.parametrize(
    ("params", "walk"),
    [
        ([("id", "gt:5"), ("_sort", "id:asc"), BOTH], True),
        ([("id", "gt:5"), ("_sort", "id:asc"), ("status", "blocked")], True),
        ([("id", "gt:5"), ("_sort", "id:desc")], False),
        ([("id", "ge:5"), ("_sort", "id:asc")], False),
        ([("id", "gt:5"), ("id", "lt:9"), ("_sort", "id:asc")], False),
        ([("id", "in:5,6"), ("_sort", "id:asc")], False),
        ([("_sort", "id:asc")], False),
    ],
)
def test_only_a_keyset_walks_page_is_read_from_the_walks_ids(
    params: list[tuple[str, str]], walk: bool
) -> None:
    found = _keyset_walk(parse_mall_query(params, unconfirmed=False))
    assert (found is not None) == walk
    if found is not None:
        rest, after = found
        assert after == 5 and not rest.filters_on("id")


def test_a_walk_with_writes_between_its_pages_gives_what_the_old_path_gives() -> None:
    """Each write (a confirmation, an order that changed status) makes the walk's ids stale."""
    sandbox = MallSandbox(300, 8, FaultSpec.parse(None))
    unconfirmed = [p["id"] for p in sandbox.orders_json() if not p["confirmed"]]
    after = 0
    for _ in range(12):
        params: list[tuple[str, Any]] = [("id", f"gt:{after}"), ("_sort", "id:asc"), BOTH]
        params += [("confirmed", "false"), ("page_size", "9")]
        total, ids = _page(sandbox.store, params)
        assert (total, ids) == _old_page(sandbox.store, params)
        if not ids:
            break
        sandbox.update(ids[0], {"confirmed": True})  # leaves the walk's ids
        assert _page(sandbox.store, params) == _old_page(sandbox.store, params)
        after = ids[-1]
    assert len(unconfirmed) > 12
