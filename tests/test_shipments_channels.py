"""Shipments pushed to MALL and the CS-Cart shop within what their calls allow, end to end over
HTTP on loopback, on SQLite and PostgreSQL; what each channel holds is read from its sandbox's
own state (docs/push-back.md, "Shipments, cancellations and returns per line")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from helpers import client
from orderhub.services.sync import sync_account
from sync_support import hub_orders, mall_sandbox
from test_push_cdon_cscart import hub_id, push_all
from test_push_mall import mall_order, worker
from test_sync_cscart import CHANNEL as SHOP
from test_sync_cscart import cscart_shop

TRACK = {"tracking_number": "Z-9", "tracking_url": "https://t.example/Z-9", "carrier": "PPL"}


def _units(order: Any) -> int:
    return sum(line.quantity for line in order.lines)


def test_mall_takes_the_order_once_its_lines_are_shipped(engine: Engine) -> None:
    with mall_sandbox(orders=60, seed=11) as sandbox:
        assert sync_account(engine, sandbox.account()).ok
        http = client(engine)
        order = next(o for o in hub_orders(engine).values()
                     if o.status == "open" and not o.test and _units(o) >= 2)  # fmt: skip
        first = order.lines[0]
        body = {"lines": [{"line_id": first.line_id, "quantity": 1}], **TRACK}
        answer = http.post(f"/v1/orders/{order.id}/shipments", json=body)
        assert answer.status_code == 201, answer.text
        assert answer.json()["order"]["status"] == "partially_shipped"
        assert worker(engine, sandbox).run_until_idle() == 1
        # MALL has no per-line call: the shipment stays in the hub, and says so.
        (shipment,) = http.get(f"/v1/orders/{order.id}/shipments").json()["data"]
        assert shipment["push_status"] == "unsupported"
        assert "no call for a shipment of single lines" in shipment["push_error"]
        assert mall_order(sandbox, order.external_id)["status"] == "open"

        rest = http.post(f"/v1/orders/{order.id}/shipments", json={"all_remaining": True, **TRACK})
        assert rest.status_code == 201, rest.text
        assert worker(engine, sandbox).run_until_idle() == 1
        at_mall = mall_order(sandbox, order.external_id)
        assert (at_mall["status"], at_mall["tracking_number"]) == ("shipped", "Z-9")
        shipments = http.get(f"/v1/orders/{order.id}/shipments").json()["data"]
        assert [s["push_status"] for s in shipments] == ["unsupported", "pushed"]
        # MALL reports the order shipped, with no line quantities: the hub keeps its own.
        assert sync_account(engine, sandbox.account()).ok
        shown = http.get(f"/v1/orders/{order.id}").json()
        assert shown["status"] == "shipped"
        assert [line["delivered_quantity"] for line in shown["lines"]] == [
            line.quantity for line in order.lines
        ]


def test_the_shop_gets_a_shipment_per_shipment_with_its_items(engine: Engine) -> None:
    with cscart_shop(orders=60, seed=3) as shop:
        assert sync_account(engine, shop.account()).ok
        http = client(engine)
        payload = next(p for p in shop.state.orders_json() if p["status"] == "P"
                       and sum(int(i["amount"]) for i in p["products"].values()) >= 2)  # fmt: skip
        external_id = str(payload["order_id"])
        order_id = hub_id(engine, SHOP, external_id)
        item, data = next(iter(payload["products"].items()))
        body = {"lines": [{"line_id": item, "quantity": 1}], **TRACK}
        answer = http.post(f"/v1/orders/{order_id}/shipments", json=body)
        assert answer.status_code == 201, answer.text
        push_all(engine, shop.account(max_attempts=1))
        (first,) = shop.state.shipments.of_order(external_id)
        assert (first["products"], first["tracking_number"], first["carrier"]) == (
            {item: "1"}, "Z-9", "PPL"
        )  # fmt: skip
        assert shop.state.order(int(external_id))["status"] == "P"

        rest = http.post(f"/v1/orders/{order_id}/shipments", json={"all_remaining": True, **TRACK})
        assert rest.json()["order"]["status"] == "shipped"
        push_all(engine, shop.account(max_attempts=1))
        left = {k: str(int(v["amount"]) - (k == item)) for k, v in payload["products"].items()}
        second = shop.state.shipments.of_order(external_id)[1]
        assert second["products"] == {k: v for k, v in left.items() if v != "0"}
        assert shop.state.order(int(external_id))["status"] == "C"
        assert int(data["amount"]) >= 1
        shipments = http.get(f"/v1/orders/{order_id}/shipments").json()["data"]
        assert [s["push_status"] for s in shipments] == ["pushed", "pushed"]
        assert sync_account(engine, shop.account()).ok
        assert http.get(f"/v1/orders/{order_id}").json()["status"] == "shipped"


def test_the_shop_hears_a_cancellation_only_when_it_cancels_the_order(engine: Engine) -> None:
    with cscart_shop(orders=60, seed=3) as shop:
        assert sync_account(engine, shop.account()).ok
        http = client(engine)
        payload = next(p for p in shop.state.orders_json() if p["status"] == "P"
                       and len(p["products"]) >= 2)  # fmt: skip
        external_id = str(payload["order_id"])
        order_id = hub_id(engine, SHOP, external_id)
        item = next(iter(payload["products"]))
        amount = int(payload["products"][item]["amount"])
        one = {"lines": [{"line_id": item, "quantity": amount}], "reason": "sold out"}
        assert http.post(f"/v1/orders/{order_id}/cancellations", json=one).status_code == 201
        push_all(engine, shop.account(max_attempts=1))
        (first,) = http.get(f"/v1/orders/{order_id}/cancellations").json()["data"]
        assert first["push_status"] == "unsupported"
        assert shop.state.order(int(external_id))["status"] == "P"
        rest = {"all_remaining": True, "reason": "customer asked"}
        assert http.post(f"/v1/orders/{order_id}/cancellations", json=rest).status_code == 201
        push_all(engine, shop.account(max_attempts=1))
        assert shop.state.order(int(external_id))["status"] == "D"
        listed = http.get(f"/v1/orders/{order_id}/cancellations").json()["data"]
        assert [c["push_status"] for c in listed] == ["unsupported", "pushed"]
