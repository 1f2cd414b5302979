"""A subscription whose every delivery fails for 5 days is disabled, and so is one that answers
410 Gone: the merchant gets an e-mail (a real SMTP server on loopback) and the other
subscriptions a `webhook.disabled` event (a real receiver, signatures checked with the
`standardwebhooks` package). Time is a clock the test moves; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any

import pytest
import standardwebhooks.webhooks
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from standardwebhooks import Webhook

from helpers import make_order, serve_in_thread
from orderhub.domain.clock import ManualClock
from orderhub.services.outbox import Worker
from orderhub.services.smtp import SmtpConfig, mail_topic
from orderhub.services.webhook_delivery import NarrowJitterBackoff, webhook_topic
from orderhub.settings import get_settings
from test_mail import Inbox, free_port, smtp_server
from webhook_support import NO_WAIT, Subscriber, allow_private, hub, merge, near_now  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")
MERCHANT = "merchant@shop.example"
#: A failed delivery is tried again exactly an hour later, for as long as the test needs.
HOURLY = NarrowJitterBackoff(first=3600.0, factor=1.0, cap=3600.0, attempts=10_000, jitter=0.0)


@pytest.fixture
def clock() -> ManualClock:
    return near_now()


@pytest.fixture
def merchant(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ORDERHUB_MERCHANT_EMAIL", MERCHANT)
    get_settings.cache_clear()
    yield MERCHANT
    get_settings.cache_clear()


def subscribe(http: TestClient, url: str, *types: str) -> dict[str, Any]:
    answer = http.post("/v1/webhooks", json={"url": url, "event_types": list(types)})
    assert answer.status_code == 201, answer.text
    return answer.json()


def workers(engine: Engine, clock: ManualClock, smtp_port: int) -> Worker:
    hooks = webhook_topic(engine, HOURLY, allow_private=True, clock=clock)
    config = SmtpConfig.from_url(f"smtp://127.0.0.1:{smtp_port}")
    mail = mail_topic(config, "Shop <shop@example.com>", NO_WAIT)
    return Worker(engine, {"webhook": hooks, "mail": mail}, clock=clock)


def verify(secret: str, request: Any, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Any:
    """standardwebhooks' verification, by a receiver whose clock is the test's (it refuses a
    timestamp 5 minutes from its own now)."""

    class ReceiverTime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Any:
            return clock.now()

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", ReceiverTime)
    return Webhook(secret).verify(request.body, request.headers)


def active(http: TestClient, sub: dict[str, Any]) -> bool:
    return bool(http.get(f"/v1/webhooks/{sub['id']}").json()["active"])


@pytest.mark.usefixtures("merchant")
def test_five_days_of_failures_disable_it_mail_the_merchant_and_tell_the_others(
    engine: Engine, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = hub(engine, clock)[0]
    inbox, port = Inbox(), free_port()
    failing, working = Subscriber(status=503), Subscriber()
    with smtp_server(inbox, port), serve_in_thread(failing) as down, serve_in_thread(working) as up:
        worker = workers(engine, clock, port)
        bad = subscribe(http, down + "/hook", "order.created", "webhook.disabled")
        other = subscribe(http, up + "/hook", "webhook.disabled")
        merge(engine, [make_order("1")])
        assert worker.run_until_idle() == 1  # the first failure
        for _ in range(119):  # an attempt an hour, every one failing: 4 days 23 hours later
            clock.advance(timedelta(hours=1))
            assert worker.run_until_idle() == 1
        assert active(http, bad) and working.requests == [] and inbox.messages == []
        assert http.get(f"/v1/webhooks/{bad['id']}").json()["failing_since"] is not None
        clock.advance(timedelta(hours=1))  # the attempt 5 days after the first failure
        worker.run_until_idle()
        merge(engine, [make_order("2")])  # not queued for a disabled subscription
        worker.run_until_idle()
    assert len(failing.requests) == 121
    shown = http.get(f"/v1/webhooks/{bad['id']}").json()
    assert not shown["active"]
    assert shown["disabled_reason"].startswith("every delivery failed for 5 days")
    (told,) = working.requests
    event = verify(other["secret"], told, clock, monkeypatch)
    assert event["type"] == "webhook.disabled"
    assert (event["data"]["id"], event["data"]["url"], event["data"]["active"]) == (
        bad["id"],
        down + "/hook",
        False,
    )
    assert event["data"]["disabled_reason"] == shown["disabled_reason"]
    (message,) = inbox.messages
    assert message["To"] == MERCHANT
    assert f"subscription {bad['id']} disabled" in message["Subject"]
    assert down + "/hook" in message.get_content() and "5 days" in message.get_content()


def test_a_delivery_that_goes_through_starts_the_count_again(
    engine: Engine, clock: ManualClock
) -> None:
    http = hub(engine, clock)[0]
    receiver = Subscriber(status=503)
    with serve_in_thread(receiver) as base:
        worker = workers(engine, clock, free_port())
        sub = subscribe(http, base + "/hook", "order.created")
        merge(engine, [make_order("1")])
        for _ in range(4 * 24):  # 4 days of failures
            worker.run_until_idle()
            clock.advance(timedelta(hours=1))
        receiver.status = 200
        worker.run_until_idle()
        assert http.get(f"/v1/webhooks/{sub['id']}").json()["failing_since"] is None
        receiver.status = 503
        merge(engine, [make_order("2")])
        for _ in range(4 * 24):  # 8 days after the first failure, 4 after the success
            worker.run_until_idle()
            clock.advance(timedelta(hours=1))
    assert active(http, sub)


@pytest.mark.usefixtures("merchant")
def test_a_410_disables_at_once_and_tells_the_others(engine: Engine, clock: ManualClock) -> None:
    http = hub(engine, clock)[0]
    inbox, port = Inbox(), free_port()
    gone, working = Subscriber(status=410), Subscriber()
    with smtp_server(inbox, port), serve_in_thread(gone) as down, serve_in_thread(working) as up:
        worker = workers(engine, clock, port)
        bad = subscribe(http, down + "/hook", "order.created")
        other = subscribe(http, up + "/hook", "webhook.disabled", "order.created")
        merge(engine, [make_order("1")])
        worker.run_until_idle()
    assert not active(http, bad)
    told = [Webhook(other["secret"]).verify(r.body, r.headers) for r in working.requests]
    assert [e["type"] for e in told] == ["order.created", "webhook.disabled"]
    assert told[1]["data"]["disabled_reason"].startswith("the subscriber answered 410 Gone")
    (message,) = inbox.messages
    assert message["To"] == MERCHANT and "410 Gone" in message.get_content()
