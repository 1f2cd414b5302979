"""POST/GET /v1/orders/{id}/shipments, /cancellations and /returns on SQLite and PostgreSQL:
what each does to the lines and the status, the events it records, and every refusal naming
its field and changing nothing. The orders are hand-written; so is every expected value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import client, make_order, store
from orderhub.domain import LineType, OrderLine, Status
from orderhub.store import UnitOfWork

TRACK = {"tracking_number": "TRK-1", "tracking_url": "https://t.example/TRK-1", "carrier": "PPL"}


def _line(line_id: str, sku: str, quantity: int, kind: LineType = LineType.ARTICLE) -> OrderLine:
    price = Decimal("10.50")
    return OrderLine(line_id, sku, sku.lower(), kind, quantity, price, Decimal("21"),
                     Decimal(0), price * quantity)  # fmt: skip


LINES = [_line("A1", "MUG", 3), _line("A2", "TEE", 1), _line("P", "POST", 1, LineType.POSTAGE)]


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(
        engine,
        [
            make_order("1", lines=list(LINES)),
            make_order("2", lines=list(LINES), status=Status.PENDING),
            make_order("3", lines=[*LINES, _line("A3", "MUG", 1)]),
            make_order("4", lines=list(LINES), channel="dexero-dk", channel_type="dexero"),
        ],
    )
    return client(engine)


def quantities(http: TestClient, order_id: int) -> dict[str, tuple[int, int, int]]:
    lines = http.get(f"/v1/orders/{order_id}").json()["lines"]
    return {line["line_id"]: (line["delivered_quantity"], line["cancelled_quantity"],
                              line["returned_quantity"]) for line in lines}  # fmt: skip


def snapshot(http: TestClient, engine: Engine, order_id: int) -> tuple[Any, ...]:
    got = http.get(f"/v1/orders/{order_id}")
    history = http.get(f"/v1/orders/{order_id}/history").json()["history"]
    shipments = http.get(f"/v1/orders/{order_id}/shipments").json()
    with UnitOfWork(engine) as uow:
        outbox = uow.outbox.list()
    return got.headers["etag"], got.text, history, shipments, outbox


def test_a_partial_shipment_then_the_rest(http: TestClient) -> None:
    etag = http.get("/v1/orders/1").headers["etag"]
    body = {"lines": [{"sku": "MUG", "quantity": 2}], **TRACK}
    answer = http.post("/v1/orders/1/shipments", json=body, headers={"If-Match": etag})
    assert answer.status_code == 201, answer.text
    assert answer.headers["etag"] == '"2"'
    made = answer.json()
    assert made["order"]["status"] == "partially_shipped"
    assert made["data"]["amount"] == 21.0
    assert (made["data"]["tracking_number"], made["data"]["carrier"]) == ("TRK-1", "PPL")
    assert quantities(http, 1) == {"A1": (2, 0, 0), "A2": (0, 0, 0), "P": (0, 0, 0)}
    history = http.get("/v1/orders/1/history").json()["history"]
    assert {(h["field"], h["new"]) for h in history if h["field"] == "status"} == {
        ("status", "partially_shipped")
    }
    rest = http.post("/v1/orders/1/shipments", json={"all_remaining": True, **TRACK})
    assert rest.status_code == 201, rest.text
    assert rest.json()["order"]["status"] == "shipped"
    assert [(x["line_id"], x["quantity"]) for x in rest.json()["data"]["lines"]] == [
        ("A1", 1), ("A2", 1), ("P", 1)
    ]  # fmt: skip
    assert quantities(http, 1) == {"A1": (3, 0, 0), "A2": (1, 0, 0), "P": (1, 0, 0)}
    listed = http.get("/v1/orders/1/shipments").json()["data"]
    assert [len(s["lines"]) for s in listed] == [1, 3]


def test_cancelling_every_line_cancels_the_order(http: TestClient) -> None:
    answer = http.post("/v1/orders/1/cancellations", json={"all_remaining": True, "reason": "x"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["order"]["status"] == "cancelled"
    assert quantities(http, 1) == {"A1": (0, 3, 0), "A2": (0, 1, 0), "P": (0, 1, 0)}


def test_cancelling_the_rest_of_a_partly_shipped_order_makes_it_shipped(http: TestClient) -> None:
    ship = {"lines": [{"line_id": "A1", "quantity": 3}], **TRACK}
    assert http.post("/v1/orders/1/shipments", json=ship).status_code == 201
    cancel = {"lines": [{"line_id": "A2", "quantity": 1}], "reason": "sold out"}
    answer = http.post("/v1/orders/1/cancellations", json=cancel)
    assert answer.json()["order"]["status"] == "shipped"
    assert quantities(http, 1) == {"A1": (3, 0, 0), "A2": (0, 1, 0), "P": (0, 1, 0)}


def test_returning_all_that_shipped_makes_it_returned(http: TestClient) -> None:
    assert http.post("/v1/orders/1/shipments", json={"all_remaining": True, **TRACK}).is_success
    once = {"lines": [{"line_id": "A1", "quantity": 1}], "reason": "broken"}
    assert http.post("/v1/orders/1/returns", json=once).json()["order"]["status"] == "shipped"
    rest = http.post("/v1/orders/1/returns", json={"all_remaining": True, "reason": "gone"})
    assert rest.json()["order"]["status"] == "returned"
    assert quantities(http, 1) == {"A1": (3, 0, 3), "A2": (1, 0, 1), "P": (1, 0, 0)}
    returns = http.get("/v1/orders/1/returns").json()["data"]
    assert [(r["reason"], r["amount"]) for r in returns] == [("broken", 10.5), ("gone", 31.5)]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("shipments", {"lines": [{"line_id": "A1", "quantity": 4}], **TRACK}, "lines[0].quantity"),
        ("shipments", {"lines": [{"line_id": "A1", "quantity": 0}], **TRACK}, "lines[0].quantity"),
        ("shipments", {"lines": [{"line_id": "A1", "quantity": 1.5}]}, "lines[0].quantity"),
        ("shipments", {"lines": [{"line_id": "A1", "quantity": True}]}, "lines[0].quantity"),
        ("shipments", {"lines": [{"line_id": "ZZ", "quantity": 1}]}, "lines[0].line_id"),
        ("shipments", {"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines[0].sku"),
        ("shipments", {"lines": [{"line_id": "A1", "sku": "MUG", "quantity": 1}]}, "lines[0]"),
        ("shipments", {"lines": [{"line_id": "A1"}]}, "lines[0].quantity"),
        ("shipments", {"lines": [{"line_id": "A1", "quantity": 1, "x": 1}]}, "lines[0].x"),
        (
            "shipments",
            {"lines": [{"line_id": "A1", "quantity": 2}, {"sku": "MUG", "quantity": 2}]},
            "lines[1]",
        ),
        ("shipments", {"lines": []}, "lines"),
        (
            "shipments",
            {"lines": [{"line_id": "A1", "quantity": 1}], "all_remaining": True},
            "lines",
        ),
        ("shipments", {"all_remaining": "yes"}, "all_remaining"),
        ("shipments", {}, "lines"),
        ("shipments", {"all_remaining": True, "tracking_number": "T 1"}, "tracking_number"),
        ("shipments", {"all_remaining": True, "tracking_number": "T1"}, "tracking_url"),
        ("shipments", {"all_remaining": True, "reason": "x"}, "reason"),
        ("shipments", {"all_remaining": True, "notify_user": "yes"}, "notify_user"),
        ("cancellations", {"all_remaining": True, "reason": "x", "notify_user": 2}, "notify_user"),
        ("shipments", [], "body"),
        ("cancellations", {"all_remaining": True}, "reason"),
        ("cancellations", {"all_remaining": True, "reason": " "}, "reason"),
        ("returns", {"lines": [{"line_id": "A1", "quantity": 1}], "reason": "x"}, "lines[0]"),
        ("returns", {"all_remaining": True, "reason": "x"}, "all_remaining"),
    ],
)
def test_a_refusal_names_its_field_and_changes_nothing(
    http: TestClient, engine: Engine, path: str, body: Any, field: str
) -> None:
    before = snapshot(http, engine, 1)
    answer = http.post(f"/v1/orders/1/{path}", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["parameter"] == field
    assert snapshot(http, engine, 1) == before


def test_a_sku_on_two_lines_must_be_named_by_line_id(http: TestClient) -> None:
    answer = http.post("/v1/orders/3/shipments", json={"lines": [{"sku": "MUG", "quantity": 1}]})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["parameter"] == "lines[0].sku"
    assert "A1, A3" in answer.json()["detail"]


def test_a_pending_order_cannot_ship_and_the_409_lists_what_can_follow(http: TestClient) -> None:
    body = {"lines": [{"line_id": "A1", "quantity": 1}], **TRACK}
    answer = http.post("/v1/orders/2/shipments", json=body)
    assert answer.status_code == 409, answer.text
    assert "allowed next: cancelled" in answer.json()["detail"]
    assert quantities(http, 2) == {"A1": (0, 0, 0), "A2": (0, 0, 0), "P": (0, 0, 0)}


def test_a_stale_if_match_is_a_412_and_an_unknown_order_a_404(http: TestClient) -> None:
    body = {"lines": [{"line_id": "A1", "quantity": 1}], **TRACK}
    stale = http.post("/v1/orders/1/shipments", json=body, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert http.post("/v1/orders/99/shipments", json=body).status_code == 404
    assert http.get("/v1/orders/99/returns").status_code == 404
    assert http.get("/v1/orders/x/shipments").json()["errors"][0]["parameter"] == "order_id"
    assert quantities(http, 1)["A1"] == (0, 0, 0)


def test_partially_shipped_is_set_by_lines_only(http: TestClient) -> None:
    answer = http.put("/v1/orders/1", json={"status": "partially_shipped"})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["parameter"] == "status"
    # A mistake in the body is a 400 before the order is read (docs/writes-and-mail.md): not
    # the 409 of a pending order's transition table, nor the 412 of a stale If-Match (found by
    # tests/test_stateful_orders.py).
    for headers in ({}, {"If-Match": '"999"'}):
        answer = http.put("/v1/orders/2", json={"status": "partially_shipped"}, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["errors"][0]["parameter"] == "status"


def test_a_channel_without_write_calls_marks_the_shipment_unsupported(http: TestClient) -> None:
    answer = http.post("/v1/orders/4/shipments", json={"all_remaining": True, **TRACK})
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["data"]["push_status"] == "unsupported"
    assert made["data"]["push_error"].startswith("Dexero documents no write calls")
    assert made["order"]["push_status"] == "unsupported"


def test_notify_user_mails_the_customer_when_the_status_changes(engine: Engine) -> None:
    """As on the PUT: asked for, a change of status queues one e-mail to the order's address;
    a shipment that leaves the status as it was says so and queues none."""
    store(engine, [make_order("9", lines=list(LINES), email="eva@example.se")])
    http = client(engine)
    (order_id,) = [o["id"] for o in http.get("/v1/orders?external_id=9").json()["data"]]
    part = {"lines": [{"line_id": "A1", "quantity": 1}], **TRACK, "notify_user": True}
    first = http.post(f"/v1/orders/{order_id}/shipments", json=part)
    assert first.status_code == 201, first.text
    assert first.json()["order"]["status"] == "partially_shipped"
    assert first.json()["notification"] == {"queued": True, "by": "hub"}
    again = http.post(f"/v1/orders/{order_id}/shipments", json=part | {"notify_user": "1"})
    assert again.json()["order"]["status"] == "partially_shipped"
    assert again.json()["notification"] == {"queued": False, "reason": "status unchanged"}
    quiet = http.post(f"/v1/orders/{order_id}/shipments", json={"all_remaining": True, **TRACK})
    assert quiet.json()["order"]["status"] == "shipped"
    assert "notification" not in quiet.json()
    with UnitOfWork(engine) as uow:
        mails = uow.outbox.list("mail")
    assert [(m.order_id, m.payload["to"]) for m in mails] == [(order_id, "eva@example.se")]
