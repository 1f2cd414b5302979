"""The whole webhook retry schedule, walked through with a clock the test moves.

The expected delays are docs/webhooks.md's table ("Answers, retries and backoff"), written out
here by hand: not read from the code's SCHEDULE.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from helpers import client, make_order, serve_in_thread
from orderhub.domain import ManualClock
from orderhub.services.outbox import Worker
from orderhub.services.webhook_delivery import webhook_topic
from orderhub.store import UnitOfWork
from orderhub.store.webhooks import Delivery, WebhookRepository
from webhook_support import ALL_TYPES, Subscriber, allow_private, event_ids, merge  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")

#: docs/webhooks.md: "after failed attempt n the next attempt comes ... later", attempts 2..11.
DOCUMENTED_DELAYS = [
    timedelta(seconds=30),
    timedelta(minutes=1, seconds=30),
    timedelta(minutes=4, seconds=30),
    timedelta(minutes=13, seconds=30),
    timedelta(minutes=40, seconds=30),
    timedelta(hours=2, minutes=1, seconds=30),
    timedelta(hours=6, minutes=4, seconds=30),
    timedelta(hours=18, minutes=13, seconds=30),
    timedelta(hours=24),
    timedelta(hours=24),
]
#: "11 (last): 75 h 20 min (3 days 3 hours)" after the first attempt.
DOCUMENTED_SPAN = timedelta(hours=75, minutes=20)
#: "each delay varied by +-10 %".
JITTER = 0.10
ATTEMPTS = 11


def _delivery(engine: Engine, subscription_id: int) -> Delivery:
    with UnitOfWork(engine) as uow:
        (found,) = WebhookRepository(uow.conn).deliveries(subscription_id, None, 10)
    return found


def _within_jitter(actual: timedelta, documented: timedelta) -> bool:
    return documented * (1 - JITTER) <= actual <= documented * (1 + JITTER)


def test_a_failing_subscriber_gets_every_attempt_on_time_then_the_delivery_fails(
    engine: Engine,
) -> None:
    subscriber = Subscriber(status=503)  # down for good
    http = client(engine)
    with serve_in_thread(subscriber) as base:
        answer = http.post(
            "/v1/webhooks", json={"url": base + "/hook", "event_types": ["order.created"]}
        )
        sub: dict[str, Any] = answer.json()
        merge(engine, [make_order("1")])
        # The row was enqueued by the system clock; the test clock takes over from there.
        clock = ManualClock(datetime.now(UTC))
        topic = webhook_topic(engine, allow_private=True, clock=clock)
        hub = Worker(engine, {"webhook": topic}, name="w", clock=clock)

        assert hub.run_once() == 1
        attempted_at = [clock.now()]
        for attempt, documented in enumerate(DOCUMENTED_DELAYS, start=2):
            pending = _delivery(engine, sub["id"])
            assert (pending.status, pending.attempts) == ("pending", attempt - 1)
            assert pending.last_error is not None and pending.last_error.startswith("HTTP 503")
            due = pending.next_attempt_at
            assert due is not None
            assert _within_jitter(due - attempted_at[-1], documented), (attempt, due)
            clock.set(due - timedelta(seconds=1))
            assert hub.run_once() == 0, f"attempt {attempt} came before its time"
            assert len(subscriber.requests) == attempt - 1
            clock.set(due)
            assert hub.run_once() == 1, f"attempt {attempt} did not come at its time"
            assert len(subscriber.requests) == attempt
            assert subscriber.requests[-1].headers["webhook-timestamp"] == str(int(due.timestamp()))
            attempted_at.append(due)

        assert len(attempted_at) == ATTEMPTS
        assert _within_jitter(attempted_at[-1] - attempted_at[0], DOCUMENTED_SPAN)
        final = _delivery(engine, sub["id"])
        assert (final.status, final.attempts, final.next_attempt_at) == ("failed", ATTEMPTS, None)
        assert final.delivered_at is None
        clock.advance(timedelta(days=30))  # nothing more, however long we wait
        assert hub.run_once() == 0
    assert len(subscriber.requests) == ATTEMPTS
    assert {r.webhook_id for r in subscriber.requests} == {final.event_id}
    stamps = [int(r.headers["webhook-timestamp"]) for r in subscriber.requests]
    assert stamps == [int(at.timestamp()) for at in attempted_at]
    # Running out of retries fails the delivery; only a 410 disables the subscription.
    state = http.get(f"/v1/webhooks/{sub['id']}").json()
    assert state["active"] is True and state["disabled_reason"] is None


def test_a_subscriber_down_for_the_whole_schedule_gets_every_event_once_in_order_after_replay(
    engine: Engine,
) -> None:
    """Down through all 11 attempts of every delivery, then back: a replay since before the
    first event (docs/webhooks.md "Replaying since a time") brings each event exactly once per
    `webhook-id`, and each order's events in `sequence` order."""
    subscriber = Subscriber(status=503)
    http = client(engine)
    with serve_in_thread(subscriber) as base:
        answer = http.post("/v1/webhooks", json={"url": base + "/hook", "event_types": ALL_TYPES})
        sub: dict[str, Any] = answer.json()
        since = datetime.now(UTC) - timedelta(seconds=1)
        merge(engine, [make_order("1"), make_order("2")])
        one, two = (_hub_id(http, external) for external in ("1", "2"))
        for order_id, body in [
            (one, SHIP),
            (two, {"status": "cancelled"}),
            (one, {"carrier": "DHL"}),
        ]:
            assert http.put(f"/v1/orders/{order_id}", json=body).status_code == 200
        events = event_ids(engine, [one, two])
        assert len(events) == 7  # 2 created, 3 updated, 2 status_changed

        clock = ManualClock(datetime.now(UTC))
        hub = Worker(engine, {"webhook": webhook_topic(engine, allow_private=True, clock=clock)},
                     name="w", clock=clock)  # fmt: skip
        # Each round moves the clock to the next attempt due. (Whole hours a round was flaky: each
        # of the 10 delays then waits for the next hour, up to 90 h, past a 90-round loop.)
        for _ in range(ATTEMPTS * len(events) + 1):
            while hub.run_once():
                pass
            due = [d.next_attempt_at for d in _deliveries(engine, sub["id"]) if d.next_attempt_at]
            if not due:
                break
            clock.set(max(clock.now(), min(due)))
        log = _deliveries(engine, sub["id"])
        assert {(d.status, d.attempts) for d in log} == {("failed", ATTEMPTS)}
        assert len(subscriber.requests) == ATTEMPTS * len(events)
        assert subscriber.accepted() == []

        subscriber.status = 200  # back
        replay = http.post(f"/v1/webhooks/{sub['id']}/replay", params={"since": since.isoformat()})
        assert replay.status_code == 202, replay.text
        assert replay.json()["queued"] == len(events)
        for _ in range(60):
            while hub.run_once():
                pass
            clock.advance(timedelta(seconds=1))

    received = subscriber.accepted()
    assert Counter(r.webhook_id for r in received) == Counter({e: 1 for e in events})
    for order_id in (one, two):
        sequences = [r.json()["data"]["sequence"] for r in received
                     if r.json()["data"]["order_id"] == order_id]  # fmt: skip
        assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
        assert sequences[0] == 1


SHIP = {"status": "shipped", "tracking_number": "Z1", "tracking_url": "https://t.example/Z1"}


def _hub_id(http: Any, external_id: str) -> int:
    found = http.get("/v1/orders", params={"external_id": external_id}).json()["data"]
    return int(found[0]["id"])


def _deliveries(engine: Engine, subscription_id: int) -> list[Delivery]:
    with UnitOfWork(engine) as uow:
        return WebhookRepository(uow.conn).deliveries(subscription_id, None, 100)
