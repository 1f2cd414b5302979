"""Sync health: a sandbox refusing credentials makes the account failing and overdue in the API
and the CLI, and tells a real HTTP subscriber once (`channel.sync_failed`), then again when it
recovers (`channel.sync_recovered`); `channel.overdue` goes out once per overdue episode."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from helpers import api_key, auth_header, serve_in_thread
from orderhub.api.app import create_app
from orderhub.cli import app as cli_app
from orderhub.cli.common import console
from orderhub.domain import ManualClock
from orderhub.services.channels import ChannelConfig, load_config
from orderhub.services.cursor_zones import zoned_cursor
from orderhub.services.outbox import Worker
from orderhub.services.sync import SyncResult, sync_account
from orderhub.services.sync_health import AccountRecord, notify_overdue, sync_health
from orderhub.services.webhook_delivery import webhook_topic
from orderhub.settings import get_settings
from orderhub.store import UnitOfWork
from orderhub.store.sync import ChannelState, Failures, RunCounts, SyncRepository, SyncRun
from sync_support import CHANNEL, Sandbox, mall_sandbox
from webhook_support import NO_WAIT, Subscriber, allow_private  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")

INTERVAL = 60
CONFIG = f"""
[[channels]]
name = "{CHANNEL}"
type = "mall"
base_url = "{{base_url}}"
client_id_env = "HEALTH_MALL_CLIENT_ID"
sync_interval = {INTERVAL}
"""
CHANNEL_TYPES = ["channel.sync_failed", "channel.sync_recovered", "channel.overdue"]
#: Two hours before the test runs: the CLI (on the system clock) then sees the same account
#: overdue that the API (on this clock) does, and every outbox row is due for the worker.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


@dataclass
class Hub:
    """The pieces of one test: a MALL sandbox, the config, a clock, the API and a worker."""

    sandbox: Sandbox
    config: ChannelConfig
    clock: ManualClock
    http: TestClient
    worker: Worker
    subscriber: Subscriber
    monkeypatch: pytest.MonkeyPatch
    #: The subscriber's base URL and the subscription (with its secret) to all channel events.
    hook: str = ""
    subscription: dict[str, Any] = field(default_factory=dict)

    def sync(self, client_id: str) -> SyncResult:
        self.monkeypatch.setenv("HEALTH_MALL_CLIENT_ID", client_id)
        return sync_account(self.engine, self.config.account(), clock=self.clock)

    @property
    def engine(self) -> Engine:
        return self.worker.engine

    def channel(self) -> dict[str, Any]:
        answer = self.http.get(f"/v1/channels/{CHANNEL}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["data"])

    def delivered(self, event_type: str, path: str = "/hook") -> list[dict[str, Any]]:
        self.worker.run_until_idle()
        bodies = [json.loads(r.body) for r in self.subscriber.accepted(path)]
        return [b for b in bodies if b["type"] == event_type]

    def notify(self) -> list[str]:
        return notify_overdue(self.engine, [self.config], self.clock)


@pytest.fixture
def hub(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> Iterator[Hub]:
    subscriber = Subscriber()
    clock = ManualClock(START)
    with mall_sandbox(orders=20, seed=21) as sandbox, serve_in_thread(subscriber) as hook:
        path = tmp_path / "orderhub.toml"
        path.write_text(CONFIG.format(base_url=sandbox.base_url + "/v1"))
        monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
        monkeypatch.setenv("ORDERHUB_CONFIG_FILE", str(path))
        get_settings.cache_clear()
        (config,) = load_config(path)
        app = create_app(engine, clock=clock)
        app.state.config_file = str(path)
        http = TestClient(app, headers=auth_header(api_key(engine)))
        topic = webhook_topic(engine, NO_WAIT, allow_private=True, clock=clock)
        worker = Worker(engine, {"webhook": topic}, name="health", clock=clock)
        subscription = subscribe(http, hook + "/hook", CHANNEL_TYPES)
        yield Hub(sandbox, config, clock, http, worker, subscriber, monkeypatch, hook, subscription)
        get_settings.cache_clear()


def subscribe(http: TestClient, url: str, types: list[str], **extra: Any) -> dict[str, Any]:
    answer = http.post("/v1/webhooks", json={"url": url, "event_types": types} | extra)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_the_sandbox_refuses_a_wrong_client_id(hub: Hub) -> None:
    """The premise of the tests below, asked of the sandbox itself."""
    url = hub.sandbox.base_url + "/v1/orders"
    assert httpx.get(url, params={"client_id": "wrong"}).status_code in (401, 403)
    assert httpx.get(url, params={"client_id": "sandbox"}).status_code == 200


def test_failing_then_overdue_then_recovered(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    notified: list[str] = []
    for failure in range(1, 12):
        result = hub.sync("wrong")
        assert not result.ok and "401" in (result.error or "")
        notified += hub.notify()
        # failures 1 and 11 are told; 2..10 are not
        assert len(hub.delivered("channel.sync_failed")) == (1 if failure < 11 else 2), failure
        # The first run (at START) is the baseline: overdue once 3 intervals (180 s) are past,
        # i.e. from the 5th run (START + 240 s); the 4th is at exactly 180 s.
        assert hub.channel()["overdue"] is (failure >= 5), failure
        hub.clock.advance(INTERVAL)

    first, eleventh = hub.delivered("channel.sync_failed")
    assert first["data"]["consecutive_failures"] == 1
    assert eleventh["data"]["consecutive_failures"] == 11
    assert (first["data"]["channel"], first["data"]["channel_type"]) == (CHANNEL, "mall")
    assert "401" in first["data"]["last_error"] and first["data"]["last_run"]["status"] == "failed"
    assert notified == [CHANNEL]  # one overdue episode, told once although asked every tick
    (overdue,) = hub.delivered("channel.overdue")
    assert overdue["data"]["overdue"] is True and overdue["data"]["last_success_at"] is None
    assert_signed(hub)

    channel = hub.channel()
    assert channel["consecutive_failures"] == 11 and channel["overdue"] is True
    assert "401" in channel["last_error"] and channel["last_success_at"] is None
    last_run = channel["last_run"]
    assert last_run["status"] == "failed" and last_run["requests"] >= 1
    assert (last_run["orders"], last_run["seconds"]) == (0, 0)  # the clock did not move
    finished = datetime.fromisoformat(last_run["finished_at"])
    assert datetime.fromisoformat(channel["next_due_at"]) == finished + timedelta(seconds=60)
    assert_cli_shows_failing(monkeypatch)

    recovered = hub.sync("sandbox")
    assert recovered.ok, recovered.error
    (told,) = hub.delivered("channel.sync_recovered")
    assert told["data"]["consecutive_failures"] == 0 and told["data"]["overdue"] is False
    assert told["data"]["last_run"]["orders"] == 20
    channel = hub.channel()
    assert (channel["consecutive_failures"], channel["last_error"]) == (0, None)
    assert channel["overdue"] is False
    assert channel["last_success_at"] == hub.clock.now().isoformat().replace("+00:00", "Z")
    assert hub.notify() == []
    assert len(hub.delivered("channel.sync_recovered")) == 1

    # A second episode: no success for more than 3 intervals, then told once more.
    hub.clock.advance(3 * INTERVAL)
    assert hub.notify() == [] and hub.channel()["overdue"] is False
    hub.clock.advance(1)
    assert hub.notify() == [CHANNEL] and hub.notify() == []
    assert len(hub.delivered("channel.overdue")) == 2
    # The first failure after a success is told again; the recovery had nothing to follow.
    assert not hub.sync("wrong").ok
    assert len(hub.delivered("channel.sync_failed")) == 3
    assert len(hub.delivered("channel.sync_recovered")) == 1


def assert_signed(hub: Hub) -> None:
    """Every delivery carries a Standard Webhooks signature over its id, time and body."""
    secret: str = hub.subscription["secret"]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    requests = hub.subscriber.accepted()
    assert requests
    for request in requests:
        signed = f"{request.webhook_id}.{request.headers['webhook-timestamp']}.".encode()
        digest = hmac.new(key, signed + request.body, hashlib.sha256).digest()
        assert request.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
        assert request.webhook_id == json.loads(request.body)["id"]
    assert len({r.webhook_id for r in requests}) == len(requests)  # each event once


def assert_cli_shows_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    """`orderhub channels list` (on the system clock, two hours after the first run)."""
    monkeypatch.setattr(console, "width", 250)
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["channels", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (account,) = json.loads(listed.output)
    assert (account["name"], account["overdue"], account["consecutive_failures"]) == (
        CHANNEL,
        True,
        11,
    )
    assert "401" in account["last_error"]
    table = runner.invoke(cli_app, ["channels", "list"])
    assert table.exit_code == 0, table.output
    (row,) = [line for line in table.output.splitlines() if CHANNEL in line]
    cells = [cell.strip() for cell in row.strip("│").split("│")]
    assert cells[5:7] == ["overdue, failing (11)", "failed"]
    assert "401" in cells[-1]


def test_channel_events_follow_the_filters_channel_conditions(hub: Hub) -> None:
    """A channel event goes to subscriptions whose filter admits the account by its `channel`
    conditions (the filter's order fields do not apply), and never to order-only ones."""
    base = hub.hook
    subscribe(hub.http, base + "/mall", ["channel.sync_failed"], filter=f"channel={CHANNEL}")
    subscribe(hub.http, base + "/in", ["channel.sync_failed"], filter="channel=in:a,mall-cz")
    subscribe(hub.http, base + "/shipped", ["channel.sync_failed"], filter="status=shipped")
    subscribe(hub.http, base + "/cdon", ["channel.sync_failed"], filter="channel=cdon-se")
    subscribe(hub.http, base + "/not", ["channel.sync_failed"], filter="channel=ne:mall-cz")
    subscribe(hub.http, base + "/orders", ["order.created"])
    assert not hub.sync("wrong").ok
    hub.worker.run_until_idle()
    paths = sorted(r.path for r in hub.subscriber.accepted())
    assert paths == ["/hook", "/in", "/mall", "/shipped"]


def test_one_account_and_an_unknown_one(hub: Hub) -> None:
    never = hub.channel()
    assert never["last_run"] is None and never["cursor"] is None
    assert (never["consecutive_failures"], never["overdue"]) == (0, False)
    assert never["next_due_at"] == START.isoformat().replace("+00:00", "Z")  # due now
    assert hub.sync("sandbox").ok
    windows = hub.channel()["cursor"]["windows"]
    prague = (timedelta(hours=1), timedelta(hours=2))
    assert all(datetime.fromisoformat(w).utcoffset() in prague for w in windows.values())
    hub.monkeypatch.setattr(console, "width", 250)
    table = CliRunner().invoke(cli_app, ["channels", "list"])
    (row,) = [line for line in table.output.splitlines() if CHANNEL in line]
    cursor_cell = [cell.strip() for cell in row.strip("│").split("│")][-2]
    newest = max(windows.values(), key=datetime.fromisoformat)
    assert cursor_cell == newest.replace("T", " ")
    assert cursor_cell.endswith(("+01:00", "+02:00"))
    unknown = hub.http.get("/v1/channels/nope")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "nope" in unknown.json()["detail"]


# --- the health function and the zoned cursor, by hand -----------------------------------------

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(clock_time: str) -> datetime:
    """A time on NOW's day, "HH:MM:SS" (UTC)."""
    return datetime.fromisoformat(f"2026-12-01T{clock_time}+00:00")


def run(status: str, started: str, finished: str | None) -> SyncRun:
    end = at(finished) if finished else None
    return SyncRun(1, CHANNEL, False, status, at(started), end, RunCounts(), None)


def state(success: str | None) -> ChannelState:
    return ChannelState(CHANNEL, "mall", None, at(success) if success else None, 1, NOW)


HEALTH_CASES = [
    # (record, interval, scheduled, expected (next due, overdue, failures, last error))
    pytest.param(AccountRecord(), 60, None, (NOW, False, 0, None), id="never-ran-due-now"),
    pytest.param(
        AccountRecord(state("11:00:00"), run("ok", "11:00:00", "11:00:05")),
        None,
        None,
        (None, False, 0, None),
        id="not-configured-no-interval",
    ),
    pytest.param(
        AccountRecord(state("11:57:00"), run("ok", "11:56:58", "11:57:00")),
        60,
        None,
        (at("11:58:00"), False, 0, None),
        id="exactly-3-intervals-is-not-overdue",
    ),
    pytest.param(
        AccountRecord(
            state("11:56:59"), run("failed", "11:59:20", "11:59:30"), Failures(2, "HTTP 401", 1)
        ),
        60,
        None,
        (at("12:00:30"), True, 2, "HTTP 401"),
        id="181s-since-success-is-overdue",
    ),
    pytest.param(
        AccountRecord(
            None, run("failed", "11:55:00", "11:55:10"), Failures(5, "timeout", 1), at("11:50:00")
        ),
        60,
        None,
        (at("11:56:10"), True, 5, "timeout"),
        id="never-succeeded-first-run-is-the-baseline",
    ),
    pytest.param(
        AccountRecord(
            None, run("failed", "11:58:00", "11:58:01"), Failures(1, "x", 1), at("11:58")
        ),
        60,
        None,
        (at("11:59:01"), False, 1, "x"),
        id="never-succeeded-recently-started",
    ),
    pytest.param(
        AccountRecord(state("11:59:00"), run("running", "11:59:50", None)),
        60,
        None,
        (at("12:00:00"), False, 0, None),
        id="running-due-from-last-success",
    ),
    pytest.param(
        AccountRecord(state("11:59:00"), run("ok", "11:58:00", "11:59:00")),
        60,
        at("12:05:00"),
        (at("12:05:00"), False, 0, None),
        id="the-schedulers-due-time-wins",
    ),
]


@pytest.mark.parametrize(("record", "interval", "scheduled", "expected"), HEALTH_CASES)
def test_health_by_hand(
    record: AccountRecord,
    interval: int | None,
    scheduled: datetime | None,
    expected: tuple[datetime | None, bool, int, str | None],
) -> None:
    health = sync_health(record, interval, NOW, scheduled)
    found = (health.next_due_at, health.overdue, health.consecutive_failures, health.last_error)
    assert found == expected
    assert health.last_success_at == (record.state.last_success_at if record.state else None)


WINTER, SUMMER = "2026-11-23 14:02:11", "2026-07-01 10:00:00"
FULL = {"phase": "listed", "after_id": 7}
CURSOR_CASES = [
    # MALL: Prague wall time, +01:00 in winter and +02:00 in summer; words and ids stay
    ("mall", {"full": FULL, "windows": {"open": WINTER}},
     {"full": FULL, "windows": {"open": "2026-11-23T14:02:11+01:00"}}),
    ("mall", {"windows": {"shipped": SUMMER}},
     {"windows": {"shipped": "2026-07-01T10:00:00+02:00"}}),
    # CS-Cart: Unix seconds
    ("cscart", {"since": {"listed": 1700000000, "incomplete": 0}},
     {"since": {"listed": "2023-11-14T22:13:20+00:00",
                "incomplete": "1970-01-01T00:00:00+00:00"}}),
    # CDON: UTC without a zone, seven fractional digits (the seventh is always 0)
    ("cdon", {"since": "2026-11-23T14:02:11.1234560"},
     {"since": "2026-11-23T14:02:11.123456+00:00"}),
    # Dexero: already zoned
    ("dexero", {"full": None, "since": "2026-11-23T14:02:11+00:00"},
     {"full": None, "since": "2026-11-23T14:02:11+00:00"}),
]  # fmt: skip


@pytest.mark.parametrize(("channel_type", "cursor", "expected"), CURSOR_CASES)
def test_cursors_are_shown_with_their_zone(
    channel_type: str, cursor: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert zoned_cursor(channel_type, cursor) == expected


def test_failures_since_success_in_the_store(engine: Engine) -> None:
    """Failed and interrupted runs after each account's last ok run, all at once or one."""
    t = START
    with UnitOfWork(engine) as uow:
        repo = SyncRepository(uow.conn)

        def finished(channel: str, status: str, error: str | None = None) -> int:
            run_id = repo.start_run(channel, False, t)
            repo.finish_run(run_id, status, t, RunCounts(), error)
            if status == "ok":
                repo.mark_success(channel, "mall", run_id, t)
            return run_id

        finished("a", "failed", "e0")
        finished("a", "ok")
        finished("a", "failed", "e1")
        last_a = finished("a", "failed", "e2")
        finished("b", "failed", "b1")
        repo.start_run("b", False, t)  # dies without a word ...
        running_b = repo.start_run("b", False, t + timedelta(seconds=5))  # ... found here
        finished("c", "failed", "c1")
        finished("c", "ok")
        every = repo.failures_since_success()
        one = {name: repo.failures_since_success(name) for name in ("a", "b", "c", "d")}
        first = repo.first_started(["b", "d"])
    assert every == {
        "a": Failures(2, "e2", last_a, failed=2),
        "b": Failures(2, "interrupted", running_b - 1, failed=1),
    }
    assert one == {"a": {"a": every["a"]}, "b": {"b": every["b"]}, "c": {}, "d": {}}
    assert first == {"b": START}


def test_an_interrupted_run_counts_but_is_not_told(hub: Hub) -> None:
    """A run that died (found `running` by the next) is a failure in the count, but only
    `failed` runs are told, and a recovery is told only after a told failure."""

    def run_that_dies() -> None:
        with UnitOfWork(hub.engine) as uow:
            SyncRepository(uow.conn).start_run(CHANNEL, False, hub.clock.now())

    run_that_dies()
    assert hub.sync("sandbox").ok  # after an interrupted run only: nothing to recover from
    run_that_dies()
    assert not hub.sync("wrong").ok
    channel = hub.channel()
    assert (channel["consecutive_failures"], "401" in channel["last_error"]) == (2, True)
    (failed,) = hub.delivered("channel.sync_failed")
    assert failed["data"]["consecutive_failures"] == 2
    assert hub.delivered("channel.sync_recovered") == []
    assert hub.sync("sandbox").ok
    assert len(hub.delivered("channel.sync_recovered")) == 1
