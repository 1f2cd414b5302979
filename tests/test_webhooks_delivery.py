"""Webhook delivery over real HTTP: signatures, filters, retries with one id, 410, resend."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine
from standardwebhooks import Webhook, WebhookVerificationError

from helpers import client, free_port, make_order, serve_in_thread
from orderhub.domain import Status
from orderhub.domain.clock import ManualClock
from orderhub.services.outbox import Backoff, Worker
from orderhub.services.webhook_delivery import SCHEDULE, Deliverer, webhook_topic
from orderhub.store import UnitOfWork
from webhook_support import (  # noqa: F401
    ALL_TYPES,
    Subscriber,
    allow_private,
    event_ids,
    merge,
    worker,
)

pytestmark = pytest.mark.usefixtures("allow_private")


def subscribe(http: Any, url: str, types: list[str] = ALL_TYPES, **extra: Any) -> Any:
    answer = http.post("/v1/webhooks", json={"url": url, "event_types": types} | extra)
    assert answer.status_code == 201, answer.text
    return answer.json()


def deliveries(http: Any, sub_id: int) -> list[dict[str, Any]]:
    answer = http.get(f"/v1/webhooks/{sub_id}/deliveries")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def test_a_delivery_verifies_with_standardwebhooks(engine: Engine) -> None:
    subscriber = Subscriber()
    http = client(engine)
    with serve_in_thread(subscriber) as base:
        sub = subscribe(http, base + "/hook")
        (order_id,) = merge(engine, [make_order("1", total=Decimal("677.95"))]).created
        assert worker(engine).run_until_idle() == 1
    (request,) = subscriber.requests
    payload = Webhook(sub["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "order.created" and payload["id"] == request.webhook_id
    assert request.webhook_id in event_ids(engine, [order_id])
    assert request.headers["content-type"] == "application/json"
    order = request.json()["data"]["order"]
    assert order["id"] == order_id and order["total"] == Decimal("677.95")
    assert b'"total":677.95' in request.body  # money stays exact on the wire
    assert order["lines"] == [] and order["status_history"][0]["status"] == "open"

    (logged,) = deliveries(http, sub["id"])
    assert logged["status"] == "delivered" and logged["attempts"] == 1
    assert logged["event_id"] == request.webhook_id and logged["type"] == "order.created"
    assert logged["delivered_at"] is not None and logged["last_error"] is None


def test_the_signature_by_hand_with_hmac(engine: Engine) -> None:
    subscriber = Subscriber()
    with serve_in_thread(subscriber) as base:
        sub = subscribe(client(engine), base + "/hook")
        merge(engine, [make_order("1")])
        worker(engine).run_until_idle()
    (request,) = subscriber.requests
    key = base64.b64decode(sub["secret"].removeprefix("whsec_"))
    signed = f"{request.webhook_id}.{request.headers['webhook-timestamp']}.".encode()
    digest = hmac.new(key, signed + request.body, hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    # And the reference implementation agrees: it accepts this request and nothing altered.
    hook = Webhook(sub["secret"])
    assert hook.verify(request.body, request.headers)["id"] == request.webhook_id
    tampered = request.body.replace(b'"mall-cz"', b'"cdon-se"')
    assert tampered != request.body
    other_secret = "whsec_" + base64.b64encode(b"another subscriber's key!").decode()
    for body, headers, verifier in [
        (tampered, request.headers, hook),
        (request.body, {**request.headers, "webhook-id": "evt_someone_else"}, hook),
        (request.body, request.headers, Webhook(other_secret)),
    ]:
        with pytest.raises(WebhookVerificationError):
            verifier.verify(body, headers)


def test_only_matching_orders_and_types_are_delivered(engine: Engine) -> None:
    subscriber = Subscriber()
    http = client(engine)
    with serve_in_thread(subscriber) as base:
        shipped_mall = subscribe(
            http,
            base + "/shipped",
            ["order.status_changed"],
            filter="channel=mall-cz&status=in:shipped,delivered",
        )
        subscribe(http, base + "/created", ["order.created"])
        mall, cdon = make_order("1"), make_order("2", channel="cdon-se")
        (mall_id,) = merge(engine, [mall]).created
        (cdon_id,) = merge(engine, [cdon]).created
        later = mall.updated_at + timedelta(hours=1)
        merge(
            engine,
            [
                replace(mall, status=Status.SHIPPED, tracking_number="T1", updated_at=later),
                replace(cdon, status=Status.SHIPPED, tracking_number="T2", updated_at=later),
            ],
        )
        worker(engine).run_until_idle()
    created = subscriber.accepted("/created")
    assert sorted(r.json()["data"]["order_id"] for r in created) == [mall_id, cdon_id]
    (shipped,) = subscriber.accepted("/shipped")
    body = shipped.json()
    assert body["type"] == "order.status_changed" and body["data"]["order_id"] == mall_id
    assert body["data"]["changes"] == [{"field": "status", "old": "open", "new": "shipped"}]
    assert body["data"]["order"]["tracking_number"] == "T1"
    assert len(subscriber.requests) == 3  # nothing for order.updated, nothing for cdon-se
    assert len(deliveries(http, shipped_mall["id"])) == 1


def test_a_subscriber_that_is_down_gets_every_event_once_per_id(engine: Engine) -> None:
    port = free_port()
    http = client(engine)
    sub = subscribe(http, f"http://127.0.0.1:{port}/hook")
    order_ids = merge(engine, [make_order(str(n)) for n in range(1, 4)]).created
    hub = worker(engine)
    assert hub.run_once() == 3  # nobody listens: connection refused, retried
    pending = deliveries(http, sub["id"])
    assert {d["status"] for d in pending} == {"pending"} and {d["attempts"] for d in pending} == {1}
    assert all("ConnectError" in d["last_error"] for d in pending)

    subscriber = Subscriber(status=503)
    with serve_in_thread(subscriber, port=port):
        assert hub.run_once() == 3  # up, but answering 503: retried again
        subscriber.status = 200
        hub.run_until_idle()
        merge(engine, [make_order("4")])  # and new events flow as usual
        hub.run_until_idle()
    failed_ids = {r.webhook_id for r in subscriber.requests if r.answered == 503}
    accepted = subscriber.accepted_ids()
    assert set(accepted) == event_ids(engine, [*order_ids, order_ids[-1] + 1])
    assert set(accepted.values()) == {1}  # each event exactly once
    assert failed_ids == event_ids(engine, order_ids)  # the retries re-used the ids
    for request in subscriber.requests:
        Webhook(sub["secret"]).verify(request.body, request.headers)
    assert {d["status"] for d in deliveries(http, sub["id"])} == {"delivered"}
    assert sorted(d["attempts"] for d in deliveries(http, sub["id"])) == [1, 3, 3, 3]


def test_410_disables_the_subscription(engine: Engine) -> None:
    subscriber = Subscriber(status=410)
    http = client(engine)
    with serve_in_thread(subscriber) as base:
        sub = subscribe(http, base + "/gone")
        merge(engine, [make_order("1"), make_order("2")])
        worker(engine).run_until_idle()
        merge(engine, [make_order("3")])
        worker(engine).run_until_idle()
    assert len(subscriber.requests) == 1  # the second delivery saw the subscription off
    state = http.get(f"/v1/webhooks/{sub['id']}").json()
    assert state["active"] is False and "410" in state["disabled_reason"]
    logged = deliveries(http, sub["id"])
    assert len(logged) == 2 and {d["status"] for d in logged} == {"failed"}
    retry = http.post(f"/v1/webhooks/{sub['id']}/deliveries/{logged[0]['id']}/retry")
    assert retry.status_code == 409


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [("120", timedelta(seconds=120)), ("999999999", timedelta(days=1)), ("soon", None)],
)
def test_a_subscribers_retry_after_sets_the_next_attempt(
    engine: Engine, retry_after: str, wait: timedelta | None
) -> None:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1))
    subscriber = Subscriber(status=429, headers=[(b"retry-after", retry_after.encode())])
    http = client(engine)
    topic = webhook_topic(engine, Backoff(first=7.0, factor=1.0, cap=7.0), True, clock)
    with serve_in_thread(subscriber) as base:
        sub = subscribe(http, base + "/busy", ["order.created"])
        merge(engine, [make_order("1")])
        assert Worker(engine, {"webhook": topic}, clock=clock).run_once() == 1
    (delivery,) = deliveries(http, sub["id"])
    assert delivery["status"] == "pending" and delivery["last_error"].startswith("HTTP 429")
    due = datetime.fromisoformat(delivery["next_attempt_at"].replace("Z", "+00:00"))
    if wait is None:  # unreadable: the topic's own backoff (7 s with jitter: 3.5 to 7 s)
        assert timedelta(seconds=3.5) <= due - clock.now() <= timedelta(seconds=7)
    else:
        assert due == clock.now() + wait


def test_each_order_event_carries_the_orders_own_sequence(engine: Engine) -> None:
    subscriber = Subscriber()
    http = client(engine)
    with serve_in_thread(subscriber) as base:
        subscribe(http, base + "/hook")
        first, second = merge(engine, [make_order("1"), make_order("2")]).created
        ship = {"status": "shipping"}
        assert http.put(f"/v1/orders/{first}", json=ship).status_code == 200
        assert http.put(f"/v1/orders/{first}", json={"vendor_ref": "PO-9"}).status_code == 200
        worker(engine).run_until_idle()
    seen = sorted(
        (body["data"]["order_id"], body["data"]["sequence"], body["type"])
        for body in (r.json() for r in subscriber.requests)
    )
    assert seen == [
        (first, 1, "order.created"),
        (first, 2, "order.updated"),  # the shipping change: updated, then status_changed
        (first, 3, "order.status_changed"),
        (first, 4, "order.updated"),  # the vendor_ref
        (second, 1, "order.created"),
    ]


def test_a_failed_delivery_can_be_sent_again(engine: Engine) -> None:
    subscriber = Subscriber(status=500)
    http = client(engine)
    with serve_in_thread(subscriber) as base:
        sub = subscribe(http, base + "/hook")
        other = subscribe(http, base + "/other", ["order.updated"])
        merge(engine, [make_order("1")])
        hub = worker(engine, Backoff(first=0.0, attempts=2))
        assert hub.run_until_idle() == 2  # two attempts, then it gives up
        (failed,) = deliveries(http, sub["id"])
        assert failed["status"] == "failed" and failed["last_error"].startswith("HTTP 500")
        retry_url = f"/v1/webhooks/{sub['id']}/deliveries/{failed['id']}/retry"
        foreign = f"/v1/webhooks/{other['id']}/deliveries/{failed['id']}/retry"
        assert http.post(foreign).status_code == 404

        subscriber.status = 200
        queued = http.post(retry_url)
        assert queued.status_code == 202, queued.text
        assert queued.json()["status"] == "pending" and queued.json()["attempts"] == 0
        assert http.post(retry_url).status_code == 409  # already queued
        assert hub.run_until_idle() == 1
    (delivered,) = deliveries(http, sub["id"])
    assert delivered["status"] == "delivered" and delivered["attempts"] == 1
    assert len({r.webhook_id for r in subscriber.requests}) == 1
    assert len(subscriber.accepted()) == 1 and len(subscriber.requests) == 3


def test_the_address_is_checked_again_at_delivery(engine: Engine) -> None:
    subscriber = Subscriber()
    with serve_in_thread(subscriber) as base:
        sub = subscribe(client(engine), base + "/hook")
        merge(engine, [make_order("1")])
        with UnitOfWork(engine) as uow:
            (item,) = uow.outbox.list("webhook")
        strict = Deliverer(engine, allow_private=False)
        with pytest.raises(Exception, match=r"refused: 127\.0\.0\.1 resolves to the non-public"):
            strict(item)
    assert subscriber.requests == [] and sub["active"] is True


def test_two_workers_deliver_each_row_once(engine: Engine) -> None:
    subscriber = Subscriber()
    http = client(engine)
    with serve_in_thread(subscriber) as base:
        subscribe(http, base + "/hook", ["order.created"])
        order_ids = merge(engine, [make_order(str(n)) for n in range(40)]).created
        workers = [worker(engine, name=f"w{n}") for n in range(2)]
        threads = [threading.Thread(target=w.run_until_idle, kwargs={"limit": 3}) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    accepted = subscriber.accepted_ids()
    assert set(accepted) == event_ids(engine, order_ids) and set(accepted.values()) == {1}
    assert len(subscriber.requests) == 40


def test_the_schedule_spans_about_three_days() -> None:
    import random

    rng = random.Random(7)
    delays = [SCHEDULE.delay(attempt, rng) for attempt in range(1, SCHEDULE.attempts)]
    assert 2.5 * 86400 < sum(delays) < 3.7 * 86400
    growing = delays[:9]  # 30 s ... 24 h, then capped
    assert all(a < b for a, b in itertools.pairwise(growing))
