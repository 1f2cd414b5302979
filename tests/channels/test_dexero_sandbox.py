"""The Dexero sandbox over real HTTP: OAuth2, the seed's requests and answers (JSON and XML),
every list parameter, errors in Dexero's shape, faults, order life, control endpoints, the CLI."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from helpers import free_port, serve_in_thread
from orderhub.channels.dexero.codec import decode_order, page_from_xml
from orderhub.channels.dexero.sandbox import PREFIX, DexeroSandbox, create_app
from orderhub.channels.dexero.sandbox_orders import ORDERS
from orderhub.domain import ManualClock
from tests.channels.test_dexero_codec import SEED_TABLES

Order = dict[str, Any]
PAGE_KEYS = {"totalResults", "startIndex", "itemsPerPage", "pageCount", "orders"}
MONEY = {"subtotal_order", "total_order", "total_shipping", "total_tax", "total_payment"}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, DexeroSandbox, str]]:
    """One read-only sandbox for the query tests, and a bearer token for it."""
    app = create_app(orders=400, seed=3)
    with serve_in_thread(app) as base:
        yield base, app.state.sandbox, token(base)


def token(base: str) -> str:
    answer = httpx.post(
        f"{base}/oauth/token.action",
        data={"grant_type": "client_credentials"},
        auth=("sandbox", "sandbox"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    return str(body["access_token"])


def get(served: tuple[str, DexeroSandbox, str], path: str, *params: tuple[str, str]) -> Any:
    base, _, bearer = served
    headers = {"Authorization": f"Bearer {bearer}"}
    return httpx.get(f"{base}{PREFIX}/{path}", params=list(params), headers=headers)


def listing(served: tuple[str, DexeroSandbox, str], *params: tuple[str, str]) -> list[Order]:
    answer = get(served, "orders/all.json", ("count", "500"), ("include_tests", "true"), *params)
    assert answer.status_code == 200, answer.text
    orders: list[Order] = answer.json(parse_float=Decimal)["orders"]
    return orders


def ids(orders: list[Order]) -> list[int]:
    return [o["id"] for o in orders]


def stamp(order: Order) -> datetime:
    return datetime.fromisoformat(order.get("updated_date") or order["purchase_date"])


# --- orders and shapes ----------------------------------------------------------------------


def test_same_seed_same_orders_and_a_realistic_mix() -> None:
    first, _ = ORDERS.initial(200, 4)
    again, _ = ORDERS.initial(200, 4)
    assert first == again and first != ORDERS.initial(200, 5)[0]
    assert {o["status"] for o in first} >= {"pending", "untreated", "treated", "completed"}
    assert all(decode_order(o, channel="dexero-dk") for o in first)
    assert any(o["product"][0]["custom_param"] for o in first) and any(o["is_test"] for o in first)


def test_the_orders_vary_in_every_way_the_oracle_reads() -> None:
    """Enough variety that a decoder dropping a field or swapping two statuses fails a sync
    test: each case below occurs in the sync tests' sandboxes (400 orders, seed 3)."""
    orders, _ = ORDERS.initial(400, 3)
    billing = [o for o in orders if o["shipping_address"] and o["billing_address"]]
    ids = [[p["id"] for p in o["product"]] for o in orders]
    assert {o["status"] for o in orders} == {
        "pending", "untreated", "treated", "completed", "cancelled", "canceled", "refunded"
    }  # fmt: skip
    assert {o["purchase_date"][-6:] for o in orders} >= {"+01:00", "+02:00", "-05:00"}
    assert any(o["purchase_date"].endswith("Z") for o in orders)
    assert any("updated_date" in o for o in orders) and any("updated_date" not in o for o in orders)
    assert any(o["shipping_address"] is None and not o["is_shippable"] for o in orders)
    assert any(o["billing_address"]["name"] != o["shipping_address"]["name"] for o in billing)
    assert any(not o["billing_address"]["phone_number"] for o in billing)
    assert any(o["shipping_address"] and o["shipping_address"]["company"] for o in orders)
    assert any(
        o["shipping_address"] and o["shipping_address"]["iso_country"] == "dk" for o in orders
    )
    assert {o["locale"] for o in orders} == {"da_DK", "da", "da-DK", "en_GB"}
    assert any(len(set(i)) < len(i) for i in ids), "a product bought twice repeats its id"
    assert any(p["rebate_amount"] > 0 for o in orders for p in o["product"])
    assert any(o["customer_email"] == "" for o in orders) and any(o["is_test"] for o in orders)
    assert any(o["total_refunded"] > 0 and o["total_left_to_pay"] == 0 for o in orders)
    assert any(0 < o["total_payment"] < o["total_order"] for o in orders)
    assert any(o["order_form"] for o in orders)


def test_pending_list_has_the_seed_shape(served: tuple[str, DexeroSandbox, str]) -> None:
    answer = get(served, "orders/pending.json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    body = answer.json(parse_float=Decimal)
    assert set(body) == PAGE_KEYS
    assert (body["startIndex"], body["itemsPerPage"], len(body["orders"])) == (0, 20, 20)
    assert body["pageCount"] == math.ceil(body["totalResults"] / 20)
    order = body["orders"][0]
    assert set(order) == SEED_TABLES["Order"] - {"order_form"} | (set(order) & {"updated_date"})
    assert set(order["billing_address"]) == SEED_TABLES["Address"]
    assert set(order["product"][0]) == SEED_TABLES["OrderProduct"]
    assert all(isinstance(order[k], Decimal) for k in MONEY)
    assert isinstance(order["id"], int) and isinstance(order["is_test"], bool)
    assert datetime.fromisoformat(order["purchase_date"]).tzinfo is not None
    assert {o["status"] for o in body["orders"]} <= {"pending", "untreated", "treated"}


def test_forms_only_when_asked_for(served: tuple[str, DexeroSandbox, str]) -> None:
    with_forms = listing(served, ("include_forms", "true"))
    assert all("order_form" in o for o in with_forms)
    form = next(f for o in with_forms for f in o["order_form"])
    assert set(form) == SEED_TABLES["OrderForm"] and set(form["value"][0]) == SEED_TABLES["Value"]
    assert all("order_form" not in o for o in listing(served))


@pytest.mark.parametrize(
    ("name", "statuses"),
    [
        ("pending", {"pending", "untreated", "treated"}),
        ("untreated", {"pending", "untreated"}),
        ("treated", {"treated"}),
    ],
)
def test_each_list_holds_its_statuses(
    served: tuple[str, DexeroSandbox, str], name: str, statuses: set[str]
) -> None:
    answer = get(served, f"orders/{name}.json", ("count", "500"), ("include_tests", "true"))
    got = answer.json()["orders"]
    truth = [o for o in served[1].orders_json() if o["status"] in statuses]
    assert ids(got) and sorted(ids(got)) == sorted(ids(truth))


def test_xml_is_element_for_element_the_json(served: tuple[str, DexeroSandbox, str]) -> None:
    params = (("count", "30"), ("include_forms", "true"), ("offset", "10"))
    as_json = get(served, "orders/all.json", *params).json(parse_float=Decimal)
    answer = get(served, "orders/all.xml", *params)
    assert answer.headers["content-type"] == "application/xml"
    assert answer.text.startswith('<?xml version="1.0"') and "<response>" in answer.text
    assert page_from_xml(answer.content) == as_json
    one = get(served, f"orders/{as_json['orders'][0]['id']}.xml", ("include_forms", "true"))
    assert one.text.count("<order>") == 1 and "<response>" not in one.text


def test_one_order_by_id(served: tuple[str, DexeroSandbox, str]) -> None:
    truth = served[1].orders_json()[5]
    answer = get(served, f"orders/{truth['id']}.json", ("include_forms", "true"))
    assert answer.status_code == 200 and answer.json(parse_float=Decimal) == truth
    missing = get(served, "orders/999.json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


# --- every parameter ------------------------------------------------------------------------


def test_count_offset_and_the_pagination_info(served: tuple[str, DexeroSandbox, str]) -> None:
    body = get(served, "orders/all.json", ("count", "7"), ("offset", "21")).json()
    everything = [o for o in served[1].orders_json() if not o["is_test"]]
    assert body["totalResults"] == len(everything)
    assert (body["startIndex"], body["itemsPerPage"]) == (21, 7)
    assert body["pageCount"] == math.ceil(len(everything) / 7)
    by_purchase = sorted(
        everything, key=lambda o: (datetime.fromisoformat(o["purchase_date"]), o["id"])
    )
    assert ids(body["orders"]) == ids(by_purchase[21:28])  # default sort: purchasedTimestamp


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("purchasedTimestamp", lambda o: datetime.fromisoformat(o["purchase_date"])),
        ("updatedTimestamp", stamp),
        ("id", lambda o: o["id"]),
        ("total_order", lambda o: o["total_order"]),
        ("customer_email", lambda o: o["customer_email"] or ""),
    ],
)
def test_sort_key_and_direction(
    served: tuple[str, DexeroSandbox, str], key: str, value: Any
) -> None:
    for direction in ("asc", "desc"):
        got = listing(served, ("sort_key", key), ("sort_dir", direction))
        expected = sorted(got, key=lambda o: (value(o), o["id"]), reverse=direction == "desc")
        assert ids(got) == ids(expected) and len(got) == 400


def test_filters(served: tuple[str, DexeroSandbox, str]) -> None:
    orders = served[1].orders_json()
    email = next(o["customer_email"] for o in orders if o["customer_email"])
    middle = sorted(stamp(o) for o in orders)[200]
    start = (middle - timedelta(days=3)).astimezone().isoformat()
    cases: list[tuple[list[tuple[str, str]], Any]] = [
        ([("customer_email", email.upper())], lambda o: o["customer_email"] == email),
        ([("earliest_time", middle.isoformat())], lambda o: stamp(o) >= middle),
        ([("latest_time", middle.isoformat())], lambda o: stamp(o) <= middle),
        ([("earliest_time", start), ("latest_time", middle.isoformat())],
         lambda o: middle - timedelta(days=3) <= stamp(o) <= middle),
        ([("min_id", str(orders[100]["id"])), ("max_id", str(orders[120]["id"]))],
         lambda o: orders[100]["id"] <= o["id"] <= orders[120]["id"]),
        ([("custom_field_identifier", "engraving")],
         lambda o: any(p["custom_param"] for p in o["product"])),
        ([("custom_field_value", "Tak!")],
         lambda o: any(c["value"] == "Tak!" for p in o["product"] for c in p["custom_param"])),
        ([("attribute_identifier", "colour"), ("attribute_value", "red")],
         lambda o: any(a["value"] == "red" for p in o["product"] for a in p["attribute"])),
    ]  # fmt: skip
    for params, keep in cases:
        expected = sorted(o["id"] for o in orders if keep(o))
        assert expected and sorted(ids(listing(served, *params))) == expected, params


def test_test_orders_only_when_asked_for(served: tuple[str, DexeroSandbox, str]) -> None:
    default = get(served, "orders/all.json", ("count", "500")).json()["orders"]
    assert default and not any(o["is_test"] for o in default)
    assert any(o["is_test"] for o in listing(served))


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ([("count", "0")], "count"),
        ([("count", "501")], "count"),
        ([("offset", "-1")], "offset"),
        ([("sort_key", "nope")], "sort_key"),
        ([("sort_dir", "up")], "sort_dir"),
        ([("earliest_time", "2011-11-25T15:58:50")], "earliest_time"),
        ([("latest_time", "yesterday")], "latest_time"),
        ([("min_id", "x")], "min_id"),
        ([("include_tests", "maybe")], "include_tests"),
        ([("colour", "red")], "colour"),
        ([("count", "1"), ("count", "2")], "count"),
    ],
)
def test_bad_parameters_get_dexero_errors(
    served: tuple[str, DexeroSandbox, str], params: list[tuple[str, str]], names: str
) -> None:
    answer = get(served, "orders/pending.json", *params)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["status"] == 400 and error["code"] == "invalid_parameter"
    assert error["message"].startswith(names)
    xml = get(served, "orders/pending.xml", *params)
    assert xml.status_code == 400 and f"<message>{names}" in xml.text


def test_unknown_resources_formats_and_writes(served: tuple[str, DexeroSandbox, str]) -> None:
    assert get(served, "orders/shipped.json").status_code == 404
    assert get(served, "orders/pending.csv").json()["error"]["code"] == "invalid_format"
    base, _, bearer = served
    headers = {"Authorization": f"Bearer {bearer}"}
    for method in ("POST", "PUT", "DELETE"):
        answer = httpx.request(method, f"{base}{PREFIX}/orders/pending.json", headers=headers)
        assert answer.status_code == 405 and answer.json()["error"]["code"] == "method_not_allowed"


# --- OAuth2 ---------------------------------------------------------------------------------


def test_a_bearer_token_is_required(served: tuple[str, DexeroSandbox, str]) -> None:
    base = served[0]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        answer = httpx.get(f"{base}{PREFIX}/orders/pending.json", headers=headers)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_token"
        assert answer.headers["www-authenticate"].startswith("Bearer")
    xml = httpx.get(f"{base}{PREFIX}/orders/pending.xml")
    assert xml.status_code == 401 and "<code>invalid_token</code>" in xml.text


def test_token_endpoint_errors_in_oauth_shape(served: tuple[str, DexeroSandbox, str]) -> None:
    url = f"{served[0]}/oauth/token.action"
    form = {"grant_type": "client_credentials", "client_id": "sandbox", "client_secret": "sandbox"}
    issued = httpx.post(url, data=form)  # credentials in the form body
    assert issued.status_code == 200 and issued.json()["expires_in"] == 3600
    wrong = httpx.post(url, data=form | {"client_secret": "x"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = httpx.post(url, data=form | {"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


def test_tokens_expire() -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    app = create_app(orders=5, seed=1, token_ttl=60, token_clock=clock.monotonic)
    with serve_in_thread(app) as base:
        headers = {"Authorization": f"Bearer {token(base)}"}
        url = f"{base}{PREFIX}/orders/all.json"
        assert httpx.get(url, headers=headers).status_code == 200
        clock.advance(59)  # still valid in its last second
        assert httpx.get(url, headers=headers).status_code == 200
        clock.advance(1)
        assert httpx.get(url, headers=headers).status_code == 401
        assert httpx.get(url, headers={"Authorization": f"Bearer {token(base)}"}).status_code == 200


# --- faults, life, control, CLI -------------------------------------------------------------


def test_fault_429_has_retry_after_in_dexero_shape_and_is_logged() -> None:
    app = create_app(orders=5, seed=1, faults="429=1,seed=1,retry_after=2")
    with serve_in_thread(app) as base:
        answer = httpx.get(f"{base}{PREFIX}/orders/all.json")
        assert answer.status_code == 429 and answer.headers["retry-after"] == "2"
        assert answer.json()["error"]["status"] == 429
        stats = httpx.get(f"{base}/_sandbox/stats").json()  # control paths never faulted
        assert stats["faults"] == {"429": 1} and stats["request_count"] == 1


def test_order_life_moves_orders_and_is_deterministic() -> None:
    runs = []
    for _ in range(2):
        sandbox = DexeroSandbox(orders=100, seed=2)
        before = {o["id"]: o for o in sandbox.orders_json()}
        changed = sandbox.step_life(15)
        after = {o["id"]: o for o in sandbox.orders_json()}
        runs.append([(i, after[i]["status"], after[i]["total_order"]) for i in changed])
        arrived = [i for i in changed if i not in before]
        moved = [i for i in changed if i in before]
        assert len(arrived) == 15 and arrived == sorted(arrived) and arrived[0] > max(before)
        assert moved and all(after[i]["status"] != before[i]["status"] for i in moved)
        assert all(stamp(after[i]) > stamp(before[i]) for i in moved)
    assert runs[0] == runs[1]


def test_life_and_orders_over_the_control_endpoints() -> None:
    app = create_app(orders=30, seed=2)
    with serve_in_thread(app) as base:
        changed = httpx.post(f"{base}/_sandbox/life", params={"steps": "3"}).json()["changed"]
        assert len(changed) >= 3
        assert httpx.post(f"{base}/_sandbox/life", params={"steps": "0"}).status_code == 400
        stats = httpx.get(f"{base}/_sandbox/stats").json()
        assert stats["orders"] == 33 and stats["life_steps"] == 3 and stats["request_count"] == 0
        every = httpx.get(f"{base}/_sandbox/orders").json()["orders"]
        assert len(every) == 33 and set(changed) <= {o["id"] for o in every}


def test_cli_serves_the_sandbox() -> None:
    port = free_port()
    command = [sys.executable, "-c", "from orderhub.cli import main; main()", "sandbox",
               "dexero", "--port", str(port), "--orders", "20", "--seed", "4"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                stats = httpx.get(f"http://127.0.0.1:{port}/_sandbox/stats").json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert stats["orders"] == 20
        bad = subprocess.run([*command[:-6], "--faults", "429=2"], capture_output=True)
        assert bad.returncode != 0 and b"429" in bad.stderr + bad.stdout
    finally:
        process.terminate()
        process.wait(timeout=10)
