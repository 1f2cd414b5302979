"""The MALL sandbox over real HTTP: the seeds' requests, answers and errors; updates; quota;
faults; order life; webhooks; the CLI."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from helpers import serve_in_thread
from orderhub.channels.mall import (
    codec,
    sandbox_life,
    sandbox_orders,
    sandbox_payload,
    sandbox_state,
    sandbox_store,
)
from orderhub.channels.mall.sandbox import MallSandbox, create_app

Order = dict[str, Any]
SEED_FULL_KEYS = {
    "customer_id", "customer", "id", "source", "external_id", "purchase_id", "cod", "ship_date",
    "delivered_at", "status", "confirmed", "test", "mdp", "mdp_classic", "mdp_spectrum",
    "shipped", "shipping", "open", "blocked", "lost", "returned", "cancelled", "delivered",
}  # fmt: skip
# Seed 001's basic object, plus what MALL's client reads from it besides (its `BasicOrder`).
SEED_BASIC_KEYS = {
    "id", "external_id", "purchase_id", "cod", "ship_date", "delivered_at", "status",
    "confirmed", "test", "mdp", "customer_id", "customer",
    "payment_type", "mdp_classic", "mdp_spectrum", "tracking_number", "tracking_url",
}  # fmt: skip
OK = {"code": 200, "status": "OK"}
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def sandbox_of(app: Any) -> MallSandbox:
    sandbox: MallSandbox = app.state.sandbox
    return sandbox


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, MallSandbox]]:
    """One read-only sandbox for the query tests."""
    app = create_app(orders=400, seed=3)
    with serve_in_thread(app) as base:
        yield base, sandbox_of(app)


@pytest.fixture
def fresh() -> Iterator[tuple[str, MallSandbox]]:
    """A sandbox of its own, for tests that change orders."""
    app = create_app(orders=200, seed=5)
    with serve_in_thread(app) as base:
        yield base, sandbox_of(app)


def get(base: str, path: str, *params: tuple[str, str], client_id: str = "sandbox") -> Any:
    return httpx.get(f"{base}/v1{path}", params=[("client_id", client_id), *params])


def put(base: str, path: str, body: Any) -> httpx.Response:
    return httpx.put(f"{base}/v1{path}", params={"client_id": "sandbox"}, json=body)


def ids_of(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item if isinstance(item, int) else item["id"] for item in response.json()["data"]]


def visible(orders: list[Order]) -> list[Order]:
    return [o for o in orders if o["status"] != "blocked" and not o["test"]]


def assert_mall_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"result", "errorCodes"}
    assert body["result"]["code"] == status and body["result"]["message"]
    error = body["errorCodes"][0]
    assert set(error) == {"message", "errorCode", "errorAttributes"}
    if code is not None:
        assert error["errorCode"] == code


# --- orders and their shapes ----------------------------------------------------------------


def test_same_seed_same_orders_with_mall_ids_and_a_realistic_mix() -> None:
    first, again = MallSandbox(300, seed=9).orders_json(), MallSandbox(300, seed=9).orders_json()
    assert first == again
    assert first != MallSandbox(300, seed=10).orders_json()
    assert all(o["id"] > 2**32 and set(o) >= SEED_FULL_KEYS for o in first)
    statuses = {o["status"] for o in first}
    assert {"blocked", "open", "shipping", "shipped", "delivered", "cancelled"} <= statuses
    assert any(o["test"] for o in first) and any(o["mdp"] for o in first)
    assert any(not o["confirmed"] and o["status"] != "blocked" for o in first)
    # Seed 000: cash on delivery and test orders start in open, never blocked.
    assert all(o["blocked"] is None for o in first if o["test"] or o["cod"])


def test_orders_are_written_by_the_sandbox_not_by_the_hubs_encoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sandbox must not build its orders with the hub's codec")

    modules = (sandbox_life, sandbox_orders, sandbox_payload, sandbox_state, sandbox_store)
    assert not any(hasattr(m, name) for m in modules for name in ("encode_order", "encode_basic"))
    monkeypatch.setattr(codec, "encode_order", refuse)
    monkeypatch.setattr(codec, "encode_basic", refuse)
    sandbox = MallSandbox(100, seed=9)
    sandbox.step_life(10)
    assert sandbox.store.count() == 110


def test_orders_vary_enough_for_the_sync_oracle_to_bite() -> None:
    """Every status word, tracked shipments, billing addresses that differ or are absent, the
    contact only in the address, quantities above 1, COD and prepaid."""
    orders = MallSandbox(1000, seed=9).orders_json()
    assert {o["status"] for o in orders} == {
        "blocked", "open", "shipping", "shipped", "delivered", "returned", "cancelled", "lost",
    }  # fmt: skip
    shipped = [o for o in orders if o["status"] == "shipped"]
    assert shipped and all(o["tracking_number"] and o["tracking_url"] for o in shipped)
    billing = [o["billing_address"] for o in orders]
    assert None in billing and any(b and b["company"] for b in billing)
    delivery = [{k: v for k, v in o["address"].items() if k != "customer_id"} for o in orders]
    assert any(b == d for b, d in zip(billing, delivery, strict=True))
    # The contact is in the address only, as MALL's client reads it (never at the top level).
    assert all("email" not in o and "phone" not in o for o in orders)
    assert any(o["address"]["email"] for o in orders)
    assert any(item["quantity"] > 1 for o in orders for item in o["items"])
    assert any(o["cod"] for o in orders) and any(not o["cod"] for o in orders)


def test_unconfirmed_gives_ids_then_basic_objects(served: tuple[str, MallSandbox]) -> None:
    base, sandbox = served
    expected = [o["id"] for o in sandbox.orders_json() if not o["confirmed"] and not o["test"]]
    response = get(base, "/orders/unconfirmed", ("page_size", "1000"))
    body = response.json()
    assert set(body) == {"data", "result", "paging"} and body["result"] == OK
    assert all(isinstance(item, int) for item in body["data"])
    assert body["data"] == expected
    assert any(o["status"] == "blocked" for o in sandbox.orders_json() if o["id"] in expected)
    basic = get(base, "/orders/unconfirmed", ("filter", "basic"), ("page_size", "1000")).json()
    assert [o["id"] for o in basic["data"]] == expected
    assert all(set(o) == SEED_BASIC_KEYS for o in basic["data"])


def test_orders_are_full_objects_in_the_seed_shape(served: tuple[str, MallSandbox]) -> None:
    base, sandbox = served
    body = get(base, "/orders", ("page_size", "1000")).json()
    assert body["result"] == OK
    assert [o["id"] for o in body["data"]] == [o["id"] for o in visible(sandbox.orders_json())]
    for order in body["data"]:
        assert set(order) >= SEED_FULL_KEYS
        assert isinstance(order["id"], int) and isinstance(order["confirmed"], bool)
        assert isinstance(order["cod"], int | float) and isinstance(order["external_id"], str)
        for name in ("delivered_at", "open", "shipped"):
            assert order[name] is None or TIME.fullmatch(order[name])
        assert order["ship_date"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", order["ship_date"])


def test_paging_block(served: tuple[str, MallSandbox]) -> None:
    base, sandbox = served
    expected = [o["id"] for o in visible(sandbox.orders_json())]
    body = get(base, "/orders", ("page_size", "7"), ("page", "3")).json()
    assert body["paging"] == {
        "total": len(expected),
        "pages": math.ceil(len(expected) / 7),
        "size": 7,
        "page": 3,
    }
    assert [o["id"] for o in body["data"]] == expected[14:21]
    default = get(base, "/orders").json()["paging"]
    assert default["size"] == 100 and default["page"] == 1


Case = Callable[[list[Order]], tuple[list[tuple[str, str]], Callable[[Order], bool]]]


def _at(orders: list[Order], index: int, field: str) -> Any:
    values = sorted({o[field] for o in visible(orders) if o[field] not in (None, 0)})
    return values[index * (len(values) - 1) // 4]


def _num(value: Any) -> Decimal:
    return Decimal(str(value))


def _compare(modifier: str, index: int, test: Callable[[Decimal, Decimal], bool]) -> Case:
    """price=<modifier>:<a price from the data>, and the same comparison in Python."""

    def case(orders: list[Order]) -> tuple[list[tuple[str, str]], Callable[[Order], bool]]:
        value = _at(orders, index, "price")
        return [("price", f"{modifier}:{value}")], lambda o: test(_num(o["price"]), _num(value))

    return case


CASES: dict[str, Case] = {
    "eq by default": lambda os: (
        [("customer_id", str(c := _at(os, 2, "customer_id")))],
        lambda o: o["customer_id"] == c,
    ),
    "in": lambda os: (
        [("customer_id", f"in:{_at(os, 1, 'customer_id')},{_at(os, 3, 'customer_id')}")],
        lambda o: o["customer_id"] in (_at(os, 1, "customer_id"), _at(os, 3, "customer_id")),
    ),
    "gt": _compare("gt", 2, operator.gt),
    "ge": _compare("ge", 2, operator.ge),
    "lt": _compare("lt", 1, operator.lt),
    "le": _compare("le", 1, operator.le),
    "bt": lambda os: (
        [("price", f"bt:{_at(os, 1, 'price')},{_at(os, 3, 'price')}")],
        lambda o: _num(_at(os, 1, "price")) <= _num(o["price"]) <= _num(_at(os, 3, "price")),
    ),
    "nbt": lambda os: (
        [("price", f"nbt:{_at(os, 1, 'price')},{_at(os, 3, 'price')}")],
        lambda o: not _num(_at(os, 1, "price")) <= _num(o["price"]) <= _num(_at(os, 3, "price")),
    ),
    "neq": lambda os: ([("payment_type", "neq:cod")], lambda o: o["payment_type"] != "cod"),
    "ne (the client's spelling)": lambda os: (
        [("payment_type", "ne:card")],
        lambda o: o["payment_type"] != "card",
    ),
    "nin": lambda os: (
        [("payment_type", "nin:card,cod")],
        lambda o: o["payment_type"] not in ("card", "cod"),
    ),
    "$null": lambda os: ([("delivered_at", "$null")], lambda o: o["delivered_at"] is None),
    "neq $null": lambda os: ([("shipped", "neq:$null")], lambda o: o["shipped"] is not None),
    "boolean true": lambda os: ([("mdp", "true")], lambda o: o["mdp"] is True),
    "boolean 0": lambda os: ([("mdp_classic", "0")], lambda o: o["mdp_classic"] is False),
    "date": lambda os: (
        [("ship_date", (d := _at(os, 2, "ship_date")))],
        lambda o: o["ship_date"] == d,
    ),
    "date-time": lambda os: (
        [("open", f"ge:{(t := _at(os, 2, 'open'))}")],
        lambda o: o["open"] is not None and o["open"] >= t,
    ),
    "a date for a date-time is the whole day": lambda os: (
        [("delivered_at", (d := _at(os, 2, "delivered_at")[:10]))],
        lambda o: (o["delivered_at"] or "").startswith(d),
    ),
    "several filters AND": lambda os: (
        [("price", "ge:1000"), ("price", "le:5000"), ("mdp", "1")],
        lambda o: 1000 <= _num(o["price"]) <= 5000 and o["mdp"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_every_modifier_filters_like_python(served: tuple[str, MallSandbox], name: str) -> None:
    base, sandbox = served
    params, keep = CASES[name](sandbox.orders_json())
    expected = [o["id"] for o in visible(sandbox.orders_json()) if keep(o)]
    assert expected, "the case must select something to be a real check"
    got = ids_of(get(base, "/orders", *params, ("page_size", "1000")))
    assert got == expected


def test_sort_by_several_fields(served: tuple[str, MallSandbox]) -> None:
    base, _ = served
    orders = get(base, "/orders", ("_sort", "customer:asc,price:desc"), ("page_size", "1000"))
    keys = [(o["customer"], -_num(o["price"]), o["id"]) for o in orders.json()["data"]]
    assert keys == sorted(keys) and len(keys) > 10
    by_id = ids_of(get(base, "/orders", ("_sort", "id:desc"), ("page_size", "1000")))
    assert by_id == sorted(by_id, reverse=True)


def test_filtering_a_status_gives_ids_and_shows_blocked(served: tuple[str, MallSandbox]) -> None:
    base, sandbox = served
    orders = sandbox.orders_json()
    blocked = [o["id"] for o in orders if o["status"] == "blocked" and not o["test"]]
    assert blocked and not set(blocked) & set(ids_of(get(base, "/orders", ("page_size", "1000"))))
    answer = get(base, "/orders", ("status", "blocked"), ("page_size", "1000")).json()
    assert answer["data"] == blocked
    both = ids_of(get(base, "/orders", ("status", "in:blocked,open"), ("page_size", "1000")))
    wanted = [o["id"] for o in orders if o["status"] in ("blocked", "open") and not o["test"]]
    assert both == wanted
    basic = get(base, "/orders", ("status", "open"), ("filter", "basic")).json()["data"]
    assert basic and all(set(o) == SEED_BASIC_KEYS and o["status"] == "open" for o in basic)


def test_test_orders_only_when_asked_for(served: tuple[str, MallSandbox]) -> None:
    base, sandbox = served
    tests = [o["id"] for o in sandbox.orders_json() if o["test"] and o["status"] != "blocked"]
    assert tests
    assert not set(tests) & set(ids_of(get(base, "/orders", ("page_size", "1000"))))
    assert ids_of(get(base, "/orders", ("test", "1"), ("page_size", "1000"))) == tests


def test_one_order_by_id(served: tuple[str, MallSandbox]) -> None:
    base, sandbox = served
    order = sandbox.orders_json()[5]
    body = get(base, f"/orders/{order['id']}").json()
    assert body["result"] == OK and body["data"]["id"] == order["id"]
    assert_mall_error(get(base, "/orders/1"), 404, "NOT_FOUND")
    assert_mall_error(get(base, "/orders/abc"), 400)


@pytest.mark.parametrize(
    "params",
    [
        [("nope", "1")],
        [("price", "zz:1")],
        [("price", "bt:1")],
        [("price", "abc")],
        [("id", "$null")],
        [("status", "pending")],
        [("mdp", "yes")],
        [("open", "2026-01-01T10:00:00+02:00")],
        [("_sort", "nope")],
        [("page_size", "0")],
        [("cursor", "abc")],
    ],
)
def test_bad_parameters_get_mall_errors(
    served: tuple[str, MallSandbox], params: list[tuple[str, str]]
) -> None:
    base, _ = served
    assert_mall_error(get(base, "/orders", *params), 400, "INVALID_PARAMETER")


def test_client_id_is_required(served: tuple[str, MallSandbox]) -> None:
    base, _ = served
    assert_mall_error(httpx.get(f"{base}/v1/orders"), 401, "UNAUTHORIZED")
    assert_mall_error(get(base, "/orders", client_id="someone"), 401, "UNAUTHORIZED")
    # The seed's curl example sends client_id twice.
    assert get(base, "/orders", ("client_id", "x"), ("page_size", "1")).status_code == 200
    assert_mall_error(httpx.get(f"{base}/v1/nowhere?client_id=sandbox"), 404)
    assert_mall_error(httpx.delete(f"{base}/v1/orders?client_id=sandbox"), 405)


# --- merchant updates -----------------------------------------------------------------------


def _one(sandbox: MallSandbox, **wanted: Any) -> Order:
    return next(o for o in sandbox.orders_json() if all(o[k] == v for k, v in wanted.items()))


def test_confirm_takes_an_order_off_the_unconfirmed_queue(fresh: tuple[str, MallSandbox]) -> None:
    base, sandbox = fresh
    order = _one(sandbox, status="open", confirmed=False, test=False)
    assert order["id"] in ids_of(get(base, "/orders/unconfirmed", ("page_size", "1000")))
    answer = put(base, f"/orders/{order['id']}", {"confirmed": True})
    assert answer.status_code == 200 and answer.json()["result"] == OK
    assert answer.json()["data"]["confirmed"] is True
    assert order["id"] not in ids_of(get(base, "/orders/unconfirmed", ("page_size", "1000")))
    assert_mall_error(put(base, f"/orders/{order['id']}", {"confirmed": False}), 400)
    assert_mall_error(put(base, f"/orders/{order['id']}", {"colour": "red"}), 400)
    assert_mall_error(put(base, f"/orders/{order['id']}", [1]), 400)
    bad_json = httpx.put(f"{base}/v1/orders/{order['id']}?client_id=sandbox", content=b"{")
    assert_mall_error(bad_json, 400, "INVALID_JSON")
    assert_mall_error(put(base, "/orders/1", {"confirmed": True}), 404, "NOT_FOUND")


def test_ship_with_tracking_then_change_tracking(fresh: tuple[str, MallSandbox]) -> None:
    base, sandbox = fresh
    order = _one(sandbox, status="open")
    path = f"/orders/{order['id']}"
    assert_mall_error(put(base, f"{path}/tracking", {"tracking_number": "A1"}), 409)
    assert_mall_error(put(base, path, {"status": "shipped"}), 400)
    bad = {
        "status": "shipped",
        "tracking_number": "has space",
        "tracking_url": "https://t.example/1",
    }
    assert_mall_error(put(base, path, bad), 400)
    good = {
        "status": "shipped",
        "tracking_number": "PK-1.a_2",
        "tracking_url": "https://t.example/1",
    }
    shipped = put(base, path, good).json()["data"]
    assert shipped["status"] == "shipped" and shipped["tracking_number"] == "PK-1.a_2"
    assert TIME.fullmatch(shipped["shipped"]) and shipped["shipped"] > max(
        order[s] for s in ("blocked", "open") if order[s]
    )
    retracked = put(base, f"{path}/tracking", {"tracking_number": "NEW-2"}).json()["data"]
    assert retracked["tracking_number"] == "NEW-2"
    assert _one(sandbox, id=order["id"])["tracking_number"] == "NEW-2"


def test_refused_transitions_answer_in_mall_shape(fresh: tuple[str, MallSandbox]) -> None:
    base, sandbox = fresh
    shipped = _one(sandbox, status="shipped")
    answer = put(base, f"/orders/{shipped['id']}", {"status": "open"})
    assert_mall_error(answer, 409, "STATUS_TRANSITION_NOT_ALLOWED")
    assert answer.json()["errorCodes"][0]["errorAttributes"]["allowed"] == ["delivered", "returned"]
    blocked = _one(sandbox, status="blocked")
    assert_mall_error(put(base, f"/orders/{blocked['id']}", {"status": "cancelled"}), 409)
    assert_mall_error(put(base, f"/orders/{shipped['id']}", {"status": "delivered"}), 400)
    when = {"status": "delivered", "delivered_at": "2026-13-01 10:00:00"}
    assert_mall_error(put(base, f"/orders/{shipped['id']}", when), 400)
    assert _one(sandbox, id=shipped["id"]) == shipped  # refused requests change nothing
    when["delivered_at"] = "2026-11-20 10:00:00"
    delivered = put(base, f"/orders/{shipped['id']}", when).json()["data"]
    assert delivered["status"] == "delivered" and delivered["delivered_at"] == "2026-11-20 10:00:00"
    opened = _one(sandbox, status="open")
    cancelled = put(base, f"/orders/{opened['id']}", {"status": "cancelled", "confirmed": True})
    assert cancelled.json()["data"]["status"] == "cancelled"


# --- quota ----------------------------------------------------------------------------------


def test_daily_quota_headers_and_429() -> None:
    app = create_app(orders=10, seed=1, daily_limit=3)
    with serve_in_thread(app) as base:
        remaining = []
        for _ in range(3):
            answer = get(base, "/orders")
            assert answer.status_code == 200
            assert answer.headers["X-RateLimit-Limit"] == "3"
            assert int(answer.headers["X-RateLimit-Reset"]) > 0
            remaining.append(answer.headers["X-RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]
        over = get(base, "/orders/unconfirmed")
        assert_mall_error(over, 429)
        assert over.headers["X-RateLimit-Remaining"] == "0"
        assert int(over.headers["Retry-After"]) == int(over.headers["X-RateLimit-Reset"]) > 0
        assert httpx.get(f"{base}/_sandbox/stats").status_code == 200  # never throttled
        sandbox_of(app).quota.reset()
        assert get(base, "/orders").status_code == 200


# --- faults ---------------------------------------------------------------------------------


def _faulty(spec: str) -> Any:
    return serve_in_thread(create_app(orders=5, seed=1, faults=spec))


def test_fault_429_gives_retry_after_and_is_logged() -> None:
    app = create_app(orders=5, seed=1, faults="429=1,retry_after=2")
    with serve_in_thread(app) as base:
        answer = get(base, "/orders")
        assert_mall_error(answer, 429)
        assert answer.headers["Retry-After"] == "2"
        assert httpx.get(f"{base}/_sandbox/stats").status_code == 200  # control: no faults
    (fault,) = sandbox_of(app).fault_log
    assert (fault.fault, fault.path, fault.retry_after) == ("429", "/v1/orders", 2)
    assert fault.at.tzinfo is not None and sandbox_of(app).request_count == 1


def test_fault_500() -> None:
    with _faulty("500=1") as base:
        assert_mall_error(get(base, "/orders"), 500)


def test_fault_timeout_holds_the_answer_past_the_client_timeout() -> None:
    with _faulty("timeout=1,delay=1") as base, pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{base}/v1/orders?client_id=sandbox", timeout=0.2)


def test_fault_truncate_cuts_the_body() -> None:
    with _faulty("truncate=1") as base, pytest.raises(httpx.RemoteProtocolError):
        get(base, "/orders")


def test_fault_reset_drops_the_connection() -> None:
    with _faulty("reset=1") as base, pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        get(base, "/orders")


def test_faults_are_deterministic_with_the_seed() -> None:
    def kinds() -> list[str | None]:
        app = create_app(orders=5, seed=1, faults="429=0.3,500=0.3,seed=7")
        with serve_in_thread(app) as base:
            return [get(base, "/orders").status_code for _ in range(20)]

    first = kinds()
    assert first == kinds()
    assert {200, 429, 500} == set(first)


@pytest.mark.parametrize("spec", ["429=2", "500=x", "teapot=0.1", "429", "429=0.6,500=0.6"])
def test_bad_fault_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="fault spec"):
        create_app(orders=1, faults=spec)


# --- order life -----------------------------------------------------------------------------


def _latest(order: Order) -> str:
    return max(order[s] for s in ("blocked", "open", "shipping", "shipped", "delivered",
                                  "returned", "cancelled", "lost") if order[s])  # fmt: skip


def test_order_life_moves_orders_as_mall_and_customers_do() -> None:
    sandbox = MallSandbox(200, seed=5)
    first = {o["id"]: o for o in sandbox.orders_json()}
    moves: set[tuple[str, str]] = set()
    new: list[Order] = []
    for _ in range(30):
        before = {o["id"]: o for o in sandbox.orders_json()}
        changed = sandbox.step_life(1)
        after = {o["id"]: o for o in sandbox.orders_json()}
        moves |= {(before[i]["status"], after[i]["status"]) for i in changed if i in before}
        new += [after[i] for i in changed if i not in before]
        for order_id in changed:
            order = after[order_id]
            assert order["confirmed"] is False and order[order["status"]] == _latest(order)
            if order_id in before:
                assert _latest(order) > _latest(before[order_id])
            if order["status"] == "delivered":
                assert order["mdp"] and order["delivered_at"] == order["delivered"]
        assert all(after[i] == before[i] for i in set(before) - set(changed))
    assert len(new) == 30 and all(o["id"] > max(first) for o in new)
    # New orders arrive blocked (awaiting payment), or open when COD or test (seed 000).
    assert all((o["blocked"] is None) == bool(o["test"] or o["cod"]) for o in new)
    assert {("blocked", "open"), ("blocked", "cancelled"), ("open", "cancelled")} <= moves
    assert {("shipping", "shipped"), ("shipped", "delivered")} <= moves


def test_order_life_is_deterministic() -> None:
    def run() -> tuple[list[int], list[str]]:
        sandbox = MallSandbox(100, seed=4)
        changed = sandbox.step_life(8)
        statuses = {o["id"]: o["status"] for o in sandbox.orders_json()}
        return changed, [statuses[i] for i in changed]

    assert run() == run()


def test_life_and_stats_over_http_and_unconfirmed_again(fresh: tuple[str, MallSandbox]) -> None:
    base, sandbox = fresh
    for order_id in ids_of(get(base, "/orders/unconfirmed", ("page_size", "1000"))):
        assert put(base, f"/orders/{order_id}", {"confirmed": True}).status_code == 200
    assert ids_of(get(base, "/orders/unconfirmed")) == []
    answer = httpx.post(f"{base}/_sandbox/life", params={"steps": 3})
    changed = answer.json()["changed"]
    assert changed and set(ids_of(get(base, "/orders/unconfirmed"))) == {
        o["id"] for o in sandbox.orders_json() if o["id"] in changed and not o["test"]
    }
    assert httpx.post(f"{base}/_sandbox/life", params={"steps": "x"}).status_code == 400
    stats = httpx.get(f"{base}/_sandbox/stats").json()
    assert stats["life_steps"] == 3 and stats["request_count"] == sandbox.request_count > 2
    assert stats["requests_by_path"]["GET /v1/orders/unconfirmed"] == 3
    assert len(httpx.get(f"{base}/_sandbox/orders").json()["data"]) == len(sandbox.orders_json())


# --- webhooks -------------------------------------------------------------------------------


def _receiver() -> tuple[Any, list[Any]]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    received: list[Any] = []

    async def hook(request: Request) -> Response:
        received.append(await request.json())
        return Response(status_code=204)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])]), received


def test_webhook_posts_the_changed_ids_in_one_batch() -> None:
    receiver, received = _receiver()
    with serve_in_thread(receiver) as hook_base:
        app = create_app(orders=50, seed=2, webhook_url=f"{hook_base}/hook")
        sandbox = sandbox_of(app)
        try:
            with serve_in_thread(app) as base:
                changed = sandbox.step_life(2) + sandbox.step_life(1)
                assert received == []  # batched: nothing before the minute is over
                sent = httpx.post(f"{base}/_sandbox/webhooks/flush").json()["sent"]
        finally:
            sandbox.close()
    assert received == [sent] and sorted(sent) == sorted(set(changed))
    assert sandbox.flush_webhooks() == []


def test_webhook_batcher_sends_at_most_once_a_minute() -> None:
    from orderhub.channels.sandbox_kit import WebhookBatcher

    now = [0.0]
    posts: list[list[int]] = []

    def post(url: str, ids: list[int]) -> int:
        posts.append(ids)
        return 200 if len(posts) != 2 else 500

    batcher = WebhookBatcher("http://hook", 60.0, clock=lambda: now[0], post=post)
    batcher.notify([1, 2])
    now[0] = 30.0
    batcher.notify([2, 3])
    assert batcher.tick() == [] and posts == []
    now[0] = 60.0
    assert batcher.tick() == [1, 2, 3] and posts == [[1, 2, 3]]
    now[0] = 61.0
    batcher.notify([4])
    now[0] = 120.0
    assert batcher.tick() == []  # the window opened at 61
    now[0] = 121.0
    assert batcher.tick() == [] and posts[-1] == [4]  # refused by the receiver: kept
    assert batcher.pending == [4]
    now[0] = 181.0
    assert batcher.tick() == [4] and len(posts) == 3


# --- the command line -----------------------------------------------------------------------


def test_cli_serves_the_sandbox() -> None:
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = Path(sys.executable).parent / "orderhub"
    args = [str(command), "sandbox", "mall", "--port", str(port), "--orders", "20", "--seed", "2"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                get(base, "/orders", ("page_size", "1"))
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        every = get(
            base, "/orders", ("test", "in:0,1"), ("status", "nin:lost"), ("page_size", "100")
        )
        assert len(every.json()["data"]) == len(
            [o for o in MallSandbox(20, seed=2).orders_json() if o["status"] != "lost"]
        )
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/v1" in output and "client_id=sandbox" in output
