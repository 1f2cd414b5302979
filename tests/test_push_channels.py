"""Push-back beyond MALL: CS-Cart (status letters, notify_user, vendor_ref) over real HTTP,
Dexero (no write calls: unsupported at once), and what a change carries to each channel."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from helpers import client, make_order, store
from orderhub.domain import ChannelType, Status
from orderhub.services import mail
from orderhub.services.outbox import Backoff, Topic, Worker
from orderhub.services.push import TOPIC, Pusher, change_for
from orderhub.services.sync import sync_account
from orderhub.store import UnitOfWork
from test_sync_cscart import CHANNEL as SHOP
from test_sync_cscart import cscart_shop, with_letter

SHIP = {"status": "shipped", "tracking_number": "T1", "tracking_url": "https://t.example/T1"}


def test_cscart_change_reaches_the_shop_which_mails_the_customer_not_the_hub(
    engine: Engine,
) -> None:
    with cscart_shop(orders=60, seed=3) as shop:
        assert sync_account(engine, shop.account()).ok
        order = with_letter(shop, "P")
        with UnitOfWork(engine) as uow:
            order_id = uow.orders.ids_by_external(SHOP, [str(order["order_id"])])[
                str(order["order_id"])
            ]
        http = client(engine)
        body = {**SHIP, "notify_user": 1, "vendor_ref": "PO-2026-7"}
        answer = http.put(f"/v1/orders/{order_id}", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["notification"] == {
            "queued": False,
            "reason": "the channel notifies the customer",
        }
        with UnitOfWork(engine) as uow:
            assert uow.outbox.list(mail.TOPIC) == []  # never both
            (row,) = uow.outbox.list(TOPIC)
        assert row.payload["notify_user"] is True
        pusher = Pusher(engine, lambda name: shop.account(max_attempts=1))
        Worker(engine, {TOPIC: Topic(pusher, Backoff(first=0.0))}).run_until_idle()
        at_shop = shop.state.order(int(order["order_id"]))
        assert (at_shop["status"], at_shop["vendor_ref"]) == ("C", "PO-2026-7")
        assert [m.order_id for m in shop.state.mail] == [order["order_id"]]
        shown = http.get(f"/v1/orders/{order_id}")
        assert shown.status_code == 200, shown.text
        assert (shown.json()["push_status"], shown.json()["push_error"]) == ("pushed", None)


def test_a_dexero_change_is_kept_in_the_hub_and_marked_unsupported(engine: Engine) -> None:
    store(engine, [make_order("D-1", channel="dexero-se", channel_type=ChannelType.DEXERO)])
    answer = client(engine).put("/v1/orders/1", json={"status": "cancelled"})
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert (shown["status"], shown["push_status"]) == ("cancelled", "unsupported")
    assert "Dexero documents no write calls" in shown["push_error"]
    with UnitOfWork(engine) as uow:
        assert uow.outbox.list(TOPIC) == []


def test_hub_only_changes_push_nothing(engine: Engine) -> None:
    store(engine, [make_order("1")])
    http = client(engine)
    answer = http.put("/v1/orders/1", json={"carrier": "PPL", "confirmed": False})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["carrier"], answer.json()["confirmed"]) == ("PPL", False)
    assert answer.json()["push_status"] is None
    with UnitOfWork(engine) as uow:
        assert uow.outbox.list(TOPIC) == []


def test_a_change_carries_the_current_values_each_channel_needs() -> None:
    delivered = datetime(2024, 2, 1, 10, 0, tzinfo=UTC)
    shipped = make_order("7", status=Status.SHIPPED, tracking_number="P1",
                         tracking_url="https://t.example/P1", carrier="DHL")  # fmt: skip
    change = change_for(shipped, ["status"], notify_user=True)
    assert (change.status, change.tracking_number, change.carrier, change.notify_user) == (
        Status.SHIPPED,
        "P1",
        "DHL",
        True,
    )
    # Tracking alone travels only while the order is shipped; vendor_ref only when set.
    assert change_for(shipped, ["tracking_number"]).tracking_url == "https://t.example/P1"
    open_with_tracking = make_order("8", tracking_number="P8", tracking_url="https://t.example/P8")
    for fields in (["tracking_number"], ["status"]):
        untracked = change_for(open_with_tracking, fields)
        assert (untracked.tracking_number, untracked.tracking_url) == (None, None), fields
    assert change_for(make_order("8", vendor_ref="PO-8"), ["vendor_ref"]).vendor_ref == "PO-8"
    assert change_for(make_order("8", vendor_ref="PO-8"), ["status"]).vendor_ref is None
    assert change_for(make_order("8", vendor_ref=None), ["vendor_ref"]).vendor_ref is None
    assert change_for(shipped, ["tracking_number"], notify_user=True).notify_user is False
    done = make_order("9", status=Status.DELIVERED, delivered_at=delivered)
    assert change_for(done, ["status"]).delivered_at == delivered
    assert change_for(done, ["vendor_ref"]).delivered_at is None
    assert change_for(make_order("10", confirmed=False), ["confirmed"]).confirmed is False
    assert change_for(make_order("10", confirmed=True), ["confirmed"]).confirmed is True
    assert change_for(make_order("10", confirmed=True), ["status"]).confirmed is False
