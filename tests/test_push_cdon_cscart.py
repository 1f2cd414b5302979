"""Push-back end to end through the hub for CDON and the CS-Cart shop: a merchant's PUT, the
outbox, the worker, the channel's sandbox over HTTP; and what the hub shows when it refuses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from helpers import client
from orderhub.services.outbox import Backoff, Topic, Worker
from orderhub.services.push import TOPIC, Pusher
from orderhub.services.sync import sync_account
from orderhub.store import UnitOfWork
from test_sync_cdon import CHANNEL as CDON
from test_sync_cdon import cdon_sandbox
from test_sync_cscart import CHANNEL as SHOP
from test_sync_cscart import cscart_shop, with_letter

SHIP = {"status": "shipped", "tracking_number": "PKG-77", "tracking_url": "https://t.example/77"}


def hub_id(engine: Engine, channel: str, external_id: str) -> int:
    with UnitOfWork(engine) as uow:
        return uow.orders.ids_by_external(channel, [external_id])[external_id]


def push_all(engine: Engine, account: Any) -> None:
    pusher = Pusher(engine, lambda name: account)
    Worker(engine, {TOPIC: Topic(pusher, Backoff(first=0.0, attempts=2))}).run_until_idle()


def open_cdon_order(sandbox: Any) -> dict[str, Any]:
    details = [p["OrderDetails"] for p in sandbox.state.orders_json()]
    return next(
        d for d in details
        if d["State"] == "Pending"
        and all(r["DeliveredQuantity"] == 0 and r["CancelledQuantity"] == 0 for r in d["OrderRows"])
    )  # fmt: skip


def test_shipping_a_cdon_order_delivers_every_row_with_the_tracking_number(
    engine: Engine,
) -> None:
    with cdon_sandbox(orders=40, seed=5) as sandbox:
        assert sync_account(engine, sandbox.account()).ok
        order = open_cdon_order(sandbox)
        order_id = hub_id(engine, CDON, str(order["OrderId"]))
        http = client(engine)
        answer = http.put(f"/v1/orders/{order_id}", json=SHIP)
        assert answer.status_code == 200, answer.text
        assert answer.json()["push_status"] == "pending"
        push_all(engine, sandbox.account(max_attempts=1))
        rows = sandbox.state.order(order["OrderId"])["OrderDetails"]["OrderRows"]
        assert all(r["DeliveredQuantity"] == r["Quantity"] for r in rows)  # Postage row too
        assert {r["PackageId"] for r in rows} == {"PKG-77"}
        assert http.get(f"/v1/orders/{order_id}").json()["push_status"] == "pushed"


def test_a_cdon_refusal_is_stored_on_the_order_with_cdons_message(engine: Engine) -> None:
    with cdon_sandbox(orders=40, seed=5) as sandbox:
        assert sync_account(engine, sandbox.account()).ok
        order = open_cdon_order(sandbox)
        rows = [
            {"OrderRowId": r["OrderRowId"], "QuantityToCancel": r["Quantity"]}
            for r in order["OrderRows"]
        ]
        # The customer cancels at CDON after the hub's last sync; the merchant ships anyway.
        sandbox.state.row_call("ordercancel", {"OrderId": order["OrderId"], "Rows": rows})
        order_id = hub_id(engine, CDON, str(order["OrderId"]))
        http = client(engine)
        assert http.put(f"/v1/orders/{order_id}", json=SHIP).status_code == 200
        push_all(engine, sandbox.account(max_attempts=1))
        shown = http.get(f"/v1/orders/{order_id}").json()
        assert shown["push_status"] == "refused"
        # CDON's own answer, kept whole: the call, its HTTP status, the message, ErrorCode 1006.
        first_row = order["OrderRows"][0]["OrderRowId"]
        assert shown["push_error"] == (
            f"POST orderdelivery: HTTP 400 row {first_row} is Cancelled: only Pending rows can "
            "be delivered (ErrorCode 1006)"
        )
        refused = http.get("/v1/orders?push_status=refused&filter=basic").json()["data"]
        assert [o["id"] for o in refused] == [order_id]


def test_a_status_the_shop_has_no_letter_for_is_marked_unsupported(engine: Engine) -> None:
    with cscart_shop(orders=60, seed=3) as shop:
        assert sync_account(engine, shop.account()).ok
        order = with_letter(shop, "P")
        order_id = hub_id(engine, SHOP, str(order["order_id"]))
        # The hub allows open -> shipping; CS-Cart has no letter for it: nothing is sent.
        http = client(engine)
        assert http.put(f"/v1/orders/{order_id}", json={"status": "shipping"}).status_code == 200
        push_all(engine, shop.account(max_attempts=1))
        shown = http.get(f"/v1/orders/{order_id}").json()
        # Never sent (no letter for it), so unsupported rather than refused by the shop.
        assert shown["push_status"] == "unsupported"
        assert shown["push_error"].startswith("CS-Cart: a CS-Cart order cannot be set to shipping")
        assert shop.state.order(int(order["order_id"]))["status"] == "P"  # the shop is unchanged
