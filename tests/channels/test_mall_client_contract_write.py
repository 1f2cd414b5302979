"""MALL's official PHP client (mallgroup/mpapi-client-php v5.0.0 and v3.14.0): every write call
it makes, encoded here by hand from its source, sent over real HTTP to the MALL sandbox.

Each request is the one the client builds: method, path, `client_id` query parameter, headers,
and the body as PHP's `json_encode` writes it (slashes escaped, keys in the DTO's order):
v5 `OrderClient` (`confirmOrder`, `setStatus` with a `StatusRequest`, `setTracking`,
`setItemSerialNumbers`, `createShippingLabels` with a `ShippingLabelRequest`) and v3
`OrderUpdateEndpoints` (`status`, `trackingNumber`, `trackingUrl`, `serialNumbers`). The
oracle is the sandbox's own state after the call, and the answer's status and shape (what the
client's `Labels` entity reads). Errors: an unknown order is a 404, a forbidden transition a
409 naming it, both in MALL's error shape.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from sync_support import Sandbox, mall_sandbox

Order = dict[str, Any]
V5_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "X-Application-Name": "mp-api-client",
    "X-Application-Version": "5.0.0",
    "X-Application-Tag": "",
}
V3_HEADERS = {
    "Content-Type": "application/json",
    "X-Application-Name": "mpapic-v3.14.0",
    "X-Application-Tag": "",
}
OK = {"code": 200, "status": "OK"}
LABELS = "/v1/orders/labels"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with mall_sandbox(orders=200, seed=5) as running:
        yield running


def php_json(value: Any) -> bytes:
    """What PHP's `json_encode` (default flags) writes: compact, `\\/` for `/`, `\\uXXXX`."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


def send(
    sandbox: Sandbox, method: str, path: str, body: Any, headers: dict[str, str] = V5_HEADERS
) -> httpx.Response:
    """A request as the client sends it: `client_id` in the query, the body PHP-encoded."""
    return httpx.request(
        method,
        f"{sandbox.base_url}{path}",
        params={"client_id": "sandbox"},
        headers=headers,
        content=php_json(body),
    )


def pick(sandbox: Sandbox, status: str, confirmed: bool = True) -> Order:
    """An order of the sandbox in this status (a real one, not a test order)."""
    for order in sandbox.state.orders_json():
        if (order["status"], order["confirmed"], order["test"]) == (status, confirmed, False):
            return order
    raise AssertionError(f"the sandbox has no {status} order with confirmed={confirmed}")


def now(sandbox: Sandbox, order: Order) -> Order:
    """The order as the sandbox holds it now."""
    return sandbox.state.order(int(order["id"]))


def assert_ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.json()["result"] == OK
    return response.json()["data"]


def assert_mall_error(response: httpx.Response, status: int, code: str) -> str:
    """MALL's error shape; the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"result", "errorCodes"}
    assert body["result"]["status"] == "ERROR" and body["result"]["code"] == status
    (error,) = body["errorCodes"]
    assert error["errorCode"] == code
    return str(body["result"]["message"])


# --- v5 OrderClient ---------------------------------------------------------------------------


def test_v5_confirm_order(sandbox: Sandbox) -> None:
    order = pick(sandbox, "open", confirmed=False)
    assert order["id"] in unconfirmed_ids(sandbox)
    answer = send(sandbox, "PUT", f"/v1/orders/{order['id']}", {"confirmed": True})
    assert assert_ok(answer)["confirmed"] is True
    assert now(sandbox, order) == order | {"confirmed": True}
    assert order["id"] not in unconfirmed_ids(sandbox)


def unconfirmed_ids(sandbox: Sandbox) -> list[int]:
    answer = sandbox.state.list_orders([("page_size", "1000")], unconfirmed=True)
    return [item if isinstance(item, int) else item["id"] for item in answer["data"]]


def test_v5_set_status_shipping_with_tracking_and_confirmed(sandbox: Sandbox) -> None:
    # The client's doc and example: StatusRequest(shipping), setConfirmed(true), setTracking.
    order = pick(sandbox, "open", confirmed=False)
    body = {
        "status": "shipping",
        "confirmed": True,
        "tracking_url": "https://tracking.company.com/id/ABC123456",
        "tracking_number": "ABC123456",
    }
    assert_ok(send(sandbox, "PUT", f"/v1/orders/{order['id']}", body))
    after = now(sandbox, order)
    assert (after["status"], after["confirmed"]) == ("shipping", True)
    assert (after["tracking_number"], after["tracking_url"]) == (
        "ABC123456",
        "https://tracking.company.com/id/ABC123456",
    )
    assert after["shipping"] is not None and after["shipping"] >= order["open"]


def test_v5_set_status_shipped_takes_the_tracking_sent_with_shipping(sandbox: Sandbox) -> None:
    order = pick(sandbox, "open")
    path = f"/v1/orders/{order['id']}"
    bare_shipped = {"status": "shipped"}
    message = assert_mall_error(send(sandbox, "PUT", path, bare_shipped), 400, "INVALID_VALUE")
    assert "tracking_number" in message  # shipped needs tracking: none sent, none held
    assert now(sandbox, order) == order
    assert_ok(send(sandbox, "PUT", path, {"status": "shipping", "tracking_number": "PK-77"}))
    assert_ok(send(sandbox, "PUT", path, bare_shipped))
    after = now(sandbox, order)
    assert (after["status"], after["tracking_number"]) == ("shipped", "PK-77")


def test_v5_set_status_delivered_with_first_delivery_attempt(sandbox: Sandbox) -> None:
    order = pick(sandbox, "shipped")
    path = f"/v1/orders/{order['id']}"
    late = {
        "status": "delivered",
        "delivered_at": "2026-11-20 10:00:00",
        "first_delivery_attempt": "2026-11-21 09:00:00",
    }
    message = assert_mall_error(send(sandbox, "PUT", path, late), 400, "INVALID_VALUE")
    assert message.startswith("first_delivery_attempt:")
    body = late | {"first_delivery_attempt": "2026-11-19 16:30:00"}
    assert assert_ok(send(sandbox, "PUT", path, body))["status"] == "delivered"
    after = now(sandbox, order)
    assert (after["status"], after["delivered_at"], after["first_delivery_attempt"]) == (
        "delivered",
        "2026-11-20 10:00:00",
        "2026-11-19 16:30:00",
    )


def test_v5_set_tracking(sandbox: Sandbox) -> None:
    order = pick(sandbox, "shipped")
    body = {"tracking_number": "ABC123456", "tracking_url": "https://tracking.company.com/ABC"}
    assert_ok(send(sandbox, "PUT", f"/v1/orders/{order['id']}/tracking", body))
    after = now(sandbox, order)
    assert (after["tracking_number"], after["tracking_url"]) == tuple(body.values())
    assert after["status"] == "shipped" and after["shipped"] == order["shipped"]
    opened = pick(sandbox, "open")
    answer = send(sandbox, "PUT", f"/v1/orders/{opened['id']}/tracking", body)
    assert "only in status shipped" in assert_mall_error(answer, 409, "TRACKING_NOT_ALLOWED")


def test_v5_set_item_serial_numbers(sandbox: Sandbox) -> None:
    # v5 formats the item id with %d: the sandbox finds the item by its numeric article_id.
    order = pick(sandbox, "open")
    item = order["items"][0]
    path = f"/v1/orders/{order['id']}/items/{item['article_id']}/serial-numbers"
    assert_ok(send(sandbox, "PUT", path, ["SN12345", "SN23456"]))
    stored = now(sandbox, order)["items"][0]
    assert (stored["id"], stored["serial_numbers"]) == (item["id"], ["SN12345", "SN23456"])
    detail = httpx.get(f"{sandbox.base_url}/v1/orders/{order['id']}?client_id=sandbox")
    assert detail.json()["data"]["items"][0]["serial_numbers"] == ["SN12345", "SN23456"]
    assert_ok(send(sandbox, "PUT", path, []))  # no serial numbers: the list is cleared
    assert now(sandbox, order)["items"][0]["serial_numbers"] == []
    missing = f"/v1/orders/{order['id']}/items/999999999/serial-numbers"
    message = assert_mall_error(send(sandbox, "PUT", missing, ["X"]), 404, "NOT_FOUND")
    assert "item 999999999" in message
    bad = send(sandbox, "PUT", path, ["ok", ""])
    assert assert_mall_error(bad, 400, "INVALID_VALUE").startswith("body[1]:")


def label_request(order_id: int, parcels: int, kind: str = "pdf") -> dict[str, Any]:
    """`ShippingLabelRequest(kind, 1, 4)` with `addLabel(order_id, parcels)`."""
    return {
        "labels_type": kind,
        "first_position": 1,
        "labels_per_page": 4,
        "labels": [{"order_id": order_id, "parcel_count": parcels}],
    }


def test_v5_create_shipping_labels_as_a_pdf(sandbox: Sandbox) -> None:
    first, second = pick(sandbox, "open"), pick(sandbox, "shipping")
    body = label_request(first["id"], 2)
    body["labels"].append({"order_id": second["id"], "parcel_count": 3})
    data = assert_ok(send(sandbox, "POST", "/v1/orders/labels", body))
    assert set(data) == {"orders", "labels_raw"}  # what Labels::createFromApi reads
    assert [(o["order_id"], len(o["barcodes"])) for o in data["orders"]] == [
        (first["id"], 2),
        (second["id"], 3),
    ]
    assert all(set(o) == {"order_id", "barcodes"} for o in data["orders"])
    barcodes = [code for o in data["orders"] for code in o["barcodes"]]
    assert len(set(barcodes)) == 5 and all(isinstance(code, str) for code in barcodes)
    pdf = base64.b64decode(data["labels_raw"], validate=True)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert len(reader.pages) == 2  # five labels, four to a page
    text = "".join(page.extract_text() for page in reader.pages)
    assert all(code in text for code in barcodes)


def test_v5_create_shipping_labels_as_zpl_from_a_later_position(sandbox: Sandbox) -> None:
    order = pick(sandbox, "open")
    body = label_request(order["id"], 1, "zpl") | {"first_position": 3}
    data = assert_ok(send(sandbox, "POST", "/v1/orders/labels", body))
    zpl = base64.b64decode(data["labels_raw"], validate=True).decode()
    (code,) = data["orders"][0]["barcodes"]
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ") and code in zpl


def test_shipping_labels_refuse_what_cannot_be_printed(sandbox: Sandbox) -> None:
    cancelled = pick(sandbox, "cancelled")
    answer = send(sandbox, "POST", LABELS, label_request(cancelled["id"], 1))
    assert "is cancelled" in assert_mall_error(answer, 409, "LABELS_NOT_ALLOWED")
    opened = pick(sandbox, "open")
    wrong = label_request(opened["id"], 1) | {"labels_type": "png"}
    message = assert_mall_error(send(sandbox, "POST", LABELS, wrong), 400, "INVALID_VALUE")
    assert message.startswith("labels_type:")
    beyond = label_request(opened["id"], 1) | {"first_position": 5}
    message = assert_mall_error(send(sandbox, "POST", LABELS, beyond), 400, "INVALID_VALUE")
    assert message.startswith("first_position:")


# --- v3 OrderUpdateEndpoints --------------------------------------------------------------------


def test_v3_status_open_with_confirmed_confirms_an_open_order(sandbox: Sandbox) -> None:
    # v3 has no confirm call: status($id, Order::STATUS_OPEN) sends the status it has.
    order = pick(sandbox, "open", confirmed=False)
    body = {"status": "open", "confirmed": True}
    assert_ok(send(sandbox, "PUT", f"/v1/orders/{order['id']}", body, V3_HEADERS))
    assert now(sandbox, order) == order | {"confirmed": True}  # no new `open` timestamp


def test_v3_status_shipped_with_a_tracking_number_and_no_url(sandbox: Sandbox) -> None:
    order = pick(sandbox, "open")
    body = {"status": "shipped", "confirmed": True, "tracking_number": "T9999999999"}
    assert_ok(send(sandbox, "PUT", f"/v1/orders/{order['id']}", body, V3_HEADERS))
    after = now(sandbox, order)
    assert (after["status"], after["tracking_number"], after["tracking_url"]) == (
        "shipped",
        "T9999999999",
        order["tracking_url"],
    )


def test_v3_status_delivered_with_first_delivery_attempt(sandbox: Sandbox) -> None:
    order = pick(sandbox, "shipped", confirmed=False)
    body = {
        "status": "delivered",
        "confirmed": True,
        "delivered_at": "2017-08-30 12:03:32",
        "first_delivery_attempt": "2017-08-29 10:09:25",
    }
    assert_ok(send(sandbox, "PUT", f"/v1/orders/{order['id']}", body, V3_HEADERS))
    after = now(sandbox, order)
    assert (after["status"], after["confirmed"], after["first_delivery_attempt"]) == (
        "delivered",
        True,
        "2017-08-29 10:09:25",
    )


def test_v3_tracking_number_alone(sandbox: Sandbox) -> None:
    order = pick(sandbox, "shipped")
    body = {"tracking_number": "T9999999999"}
    assert_ok(send(sandbox, "PUT", f"/v1/orders/{order['id']}/tracking", body, V3_HEADERS))
    after = now(sandbox, order)
    assert after["tracking_number"] == "T9999999999"
    assert after["tracking_url"] == order["tracking_url"]


def test_v3_tracking_url_alone(sandbox: Sandbox) -> None:
    order = pick(sandbox, "shipped")
    body = {"tracking_url": "http://example.example"}
    assert_ok(send(sandbox, "PUT", f"/v1/orders/{order['id']}/tracking", body, V3_HEADERS))
    after = now(sandbox, order)
    assert (after["tracking_number"], after["tracking_url"]) == (
        order["tracking_number"],
        "http://example.example",
    )


def test_v3_serial_numbers_by_item_id(sandbox: Sandbox) -> None:
    # v3's example: serialNumbers($orderId, $order->getItems()[0]['id'], [289981984885]).
    order = pick(sandbox, "open")
    item = order["items"][0]
    path = f"/v1/orders/{order['id']}/items/{item['id']}/serial-numbers"
    assert_ok(send(sandbox, "PUT", path, [289981984885], V3_HEADERS))
    assert now(sandbox, order)["items"][0]["serial_numbers"] == ["289981984885"]


# --- MALL's errors ------------------------------------------------------------------------------

UNKNOWN = 4_999_999_999
WRITE_CALLS = [
    ("PUT", f"/v1/orders/{UNKNOWN}", {"confirmed": True}),
    ("PUT", f"/v1/orders/{UNKNOWN}", {"status": "cancelled", "confirmed": True}),
    ("PUT", f"/v1/orders/{UNKNOWN}/tracking", {"tracking_number": "A1", "tracking_url": ""}),
    ("PUT", f"/v1/orders/{UNKNOWN}/items/1/serial-numbers", ["SN1"]),
    ("POST", "/v1/orders/labels", label_request(UNKNOWN, 1)),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITE_CALLS)
def test_an_unknown_order_is_a_404(sandbox: Sandbox, method: str, path: str, body: Any) -> None:
    message = assert_mall_error(send(sandbox, method, path, body), 404, "NOT_FOUND")
    assert str(UNKNOWN) in message


def test_a_forbidden_transition_is_a_409_naming_it(sandbox: Sandbox) -> None:
    order = pick(sandbox, "shipped")
    body = {"status": "shipping", "confirmed": True}
    answer = send(sandbox, "PUT", f"/v1/orders/{order['id']}", body)
    message = assert_mall_error(answer, 409, "STATUS_TRANSITION_NOT_ALLOWED")
    assert message == "cannot change status from shipped to shipping; allowed: delivered, returned"
    assert answer.json()["errorCodes"][0]["errorAttributes"] == {
        "status": "shipped",
        "requested": "shipping",
        "allowed": ["delivered", "returned"],
    }
    assert now(sandbox, order) == order


def test_a_status_change_of_an_unconfirmed_order_needs_confirmed(sandbox: Sandbox) -> None:
    # v5's example: "unconfirmed orders can not have their status changed".
    order = pick(sandbox, "open", confirmed=False)
    path = f"/v1/orders/{order['id']}"
    answer = send(sandbox, "PUT", path, {"status": "cancelled"})
    assert "not confirmed" in assert_mall_error(answer, 409, "ORDER_NOT_CONFIRMED")
    assert now(sandbox, order) == order
    assert_ok(send(sandbox, "PUT", path, {"status": "cancelled", "confirmed": True}))
    assert (now(sandbox, order)["status"], now(sandbox, order)["confirmed"]) == ("cancelled", True)
