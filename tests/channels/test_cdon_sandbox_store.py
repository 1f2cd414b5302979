"""The CDON sandbox's SQL store answers as its plain-Python store did: the list's filter, order and
paging, and the orders order life may pick. The expected side is the old code, kept here as the
oracle: Python filters and sorts over the payloads themselves (`orders_json`)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from orderhub.channels.cdon.sandbox_api import list_query
from orderhub.channels.cdon.sandbox_rows import CdonError, Payload, goods, open_quantity
from orderhub.channels.cdon.sandbox_state import CdonSandbox
from orderhub.channels.cdon.sandbox_store import C

QUERIES = [
    [("take", "1000")],
    [("skip", "150"), ("take", "50")],
    [("CountryCode", "sweden"), ("DateTimeRangeMin", "2026-03-01"), ("take", "1000")],
    [("CountryCode", "Norway"), ("take", "10")],
    [("DateTimeRangeMin", "2026-05-01T10:00:00.5"), ("DateTimeRangeMax", "2026-09-30"),
     ("skip", "3"), ("take", "70")],
    [("DateTimeRangeMax", "2026-02-02"), ("take", "1000")],
    [("DateTimeRangeMin", "2027-01-01T00:00:03"), ("DateTimeRangeMax", "2027-01-01T00:00:09")],
    [("DateTimeRangeMin", "2027-01-01T00:00:03.0000001Z"), ("take", "5")],
    [("DateTimeRangeMin", "2027-01-01T01:00:03+01:00"), ("take", "5")],
]  # fmt: skip


def _modified(payload: Payload) -> datetime:
    text = payload["OrderDetails"]["LastModifiedDateUtc"]
    return datetime.strptime(text[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def _old_page(orders: list[Payload], params: list[tuple[str, str]]) -> list[int]:
    """The old store's page: orders of the country, modified within the window, by
    (LastModifiedDateUtc, OrderId), sliced."""
    query = list_query(params)
    found = []
    for payload in orders:
        details, modified = payload["OrderDetails"], _modified(payload)
        if query.country is not None and details["CountryCode"] != query.country:
            continue
        if query.since is not None and modified < query.since:
            continue
        if query.until is not None and modified > query.until:
            continue
        found.append((modified, int(details["OrderId"])))
    return [i for _, i in sorted(found)][query.skip : query.skip + query.take]


def _page(sandbox: CdonSandbox, params: list[tuple[str, str]]) -> list[int]:
    try:
        page = sandbox.list_orders(params)
    except CdonError as error:
        assert error.status == 404
        return []
    return [int(o["OrderDetails"]["OrderId"]) for o in orjson.loads(orjson.dumps(page))]


def _rows(payload: Payload) -> list[Payload]:
    rows: list[Payload] = payload["OrderDetails"]["OrderRows"]
    return rows


def _pending(payload: Payload) -> bool:
    return any(goods(row) and open_quantity(row) > 0 for row in _rows(payload))


#: Order life's old predicates (over the payload) and the columns that replace them.
PICKS: list[tuple[Any, Any]] = [
    (lambda p: p["OrderDetails"]["PaymentStatus"] == "AwaitingPayment", C.awaiting_payment),
    (_pending, C.pending),
    (lambda p: all(r["DeliveredQuantity"] == 0 for r in _rows(p)) and _pending(p), C.untouched),
    (lambda p: sum(goods(r) and open_quantity(r) > 0 for r in _rows(p)) > 1, C.several_open),
]


def _check(sandbox: CdonSandbox) -> None:
    orders = sandbox.orders_json()
    for params in QUERIES:
        assert _page(sandbox, params) == _old_page(orders, params), params
    for predicate, column in PICKS:
        expected = sorted(int(p["OrderDetails"]["OrderId"]) for p in orders if predicate(p))
        assert sandbox.store.ids(column) == expected
        assert expected  # each pick has orders to choose from


@pytest.mark.parametrize("snapshot", [False, True])
def test_lists_and_life_picks_are_the_old_stores(snapshot: bool, tmp_path: Any) -> None:
    sandbox = CdonSandbox(1_500, 9, snapshots=tmp_path if snapshot else None)
    _check(sandbox)
    readings = itertools.count()
    sandbox.clock.now = lambda: (
        datetime(2027, 1, 1, tzinfo=UTC) + timedelta(seconds=next(readings) * 0.5)
    )
    sandbox.run_life([("steps", 20), ("pay", 3), ("deliver", 3), ("cancel_row", 3)])
    tie = sandbox.orders_json()[7]  # a later order stamped the same as another
    tie["OrderDetails"]["LastModifiedDateUtc"] = "2027-01-01T00:00:05.0000000"
    sandbox.put_order(tie)
    _check(sandbox)


def test_the_clock_starts_after_the_latest_modification() -> None:
    sandbox = CdonSandbox(800, 2)
    latest = max(_modified(p) for p in sandbox.orders_json())
    assert sandbox.clock._last == latest
