"""The sync engine and push-back against the CDON sandbox over real HTTP, on SQLite and
PostgreSQL: exact orders, incremental syncs, order life, faults, quarantine, SIGKILL."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from oracles import cdon as oracle
from oracles.order_view import Expected, assert_orders_match
from orderhub.channels.base import Account, Fatal, OrderChange, Unsupported
from orderhub.channels.cdon.connector import CdonConnector
from orderhub.channels.cdon.sandbox import create_app
from orderhub.domain import Order, Status
from orderhub.services.sync import SyncProgress, sync_account
from orderhub.store import SyncRepository, UnitOfWork
from sync_support import (
    assert_no_request_before_retry_after,
    served,
    stored_orders,
    sync_killed_after,
)

CHANNEL = "cdon-se"
FAULTS = "429=0.3,500=0.1,timeout=0.02,truncate=0.02,reset=0.02,seed=11,delay=3"


@dataclass
class Sandbox:
    app: Any
    base_url: str

    @property
    def state(self) -> Any:
        return self.app.state.sandbox

    def account(self, **overrides: Any) -> Account:
        values: dict[str, Any] = {
            "name": CHANNEL,
            "type": "cdon",
            "base_url": self.base_url + "/api",
            "credentials": {"api_key": "sandbox"},
            "timeout": 2.0,
        }
        return Account(**(values | overrides))


@contextmanager
def cdon_sandbox(**options: Any) -> Iterator[Sandbox]:
    with served(create_app, **options) as (app, base_url):
        yield Sandbox(app, base_url)


def hub_orders(engine: Engine) -> dict[str, Order]:
    return stored_orders(engine, CHANNEL)


def assert_same_orders(engine: Engine, sandbox: Sandbox) -> None:
    """The hub holds exactly the sandbox's orders, each field as the hand-written oracle reads
    the sandbox's raw CDON payload (never the hub's own decoder)."""
    assert_orders_match(hub_orders(engine), truth(sandbox))


def truth(sandbox: Sandbox) -> dict[str, Expected]:
    return {
        str(p["OrderDetails"]["OrderId"]): oracle.expected(p) for p in sandbox.state.orders_json()
    }


def list_calls(sandbox: Sandbox) -> int:
    return int(sandbox.state.requests_by_path["GET /api/order/"])


# --- pulling --------------------------------------------------------------------------------


def test_first_sync_holds_exactly_the_sandbox_orders(engine: Engine) -> None:
    with cdon_sandbox(orders=400, seed=3) as sandbox:
        seen: list[SyncProgress] = []
        result = sync_account(engine, sandbox.account(page_size=40), progress=seen.append)
        assert result.ok, result.error
        assert_same_orders(engine, sandbox)
        assert result.counts.orders_new == 400 and result.counts.quarantined == 0
        # Each page after the first starts with the last order of the one before (its ties).
        assert seen and seen[-1].counts.orders_unchanged == len(seen) - 1
        statuses = {o.status for o in hub_orders(engine).values()}
        assert statuses >= {Status.OPEN, Status.PARTIALLY_SHIPPED, Status.SHIPPED, Status.CANCELLED}
        # Pages of 40, each restarting at its last timestamp: a page or two more than 400 / 40.
        assert 10 <= list_calls(sandbox) <= 12 and result.counts.requests == list_calls(sandbox)
        with engine.connect() as conn:
            state = SyncRepository(conn).state(CHANNEL)
        latest = max(oracle.utc(p["OrderDetails"]["LastModifiedDateUtc"])
                     for p in sandbox.state.orders_json())  # fmt: skip
        assert state is not None and state.cursor is not None
        assert oracle.utc(state.cursor["since"]) == latest


def test_second_sync_is_incremental(engine: Engine) -> None:
    with cdon_sandbox(orders=300, seed=5) as sandbox:
        account = sandbox.account()
        assert sync_account(engine, account).ok
        before = sandbox.state.requests
        again = sync_account(engine, account)
        assert again.ok, again.error
        made = sandbox.state.requests[len(before) :]
        assert again.counts.orders_new == again.counts.orders_changed == 0
        # One list call from the watermark minus the overlap: only the last minute re-read.
        assert len(made) == again.counts.requests == 1
        assert again.counts.orders_unchanged < 10
        assert_same_orders(engine, sandbox)


def test_order_life_arrives_at_the_next_sync(engine: Engine) -> None:
    with cdon_sandbox(orders=300, seed=6) as sandbox:
        account = sandbox.account(page_size=20)
        assert sync_account(engine, account).ok
        first = hub_orders(engine)
        changed = sandbox.state.step_life(40)
        calls = list_calls(sandbox)
        result = sync_account(engine, account)
        assert result.ok, result.error
        assert_same_orders(engine, sandbox)
        assert result.counts.orders_new + result.counts.orders_changed == len(changed)
        assert result.counts.orders_new == 40  # one arrival per step
        assert list_calls(sandbox) - calls <= len(changed) // 19 + 2  # only what changed
        hub = hub_orders(engine)
        moved = [hub[str(i)] for i in changed if str(i) in first]
        assert moved and any(o.status is not first[o.external_id].status for o in moved)
        with UnitOfWork(engine) as uow:
            histories = [uow.events.history(o.id or 0) for o in moved]
        assert all(histories), "each order changed since the first sync has history entries"


def test_orders_changing_during_a_pull_shift_no_order_out_of_it(engine: Engine) -> None:
    """Changed orders move to the end of the listing mid-pull; none that stayed is skipped."""
    with cdon_sandbox(orders=400, seed=12) as sandbox:
        before = {str(p["OrderDetails"]["OrderId"]) for p in sandbox.state.orders_json()}

        def meanwhile(_: SyncProgress) -> None:
            sandbox.state.step_life(3)

        result = sync_account(engine, sandbox.account(page_size=25), progress=meanwhile)
        assert result.ok, result.error
        assert before <= hub_orders(engine).keys()
        assert sync_account(engine, sandbox.account(page_size=25)).ok
        assert_same_orders(engine, sandbox)


def test_full_resync_rereads_everything_and_changes_nothing(engine: Engine) -> None:
    with cdon_sandbox(orders=200, seed=7) as sandbox:
        account = sandbox.account(page_size=40)
        assert sync_account(engine, account).ok
        result = sync_account(engine, account, full=True)
        assert result.ok, result.error
        assert result.counts.orders_new == result.counts.orders_changed == 0
        assert result.counts.orders_unchanged >= 200
        assert_same_orders(engine, sandbox)


def test_an_undecodable_order_is_quarantined_and_the_sync_goes_on(engine: Engine) -> None:
    with cdon_sandbox(orders=120, seed=13) as sandbox:
        bad = sandbox.state.store.get(sandbox.state.orders_json()[7]["OrderDetails"]["OrderId"])
        bad["OrderDetails"]["State"] = "Teleported"
        sandbox.state.store.save(bad)
        result = sync_account(engine, sandbox.account(page_size=50))
        assert result.ok, result.error
        assert result.counts.quarantined == 1 and result.counts.orders_new == 119
        with engine.connect() as conn:
            held, _ = SyncRepository(conn).quarantined(CHANNEL, 0, 10)
        assert [r.external_id for r in held] == [str(bad["OrderDetails"]["OrderId"])]
        assert "State" in held[0].reason


def test_faults_still_end_with_exactly_the_sandbox_orders(engine: Engine) -> None:
    with cdon_sandbox(orders=150, seed=8, faults=FAULTS) as sandbox:
        account = sandbox.account(page_size=15, timeout=1.0, max_attempts=30)
        result = sync_account(engine, account)
        assert result.ok, result.error
        assert_same_orders(engine, sandbox)
        assert result.counts.retries > 0
        faults = {record.fault for record in sandbox.state.fault_log}
        assert {"429", "500", "reset"} <= faults, faults
        assert_no_request_before_retry_after(sandbox.state.requests)


def test_a_country_account_sees_only_its_country(engine: Engine) -> None:
    with cdon_sandbox(orders=50, seed=14) as sandbox:
        result = sync_account(engine, sandbox.account(name="cdon-no"))
        assert result.ok, result.error
        assert result.counts.orders == 0  # the sandbox sells in Sweden only: CDON answers 404
        assert sandbox.state.request_count == 1


# --- push-back ------------------------------------------------------------------------------


def _connector(sandbox: Sandbox) -> closing[CdonConnector]:
    return closing(CdonConnector(sandbox.account()))


def _an_order(sandbox: Sandbox, state: str, **rows: Any) -> dict[str, Any]:
    """An order in `state` (and, when `rows` says so, with every row matching it)."""
    for payload in sandbox.state.orders_json():
        details = payload["OrderDetails"]
        every = all(all(r[k] == v for k, v in rows.items()) for r in details["OrderRows"])
        if details["State"] == state and every:
            return dict(details)
    raise AssertionError(f"no {state} order in the sandbox")


def _posts(sandbox: Sandbox) -> int:
    return sum(n for path, n in sandbox.state.requests_by_path.items() if path.startswith("POST"))


def test_push_shipped_delivers_every_open_row_and_the_sync_sees_it(engine: Engine) -> None:
    with cdon_sandbox(orders=80, seed=15) as sandbox:
        assert sync_account(engine, sandbox.account()).ok
        details = _an_order(sandbox, "Pending", DeliveredQuantity=0)
        external_id = str(details["OrderId"])
        with _connector(sandbox) as connector:
            connector.push(OrderChange(external_id, Status.SHIPPED, tracking_number="PN123SE"))
            assert sandbox.state.requests_by_path["POST /api/orderdelivery"] == 1
            posts = _posts(sandbox)
            connector.push(OrderChange(external_id, Status.SHIPPED, tracking_number="PN123SE"))
            assert _posts(sandbox) == posts  # already delivered: a repeated push sends nothing
        after = sandbox.state.order(details["OrderId"])
        assert after["OrderDetails"]["State"] == "Invoiced" and after["Invoices"]
        assert {r["PackageId"] for r in after["OrderDetails"]["OrderRows"]} == {"PN123SE"}
        assert sync_account(engine, sandbox.account()).ok
        hub = hub_orders(engine)[external_id]
        assert hub.status is Status.SHIPPED and hub.tracking_number == "PN123SE"
        assert_same_orders(engine, sandbox)


def test_push_refused_by_cdon_raises_fatal_with_its_message() -> None:
    with cdon_sandbox(orders=80, seed=15) as sandbox, _connector(sandbox) as connector:
        cancelled = str(_an_order(sandbox, "Cancelled")["OrderId"])
        with pytest.raises(Fatal, match=r"row \d+ is Cancelled.*ErrorCode 1006"):
            connector.push(OrderChange(cancelled, Status.SHIPPED, tracking_number="X1"))
        pending = str(_an_order(sandbox, "Pending", DeliveredQuantity=0)["OrderId"])
        with pytest.raises(Fatal, match=r"only delivered quantities can be returned.*1006"):
            connector.push(OrderChange(pending, Status.RETURNED))
        shipped = str(_an_order(sandbox, "Invoiced", CancelledQuantity=0)["OrderId"])
        with pytest.raises(Fatal, match=r"is Invoiced: only Pending rows can be cancelled"):
            connector.push(OrderChange(shipped, Status.CANCELLED))
        assert sandbox.state.order(int(shipped))["OrderDetails"]["State"] == "Invoiced"


def test_push_cancelled_and_returned() -> None:
    with cdon_sandbox(orders=80, seed=15) as sandbox, _connector(sandbox) as connector:
        pending = _an_order(sandbox, "Pending", DeliveredQuantity=0)
        connector.push(OrderChange(str(pending["OrderId"]), Status.CANCELLED))
        after = sandbox.state.order(pending["OrderId"])["OrderDetails"]
        assert after["State"] == "Cancelled"
        assert after["PaymentStatus"] in ("Refunded", "NotApplicable")
        shipped = _an_order(sandbox, "Invoiced", CancelledQuantity=0)
        connector.push(OrderChange(str(shipped["OrderId"]), Status.RETURNED))
        returned = sandbox.state.order(shipped["OrderId"])
        assert returned["OrderDetails"]["State"] == "Returned"
        assert returned["Invoices"][-1]["TotalCreditNoteAmount"] == shipped["TotalAmount"]


def test_push_has_no_call_for_other_changes() -> None:
    with cdon_sandbox(orders=10, seed=15) as sandbox, _connector(sandbox) as connector:
        some = str(sandbox.state.orders_json()[0]["OrderDetails"]["OrderId"])
        with pytest.raises(Unsupported):
            connector.push(OrderChange(some, Status.DELIVERED))
        with pytest.raises(Unsupported):
            connector.push(OrderChange(some, None, tracking_number="T", tracking_url="https://t"))
        with pytest.raises(Unsupported):
            connector.webhook_ids(b"[]", {})
        assert sandbox.state.request_count == 0


# --- SIGKILL --------------------------------------------------------------------------------

KILLS = 12


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261124)
    with cdon_sandbox(orders=1500, seed=9) as sandbox:
        env = _environment(sandbox, database_url, tmp_path)
        killed = 0
        while killed < KILLS:
            if _run_until(env, sandbox, after_requests=rng.randint(1, 12)):
                break  # the sync finished before the kill point: nothing left to interrupt
            killed += 1
            _assert_cursor_covers_what_is_stored(engine, sandbox)
        assert killed >= 10, f"only {killed} kills landed before the sync finished"
        finished = subprocess.run(_command(), env=env, capture_output=True, timeout=120)
        assert finished.returncode == 0, finished.stdout.decode() + finished.stderr.decode()
        assert_same_orders(engine, sandbox)
        with engine.connect() as conn:
            last = SyncRepository(conn).last_runs()[CHANNEL]
        assert last.status == "ok"
        _assert_cursor_covers_what_is_stored(engine, sandbox)


def _run_until(env: dict[str, str], sandbox: Sandbox, after_requests: int) -> bool:
    """Start a sync and SIGKILL it after `after_requests` more sandbox requests; True when it
    finished first."""
    return sync_killed_after(_command(), env, sandbox.state, after_requests)


def _assert_cursor_covers_what_is_stored(engine: Engine, sandbox: Sandbox) -> None:
    """Every order modified before the committed watermark is stored: the cursor never runs
    ahead of the committed orders."""
    with engine.connect() as conn:
        state = SyncRepository(conn).state(CHANNEL)
    if state is None or not state.cursor or not state.cursor.get("since"):
        return
    since = oracle.utc(state.cursor["since"])
    stored_ids = hub_orders(engine).keys()
    for payload in sandbox.state.orders_json():
        details = payload["OrderDetails"]
        if oracle.utc(details["LastModifiedDateUtc"]) < since:
            assert str(details["OrderId"]) in stored_ids, f"cursor passed {details['OrderId']}"


def _environment(sandbox: Sandbox, database_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "orderhub.toml"
    config.write_text(
        "[[channels]]\n"
        f'name = "{CHANNEL}"\ntype = "cdon"\nbase_url = "{sandbox.base_url}/api"\n'
        'api_key_env = "CDON_SE_API_KEY"\npage_size = 10\n'
    )
    return os.environ | {
        "ORDERHUB_DATABASE_URL": database_url,
        "ORDERHUB_CONFIG_FILE": str(config),
        "CDON_SE_API_KEY": "sandbox",
    }


def _command() -> list[str]:
    return [sys.executable, "-c", "from orderhub.cli import main; main()", "sync"]
