"""The CDON sandbox over real HTTP: the seed's request and answer shape, filters, paging, the
row calls and their rules, errors, faults, order life, the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from helpers import serve_in_thread
from orderhub.channels.cdon.codec import decode_order, parse_time
from orderhub.channels.cdon.sandbox import CdonSandbox, create_app
from orderhub.domain import Status

AUTH = {"Authorization": "api sandbox"}
SEED_DETAILS_KEYS = {
    "OrderKey", "OrderId", "State", "PaymentStatus", "CreatedDateUtc", "LastModifiedDateUtc",
    "MerchantId", "CountryCode", "CurrencyCode", "TotalAmount", "TotalAmountExcludingVat",
    "TotalSalesAmount", "CustomerInfo", "OrderRows", "InvoiceNumbers", "TotalVat",
}  # fmt: skip
SEED_ROW_KEYS = {
    "OrderRowId", "FulfillmentStatus", "PaymentStatus", "ProductId", "ProductName",
    "ProductType", "Quantity", "DeliveredQuantity", "InvoicedQuantity", "CancelledQuantity",
    "ReturnedQuantity", "PickedQuantity", "PricePerUnit", "OrdinaryPricePerUnit", "VatPerUnit",
    "VatPercentage", "PackageId", "DebitedAmount", "CreditedAmount", "PaidAmount",
    "RefundedAmount", "AddonToProductId",
}  # fmt: skip
SEED_ADDRESS_KEYS = {"Name", "StreetAddress", "CoAddress", "ZipCode", "City", "Country"}
CDON_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}")
Payload = dict[str, Any]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, CdonSandbox]]:
    """One read-only sandbox for the query tests."""
    app = create_app(orders=300, seed=3)
    with serve_in_thread(app) as base:
        yield base, app.state.sandbox


@pytest.fixture
def fresh() -> Iterator[tuple[str, CdonSandbox]]:
    """A sandbox of its own, for tests that change orders."""
    app = create_app(orders=120, seed=5)
    with serve_in_thread(app) as base:
        yield base, app.state.sandbox


def get(base: str, path: str, *params: tuple[str, str], auth: Any = AUTH) -> httpx.Response:
    return httpx.get(f"{base}/api{path}", params=list(params), headers=auth)


def post(base: str, call: str, body: Any) -> httpx.Response:
    return httpx.post(f"{base}/api/{call}", json=body, headers=AUTH)


def exact(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def assert_cdon_error(response: httpx.Response, status: int, code: int | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"ErrorCode", "Message"} and body["Message"]
    if code is not None:
        assert body["ErrorCode"] == code
    return str(body["Message"])


def all_pages(base: str, *params: tuple[str, str], take: int = 70) -> list[Payload]:
    found: list[Payload] = []
    while True:
        answer = get(base, "/order/", *params, ("skip", str(len(found))), ("take", str(take)))
        if answer.status_code == 404:
            return found
        assert answer.status_code == 200, answer.text
        found += answer.json()


def ids(payloads: list[Payload]) -> list[int]:
    return [p["OrderDetails"]["OrderId"] for p in payloads]


def modified(payload: Payload) -> Any:
    return parse_time(payload["OrderDetails"]["LastModifiedDateUtc"])


# --- the seed's request and answer ------------------------------------------------------------


def test_the_seed_request_answers_an_array_of_orders_in_the_seed_shape(
    served: tuple[str, CdonSandbox],
) -> None:
    base, _ = served
    answer = get(base, "/order/", ("CountryCode", "Sweden"), ("DateTimeRangeMin", "2025-11-01"),
                 ("DateTimeRangeMax", "2026-12-31"))  # fmt: skip
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    body = exact(answer)
    assert isinstance(body, list) and len(body) == 100  # the default take
    for element in body:
        assert set(element) == {"OrderDetails", "Invoices"}
        details = element["OrderDetails"]
        assert set(details) == SEED_DETAILS_KEYS
        assert isinstance(details["OrderId"], int) and details["CountryCode"] == "Sweden"
        assert CDON_TIME.fullmatch(details["CreatedDateUtc"])
        assert CDON_TIME.fullmatch(details["LastModifiedDateUtc"])
        assert isinstance(details["TotalAmount"], Decimal)
        assert details["TotalAmount"] == sum(r["PricePerUnit"] * r["Quantity"]
                                             for r in details["OrderRows"])  # fmt: skip
        assert details["TotalAmountExcludingVat"] == details["TotalAmount"] - details["TotalVat"]
        info = details["CustomerInfo"]
        assert set(info) == {"CustomerId", "EmailAddress", "ShippingAddress", "BillingAddress",
                             "Phones"}  # fmt: skip
        assert set(info["ShippingAddress"]) == SEED_ADDRESS_KEYS
        assert set(info["Phones"]) == {"PhoneMobile", "PhoneWork", "PhoneHome"}
        for row in details["OrderRows"]:
            assert set(row) == SEED_ROW_KEYS
            assert isinstance(row["Quantity"], int) and isinstance(row["VatPerUnit"], Decimal)
        decode_order(element, channel="cdon-se")  # the hub reads every one


def test_the_orders_cover_cdons_states(served: tuple[str, CdonSandbox]) -> None:
    _, sandbox = served
    states = {p["OrderDetails"]["State"] for p in sandbox.orders_json()}
    payments = {p["OrderDetails"]["PaymentStatus"] for p in sandbox.orders_json()}
    assert states == {"Pending", "Invoiced", "Cancelled", "Returned"}
    assert {"Paid", "AwaitingPayment", "Refunded"} <= payments
    decoded = [decode_order(p, channel="cdon-se") for p in sandbox.orders_json()]
    assert Status.PARTIALLY_SHIPPED in {o.status for o in decoded}
    assert any(line.type.value == "postage" for o in decoded for line in o.lines)
    invoiced = [p for p in sandbox.orders_json() if p["OrderDetails"]["State"] == "Invoiced"]
    assert all(p["Invoices"] and p["OrderDetails"]["InvoiceNumbers"] for p in invoiced)


def test_the_orders_vary_in_every_way_the_oracle_reads() -> None:
    """Enough variety that a decoder dropping a field or swapping two states fails a sync test:
    each case below occurs in the sync tests' sandboxes (400 orders, seed 3)."""
    details = [p["OrderDetails"] for p in CdonSandbox(400, 3).orders_json()]
    rows = [row for d in details for row in d["OrderRows"]]
    info = [d["CustomerInfo"] for d in details]
    pending = [d for d in details if d["State"] == "Pending"]
    assert any(all(r["DeliveredQuantity"] == 0 for r in d["OrderRows"]) for d in pending)
    assert any(any(r["DeliveredQuantity"] > 0 for r in d["OrderRows"]) for d in pending)
    assert {"Article", "Postage", "Fee"} <= {r["ProductType"] for r in rows}
    assert {type(r["VatPercentage"]) for r in rows} == {Decimal, str}
    assert any(r["OrdinaryPricePerUnit"] > r["PricePerUnit"] for r in rows)
    assert any(r["CancelledQuantity"] for r in rows) and any(r["ReturnedQuantity"] for r in rows)
    assert any(c["EmailAddress"] for c in info) and any(c["EmailAddress"] == "" for c in info)
    assert any(c["BillingAddress"]["Name"] != c["ShippingAddress"]["Name"] for c in info)
    assert any(c["ShippingAddress"]["CoAddress"] for c in info)
    phones = [c["Phones"] for c in info]
    assert any(p["PhoneMobile"] for p in phones) and any(p["PhoneHome"] for p in phones)
    assert any(not p["PhoneMobile"] and not p["PhoneHome"] and p["PhoneWork"] for p in phones)
    assert any(not any(p.values()) for p in phones)


def test_same_seed_same_orders() -> None:
    assert CdonSandbox(40, 7).orders_json() == CdonSandbox(40, 7).orders_json()
    assert CdonSandbox(40, 7).orders_json() != CdonSandbox(40, 8).orders_json()


def test_get_one_order_and_404(served: tuple[str, CdonSandbox]) -> None:
    base, sandbox = served
    expected = sandbox.orders_json()[5]
    answer = get(base, f"/order/{expected['OrderDetails']['OrderId']}")
    assert answer.status_code == 200 and exact(answer) == expected
    assert_cdon_error(get(base, "/order/1"), 404, 1000)  # CDON: "The order was not found"
    assert_cdon_error(get(base, "/order/abc"), 400, 400)


# --- filters and paging -----------------------------------------------------------------------


def test_skip_and_take_page_through_every_order_by_last_modification(
    served: tuple[str, CdonSandbox],
) -> None:
    base, sandbox = served
    pages = all_pages(base)
    assert sorted(ids(pages)) == ids(sandbox.orders_json())
    keys = [(modified(p), p["OrderDetails"]["OrderId"]) for p in pages]
    assert keys == sorted(keys)
    past = get(base, "/order/", ("skip", "300"))
    assert assert_cdon_error(past, 404, 404) == "No orders found"


def test_the_date_range_filters_last_modification_inclusive(
    served: tuple[str, CdonSandbox],
) -> None:
    base, sandbox = served
    times = sorted(modified(p) for p in sandbox.orders_json())
    low, high = times[50], times[120]
    found = all_pages(base, ("DateTimeRangeMin", low.strftime("%Y-%m-%dT%H:%M:%S")),
                      ("DateTimeRangeMax", high.strftime("%Y-%m-%dT%H:%M:%S.%f0")))  # fmt: skip
    assert sorted(modified(p) for p in found) == times[50:121]
    day = high.date().isoformat()  # a date alone as the upper bound: that whole day
    through = all_pages(base, ("DateTimeRangeMax", day))
    assert {modified(p).date() for p in through} <= {
        t.date() for t in times if t.date() <= high.date()
    }
    assert len(through) == sum(t.date() <= high.date() for t in times)


def test_country_code_filters_by_country(served: tuple[str, CdonSandbox]) -> None:
    base, _ = served
    assert len(all_pages(base, ("CountryCode", "sweden"))) == 300
    assert_cdon_error(get(base, "/order/", ("CountryCode", "Denmark")), 404, 404)


@pytest.mark.parametrize(
    "param",
    [("CountryCode", "Mars"), ("DateTimeRangeMin", "yesterday"), ("DateTimeRangeMax", "2017-13-45"),
     ("skip", "-1"), ("take", "0"), ("take", "1001"), ("take", "ten")],
)  # fmt: skip
def test_bad_parameters_are_400_naming_them(
    served: tuple[str, CdonSandbox], param: tuple[str, str]
) -> None:
    base, _ = served
    assert param[0] in assert_cdon_error(get(base, "/order/", param), 400, 400)


def test_the_api_key_is_required(served: tuple[str, CdonSandbox]) -> None:
    base, _ = served
    assert_cdon_error(get(base, "/order/", auth={}), 401)
    assert_cdon_error(get(base, "/order/", auth={"Authorization": "api wrong"}), 401)
    assert_cdon_error(get(base, "/order/", auth={"Authorization": "Bearer sandbox"}), 401)
    assert get(base, "/order/", ("take", "1"), auth={"Authorization": "API sandbox"}).is_success
    assert_cdon_error(get(base, "/nowhere"), 404)
    assert_cdon_error(httpx.delete(f"{base}/api/order/", headers=AUTH), 405)


# --- the row calls --------------------------------------------------------------------------


def _pending(sandbox: CdonSandbox, goods: int = 1) -> Payload:
    """An untouched Pending order with at least `goods` article rows and a Postage row."""
    for payload in sandbox.orders_json():
        details = payload["OrderDetails"]
        rows = details["OrderRows"]
        articles = [r for r in rows if r["ProductType"] == "Article"]
        if (details["State"] == "Pending" and len(articles) >= goods
                and any(r["ProductType"] == "Postage" for r in rows)
                and all(r["DeliveredQuantity"] == 0 for r in rows)):  # fmt: skip
            return details
    raise AssertionError("no such order")


def _delivery(order: Payload, rows: list[Payload], package: str = "PKG1") -> dict[str, Any]:
    products = [{"OrderRowId": r["OrderRowId"], "QuantityToDeliver": r["Quantity"],
                 "PackageId": package, "PackageCarrierId": 1} for r in rows]  # fmt: skip
    return {"OrderId": order["OrderId"], "Products": products}


def _split(order: Payload) -> tuple[list[Payload], list[Payload]]:
    rows = order["OrderRows"]
    return [r for r in rows if r["ProductType"] != "Postage"], [
        r for r in rows if r["ProductType"] == "Postage"
    ]


def test_delivering_every_row_invoices_the_order(fresh: tuple[str, CdonSandbox]) -> None:
    base, sandbox = fresh
    order = _pending(sandbox, goods=2)
    goods, postage = _split(order)
    first = post(base, "orderdelivery", _delivery(order, goods[:1]))
    assert first.status_code == 200
    partly = exact(first)["OrderDetails"]
    assert partly["State"] == "Pending"
    assert partly["OrderRows"][0]["FulfillmentStatus"] == "Delivered"
    assert decode_order(exact(first), channel="c").status is Status.PARTIALLY_SHIPPED
    assert exact(first)["Invoices"] == []
    assert modified(exact(first)) > parse_time(order["LastModifiedDateUtc"])
    # The Postage row goes with the last of the goods.
    refused = post(base, "orderdelivery", _delivery(order, goods[1:]))
    assert "Postage" in assert_cdon_error(refused, 400, 1006)
    done = exact(post(base, "orderdelivery", _delivery(order, goods[1:] + postage)))
    details = done["OrderDetails"]
    assert details["State"] == "Invoiced"
    assert all(r["FulfillmentStatus"] == "Invoiced" for r in details["OrderRows"])
    assert [i["InvoiceNumber"] for i in done["Invoices"]] == details["InvoiceNumbers"]
    assert done["Invoices"][0]["TotalPaymentAmount"] == details["TotalAmount"]
    assert sandbox.order(order["OrderId"]) == done


def test_row_rules_refuse_with_cdons_codes_and_change_nothing(
    fresh: tuple[str, CdonSandbox],
) -> None:
    base, sandbox = fresh
    order = _pending(sandbox, goods=2)
    goods, postage = _split(order)
    before = sandbox.order(order["OrderId"])
    too_many = _delivery(order, goods)
    too_many["Products"][0]["QuantityToDeliver"] = goods[0]["Quantity"] + 1
    message = assert_cdon_error(post(base, "orderdelivery", too_many), 400, 1002)  # overflow
    assert f"expected 1 to {goods[0]['Quantity']}" in message
    not_delivered = {
        "OrderId": order["OrderId"],
        "Rows": [{"OrderRowId": goods[0]["OrderRowId"], "QuantityToReturn": 1}],
    }
    assert "only delivered" in assert_cdon_error(
        post(base, "orderreturn", not_delivered), 400, 1006
    )
    unknown = {"OrderId": order["OrderId"], "Rows": [{"OrderRowId": 99, "QuantityToCancel": 1}]}
    assert_cdon_error(post(base, "ordercancel", unknown), 400, 1001)  # row not found
    twice = {"OrderId": order["OrderId"], "Rows": [
        {"OrderRowId": goods[0]["OrderRowId"], "QuantityToCancel": 1}] * 2}  # fmt: skip
    assert "twice" in assert_cdon_error(post(base, "ordercancel", twice), 400, 1008)
    empty = {"OrderId": order["OrderId"], "Rows": []}
    assert "no rows" in assert_cdon_error(post(base, "ordercancel", empty), 400, 1009)
    assert sandbox.order(order["OrderId"]) == before
    assert post(base, "orderdelivery", _delivery(order, goods + postage)).status_code == 200
    cancel_delivered = {
        "OrderId": order["OrderId"],
        "Rows": [{"OrderRowId": goods[0]["OrderRowId"], "QuantityToCancel": 1}],
    }
    assert "only Pending" in assert_cdon_error(
        post(base, "ordercancel", cancel_delivered), 400, 1006
    )


def test_cancel_and_return_follow_through_to_state_and_payment(
    fresh: tuple[str, CdonSandbox],
) -> None:
    base, sandbox = fresh
    order = _pending(sandbox, goods=2)
    goods, postage = _split(order)
    rows = [{"OrderRowId": r["OrderRowId"], "QuantityToCancel": r["Quantity"]} for r in goods[:1]]
    one = exact(post(base, "ordercancel", {"OrderId": order["OrderId"], "Rows": rows}))
    assert one["OrderDetails"]["State"] == "Pending"
    assert one["OrderDetails"]["OrderRows"][0]["FulfillmentStatus"] == "Cancelled"
    rest = [{"OrderRowId": r["OrderRowId"], "QuantityToCancel": r["Quantity"]}
            for r in goods[1:] + postage]  # fmt: skip
    cancelled = exact(post(base, "ordercancel", {"OrderId": order["OrderId"], "Rows": rest}))
    assert cancelled["OrderDetails"]["State"] == "Cancelled"
    paid = order["PaymentStatus"] == "Paid"
    assert cancelled["OrderDetails"]["PaymentStatus"] == ("Refunded" if paid else "NotApplicable")
    assert cancelled["Invoices"] == []

    shipped = next(p["OrderDetails"] for p in sandbox.orders_json()
                   if p["OrderDetails"]["State"] == "Invoiced"
                   and p["OrderDetails"]["PaymentStatus"] == "Paid")  # fmt: skip
    back = [{"OrderRowId": r["OrderRowId"], "QuantityToReturn": r["DeliveredQuantity"]}
            for r in shipped["OrderRows"] if r["DeliveredQuantity"]]  # fmt: skip
    returned = exact(post(base, "orderreturn", {"OrderId": shipped["OrderId"], "Rows": back}))
    assert returned["OrderDetails"]["State"] == "Returned"
    assert returned["OrderDetails"]["PaymentStatus"] == "Refunded"
    assert decode_order(returned, channel="c").status is Status.RETURNED


@pytest.mark.parametrize(
    ("call", "body"),
    [
        ("orderdelivery", [1]),
        ("orderdelivery", {"OrderId": "x", "Products": [{"OrderRowId": 1}]}),
        ("orderdelivery", {"OrderId": 1, "Products": {}}),
        ("ordercancel", {"OrderId": 1, "Rows": [{"OrderRowId": 1, "QuantityToCancel": "2"}]}),
        ("orderreturn", {"OrderId": 1, "Rows": [{"OrderRowId": 1}]}),
    ],
)
def test_malformed_bodies_are_400(served: tuple[str, CdonSandbox], call: str, body: Any) -> None:
    base, _ = served
    assert_cdon_error(post(base, call, body), 400, 400)


def test_bad_json_and_unknown_orders(served: tuple[str, CdonSandbox]) -> None:
    base, _ = served
    bad = httpx.post(f"{base}/api/orderdelivery", content=b"{", headers=AUTH)
    assert_cdon_error(bad, 400, 400)
    body = {"OrderId": 1, "Products": [{"OrderRowId": 1, "QuantityToDeliver": 1}]}
    # CDON's documented example: 400 {"ErrorCode": 1000, "Message": "Order does not exist"}
    assert assert_cdon_error(post(base, "orderdelivery", body), 400, 1000) == (
        "Order 1 does not exist"
    )


# --- order life, faults, stats ----------------------------------------------------------------


def test_order_life_brings_new_and_changed_orders(fresh: tuple[str, CdonSandbox]) -> None:
    base, sandbox = fresh
    before = {p["OrderDetails"]["OrderId"]: p for p in sandbox.orders_json()}
    latest = max(modified(p) for p in before.values())
    changed = httpx.post(f"{base}/_sandbox/life", params={"steps": "20"}).json()["changed"]
    after = {p["OrderDetails"]["OrderId"]: p for p in sandbox.orders_json()}
    assert len(after) == len(before) + 20
    assert set(changed) == {i for i in after if after[i] != before.get(i)}
    assert any(i in before for i in changed)  # existing orders changed too
    assert all(modified(after[i]) > latest for i in changed)
    stamps = [modified(after[i]) for i in changed]
    assert len(set(stamps)) == len(stamps)  # no two changes share a timestamp
    for i in changed:
        decode_order(after[i], channel="cdon-se")
    assert_cdon_error(httpx.post(f"{base}/_sandbox/life", params={"steps": "0"}), 400, 400)


def test_faults_come_in_cdons_error_shape_and_spare_control_paths() -> None:
    app = create_app(orders=10, seed=2, faults="429=0.5,500=0.5,seed=3")
    with serve_in_thread(app) as base:
        answers = [get(base, "/order/") for _ in range(10)]
        assert {a.status_code for a in answers} == {429, 500}
        throttled = next(a for a in answers if a.status_code == 429)
        assert throttled.headers["retry-after"] == "1"
        assert_cdon_error(throttled, 429, 429)
        assert httpx.get(f"{base}/_sandbox/stats").status_code == 200
        stats = httpx.get(f"{base}/_sandbox/stats").json()
        assert stats["request_count"] == 10 and stats["orders"] == 10
        assert stats["faults"]["429"] + stats["faults"]["500"] == 10


def test_cli_serves_the_sandbox() -> None:
    import subprocess
    import sys
    import time
    from pathlib import Path

    from helpers import free_port

    port = free_port()
    command = Path(sys.executable).parent / "orderhub"
    args = [str(command), "sandbox", "cdon", "--port", str(port), "--orders", "20", "--seed",
            "2", "--faults", "429=0,seed=1"]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = get(base, "/order/", ("take", "1000"))
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.1)
        assert answer.status_code == 200 and len(answer.json()) == 20
        assert ids(answer.json()) and sorted(ids(answer.json())) == ids(
            CdonSandbox(20, 2).orders_json()
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    bad = subprocess.run([*args[:2], "cdon", "--faults", "429=2"], capture_output=True, text=True)
    assert bad.returncode != 0 and "429" in bad.stdout + bad.stderr
