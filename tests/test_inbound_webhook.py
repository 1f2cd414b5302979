"""The inbound channel webhook: the MALL sandbox POSTs changed ids to the hub over real HTTP,
and the hub fetches and stores those orders at once, without a sync run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from helpers import free_port, serve_in_thread
from orderhub.api.app import create_app
from orderhub.services.inbound import TOPIC
from orderhub.services.sync import sync_account
from orderhub.store import SyncRepository, UnitOfWork
from sync_support import CHANNEL, Sandbox, assert_holds_these, comparable, hub_orders, mall_sandbox

SECRET = "s3cret-for-tests"


@dataclass
class Hub:
    url: str
    sandbox: Sandbox

    def webhook(self, channel: str = CHANNEL) -> str:
        return f"{self.url}/v1/channels/{channel}/webhook"


@pytest.fixture
def hub(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/v1/channels/{CHANNEL}/webhook?secret={SECRET}"
    monkeypatch.setenv("TEST_MALL_CLIENT_ID", "sandbox")
    monkeypatch.setenv("TEST_MALL_WEBHOOK_SECRET", SECRET)
    with mall_sandbox(orders=80, seed=21, webhook_url=hook) as sandbox:
        config = tmp_path / "orderhub.toml"
        config.write_text(
            f'[[channels]]\nname = "{CHANNEL}"\ntype = "mall"\n'
            f'base_url = "{sandbox.base_url}/v1"\nclient_id_env = "TEST_MALL_CLIENT_ID"\n'
            'webhook_secret_env = "TEST_MALL_WEBHOOK_SECRET"\nmax_attempts = 2\n',
            encoding="utf-8",
        )
        app = create_app(engine)
        app.state.config_file = str(config)
        with serve_in_thread(app, port) as url:
            yield Hub(url, sandbox)


def fetches_settled(engine: Engine, expected: int) -> bool:
    with UnitOfWork(engine) as uow:
        rows = uow.outbox.list(TOPIC)
    return len(rows) >= expected and all(r.status != "pending" for r in rows)


def wait_for(condition: object, what: str) -> None:
    """Poll (the fetch runs in the hub's background task); no timing is asserted."""
    deadline = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_the_hub_fetches_announced_orders_without_a_sync(engine: Engine, hub: Hub) -> None:
    sandbox = hub.sandbox
    assert sync_account(engine, sandbox.account()).ok
    before = hub_orders(engine)
    with UnitOfWork(engine) as uow:
        runs = SyncRepository(uow.conn).last_runs()[CHANNEL].id
    changed = sandbox.state.step_life(25)
    assert changed, "the sandbox's order life changed nothing: the test would prove nothing"
    assert sandbox.state.flush_webhooks() == changed  # the hub answered 2xx
    wait_for(lambda: fetches_settled(engine, 1), "the fetch")
    with UnitOfWork(engine) as uow:
        (row,) = uow.outbox.list(TOPIC)
        assert SyncRepository(uow.conn).last_runs()[CHANNEL].id == runs  # no sync ran
    assert row.status == "delivered", row.last_error
    hub_now = hub_orders(engine)
    assert_holds_these(engine, sandbox, map(str, changed))  # the MALL oracle, not the decoder
    assert hub_now.keys() - before.keys() == {str(i) for i in changed} - before.keys()
    moved = [str(i) for i in changed if str(i) in before]
    assert moved
    with UnitOfWork(engine) as uow:
        for external_id in moved:
            assert comparable(hub_now[external_id]) != comparable(before[external_id])
            history = uow.events.history(hub_now[external_id].id or 0)
            assert history, external_id
            assert {h["source"] for h in history} == {"channel"}, external_id
    # Stored, then confirmed back to MALL, as a sync would.
    confirmed = {p["id"]: p["confirmed"] for p in sandbox.state.orders_json()}
    assert [i for i in changed if confirmed[i] is not True] == []


@pytest.mark.parametrize(
    ("path", "params", "body", "status"),
    [
        (CHANNEL, {"secret": "wrong"}, b"[1]", 401),
        (CHANNEL, {}, b"[1]", 401),
        ("nobody", {"secret": SECRET}, b"[1]", 404),
        (CHANNEL, {"secret": SECRET}, b'{"id": 1}', 400),
        (CHANNEL, {"secret": SECRET}, b"[1, {}]", 400),
    ],
)
def test_bad_webhooks_are_refused_and_queue_nothing(
    engine: Engine, hub: Hub, path: str, params: dict[str, str], body: bytes, status: int
) -> None:
    # A bound on waiting (the first request to the hub on a loaded machine), not a measure.
    answer = httpx.post(hub.webhook(path), params=params, content=body, timeout=30)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    if status == 400:
        assert answer.json()["errors"][0]["parameter"] == "body"
    with UnitOfWork(engine) as uow:
        assert uow.outbox.list(TOPIC) == []


def test_the_secret_may_come_in_a_header(engine: Engine, hub: Hub) -> None:
    some = str(hub.sandbox.state.orders_json()[0]["id"])
    answer = httpx.post(
        hub.webhook(),
        content=f"[{some}]",
        headers={"x-orderhub-webhook-secret": SECRET},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == 1
    wait_for(lambda: fetches_settled(engine, 1), "the fetch")
    with UnitOfWork(engine) as uow:
        (row,) = uow.outbox.list(TOPIC)
    assert row.status == "delivered", row.last_error
    assert list(hub_orders(engine)) == [some]
    assert_holds_these(engine, hub.sandbox, [some])
