"""The CS-Cart sandbox over real HTTP: seed 002's requests, answers and errors; updates and the
e-mail they send; the vendor_ref search; faults; order life; the CLI."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from helpers import serve_in_thread
from orderhub.channels.cscart import (
    codec,
    sandbox_life,
    sandbox_orders,
    sandbox_payload,
    sandbox_state,
    sandbox_store,
)
from orderhub.channels.cscart.codec import decode_order
from orderhub.channels.cscart.sandbox import CsCartSandbox, create_app
from orderhub.channels.cscart.sandbox_life import MOVES

Order = dict[str, Any]
AUTH = ("admin@example.com", "sandbox")
SEED_DETAIL_FIELDS = {
    "order_id", "status", "timestamp", "company_id", "issuer_id", "user_id", "firstname",
    "lastname", "email", "phone", "lang_code", "total", "discount", "subtotal",
    "subtotal_discount", "display_subtotal", "invoice_id", "credit_memo_id", "payment_id",
    "payment_info", "payment_method", "payment_surcharge", "repaid", "products", "promotion_ids",
    "promotions", "need_shipping", "shipping_ids", "shipping", "shipping_id", "need_shipment",
    "shipment_ids", "shipping_cost", "display_shipping_cost", "tax_exempt", "tax_subtotal",
    "taxes", "notes", "details",
    *(f"{p}_{k}" for p in "sb" for k in (
        "address", "address_2", "city", "country", "country_descr", "firstname", "lastname",
        "phone", "state", "state_descr", "zipcode")),
}  # fmt: skip
INTEGERS = ("order_id", "timestamp", "company_id", "user_id", "payment_id", "shipping_id")
AMOUNTS = ("total", "discount", "subtotal", "shipping_cost", "tax_subtotal", "payment_surcharge")
DIGITS = re.compile(r"[0-9]+")
AMOUNT = re.compile(r"-?[0-9]+\.[0-9]+|-?[0-9]+")


def sandbox_of(app: Any) -> CsCartSandbox:
    sandbox: CsCartSandbox = app.state.sandbox
    return sandbox


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, CsCartSandbox]]:
    """One read-only sandbox for the list tests."""
    app = create_app(orders=400, seed=3)
    with serve_in_thread(app) as base:
        yield base, sandbox_of(app)


@pytest.fixture
def fresh() -> Iterator[tuple[str, CsCartSandbox]]:
    """A sandbox of its own, for tests that change orders."""
    app = create_app(orders=150, seed=5)
    with serve_in_thread(app) as base:
        yield base, sandbox_of(app)


def get(base: str, path: str, *params: tuple[str, str], auth: Any = AUTH) -> httpx.Response:
    return httpx.get(f"{base}/api{path}", params=list(params), auth=auth)


def put(base: str, order_id: object, body: Any) -> httpx.Response:
    return httpx.put(f"{base}/api/orders/{order_id}", json=body, auth=AUTH)


def listed(base: str, *params: tuple[str, str]) -> list[Order]:
    answer = get(base, "/orders", ("items_per_page", "1000"), *params)
    assert answer.status_code == 200, answer.text
    orders: list[Order] = answer.json()["orders"]
    return orders


def assert_cscart_error(answer: httpx.Response, status: int, text: str = "") -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"message", "status"} and body["status"] == status
    assert text in body["message"]


def one_with(sandbox: CsCartSandbox, letter: str) -> Order:
    return next(o for o in sandbox.orders_json() if o["status"] == letter)


# --- generated orders -----------------------------------------------------------------------


def test_same_seed_same_orders_and_every_letter_in_the_mix() -> None:
    first = CsCartSandbox(1000, seed=4).orders_json()
    assert first == CsCartSandbox(1000, seed=4).orders_json()
    assert first != CsCartSandbox(1000, seed=5).orders_json()
    letters = Counter(o["status"] for o in first)
    assert set(letters) == set("PCOFDBIHGNE")
    assert letters["C"] > letters["P"] > letters["N"] > 0
    assert any(o["user_id"] == "0" for o in first)  # guests
    assert all(decode_order(o, channel="shop-de").channel_status == o["status"] for o in first)


def test_orders_are_written_by_the_sandbox_not_by_the_hubs_encoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sandbox must not build its orders with the hub's codec")

    modules = (sandbox_life, sandbox_orders, sandbox_payload, sandbox_state, sandbox_store)
    assert not any(hasattr(module, "encode_order") for module in modules)
    monkeypatch.setattr(codec, "encode_order", refuse)
    sandbox = CsCartSandbox(100, seed=4)
    sandbox.step_life(10)
    assert sandbox.store.count() == 110


def test_orders_vary_enough_for_the_sync_oracle_to_bite() -> None:
    """Billing addresses of their own, second address lines, products with and without
    tax_value, merchant references, tax on shipping, quantities above 1."""
    orders = CsCartSandbox(1000, seed=4).orders_json()
    assert any(o["b_address"] != o["s_address"] for o in orders)
    assert any(o["s_address_2"] for o in orders) and any(o["s_state"] for o in orders)
    products = [p for o in orders for p in o["products"].values()]
    assert any("tax_value" in p for p in products) and any("tax_value" not in p for p in products)
    assert any(int(p["amount"]) > 1 for p in products)
    assert any(o.get("vendor_ref") for o in orders)
    assert any(Decimal(t["applies"]["S"]) > 0 for o in orders for t in o["taxes"].values())
    assert all("currency" not in o for o in orders)  # the shop's primary currency is implied


def test_online_payment_waits_in_n_offline_in_o_or_e() -> None:
    orders = CsCartSandbox(1000, seed=4).orders_json()
    offline = {"bank_transfer", "invoice", "cod"}
    for order in orders:
        method = order["payment_method"]["payment"]
        if order["status"] == "N":
            assert method not in offline
        if order["status"] in "OE":
            assert method in offline


# --- GET /api/orders ------------------------------------------------------------------------


def test_list_defaults_and_string_values(served: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = served
    answer = get(base, "/orders")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"orders", "params"}
    visible = [o for o in sandbox.orders_json() if o["status"] != "N"]
    assert body["params"] == {
        "page": "1",
        "items_per_page": "10",
        "sort_by": "date",
        "sort_order": "desc",
        "total_items": str(len(visible)),
    }
    newest = sorted(visible, key=lambda o: (int(o["timestamp"]), int(o["order_id"])))[::-1]
    assert [o["order_id"] for o in body["orders"]] == [o["order_id"] for o in newest[:10]]
    for order in body["orders"]:
        assert all(isinstance(order[k], str) for k in ("order_id", "timestamp", "total"))
        assert DIGITS.fullmatch(order["updated_at"]) and AMOUNT.fullmatch(order["total"])
        assert "products" not in order  # a summary: the details are GET /orders/{id}


def test_incomplete_orders_only_when_asked_for(served: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = served
    incomplete = {o["order_id"] for o in sandbox.orders_json() if o["status"] == "N"}
    assert incomplete
    assert not incomplete & {o["order_id"] for o in listed(base)}
    assert {o["order_id"] for o in listed(base, ("status", "N"))} == incomplete
    both = listed(base, ("status", "N,P"))
    assert {o["status"] for o in both} == {"N", "P"}


def test_paging(served: tuple[str, CsCartSandbox]) -> None:
    base, _ = served
    every = [o["order_id"] for o in listed(base)]
    pages = []
    for page in range(1, 100):
        answer = get(base, "/orders", ("page", str(page)), ("items_per_page", "37")).json()
        assert answer["params"]["page"] == str(page)
        pages += [o["order_id"] for o in answer["orders"]]
        if len(answer["orders"]) < 37:
            break
    assert pages == every


SORT_KEYS = {
    "date": lambda o: int(o["timestamp"]),
    "order_id": lambda o: 0,
    "status": lambda o: o["status"],
    "customer": lambda o: f"{o['firstname']} {o['lastname']}".strip(),
    "email": lambda o: o["email"].lower(),
    "total": lambda o: Decimal(o["total"]),
    "updated_at": lambda o: int(o["updated_at"]),
}


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort_by", list(SORT_KEYS))
def test_sort_by(served: tuple[str, CsCartSandbox], sort_by: str, order: str) -> None:
    base, sandbox = served
    got = [o["order_id"] for o in listed(base, ("sort_by", sort_by), ("sort_order", order))]
    visible = [o for o in sandbox.orders_json() if o["status"] != "N"]
    key = SORT_KEYS[sort_by]
    expected = sorted(visible, key=lambda o: (key(o), int(o["order_id"])), reverse=order == "desc")
    assert got == [o["order_id"] for o in expected]


def test_filters(served: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = served
    orders = [o for o in sandbox.orders_json() if o["status"] != "N"]
    sample = next(o for o in orders if o["user_id"] != "0" and o["invoice_id"])

    def ids(*params: tuple[str, str]) -> set[str]:
        return {o["order_id"] for o in listed(base, *params)}

    assert ids(("status", "C")) == {o["order_id"] for o in orders if o["status"] == "C"}
    assert ids(("user_id", sample["user_id"])) == {
        o["order_id"] for o in orders if o["user_id"] == sample["user_id"]
    }
    assert ids(("user_id", "0")) == {o["order_id"] for o in orders if o["user_id"] == "0"}
    assert sample["order_id"] in ids(("email", sample["email"].upper()))
    assert ids(("invoice_id", sample["invoice_id"])) == {sample["order_id"]}


def test_updated_at_range_in_unix_seconds_and_days(served: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = served
    orders = [o for o in sandbox.orders_json() if o["status"] != "N"]
    stamps = sorted(int(o["updated_at"]) for o in orders)
    low, high = stamps[50], stamps[150]
    expected = {o["order_id"] for o in orders if low <= int(o["updated_at"]) <= high}
    got = listed(base, ("updated_at_from", str(low)), ("updated_at_to", str(high)))
    assert {o["order_id"] for o in got} == expected and len(expected) >= 101
    day = datetime.fromtimestamp(low, UTC).date()
    on_day = {
        o["order_id"]
        for o in orders
        if datetime.fromtimestamp(int(o["updated_at"]), UTC).date() == day
    }
    same_day = listed(base, ("updated_at_from", day.isoformat()), ("updated_at_to", str(day)))
    assert {o["order_id"] for o in same_day} == on_day != set()


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ([("page", "0")], "page"),
        ([("items_per_page", "x")], "items_per_page"),
        ([("items_per_page", "100000")], "items_per_page"),
        ([("sort_by", "price")], "sort_by"),
        ([("sort_order", "up")], "sort_order"),
        ([("status", "Z")], "status"),
        ([("status", "")], "status"),
        ([("user_id", "-1")], "user_id"),
        ([("invoice_id", "abc")], "invoice_id"),
        ([("updated_at_from", "yesterday")], "updated_at_from"),
        ([("updated_at_to", "2026-02-30")], "updated_at_to"),
        ([("colour", "red")], "colour"),
    ],
)
def test_bad_parameters_get_cscart_errors(
    served: tuple[str, CsCartSandbox], params: list[tuple[str, str]], names: str
) -> None:
    base, _ = served
    assert_cscart_error(get(base, "/orders", *params), 400, names)


def test_http_basic_auth_is_required(served: tuple[str, CsCartSandbox]) -> None:
    base, _ = served
    for auth in (None, ("admin@example.com", "wrong"), ("someone@example.com", "sandbox")):
        answer = get(base, "/orders", auth=auth)
        assert_cscart_error(answer, 401, "Unauthorized")
        assert answer.headers["www-authenticate"].startswith("Basic")
    bearer = httpx.get(f"{base}/api/orders", headers={"Authorization": "Basic !!!"})
    assert_cscart_error(bearer, 401)


def test_unknown_routes_and_methods_answer_in_cscart_shape(
    served: tuple[str, CsCartSandbox],
) -> None:
    base, _ = served
    assert_cscart_error(get(base, "/products"), 404)
    assert_cscart_error(httpx.delete(f"{base}/api/orders/1", auth=AUTH), 405)


# --- GET /api/orders/{id} -------------------------------------------------------------------


def test_order_details_in_the_seed_shape(served: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = served
    for expected in sandbox.orders_json()[:20]:
        answer = get(base, f"/orders/{expected['order_id']}")
        assert answer.status_code == 200
        details = answer.json()
        assert details == expected
        assert set(details) >= SEED_DETAIL_FIELDS
        assert all(DIGITS.fullmatch(details[k]) for k in INTEGERS)
        assert all(AMOUNT.fullmatch(details[k]) for k in AMOUNTS)
        assert isinstance(details["products"], dict) and details["products"]
        assert isinstance(details["payment_method"], dict)
        assert isinstance(details["need_shipping"], bool)
        assert details["tax_exempt"] in ("Y", "N") and details["repaid"] in ("0", "1")


def test_details_of_an_incomplete_order_and_a_missing_one(
    served: tuple[str, CsCartSandbox],
) -> None:
    base, sandbox = served
    incomplete = one_with(sandbox, "N")
    assert get(base, f"/orders/{incomplete['order_id']}").json()["status"] == "N"
    assert_cscart_error(get(base, "/orders/1"), 404, "Not Found: order 1")
    assert_cscart_error(get(base, "/orders/abc"), 400, "order_id")


# --- PUT /api/orders/{id} -------------------------------------------------------------------


def test_status_change_with_notify_user_sends_one_email(
    fresh: tuple[str, CsCartSandbox],
) -> None:
    base, sandbox = fresh
    order = one_with(sandbox, "P")
    answer = put(base, order["order_id"], {"status": "C", "notify_user": "1"})
    assert answer.status_code == 200 and answer.json() == {"order_id": order["order_id"]}
    changed = sandbox.order(int(order["order_id"]))
    assert changed["status"] == "C" and int(changed["updated_at"]) > int(order["updated_at"])
    assert changed["invoice_id"]  # a complete order is invoiced
    (mail,) = sandbox.mail
    assert (mail.order_id, mail.to, mail.status) == (order["order_id"], order["email"], "C")
    assert httpx.get(f"{base}/_sandbox/mail").json()["mail"][0]["order_id"] == order["order_id"]
    assert httpx.get(f"{base}/_sandbox/stats").json()["mail_sent"] == 1
    # The same status again changes nothing and sends nothing.
    assert put(base, order["order_id"], {"status": "C", "notify_user": 1}).status_code == 200
    assert len(sandbox.mail) == 1 and sandbox.order(int(order["order_id"])) == changed


def test_status_change_without_notify_user_sends_nothing(fresh: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = fresh
    first, second = [o for o in sandbox.orders_json() if o["status"] == "P"][:2]
    assert put(base, first["order_id"], {"status": "B"}).status_code == 200
    assert put(base, second["order_id"], {"status": "D", "notify_user": "0"}).status_code == 200
    assert sandbox.order(int(first["order_id"]))["status"] == "B"
    assert sandbox.order(int(second["order_id"]))["status"] == "D"
    assert sandbox.mail == []


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"status": "N"}, "cannot be set by an administrator"),
        ({"status": "X"}, "status"),
        ({"status": "C", "notify_user": "yes"}, "notify_user"),
        ({"notify_user": "1"}, "nothing to update"),
        ({"status": "C", "colour": "red"}, "colour"),
        ({"vendor_ref": {"id": "ABC"}}, "only accepts a single string, got an object"),
        ({"vendor_ref": ["ABC"]}, "only accepts a single string, got an array"),
        ({"vendor_ref": 1234}, "only accepts a single string"),
        ({"vendor_ref": "X" * 65}, "at most 64"),
        ({"status": "C", "vendor_ref": ["ABC"]}, "vendor_ref"),
        (["status", "C"], "JSON object"),
    ],
)
def test_refused_updates_change_nothing(
    fresh: tuple[str, CsCartSandbox], body: Any, text: str
) -> None:
    base, sandbox = fresh
    order = one_with(sandbox, "P")
    assert_cscart_error(put(base, order["order_id"], body), 400, text)
    assert sandbox.order(int(order["order_id"])) == order and sandbox.mail == []


def test_an_incomplete_order_cannot_be_changed_by_hand(fresh: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = fresh
    order = one_with(sandbox, "N")
    answer = put(base, order["order_id"], {"status": "D", "notify_user": "1"})
    assert_cscart_error(answer, 400, "awaits the payment gateway")
    assert sandbox.order(int(order["order_id"])) == order and sandbox.mail == []


def test_updates_of_missing_orders_and_bad_bodies(fresh: tuple[str, CsCartSandbox]) -> None:
    base, _ = fresh
    assert_cscart_error(put(base, 1, {"status": "C"}), 404, "Not Found")
    raw = httpx.put(f"{base}/api/orders/1", content=b"{not json", auth=AUTH)
    assert_cscart_error(raw, 400, "JSON")


# --- vendor_ref and the search --------------------------------------------------------------


def test_vendor_ref_is_set_found_and_removed(fresh: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = fresh
    first, second = [o for o in sandbox.orders_json() if o["status"] == "C"][:2]
    for order in (first, second):
        answer = put(base, order["order_id"], {"vendor_ref": "ABC1234"})
        assert answer.json() == {"order_id": order["order_id"]}
    found = get(base, "/orders/search/", ("vendor_ref", "ABC1234"))
    assert found.status_code == 200
    assert [o["order_id"] for o in found.json()] == [first["order_id"], second["order_id"]]
    assert found.json()[0] == sandbox.order(int(first["order_id"]))  # detailed orders
    assert found.json()[0]["vendor_ref"] == "ABC1234"
    assert {o["order_id"] for o in listed(base) if o.get("vendor_ref") == "ABC1234"} == {
        first["order_id"], second["order_id"]
    }  # fmt: skip
    assert put(base, first["order_id"], {"vendor_ref": ""}).status_code == 200
    assert "vendor_ref" not in sandbox.order(int(first["order_id"]))
    without_slash = get(base, "/orders/search", ("vendor_ref", "ABC1234")).json()
    assert [o["order_id"] for o in without_slash] == [second["order_id"]]


def test_search_without_results_or_reference(fresh: tuple[str, CsCartSandbox]) -> None:
    base, _ = fresh
    nothing = get(base, "/orders/search/", ("vendor_ref", "NOPE"))
    assert_cscart_error(nothing, 404, "Your search did not return any results")
    assert_cscart_error(get(base, "/orders/search/"), 400, "vendor_ref")


# --- faults ---------------------------------------------------------------------------------


def test_fault_429_gives_retry_after_in_cscart_shape() -> None:
    app = create_app(orders=5, seed=1, faults="429=1,retry_after=2")
    with serve_in_thread(app) as base:
        answer = get(base, "/orders")
        assert_cscart_error(answer, 429)
        assert answer.headers["Retry-After"] == "2"
        assert httpx.get(f"{base}/_sandbox/stats").status_code == 200  # control: no faults
    (fault,) = sandbox_of(app).fault_log
    assert (fault.fault, fault.path, fault.retry_after) == ("429", "/api/orders", 2)


def test_faults_are_deterministic_with_the_seed() -> None:
    def statuses() -> list[int]:
        app = create_app(orders=5, seed=1, faults="429=0.3,500=0.3,seed=7")
        with serve_in_thread(app) as base:
            return [get(base, "/orders").status_code for _ in range(20)]

    first = statuses()
    assert first == statuses() and {200, 429, 500} == set(first)


def test_bad_fault_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="fault spec"):
        create_app(orders=1, faults="429=2")


# --- order life -----------------------------------------------------------------------------


def test_order_life_follows_the_shops_rules() -> None:
    sandbox = CsCartSandbox(200, seed=5)
    allowed = {(current, to) for current, to, _ in MOVES}
    moves: set[tuple[str, str]] = set()
    for _ in range(40):
        before = {o["order_id"]: o for o in sandbox.orders_json()}
        changed = [str(i) for i in sandbox.step_life()]
        after = {o["order_id"]: o for o in sandbox.orders_json()}
        new = [after[i] for i in changed if i not in before]
        assert len(new) == 1 and new[0]["status"] in ("N", "O")
        for i in changed:
            if i in before:
                moves.add((before[i]["status"], after[i]["status"]))
                assert int(after[i]["updated_at"]) > int(before[i]["updated_at"])
        assert all(after[k] == before[k] for k in set(before) - set(changed))
        stamps = [int(after[i]["updated_at"]) for i in changed]
        assert len(set(stamps)) == len(stamps)  # every change has its own second
    assert moves <= allowed and len(moves) >= 5


def test_order_life_is_deterministic() -> None:
    def run() -> list[Order]:
        sandbox = CsCartSandbox(100, seed=6)
        sandbox.step_life(10)
        return [{k: v for k, v in o.items() if k not in ("updated_at", "timestamp")}
                for o in sandbox.orders_json()]  # fmt: skip

    assert run() == run()


def test_life_and_stats_over_http(fresh: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = fresh
    answer = httpx.post(f"{base}/_sandbox/life", params={"steps": "3"})
    assert answer.status_code == 200 and len(answer.json()["changed"]) >= 3
    stats = httpx.get(f"{base}/_sandbox/stats").json()
    assert stats["life_steps"] == 3 and stats["orders"] == 153
    everything = httpx.get(f"{base}/_sandbox/orders").json()["orders"]
    assert everything == sandbox.orders_json()
    bad = httpx.post(f"{base}/_sandbox/life", params={"steps": "0"})
    assert_cscart_error(bad, 400, "steps")


# --- the command line -----------------------------------------------------------------------


def test_cli_serves_the_sandbox() -> None:
    import subprocess
    import sys
    import time
    from pathlib import Path

    from helpers import free_port

    port = free_port()
    command = Path(sys.executable).parent / "orderhub"
    args = [str(command), "sandbox", "cscart", "--port", str(port), "--orders", "20", "--seed", "2"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = get(base, "/orders", ("items_per_page", "100"))
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        expected = [o for o in CsCartSandbox(20, seed=2).orders_json() if o["status"] != "N"]
        assert answer.json()["params"]["total_items"] == str(len(expected))
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/api" in output and "admin@example.com:sandbox" in output
