"""The read calls of MALL's official PHP client (mallgroup/mpapi-client-php v5.0.0 and v3.14.0)
against the MALL sandbox over real HTTP: one test per call.

The client's source cannot be part of this repository, so what it reads is written out here by
hand from its entities: for each one, every key it reads and the type it needs there (v5's
entities declare `strict_types`, so a key passed on uncast must have exactly that type; a key
read without `?? null` or `isset` must be present, or PHP warns "Undefined array key").
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from orderhub.channels.mall.sandbox_state import MallSandbox
from orderhub.domain.clock import ManualClock
from sync_support import Sandbox, mall_sandbox

Check = Callable[[Any], bool]
PRAGUE = ZoneInfo("Europe/Prague")


# --- the types the client needs --------------------------------------------------------------


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _float(v: Any) -> bool:
    """A JSON number (bodies are read with exact decimals)."""
    return isinstance(v, int | Decimal) and not isinstance(v, bool)


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _time(v: Any) -> bool:
    """What `new DateTime($value)` reads without a doubt: MALL's date or date-time."""
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            datetime.strptime(v, pattern)
            return True
        except (TypeError, ValueError):
            continue
    return False


def nullable(check: Check) -> Check:
    return lambda v: v is None or check(v)


def one_of(*values: str) -> Check:
    return lambda v: v in values


def list_of(check: Check) -> Check:
    return lambda v: isinstance(v, list) and all(check(item) for item in v)


def entity(table: Mapping[str, Check]) -> Check:
    return lambda v: isinstance(v, dict) and not list(mismatches(v, table))


ANY: Check = lambda v: True  # noqa: E731  (read but never typed: v3's getDeliveryPosition)

ORDER_STATUSES = ("blocked", "open", "shipping", "shipped", "cancelled", "delivered", "lost",
                  "returned")  # fmt: skip

# v5 src/Order/Entity/Branches.php createFromApi (all through InputDataUtil: may be null).
V5_BRANCHES = {
    "branch_id": nullable(_int), "secondary_branch_id": nullable(_int),
    "last_change": nullable(_time),
}  # fmt: skip
# v5 Customer.php: `(int)`/`(string)` casts of keys read directly; company through InputDataUtil.
V5_CUSTOMER = {
    "customer_id": _int, "name": _str, "company": nullable(_str), "phone": _str, "email": _str,
    "street": _str, "city": _str, "zip": _str, "country": _str,
}  # fmt: skip
# v5 Item.php: `id` and `serial_numbers` passed on uncast to `string` and `array` parameters.
V5_ITEM = {
    "id": _str, "article_id": _int, "quantity": _int, "price": _float, "vat": _float,
    "commission": nullable(_float), "title": _str, "serial_numbers": list_of(_str),
}  # fmt: skip
# v5 ConsignmentStatus.php (ulozenka_status_history items).
V5_CONSIGNMENT_STATUS = {"id": _int, "name": _str, "date": _time}
# v5 ConsignmentStatusHistoryItem.php: the enums refuse other values; tracking_number uncast.
V5_CONSIGNMENT_HISTORY_ITEM = {
    "status": one_of("CREATED", "RECEIVED", "CANCELLED", "DELIVERING", "DAMAGED", "RETURNING",
                     "RETURNED", "READY_FOR_PICKUP", "DELIVERED", "LOST"),
    "date": _time,
    "flags": list_of(one_of("damaged", "lost")),
    "tracking_number": _str,
}  # fmt: skip
# v5 Order.php createFromApi.
V5_ORDER: dict[str, Check] = {
    "id": _int, "external_id": nullable(_str), "purchase_id": _int, "currency": _str,
    "delivery_price": _float, "cod_price": _float, "cod": _float, "discount": _float,
    "payment_type": _str, "delivery_method": _str, "delivery_method_id": _str,
    "branch_id": nullable(_int), "branches": entity(V5_BRANCHES),
    "tracking_number": nullable(_str), "tracking_url": nullable(_str),
    "ship_date": nullable(_time), "delivery_date": nullable(_time),
    "delivered_at": nullable(_time), "first_delivery_attempt": nullable(_time),
    "address": entity(V5_CUSTOMER), "confirmed": _bool, "status": one_of(*ORDER_STATUSES),
    "items": list_of(entity(V5_ITEM)), "test": _bool, "mdp": _bool, "mdp_classic": _bool,
    "mdp_spectrum": _bool, "ready_to_return": _bool,
    **{word: nullable(_time) for word in ORDER_STATUSES},
    "ulozenka_status_history": list_of(entity(V5_CONSIGNMENT_STATUS)),
    "consignment_status_history": list_of(entity(V5_CONSIGNMENT_HISTORY_ITEM)),
}  # fmt: skip
# v3 src/Entity/Order.php: getData() and every getter; direct `$data[...]` reads must be present.
V3_ORDER: dict[str, Check] = {
    "id": _int, "purchase_id": _int, "external_order_id": nullable(_int), "currency": _str,
    "delivery_price": _float, "cod_price": _float, "discount": _float,
    "payment_type": nullable(_str), "delivery_method": _str,
    "delivery_method_id": lambda v: _str(v) and v.isdigit(),  # cast (int) by getData()
    "delivery_position": ANY, "delivery_date": nullable(_time), "delivered_at": nullable(_time),
    "cod": _float, "tracking_number": nullable(_str), "tracking_url": nullable(_str),
    "address": entity({**V5_CUSTOMER, "customer_id": nullable(_int)}),
    "confirmed": _bool, "status": one_of(*ORDER_STATUSES), "items": list_of(entity(V5_ITEM)),
    "mdp": _bool, "branch_id": nullable(_int),
    "branches": entity({**V5_BRANCHES, "overridden": _bool}),
    "first_delivery_attempt": nullable(_time), "ready_to_return": _bool,
    **{word: nullable(_time) for word in ORDER_STATUSES},
    "ulozenka_status_history": list_of(entity(V5_CONSIGNMENT_STATUS)),
}  # fmt: skip
# v5 BasicOrder.php createFromApi.
V5_BASIC: dict[str, Check] = {
    "id": _int, "external_id": nullable(_str), "purchase_id": _int, "customer_id": _int,
    "customer": _str, "cod": _float, "payment_type": _str, "ship_date": nullable(_time),
    "tracking_number": nullable(_str), "tracking_url": nullable(_str),
    "delivered_at": nullable(_time), "status": one_of(*ORDER_STATUSES), "confirmed": _bool,
    "test": _bool, "mdp": _bool, "mdp_classic": _bool, "mdp_spectrum": _bool,
}  # fmt: skip
# v5 Common/DTO/Paging.php and v3 Entity/Paging.php (`extract` of page, size, pages, total).
PAGING = {"total": _int, "pages": _int, "size": _int, "page": _int}
# v5 Stats.php: `(int)` of each status key.
STATS = {word: _int for word in ORDER_STATUSES}
#: What v3's per-status calls list (OrdersEndpoints: blocked() ... cancelled(), unconfirmed()).
V3_STATUS_CALLS = ("blocked", "open", "shipping", "shipped", "delivered", "returned", "cancelled")
#: The client's README: open() gives every order not closed yet, "from blocked to shipped".
LISTED = {"open": {"blocked", "open", "shipping", "shipped"}}


def mismatches(value: Mapping[str, Any], table: Mapping[str, Check]) -> Iterator[str]:
    for key, check in table.items():
        if key not in value:
            yield f"{key}: missing"
        elif not check(value[key]):
            yield f"{key}: {value[key]!r}"


# --- the sandbox -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with mall_sandbox(orders=300, seed=12) as served:
        served.state.step_life(8)  # MALL Delivery hands over and delivers: histories grow
        yield served


def get(sandbox: Sandbox, path: str, **params: Any) -> Any:
    """The JSON body of a GET, numbers with a fraction as exact decimals."""
    return json.loads(answer(sandbox, path, **params).text, parse_float=Decimal)


def answer(sandbox: Sandbox, path: str, **params: Any) -> httpx.Response:
    query = {"client_id": "sandbox", **params}
    return httpx.get(f"{sandbox.base_url}/v1/{path}", params=query, timeout=10)


def payloads(sandbox: Sandbox) -> list[dict[str, Any]]:
    return list(sandbox.state.orders_json())


def visible(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [o for o in payloads(sandbox) if not o["test"]]


# --- one test per read call ------------------------------------------------------------------


def test_v5_get_order_detail_reads_every_key_with_its_type(sandbox: Sandbox) -> None:
    """OrderClient::get(): GET /v1/orders/{id}, `data` through Order::createFromApi."""
    problems = {}
    for order in payloads(sandbox):
        body = get(sandbox, f"orders/{order['id']}")
        if wrong := list(mismatches(body["data"], V5_ORDER)):
            problems[order["id"]] = wrong
    assert problems == {}
    shown = payloads(sandbox)
    # The variety the client's types must survive: pickup branches (one moved), histories.
    assert any(o["branches"]["branch_id"] for o in shown)
    assert any(o["branches"]["overridden"] for o in shown)
    assert any(o["consignment_status_history"] for o in shown)
    assert any(o["ulozenka_status_history"] for o in shown)
    assert any(o["first_delivery_attempt"] for o in shown)


def test_v3_order_detail_reads_every_key_with_its_type(sandbox: Sandbox) -> None:
    """Orders::get()->detail(): GET /v1/orders/{id}, `data` through Entity\\Order::getData()."""
    problems = {}
    for order in payloads(sandbox)[::5]:
        body = get(sandbox, f"orders/{order['id']}")
        if wrong := list(mismatches(body["data"], V3_ORDER)):
            problems[order["id"]] = wrong
    assert problems == {}


def test_the_contact_is_read_from_the_address_and_matches_the_branch(sandbox: Sandbox) -> None:
    for order in payloads(sandbox):
        assert "email" not in order and "phone" not in order
        assert order["address"]["customer_id"] == order["customer_id"]
        assert order["branch_id"] == order["branches"]["branch_id"]
        # v5 Branches::isOverridden() is "a secondary branch is set"; v3 reads `overridden`.
        overridden = order["branches"]["secondary_branch_id"] is not None
        assert order["branches"]["overridden"] is overridden


def test_v5_list_basic_orders_with_paging(sandbox: Sandbox) -> None:
    """OrderClient::list(): GET /v1/orders?filter=basic, BasicOrder and Paging."""
    body = get(sandbox, "orders", filter="basic", page_size=50, page=2)
    assert not list(mismatches(body["paging"], PAGING))
    assert len(body["data"]) == 50
    assert [wrong for o in body["data"] if (wrong := list(mismatches(o, V5_BASIC)))] == []
    full = {o["id"]: o for o in payloads(sandbox)}
    for basic in body["data"]:
        assert basic == {key: full[basic["id"]][key] for key in basic}


def test_v3_all_orders_paginated(sandbox: Sandbox) -> None:
    """Orders::get()->getAllPaginated(): GET /v1/orders?page=..&page_size=..&test=0."""
    body = get(sandbox, "orders", page=1, page_size=40, test=0)
    assert not list(mismatches(body["paging"], PAGING))
    assert body["paging"]["total"] == sum(o["status"] != "blocked" for o in visible(sandbox))
    assert all(isinstance(o, dict) and not o["test"] for o in body["data"])


@pytest.mark.parametrize("call", [*V3_STATUS_CALLS, "lost"])
def test_v3_orders_by_status_are_ids_then_basic_objects(sandbox: Sandbox, call: str) -> None:
    """Orders::get()->open() ...: GET /v1/orders/{status}?test=0: ids (seed 001: filtering a
    status gives ids), basic objects with filter=basic."""
    statuses = LISTED.get(call, {call})
    expected = [o["id"] for o in visible(sandbox) if o["status"] in statuses]
    ids = get(sandbox, f"orders/{call}", test=0, page_size=1000)
    assert not list(mismatches(ids["paging"], PAGING))
    assert ids["data"] == expected and all(_int(i) for i in ids["data"])
    assert expected
    basic = get(sandbox, f"orders/{call}", test=0, page_size=1000, filter="basic")
    assert [o["id"] for o in basic["data"]] == expected
    assert [wrong for o in basic["data"] if (wrong := list(mismatches(o, V5_BASIC)))] == []


def test_v3_unconfirmed_orders(sandbox: Sandbox) -> None:
    """Orders::get()->unconfirmed(): GET /v1/orders/unconfirmed?test=0."""
    expected = [o["id"] for o in visible(sandbox) if not o["confirmed"]]
    body = get(sandbox, "orders/unconfirmed", test=0, page_size=1000)
    assert body["data"] == expected and expected


@pytest.mark.parametrize("days", [30, 7, 365])
def test_stats_count_the_orders_placed_in_the_last_days(sandbox: Sandbox, days: int) -> None:
    """OrderClient::stats($days) (v5) and Orders::get()->stats($days) (v3): GET
    /v1/orders/stats?days=N, `data` through Stats::createFromApi."""
    now = datetime(2026, 9, 15, 12, tzinfo=UTC)
    state: MallSandbox = sandbox.state
    real, state.clock = state.clock, ManualClock(now)  # type: ignore[assignment]
    try:
        body = get(sandbox, "orders/stats", days=days)
    finally:
        state.clock = real
    assert not list(mismatches(body["data"], STATS)) and set(body["data"]) == set(STATS)
    since = (now - timedelta(days=days)).astimezone(PRAGUE).strftime("%Y-%m-%d %H:%M:%S")
    placed = Counter(
        o["status"]
        for o in visible(sandbox)
        if min(o[word] for word in ORDER_STATUSES if o[word]) >= since
    )
    assert body["data"] == {word: placed[word] for word in ORDER_STATUSES}
    assert sum(placed.values()) > 0


def test_stats_default_to_30_days_and_refuse_bad_days(sandbox: Sandbox) -> None:
    assert set(get(sandbox, "orders/stats")["data"]) == set(STATS)
    for bad in ("0", "-1", "x", "1.5"):
        response = answer(sandbox, "orders/stats", days=bad)
        assert response.status_code == 400
        assert response.json()["errorCodes"][0]["errorAttributes"]["parameter"] == "days"


def test_an_unknown_order_is_a_404_in_malls_shape(sandbox: Sandbox) -> None:
    """Both clients' detail call on an order the account does not have."""
    response = answer(sandbox, "orders/4299999999")
    assert response.status_code == 404
    body = response.json()
    assert body["result"] == {"code": 404, "status": "ERROR", "message": body["result"]["message"]}
    assert body["errorCodes"][0]["errorCode"] == "NOT_FOUND"
    assert "4299999999" in body["result"]["message"]


@pytest.mark.parametrize("path", ["orders", "orders/open", "orders/unconfirmed"])
def test_v3_lists_after_stats_ignore_the_days_it_keeps_sending(sandbox: Sandbox, path: str) -> None:
    """v3's stats($days) sets `days` as a global argument: every later request carries it."""
    plain = get(sandbox, path, test=0, page_size=1000)
    with_days = get(sandbox, path, test=0, page_size=1000, days=7)
    assert with_days == plain and plain["data"]
