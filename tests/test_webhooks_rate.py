"""At most `max_per_second` deliveries a second to a subscription: the rest wait their turn
(deferred, never dropped, no attempt spent); PATCH /v1/webhooks/{id} changes the rate and
switches a disabled subscription on again. Time is a clock the test moves; SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from helpers import make_order, serve_in_thread
from orderhub.cli.main import app as cli
from orderhub.domain.clock import ManualClock
from test_keys import cli_database  # noqa: F401
from webhook_support import Subscriber, allow_private, hub, merge, near_now  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.fixture
def clock() -> ManualClock:
    return near_now()


def subscribe(http: TestClient, url: str, **extra: Any) -> dict[str, Any]:
    body = {"url": url, "event_types": ["order.created"], **extra}
    answer = http.post("/v1/webhooks", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_two_a_second_go_at_that_pace_and_none_is_lost(engine: Engine, clock: ManualClock) -> None:
    http, worker = hub(engine, clock)
    receiver = Subscriber()
    with serve_in_thread(receiver) as base:
        sub = subscribe(http, base + "/hook", max_per_second=2)
        merge(engine, [make_order(str(n)) for n in range(1, 7)])  # six at once
        sent = []
        for _ in range(4):
            worker.run_until_idle()
            sent.append(len(receiver.requests))
            clock.advance(timedelta(seconds=0.5))
        worker.run_until_idle()
    # A second's worth (2) at once, then one every half second.
    assert sent == [2, 3, 4, 5]
    assert len(receiver.requests) == 6 and len(receiver.accepted_ids()) == 6
    log = http.get(f"/v1/webhooks/{sub['id']}/deliveries").json()["data"]
    assert {(d["status"], d["attempts"]) for d in log} == {("delivered", 1)}


def test_the_default_rate_and_a_change_of_it(engine: Engine, clock: ManualClock) -> None:
    http = hub(engine, clock)[0]
    sub = subscribe(http, "http://127.0.0.1:9/hook")
    assert sub["max_per_second"] == 50
    answer = http.patch(f"/v1/webhooks/{sub['id']}", json={"max_per_second": 7})
    assert answer.status_code == 200, answer.text
    assert http.get(f"/v1/webhooks/{sub['id']}").json()["max_per_second"] == 7
    unchanged = http.patch(f"/v1/webhooks/{sub['id']}", json={})
    assert (unchanged.status_code, unchanged.json()["max_per_second"]) == (200, 7)
    assert http.patch("/v1/webhooks/77", json={"active": True}).status_code == 404


@pytest.mark.parametrize("value", [0, 1001, -1, "5", 5.0, 2.5, True, None])
def test_a_bad_rate_is_a_400_naming_it_and_changes_nothing(
    engine: Engine, clock: ManualClock, value: Any
) -> None:
    http = hub(engine, clock)[0]
    sub = subscribe(http, "http://127.0.0.1:9/hook", max_per_second=3)
    for method, url in (("POST", "/v1/webhooks"), ("PATCH", f"/v1/webhooks/{sub['id']}")):
        body = {"url": "http://127.0.0.1:9/x", "event_types": ["order.created"]}
        body = body if method == "POST" else {}
        answer = http.request(method, url, json=body | {"max_per_second": value})
        assert answer.status_code == 400, (method, value, answer.text)
        assert answer.json()["errors"][0]["parameter"].endswith("max_per_second")
    assert [s["max_per_second"] for s in http.get("/v1/webhooks").json()["data"]] == [3]


def test_a_disabled_subscription_switched_on_again_can_be_replayed(
    engine: Engine, clock: ManualClock
) -> None:
    http, worker = hub(engine, clock)
    receiver = Subscriber(status=410)
    with serve_in_thread(receiver) as base:
        sub = subscribe(http, base + "/hook")
        merge(engine, [make_order("1")])
        worker.run_until_idle()
        since = http.get(f"/v1/webhooks/{sub['id']}/deliveries").json()["data"][0]["created_at"]
        assert http.get(f"/v1/webhooks/{sub['id']}").json()["active"] is False
        receiver.status = 200
        on = http.patch(f"/v1/webhooks/{sub['id']}", json={"active": True})
        assert on.status_code == 200, on.text
        assert (on.json()["active"], on.json()["disabled_reason"]) == (True, None)
        replay = http.post(f"/v1/webhooks/{sub['id']}/replay", params={"since": since})
        assert replay.json()["queued"] == 1
        worker.run_until_idle()
        off = http.patch(f"/v1/webhooks/{sub['id']}", json={"active": False}).json()
    assert [r.answered for r in receiver.requests] == [410, 200]
    assert receiver.requests[0].webhook_id == receiver.requests[1].webhook_id
    assert off["active"] is False and off["disabled_reason"].startswith("switched off")


@pytest.mark.usefixtures("cli_database")
def test_the_cli_sets_the_rate_and_switches_on(engine: Engine, clock: ManualClock) -> None:
    http = hub(engine, clock)[0]
    sub = subscribe(http, "http://127.0.0.1:9/hook")
    off = CliRunner().invoke(cli, ["webhooks", "update", str(sub["id"]), "--off"])
    on = CliRunner().invoke(
        cli, ["webhooks", "update", str(sub["id"]), "--on", "--max-per-second", "4"]
    )
    bad = CliRunner().invoke(cli, ["webhooks", "update", str(sub["id"]), "--max-per-second", "0"])
    assert off.exit_code == 0 and ": off (switched off by the merchant" in off.output
    assert on.exit_code == 0 and on.output.strip().endswith(": on, at most 4 a second")
    assert bad.exit_code == 2 and "max_per_second" in bad.output
    shown = http.get(f"/v1/webhooks/{sub['id']}").json()
    assert (shown["active"], shown["max_per_second"]) == (True, 4)


def test_workers_at_once_share_the_pace(engine: Engine, clock: ManualClock) -> None:
    """Four workers in threads, one instant: a turn is never spent twice (compare and set)."""
    http = hub(engine, clock)[0]
    receiver = Subscriber()
    with serve_in_thread(receiver) as base:
        subscribe(http, base + "/hook", max_per_second=5)
        merge(engine, [make_order(str(n)) for n in range(1, 41)])
        workers = [hub(engine, clock)[1] for _ in range(4)]
        for n, each in enumerate(workers):
            each.name = f"w{n}"
        threads = [threading.Thread(target=each.run_once, args=(10,)) for each in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(receiver.requests) == 5  # a second's worth, whichever worker sent them
