"""The sync engine against the Dexero sandbox over real HTTP, on SQLite and PostgreSQL: exact
orders (JSON and XML), incremental second sync, order life, faults, OAuth tokens, the
quarantine, push-back refused, hostile XML, and SIGKILL at random points (slow)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from helpers import serve_in_thread
from oracles import dexero as oracle
from oracles.order_view import Expected, assert_orders_match
from orderhub.channels.base import Account, Fatal, OrderChange, Unsupported
from orderhub.channels.dexero.client import DexeroClient
from orderhub.channels.dexero.connector import DexeroConnector
from orderhub.channels.dexero.sandbox import PREFIX, DexeroSandbox, create_app
from orderhub.domain import Order, Status
from orderhub.services.sync import sync_account
from orderhub.store import SyncRepository, UnitOfWork
from sync_support import (
    assert_no_request_before_retry_after,
    served,
    stored_orders,
    sync_killed_after,
)

CHANNEL = "dexero-dk"
TOKEN_PATH = "POST /oauth/token.action"
LIST_PATH = f"GET {PREFIX}/orders/all.json"


@dataclass
class Sandbox:
    app: Any
    base_url: str

    @property
    def state(self) -> DexeroSandbox:
        sandbox: DexeroSandbox = self.app.state.sandbox
        return sandbox

    def account(self, fmt: str = "json", **overrides: Any) -> Account:
        values: dict[str, Any] = {
            "name": CHANNEL,
            "type": "dexero",
            "base_url": self.base_url + PREFIX,
            "credentials": {"client_id": "sandbox", "client_secret": "sandbox"},
            "timeout": 2.0,
            "options": {"format": fmt},
        }
        return Account(**(values | overrides))


@contextmanager
def dexero_sandbox(**options: Any) -> Iterator[Sandbox]:
    with served(create_app, **options) as (app, base_url):
        yield Sandbox(app, base_url)


def hub_orders(engine: Engine) -> dict[str, Order]:
    return stored_orders(engine, CHANNEL)


def assert_same_orders(engine: Engine, sandbox: Sandbox) -> None:
    """The hub holds exactly the sandbox's orders, each field as the hand-written oracle reads
    the sandbox's raw Dexero payload (never the hub's own decoder)."""
    assert_orders_match(hub_orders(engine), truth(sandbox))


def truth(sandbox: Sandbox) -> dict[str, Expected]:
    return {str(p["id"]): oracle.expected(p) for p in sandbox.state.orders_json()}


# --- pulling --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_first_sync_holds_exactly_the_sandbox_orders(engine: Engine, fmt: str) -> None:
    with dexero_sandbox(orders=400, seed=3) as sandbox:
        result = sync_account(engine, sandbox.account(fmt, page_size=50))
        assert result.ok, result.error
        assert_same_orders(engine, sandbox)
        payloads = sandbox.state.orders_json()
        assert any(p["is_test"] for p in payloads) and any(p["order_form"] for p in payloads)
        assert {p["status"] for p in payloads} >= {"pending", "treated", "completed", "cancelled"}
        assert result.counts.orders_new == 400 and result.counts.quarantined == 0
        paths = sandbox.state.requests_by_path
        list_path = LIST_PATH.replace(".json", f".{fmt}")
        # 1 watermark probe + 8 id-window pages + 1 time window; one token; no detail call.
        # A request retried (a timeout on a loaded machine) reaches the sandbox again.
        pages = 1 + 400 / 50 + 1 + 1
        assert paths[list_path] == result.counts.requests - 1 <= pages + result.counts.retries
        assert paths[TOKEN_PATH] == 1


def test_second_sync_is_incremental(engine: Engine) -> None:
    with dexero_sandbox(orders=300, seed=5) as sandbox:
        account = sandbox.account()
        assert sync_account(engine, account).ok
        before = sandbox.state.request_count
        again = sync_account(engine, account)
        assert again.ok, again.error
        assert again.counts.orders_new == again.counts.orders_changed == 0
        # A token and one page of the time window (read from the watermark minus the overlap).
        assert sandbox.state.request_count - before == again.counts.requests == 2
        with engine.connect() as conn:
            state = SyncRepository(conn).state(CHANNEL)
        assert state is not None and state.cursor is not None
        assert state.cursor["full"] is None and state.cursor["since"]
        assert_same_orders(engine, sandbox)


def test_order_life_arrives_at_the_next_sync_with_history(engine: Engine) -> None:
    with dexero_sandbox(orders=300, seed=6) as sandbox:
        account = sandbox.account(page_size=20)
        assert sync_account(engine, account).ok
        first = hub_orders(engine)
        changed = sandbox.state.step_life(40)
        result = sync_account(engine, account)
        assert result.ok, result.error
        assert_same_orders(engine, sandbox)
        new = [i for i in changed if str(i) not in first]
        assert result.counts.orders_new == len(new) == 40
        assert result.counts.orders_changed == len(changed) - len(new) > 0
        hub = hub_orders(engine)
        moved = [hub[str(i)] for i in changed if str(i) in first]
        assert all(o.channel_status != first[o.external_id].channel_status for o in moved)
        with UnitOfWork(engine) as uow:
            histories = [uow.events.history(o.id or 0) for o in moved]
        assert all(histories), "each order changed since the first sync has history entries"


def test_changes_during_the_full_pull_are_not_lost(engine: Engine) -> None:
    """Orders changed after the id window has passed them are read by the time window."""
    with dexero_sandbox(orders=200, seed=7) as sandbox:
        connector = DexeroConnector(sandbox.account(page_size=50))
        try:
            pages = connector.pull(None)
            first = next(pages)
            sandbox.state.step_life(10)  # changes orders the first page already gave
            rest = list(pages)
        finally:
            connector.close()
        seen: dict[str, Order] = {}
        for page in [first, *rest]:
            seen |= {o.external_id: o for o in page.orders}
        assert_orders_match(seen, truth(sandbox))


def test_full_resync_rereads_everything_and_changes_nothing(engine: Engine) -> None:
    with dexero_sandbox(orders=200, seed=8) as sandbox:
        account = sandbox.account(page_size=40)
        assert sync_account(engine, account).ok
        result = sync_account(engine, account, full=True)
        assert result.ok, result.error
        assert result.counts.orders_unchanged >= 200 and result.counts.orders_new == 0
        assert_same_orders(engine, sandbox)


def test_faults_still_end_with_exactly_the_sandbox_orders(engine: Engine) -> None:
    faults = "429=0.3,500=0.1,timeout=0.02,truncate=0.02,reset=0.02,seed=11,delay=3"
    with dexero_sandbox(orders=150, seed=9, faults=faults) as sandbox:
        account = sandbox.account(page_size=25, timeout=1.0, max_attempts=30)
        result = sync_account(engine, account)
        assert result.ok, result.error
        sandbox.state.step_life(5)
        again = sync_account(engine, replace(account, options={"format": "xml"}))
        assert again.ok, again.error
        assert_same_orders(engine, sandbox)
        assert result.counts.retries > 0 and again.counts.retries >= 0
        kinds = {record.fault for record in sandbox.state.fault_log}
        assert kinds >= {"429", "500"}
        assert_no_request_before_retry_after(sandbox.state.requests)


def test_an_undecodable_order_is_quarantined_and_the_rest_stored(engine: Engine) -> None:
    with dexero_sandbox(orders=60, seed=10) as sandbox:
        bad = sandbox.state.orders_json()[7] | {"status": "lost-in-space"}
        sandbox.state.store.save(bad)
        result = sync_account(engine, sandbox.account(page_size=25))
        assert result.ok, result.error
        assert result.counts.quarantined == 1 and result.counts.orders_new == 59
        with engine.connect() as conn:
            records, total = SyncRepository(conn).quarantined(CHANNEL, 0, 10)
        assert total == 1 and records[0].external_id == str(bad["id"])
        assert "lost-in-space" in records[0].reason
        assert str(bad["id"]) not in hub_orders(engine) and len(hub_orders(engine)) == 59


# --- OAuth tokens ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_is_cached_renewed_before_expiry_and_once_after_a_401() -> None:
    with dexero_sandbox(orders=20, seed=11, token_ttl=120) as sandbox:
        clock = FakeClock()
        client = DexeroClient.for_account(sandbox.account(), clock=clock)
        try:
            for _ in range(3):
                client.list_orders("pending", [("count", "5")])
            assert sandbox.state.tokens.issued == 1  # cached
            clock.now += 120 - 30  # within the renewal margin of the expiry
            client.list_orders("pending", [])
            assert sandbox.state.tokens.issued == 2
            sandbox.state.tokens.revoke_all()  # the server forgets it early: one 401
            assert client.get_order(sandbox.state.orders_json()[0]["id"])["id"]
            assert sandbox.state.tokens.issued == 3
        finally:
            client.close()


def test_a_token_refused_twice_stops_the_run(engine: Engine) -> None:
    with dexero_sandbox(orders=20, seed=12, token_ttl=0) as sandbox:  # every token dead
        result = sync_account(engine, sandbox.account())
        assert not result.ok and result.error is not None and "HTTP 401" in result.error
        assert sandbox.state.tokens.issued == 2  # the first token and one renewal, no more


def test_wrong_client_secret_is_a_clear_failure(engine: Engine) -> None:
    with dexero_sandbox(orders=5, seed=13) as sandbox:
        credentials = {"client_id": "sandbox", "client_secret": "wrong"}
        result = sync_account(engine, sandbox.account(credentials=credentials))
        assert not result.ok and result.error is not None
        assert "refused the client credentials" in result.error
        assert hub_orders(engine) == {}


# --- push-back and hostile answers ----------------------------------------------------------


def test_push_back_is_unsupported_and_dexero_refuses_writes() -> None:
    with dexero_sandbox(orders=5, seed=14) as sandbox:
        connector = DexeroConnector(sandbox.account())
        first = sandbox.state.orders_json()[0]
        order_id = str(first["id"])
        before = sandbox.state.request_count
        try:
            with pytest.raises(Unsupported, match="push_status: unsupported"):
                connector.push(OrderChange(order_id, status=Status.SHIPPED))
        finally:
            connector.close()
        assert sandbox.state.request_count == before  # nothing sent: there is no call to send
        token = httpx.post(
            sandbox.base_url + "/oauth/token.action",
            data={"grant_type": "client_credentials"},
            auth=("sandbox", "sandbox"),
        ).json()["access_token"]
        answer = httpx.put(
            f"{sandbox.base_url}{PREFIX}/orders/{order_id}.json",
            headers={"Authorization": f"Bearer {token}"},
            json={"status": "completed"},
        )
        assert answer.status_code == 405
        assert answer.json()["error"]["code"] == "method_not_allowed"
        assert sandbox.state.orders_json()[0] == first


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<response><totalResults>1</totalResults><startIndex>0</startIndex><itemsPerPage>20</itemsPerPage>
<pageCount>1</pageCount><orders><order><id>1</id><customer_comment>&xxe;</customer_comment>
</order></orders></response>"""


def test_hostile_xml_from_the_channel_is_refused(engine: Engine) -> None:
    async def token(request: Request) -> Response:
        return Response(b'{"access_token": "t", "expires_in": 3600}', 200)

    async def orders(request: Request) -> Response:
        return Response(XXE, 200, media_type="application/xml")

    hostile = Starlette(
        routes=[
            Route("/oauth/token.action", token, methods=["POST"]),
            Route(PREFIX + "/orders/{name}", orders),
        ]
    )
    with serve_in_thread(hostile) as base:
        sandbox = Sandbox(hostile, base)
        result = sync_account(engine, sandbox.account("xml"))
        assert not result.ok and result.error is not None
        assert "refused XML with a DTD" in result.error
        assert hub_orders(engine) == {}
        client = DexeroClient.for_account(sandbox.account("xml"))
        try:
            with pytest.raises(Fatal, match="DTD"):
                client.list_orders("all", [])
        finally:
            client.close()


# --- crash safety ---------------------------------------------------------------------------

KILLS = 12


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261124)
    with dexero_sandbox(orders=2000, seed=15) as sandbox:
        env = _environment(sandbox, database_url, tmp_path)
        killed = 0
        while killed < KILLS:
            if killed == KILLS // 2:
                sandbox.state.step_life(20)  # changes while the runs go on
            if _run_until(env, sandbox, after_requests=rng.randint(1, 12)):
                break
            killed += 1
            _assert_cursor_covers_what_is_stored(engine, sandbox)
        assert killed >= 10, f"only {killed} kills landed before the sync finished"
        finished = subprocess.run(_command(), env=env, capture_output=True, timeout=120)
        assert finished.returncode == 0, finished.stdout.decode() + finished.stderr.decode()
        assert_same_orders(engine, sandbox)
        with engine.connect() as conn:
            state = SyncRepository(conn).state(CHANNEL)
            last = SyncRepository(conn).last_runs()[CHANNEL]
        assert state is not None and state.cursor is not None and state.cursor["full"] is None
        assert last.status == "ok"


def _run_until(env: dict[str, str], sandbox: Sandbox, after_requests: int) -> bool:
    """Start a sync and SIGKILL it after `after_requests` more sandbox requests; True when it
    finished first."""
    return sync_killed_after(_command(), env, sandbox.state, after_requests)


def _assert_cursor_covers_what_is_stored(engine: Engine, sandbox: Sandbox) -> None:
    """The committed cursor never runs ahead of the committed orders."""
    with engine.connect() as conn:
        state = SyncRepository(conn).state(CHANNEL)
    if state is None or state.cursor is None:
        return
    full, since = state.cursor["full"], state.cursor["since"]
    stored_ids = hub_orders(engine).keys()
    for payload in sandbox.state.orders_json():
        if full is not None:
            passed = payload["id"] <= full["after_id"]
        else:  # the time window: every order older than its watermark was read
            updated = oracle.expected(payload)["updated_at"]
            passed = since is not None and updated < datetime.fromisoformat(since)
        if passed:
            assert str(payload["id"]) in stored_ids, f"cursor passed {payload['id']}, not stored"


def _environment(sandbox: Sandbox, database_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "orderhub.toml"
    config.write_text(
        "[[channels]]\n"
        f'name = "{CHANNEL}"\ntype = "dexero"\nbase_url = "{sandbox.base_url}{PREFIX}"\n'
        'client_id_env = "DEXERO_CLIENT_ID"\nclient_secret_env = "DEXERO_SECRET"\n'
        "page_size = 20\n"
    )
    return os.environ | {
        "ORDERHUB_DATABASE_URL": database_url,
        "ORDERHUB_CONFIG_FILE": str(config),
        "DEXERO_CLIENT_ID": "sandbox",
        "DEXERO_SECRET": "sandbox",
    }


def _command() -> list[str]:
    return [sys.executable, "-c", "from orderhub.cli import main; main()", "sync"]
