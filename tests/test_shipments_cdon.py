"""Shipments, cancellations and returns of single CDON rows end to end: the API, the outbox,
the worker, CDON's sandbox over HTTP on loopback, and a sync back; on SQLite and PostgreSQL.

The order is hand-written here (three rows: 3 mugs, 1 tee, postage); what CDON holds is read
from the sandbox's own state, never through the hub's encoder."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from helpers import client
from orderhub.services.sync import sync_account
from orderhub.store.outbox import outbox
from test_push_cdon_cscart import hub_id, push_all
from test_sync_cdon import CHANNEL, cdon_sandbox

ORDER_ID = 99000001
TRACK = {"carrier": "PostNord", "tracking_number": "PKG-1", "tracking_url": "https://t.example/1"}


def _row(row_id: int, sku: str, kind: str, quantity: int, price: str, vat: str) -> dict[str, Any]:
    return {
        "OrderRowId": row_id, "FulfillmentStatus": "Pending", "PaymentStatus": "Paid",
        "ProductId": sku, "ProductName": sku.title(), "ProductType": kind,
        "Quantity": quantity, "DeliveredQuantity": 0, "InvoicedQuantity": 0,
        "CancelledQuantity": 0, "ReturnedQuantity": 0, "PickedQuantity": None,
        "PricePerUnit": price, "OrdinaryPricePerUnit": price, "VatPerUnit": vat,
        "VatPercentage": "25.0000", "PackageId": None, "DebitedAmount": "0.00",
        "CreditedAmount": "0.00", "PaidAmount": "0", "RefundedAmount": "0",
        "AddonToProductId": None,
    }  # fmt: skip


ADDRESS = {"Name": "Ida Berg", "StreetAddress": "Storgatan 1", "CoAddress": "",
           "ZipCode": "11122", "City": "Stockholm", "Country": "SE"}  # fmt: skip
THREE_ROWS: dict[str, Any] = {
    "OrderDetails": {
        "OrderKey": "k-99000001", "OrderId": ORDER_ID, "State": "Pending",
        "PaymentStatus": "Paid", "CreatedDateUtc": "2026-06-01T10:00:00.0000000",
        "LastModifiedDateUtc": "2026-06-01T10:00:00.0000000", "MerchantId": "m-1",
        "CountryCode": "Sweden", "CurrencyCode": "SEK", "TotalAmount": "549.00",
        "TotalAmountExcludingVat": "439.20", "TotalSalesAmount": "549.00",
        "CustomerInfo": {"CustomerId": 4200, "EmailAddress": "ida@example.se",
                         "ShippingAddress": ADDRESS, "BillingAddress": ADDRESS,
                         "Phones": {"PhoneMobile": "+4670000", "PhoneWork": None,
                                    "PhoneHome": None}},
        "OrderRows": [
            _row(1, "MUG-1", "Article", 3, "100.00", "20.00"),
            _row(2, "TEE-2", "Article", 1, "200.00", "40.00"),
            _row(3, "POSTAGE", "Postage", 1, "49.00", "9.80"),
        ],
        "TotalVat": "109.80",
        "InvoiceNumbers": [],
    },
    "Invoices": [],
}  # fmt: skip


def cdon_rows(sandbox: Any) -> dict[int, tuple[str, int, int, int, str | None]]:
    """Per row, as CDON's sandbox holds it: (FulfillmentStatus, Delivered, Cancelled,
    Returned, PackageId)."""
    rows = sandbox.state.order(ORDER_ID)["OrderDetails"]["OrderRows"]
    return {r["OrderRowId"]: (r["FulfillmentStatus"], r["DeliveredQuantity"],
                              r["CancelledQuantity"], r["ReturnedQuantity"], r["PackageId"])
            for r in rows}  # fmt: skip


def hub_lines(http: TestClient, order_id: int) -> dict[str, tuple[int, int, int]]:
    lines = http.get(f"/v1/orders/{order_id}").json()["lines"]
    return {line["line_id"]: (line["delivered_quantity"], line["cancelled_quantity"],
                              line["returned_quantity"]) for line in lines}  # fmt: skip


def pending_pushes(engine: Engine) -> int:
    with engine.connect() as conn:
        stmt = select(func.count()).where(outbox.c.topic == "push", outbox.c.status == "pending")
        return int(conn.execute(stmt).scalar_one())


def synced_order(engine: Engine, sandbox: Any) -> tuple[TestClient, int]:
    sandbox.state.put_order(copy.deepcopy(THREE_ROWS))
    assert sync_account(engine, sandbox.account()).ok
    return client(engine), hub_id(engine, CHANNEL, str(ORDER_ID))


def test_ship_one_row_in_part_then_the_rest(engine: Engine) -> None:
    with cdon_sandbox(orders=5, seed=5) as sandbox:
        http, order_id = synced_order(engine, sandbox)
        # CDON stamps to the second: two seconds ahead, its changes are newer than the hub's.
        sandbox.state.set_clock_skew(2.0)
        assert http.get(f"/v1/orders/{order_id}").json()["status"] == "open"
        body = {"lines": [{"line_id": "1", "quantity": 2}], **TRACK}
        answer = http.post(f"/v1/orders/{order_id}/shipments", json=body)
        assert answer.status_code == 201, answer.text
        made = answer.json()
        assert made["order"]["status"] == "partially_shipped"
        assert made["data"]["lines"] == [{"line_id": "1", "sku": "MUG-1", "quantity": 2}]
        assert made["data"]["amount"] == 200.0
        assert made["data"]["push_status"] == "pending"
        push_all(engine, sandbox.account(max_attempts=1))
        assert cdon_rows(sandbox) == {
            1: ("Pending", 2, 0, 0, "PKG-1"),
            2: ("Pending", 0, 0, 0, None),
            3: ("Pending", 0, 0, 0, None),
        }
        assert sandbox.state.order(ORDER_ID)["OrderDetails"]["State"] == "Pending"
        listed = http.get(f"/v1/orders/{order_id}/shipments").json()["data"]
        assert [(s["push_status"], s["tracking_number"]) for s in listed] == [("pushed", "PKG-1")]

        # A later sync reads CDON's row back: nothing the hub holds about the lines changes,
        # and nothing is pushed again.
        result = sync_account(engine, sandbox.account())
        assert result.ok and result.counts.orders_changed == 1  # CDON's newer report, merged
        shown = http.get(f"/v1/orders/{order_id}").json()
        assert shown["status"] == "partially_shipped"
        assert hub_lines(http, order_id) == {"1": (2, 0, 0), "2": (0, 0, 0), "3": (0, 0, 0)}
        history = http.get(f"/v1/orders/{order_id}/history").json()["history"]
        from_cdon = {h["field"] for h in history if h["source"] == "channel"}
        assert not from_cdon & {"status", "lines", "tracking_number"}, from_cdon
        assert pending_pushes(engine) == 0
        assert len(http.get(f"/v1/orders/{order_id}/shipments").json()["data"]) == 1

        rest = {"all_remaining": True, **TRACK, "tracking_number": "PKG-2"}
        answer = http.post(f"/v1/orders/{order_id}/shipments", json=rest)
        assert answer.status_code == 201, answer.text
        assert answer.json()["order"]["status"] == "shipped"
        # The postage row goes with the last goods, as CDON requires.
        assert answer.json()["data"]["lines"] == [
            {"line_id": "1", "sku": "MUG-1", "quantity": 1},
            {"line_id": "2", "sku": "TEE-2", "quantity": 1},
            {"line_id": "3", "sku": "POSTAGE", "quantity": 1},
        ]
        push_all(engine, sandbox.account(max_attempts=1))
        assert cdon_rows(sandbox) == {
            1: ("Invoiced", 3, 0, 0, "PKG-2"),
            2: ("Invoiced", 1, 0, 0, "PKG-2"),
            3: ("Invoiced", 1, 0, 0, "PKG-2"),
        }
        assert sandbox.state.order(ORDER_ID)["OrderDetails"]["State"] == "Invoiced"
        assert sync_account(engine, sandbox.account()).ok
        assert http.get(f"/v1/orders/{order_id}").json()["status"] == "shipped"
        assert hub_lines(http, order_id) == {"1": (3, 0, 0), "2": (1, 0, 0), "3": (1, 0, 0)}
        assert pending_pushes(engine) == 0


def test_a_repeated_push_delivers_nothing_twice(engine: Engine) -> None:
    with cdon_sandbox(orders=5, seed=5) as sandbox:
        http, order_id = synced_order(engine, sandbox)
        body = {"lines": [{"sku": "MUG-1", "quantity": 1}], **TRACK}
        assert http.post(f"/v1/orders/{order_id}/shipments", json=body).status_code == 201
        # CDON applied the delivery but its answer was lost: the outbox delivers it again.
        sandbox.state.row_call("orderdelivery", {"OrderId": ORDER_ID, "Products": [
            {"OrderRowId": 1, "QuantityToDeliver": 1, "PackageId": "PKG-1",
             "PackageCarrierId": None}]})  # fmt: skip
        push_all(engine, sandbox.account(max_attempts=1))
        assert cdon_rows(sandbox)[1] == ("Pending", 1, 0, 0, "PKG-1")
        listed = http.get(f"/v1/orders/{order_id}/shipments").json()["data"]
        assert [s["push_status"] for s in listed] == ["pushed"]


def test_cancel_a_row_in_part_then_return_what_shipped(engine: Engine) -> None:
    with cdon_sandbox(orders=5, seed=5) as sandbox:
        http, order_id = synced_order(engine, sandbox)
        cancel = {"lines": [{"line_id": "1", "quantity": 1}], "reason": "out of stock"}
        answer = http.post(f"/v1/orders/{order_id}/cancellations", json=cancel)
        assert answer.status_code == 201, answer.text
        assert answer.json()["order"]["status"] == "open"
        ship = {"all_remaining": True, **TRACK}
        assert http.post(f"/v1/orders/{order_id}/shipments", json=ship).status_code == 201
        back = {"lines": [{"line_id": "2", "quantity": 1}], "reason": "wrong size"}
        answer = http.post(f"/v1/orders/{order_id}/returns", json=back)
        assert answer.status_code == 201, answer.text
        assert answer.json()["order"]["status"] == "shipped"  # two mugs are still kept
        push_all(engine, sandbox.account(max_attempts=1))
        rows = cdon_rows(sandbox)
        assert [rows[i][1:4] for i in (1, 2, 3)] == [(2, 1, 0), (1, 0, 1), (1, 0, 0)]
        assert rows[2][0] == "Returned"
        returns = http.get(f"/v1/orders/{order_id}/returns").json()["data"]
        assert [(r["reason"], r["push_status"]) for r in returns] == [("wrong size", "pushed")]
        cancellations = http.get(f"/v1/orders/{order_id}/cancellations").json()["data"]
        assert [(c["reason"], c["amount"]) for c in cancellations] == [("out of stock", 100.0)]
        assert sync_account(engine, sandbox.account()).ok
        assert hub_lines(http, order_id) == {"1": (2, 1, 0), "2": (1, 0, 1), "3": (1, 0, 0)}
        assert http.get(f"/v1/orders/{order_id}").json()["status"] == "shipped"


def test_a_sync_before_the_push_lands_undoes_nothing_and_pushes_once(engine: Engine) -> None:
    with cdon_sandbox(orders=5, seed=5) as sandbox:
        http, order_id = synced_order(engine, sandbox)
        body = {"lines": [{"line_id": "1", "quantity": 2}], **TRACK}
        assert http.post(f"/v1/orders/{order_id}/shipments", json=body).status_code == 201
        # Before the worker runs, the customer cancels the tee at CDON: a newer report (CDON
        # stamps to the second; two seconds ahead, it is after the hub's change).
        sandbox.state.set_clock_skew(2.0)
        sandbox.state.row_call("ordercancel", {"OrderId": ORDER_ID, "Rows": [
            {"OrderRowId": 2, "QuantityToCancel": 1}]})  # fmt: skip
        assert sync_account(engine, sandbox.account()).ok
        shown = http.get(f"/v1/orders/{order_id}").json()
        assert shown["status"] == "partially_shipped"
        assert hub_lines(http, order_id) == {"1": (2, 0, 0), "2": (0, 1, 0), "3": (0, 0, 0)}
        push_all(engine, sandbox.account(max_attempts=1))
        assert cdon_rows(sandbox)[1] == ("Pending", 2, 0, 0, "PKG-1")
        assert sync_account(engine, sandbox.account()).ok
        assert hub_lines(http, order_id) == {"1": (2, 0, 0), "2": (0, 1, 0), "3": (0, 0, 0)}
        assert http.get(f"/v1/orders/{order_id}").json()["status"] == "partially_shipped"
