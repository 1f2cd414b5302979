"""Replaying a subscription's deliveries since a time (POST /v1/webhooks/{id}/replay): a real
receiver on loopback gets them again, in order, each with its sequence, verified with the
`standardwebhooks` package; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from standardwebhooks import Webhook
from typer.testing import CliRunner

from helpers import make_order, serve_in_thread
from orderhub.cli.main import app as cli
from orderhub.domain.clock import ManualClock
from orderhub.services.outbox import Worker
from orderhub.store import UnitOfWork
from orderhub.store.outbox import outbox
from orderhub.store.webhooks import WebhookRepository
from test_keys import cli_database  # noqa: F401
from webhook_support import ALL_TYPES, Subscriber, allow_private, hub, merge, near_now  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.fixture
def clock() -> ManualClock:
    return near_now()


LATER = datetime(2024, 1, 11, 9, 0, tzinfo=UTC)


def subscribe(http: TestClient, url: str) -> dict[str, Any]:
    answer = http.post("/v1/webhooks", json={"url": url, "event_types": ALL_TYPES})
    assert answer.status_code == 201, answer.text
    return answer.json()


def history_then_t(engine: Engine, http: TestClient, worker: Worker, sub_id: int) -> str:
    """Order 1 created (before T); then order 2 created, order 1 shipped: T is the time the
    first of those was enqueued, as the delivery log shows it."""
    merge(engine, [make_order("1")])
    assert worker.run_until_idle() == 1
    merge(engine, [make_order("2")])
    merge(engine, [make_order("1", status="shipped", updated_at=LATER)])
    assert worker.run_until_idle() == 3
    log = http.get(f"/v1/webhooks/{sub_id}/deliveries").json()["data"]
    first_after = sorted(log, key=lambda d: d["id"])[1]
    return str(first_after["created_at"])


@contextmanager
def with_history(engine: Engine, clock: ManualClock) -> Iterator[Replaying]:
    """A subscriber on loopback that has received order 1's creation, then (after T) the
    events of AFTER_T."""
    http, worker = hub(engine, clock)
    subscriber = Subscriber()
    with serve_in_thread(subscriber) as base:
        sub = subscribe(http, base + "/hook")
        since = history_then_t(engine, http, worker, sub["id"])
        yield Replaying(http, worker, subscriber, sub, since)


@dataclass
class Replaying:
    http: TestClient
    worker: Worker
    subscriber: Subscriber
    sub: dict[str, Any]
    since: str

    def replay(self) -> Any:
        url = f"/v1/webhooks/{self.sub['id']}/replay"
        return self.http.post(url, params={"since": self.since})


def what(request: Any) -> tuple[str, str, int]:
    body = request.json()
    return body["data"]["order"]["external_id"], body["type"], body["data"]["sequence"]


AFTER_T = [
    ("2", "order.created", 1),
    ("1", "order.updated", 2),
    ("1", "order.status_changed", 3),
]


def test_a_replay_resends_every_event_since_t_in_order_with_its_sequence(
    engine: Engine, clock: ManualClock
) -> None:
    with with_history(engine, clock) as case:
        first = list(case.subscriber.requests)
        answer = case.replay()
        assert answer.status_code == 202, answer.text
        assert answer.json()["queued"] == 3
        assert case.worker.run_until_idle() == 3
    replayed = case.subscriber.requests[len(first) :]
    assert [what(r) for r in replayed] == AFTER_T
    assert [r.webhook_id for r in replayed] == [r.webhook_id for r in first[1:]]
    assert [r.body for r in replayed] == [r.body for r in first[1:]]
    for request in replayed:
        Webhook(case.sub["secret"]).verify(request.body, request.headers)  # raises if not
    log = case.http.get(f"/v1/webhooks/{case.sub['id']}/deliveries").json()["data"]
    assert [d["status"] for d in log] == ["delivered"] * 7


def test_a_replay_keeps_its_order_when_a_delivery_fails(engine: Engine, clock: ManualClock) -> None:
    with with_history(engine, clock) as case:
        sent = len(case.subscriber.requests)
        assert case.replay().status_code == 202
        case.subscriber.status = 503
        case.worker.run_once()
        # The first copy failed; the two after it waited for it instead of overtaking it.
        assert [what(r) for r in case.subscriber.requests[sent:]] == AFTER_T[:1]
        case.subscriber.status = 200
        clock.advance(timedelta(seconds=2))
        case.worker.run_until_idle()
    assert [what(r) for r in case.subscriber.accepted()[sent:]] == AFTER_T


def test_a_second_replay_is_not_swallowed(engine: Engine, clock: ManualClock) -> None:
    with with_history(engine, clock) as case:
        for _ in range(2):
            assert case.replay().json()["queued"] == 3  # copies are never replayed themselves
            case.worker.run_until_idle()
    assert [what(r) for r in case.subscriber.requests[4:]] == AFTER_T * 2


def outbox_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("", "since"),
        ("since=", "since"),
        ("since=yesterday", "since"),
        ("since=2026-12-06T10:00:00", "since"),  # no zone
        ("since=2026-12-06", "since"),
        ("since=2026-13-06T10:00:00Z", "since"),
        ("since=2026-12-06T10:00:00 01:00", "since"),  # an unescaped + read as a space
        ("since=0001-01-01T00:00:00%2B01:00", "since"),  # before year 1 in UTC
        ("since=2026-12-06T10:00:00Z&since=2026-12-06T11:00:00Z", "since"),
        ("since=2026-12-06T10:00:00Z&limit=5", "limit"),
    ],
)
def test_a_bad_since_is_a_400_naming_it_and_queues_nothing(
    engine: Engine, clock: ManualClock, query: str, parameter: str
) -> None:
    http, _ = hub(engine, clock)
    sub = subscribe(http, "http://127.0.0.1:9/hook")
    merge(engine, [make_order("1")])
    before = outbox_rows(engine)
    answer = http.post(f"/v1/webhooks/{sub['id']}/replay?{query}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["parameter"] == parameter
    assert outbox_rows(engine) == before


def test_zones_and_fractions_are_read(engine: Engine, clock: ManualClock) -> None:
    http, _ = hub(engine, clock)
    sub = subscribe(http, "http://127.0.0.1:9/hook")
    for raw, utc in [
        ("2026-12-06T11:00:00%2B01:00", "2026-12-06T10:00:00Z"),
        ("2026-12-06t10:00:00.1234567z", "2026-12-06T10:00:00.123456Z"),
    ]:
        answer = http.post(f"/v1/webhooks/{sub['id']}/replay?since={raw}")
        assert answer.status_code == 202, answer.text
        assert (answer.json()["since"], answer.json()["queued"]) == (utc, 0)


def test_unknown_and_disabled_subscriptions(engine: Engine, clock: ManualClock) -> None:
    http = hub(engine, clock)[0]
    since = "2026-12-06T10:00:00Z"
    assert http.post(f"/v1/webhooks/77/replay?since={since}").status_code == 404
    sub = subscribe(http, "http://127.0.0.1:9/hook")
    with UnitOfWork(engine) as uow:
        WebhookRepository(uow.conn).disable(sub["id"], "the subscriber answered 410 Gone")
    answer = http.post(f"/v1/webhooks/{sub['id']}/replay?since={since}")
    assert answer.status_code == 409
    assert "410 Gone" in answer.json()["detail"]


@pytest.mark.usefixtures("cli_database")
def test_the_cli_replays(engine: Engine, clock: ManualClock) -> None:
    http = hub(engine, clock)[0]
    sub = subscribe(http, "http://127.0.0.1:9/hook")
    merge(engine, [make_order("1"), make_order("2")])
    args = ["webhooks", "replay", str(sub["id"]), "--since", "2000-01-01T00:00:00Z"]
    result = CliRunner().invoke(cli, args)
    bad = CliRunner().invoke(cli, ["webhooks", "replay", str(sub["id"]), "--since", "today"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 deliveries since 2000-01-01T00:00:00+00:00")
    assert bad.exit_code == 2 and "--since" in bad.output
    log = http.get(f"/v1/webhooks/{sub['id']}/deliveries").json()["data"]
    assert len(log) == 4
