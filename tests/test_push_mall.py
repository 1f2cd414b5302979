"""Push-back to MALL end to end: PUT /v1/orders/{id} -> outbox -> worker -> MALL sandbox over
real HTTP on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import client
from orderhub.services.outbox import Backoff, Topic, Worker
from orderhub.services.push import TOPIC, Pusher
from orderhub.services.sync import sync_account
from orderhub.store import UnitOfWork
from sync_support import Sandbox, hub_orders, mall_sandbox

SHIP = {
    "status": "shipped",
    "tracking_number": "Z-123.45",
    "tracking_url": "https://track.example/Z-123.45",
    "carrier": "PPL",
}
#: No waiting between attempts, so a test can walk a row through its retries.
AT_ONCE = Backoff(first=0.0, factor=1.0, cap=0.0, attempts=3)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with mall_sandbox(orders=60, seed=11) as running:
        yield running


def synced(engine: Engine, sandbox: Sandbox, **options: Any) -> TestClient:
    result = sync_account(engine, sandbox.account(**options))
    assert result.ok, result.error
    return client(engine)


def worker(engine: Engine, sandbox: Sandbox, backoff: Backoff = AT_ONCE) -> Worker:
    """One HTTP attempt per push (max_attempts=1): retries are the outbox's, not the client's."""
    pusher = Pusher(engine, lambda name: sandbox.account(max_attempts=1), backoff)
    return Worker(engine, {TOPIC: Topic(pusher, backoff)})


def mall_order(sandbox: Sandbox, external_id: str) -> dict[str, Any]:
    return next(p for p in sandbox.state.orders_json() if str(p["id"]) == external_id)


def hub_id(engine: Engine, status: str, **match: Any) -> tuple[int, str]:
    """A hub order (id, external id) in this status, not a test order."""
    for order in hub_orders(engine).values():
        wanted = all(getattr(order, k) == v for k, v in match.items())
        if order.status == status and not order.test and order.id is not None and wanted:
            return order.id, order.external_id
    raise AssertionError(f"no {status} order")


def test_confirm_goes_to_mall(engine: Engine, sandbox: Sandbox) -> None:
    http = synced(engine, sandbox, options={"confirm": False})
    waiting = [p for p in sandbox.state.orders_json() if not p["confirmed"] and not p["test"]]
    external_id = str(waiting[0]["id"])
    order_id = hub_orders(engine)[external_id].id
    answer = http.put(f"/v1/orders/{order_id}", json={"confirmed": True})
    assert answer.status_code == 200, answer.text
    assert answer.json()["push_status"] == "pending"
    assert mall_order(sandbox, external_id)["confirmed"] is False  # only the worker pushes
    assert worker(engine, sandbox).run_until_idle() == 1
    assert mall_order(sandbox, external_id)["confirmed"] is True
    shown = http.get(f"/v1/orders/{order_id}").json()
    assert (shown["push_status"], shown["push_error"]) == ("pushed", None)


def test_ship_with_tracking_goes_to_mall_and_a_sync_keeps_the_push_status(
    engine: Engine, sandbox: Sandbox
) -> None:
    http = synced(engine, sandbox)
    order_id, external_id = hub_id(engine, "open")
    answer = http.put(f"/v1/orders/{order_id}", json=SHIP)
    assert answer.status_code == 200, answer.text
    assert worker(engine, sandbox).run_until_idle() == 1
    at_mall = mall_order(sandbox, external_id)
    assert at_mall["status"] == "shipped"
    assert (at_mall["tracking_number"], at_mall["tracking_url"]) == (
        SHIP["tracking_number"],
        SHIP["tracking_url"],
    )
    listed = http.get("/v1/orders", params={"push_status": "pushed"}).json()["data"]
    assert [o["id"] for o in listed] == [order_id]
    # MALL now reports the order shipped: the sync takes it, and keeps the hub's push state.
    assert sync_account(engine, sandbox.account()).ok
    shown = http.get(f"/v1/orders/{order_id}").json()
    assert (shown["status"], shown["channel_status"], shown["push_status"]) == (
        "shipped",
        "shipped",
        "pushed",
    )


def test_a_transition_mall_refuses_is_stored_and_shown(engine: Engine, sandbox: Sandbox) -> None:
    http = synced(engine, sandbox)
    order_id, external_id = hub_id(engine, "open")
    sandbox.state.update(int(external_id), {"status": "cancelled"})  # at MALL, not yet synced
    assert http.put(f"/v1/orders/{order_id}", json=SHIP).status_code == 200
    assert worker(engine, sandbox).run_until_idle() == 1  # a refusal is not retried
    shown = http.get(f"/v1/orders/{order_id}").json()
    assert shown["push_status"] == "refused"
    assert "cannot change status from cancelled to shipped" in shown["push_error"]
    assert mall_order(sandbox, external_id)["status"] == "cancelled"
    refused = http.get("/v1/orders", params={"push_status": "refused"}).json()["data"]
    assert [o["id"] for o in refused] == [order_id]
    with UnitOfWork(engine) as uow:
        (row,) = uow.outbox.list(TOPIC)
    assert (row.status, row.attempts) == ("failed", 1)


def test_transient_failures_retry_then_push(engine: Engine, sandbox: Sandbox) -> None:
    http = synced(engine, sandbox)
    order_id, external_id = hub_id(engine, "open")
    assert http.put(f"/v1/orders/{order_id}", json={"status": "cancelled"}).status_code == 200
    sandbox.state.faults.rates["500"] = 1.0
    run = worker(engine, sandbox)
    assert run.run_once() == 1
    shown = http.get(f"/v1/orders/{order_id}").json()
    assert shown["push_status"] == "pending"
    assert "500" in shown["push_error"]
    assert mall_order(sandbox, external_id)["status"] == "open"
    sandbox.state.faults.rates.clear()
    assert run.run_until_idle() == 1
    assert mall_order(sandbox, external_id)["status"] == "cancelled"
    shown = http.get(f"/v1/orders/{order_id}").json()
    assert (shown["push_status"], shown["push_error"]) == ("pushed", None)


def test_retries_run_out_as_failed(engine: Engine, sandbox: Sandbox) -> None:
    http = synced(engine, sandbox)
    order_id, _ = hub_id(engine, "open")
    assert http.put(f"/v1/orders/{order_id}", json={"status": "cancelled"}).status_code == 200
    sandbox.state.faults.rates["500"] = 1.0
    assert worker(engine, sandbox).run_until_idle() == AT_ONCE.attempts
    shown = http.get(f"/v1/orders/{order_id}").json()
    assert shown["push_status"] == "failed"
    assert "500" in shown["push_error"]
    with UnitOfWork(engine) as uow:
        (row,) = uow.outbox.list(TOPIC)
    assert (row.status, row.attempts) == ("failed", AT_ONCE.attempts)


def test_changes_queued_together_push_the_current_state_in_order(
    engine: Engine, sandbox: Sandbox
) -> None:
    http = synced(engine, sandbox)
    order_id, external_id = hub_id(engine, "open")
    assert http.put(f"/v1/orders/{order_id}", json={"status": "shipping"}).status_code == 200
    assert http.put(f"/v1/orders/{order_id}", json=SHIP).status_code == 200
    assert http.put(f"/v1/orders/{order_id}", json={"tracking_number": "Z-999"}).status_code == 200
    assert worker(engine, sandbox).run_until_idle() == 3
    at_mall = mall_order(sandbox, external_id)
    # The first row already sends what the hub holds now: shipped with the latest tracking;
    # the second finds MALL there already; the third sets the tracking again.
    assert (at_mall["status"], at_mall["tracking_number"]) == ("shipped", "Z-999")
    assert http.get(f"/v1/orders/{order_id}").json()["push_status"] == "pushed"


def test_a_later_change_waits_for_an_earlier_one_still_retrying(
    engine: Engine, sandbox: Sandbox
) -> None:
    http = synced(engine, sandbox)
    order_id, external_id = hub_id(engine, "open")
    assert http.put(f"/v1/orders/{order_id}", json=SHIP).status_code == 200
    sandbox.state.faults.rates["500"] = 1.0
    run = worker(engine, sandbox, Backoff(first=3600.0, factor=1.0, cap=3600.0, attempts=5))
    assert run.run_once() == 1  # the first change fails and waits an hour
    sandbox.state.faults.rates.clear()
    assert http.put(f"/v1/orders/{order_id}", json={"tracking_number": "Z-2"}).status_code == 200
    assert run.run_once() == 1  # the second change is due, but waits for the first
    assert mall_order(sandbox, external_id)["status"] == "open"
    with UnitOfWork(engine) as uow:
        first, second = sorted(uow.outbox.list(TOPIC), key=lambda r: r.id)
    assert (first.status, first.attempts) == ("pending", 1)
    assert "500" in (first.last_error or "")
    assert second.status == "pending"
    assert second.last_error == "waiting for an earlier change of this order"
    # Waiting its turn is not a failure: it spends none of the row's attempts, so a change
    # queued behind a slow one is never given up while it waits.
    assert second.attempts == 0


def test_two_quick_status_changes_reach_mall_as_two_steps(engine: Engine, sandbox: Sandbox) -> None:
    # The merchant ships, then marks delivered, before the worker runs: MALL allows
    # open -> shipped -> delivered but not open -> delivered, so each step must be sent.
    http = synced(engine, sandbox)
    order_id, external_id = hub_id(engine, "open")
    assert http.put(f"/v1/orders/{order_id}", json=SHIP).status_code == 200
    delivered = {"status": "delivered", "delivered_at": "2026-12-01T09:30:00Z"}
    answer = http.put(f"/v1/orders/{order_id}", json=delivered)
    assert answer.status_code == 200, answer.text
    assert worker(engine, sandbox).run_until_idle() == 2
    at_mall = mall_order(sandbox, external_id)
    assert (at_mall["status"], at_mall["tracking_number"]) == ("delivered", "Z-123.45")
    assert at_mall["delivered_at"] == "2026-12-01 10:30:00"  # Prague wall time (CET, +1)
    shown = http.get(f"/v1/orders/{order_id}").json()
    assert (shown["push_status"], shown["push_error"]) == ("pushed", None)


# --- the form the official client sends (docs/push-back.md, MALL) ----------------------------


def test_shipping_with_tracking_reaches_mall_with_its_tracking(
    engine: Engine, sandbox: Sandbox
) -> None:
    # MALL's client sends tracking with `shipping` (its README: StatusRequest(shipping) with
    # setTracking); MALL then takes `shipped` without tracking again.
    http = synced(engine, sandbox)
    order_id, external_id = hub_id(engine, "open")
    shipping = {
        "status": "shipping",
        "tracking_number": "PK-900",
        "tracking_url": "https://track.example/PK-900",
    }
    answer = http.put(f"/v1/orders/{order_id}", json=shipping)
    assert answer.status_code == 200, answer.text
    assert worker(engine, sandbox).run_until_idle() == 1
    at_mall = mall_order(sandbox, external_id)
    assert (at_mall["status"], at_mall["tracking_number"], at_mall["tracking_url"]) == (
        "shipping",
        "PK-900",
        "https://track.example/PK-900",
    )
    assert http.get(f"/v1/orders/{order_id}").json()["push_status"] == "pushed"


def test_delivered_reaches_mall_with_its_first_delivery_attempt(
    engine: Engine, sandbox: Sandbox
) -> None:
    http = synced(engine, sandbox)
    order_id, external_id = hub_id(engine, "shipped")
    delivered = {"status": "delivered", "delivered_at": "2026-12-02T13:15:00Z"}
    answer = http.put(f"/v1/orders/{order_id}", json=delivered)
    assert answer.status_code == 200, answer.text
    assert worker(engine, sandbox).run_until_idle() == 1
    at_mall = mall_order(sandbox, external_id)
    # The hub keeps no delivery attempts: the delivery is the first attempt it knows of.
    assert (at_mall["status"], at_mall["delivered_at"], at_mall["first_delivery_attempt"]) == (
        "delivered",
        "2026-12-02 14:15:00",  # Prague wall time (CET, +1)
        "2026-12-02 14:15:00",
    )
    assert http.get(f"/v1/orders/{order_id}").json()["push_status"] == "pushed"


def test_a_status_change_confirms_an_order_mall_made_unconfirmed_again(
    engine: Engine, sandbox: Sandbox
) -> None:
    # MALL changes no status of an unconfirmed order; the client's form sends confirmed=true
    # with the status, so an order MALL touched after the sync still takes the change.
    http = synced(engine, sandbox)
    order_id, external_id = hub_id(engine, "open")
    touched = mall_order(sandbox, external_id) | {"confirmed": False}
    sandbox.state.put_order(touched)  # at MALL, not yet synced
    assert http.put(f"/v1/orders/{order_id}", json={"status": "cancelled"}).status_code == 200
    assert worker(engine, sandbox).run_until_idle() == 1
    at_mall = mall_order(sandbox, external_id)
    assert (at_mall["status"], at_mall["confirmed"]) == ("cancelled", True)
    shown = http.get(f"/v1/orders/{order_id}").json()
    assert (shown["push_status"], shown["push_error"]) == ("pushed", None)
