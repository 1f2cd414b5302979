"""The sync engine's own bookkeeping, against a small MALL sandbox over real HTTP: the run row,
the channel state, progress reports, acknowledgement and the failure paths.

Written to kill the mutants of services/sync.py that the channel sync tests let survive (see
docs/testing.md, "Mutation testing"); expected values come from the sandbox's own state.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from sqlalchemy import Engine

from orderhub.channels.base import Account
from orderhub.channels.registry import open_connector
from orderhub.services.sync import SyncProgress, SyncResult, sync_account, sync_accounts
from orderhub.store import SyncRepository, SyncRun, UnitOfWork
from sync_support import CHANNEL, Sandbox, hub_orders, mall_sandbox

ORDERS = 30


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with mall_sandbox(orders=ORDERS, seed=21) as sandbox:
        yield sandbox


def unconfirmed(sandbox: Sandbox) -> set[str]:
    return {str(p["id"]) for p in sandbox.state.orders_json() if not p["confirmed"]}


def run_row(engine: Engine, result: SyncResult) -> SyncRun:
    with engine.connect() as conn:
        run = SyncRepository(conn).run(result.run_id)
    assert run is not None
    return run


def timed_sync(engine: Engine, account: Account, **options: Any) -> tuple[SyncResult, float]:
    started = time.monotonic()
    result = sync_account(engine, account, **options)
    return result, time.monotonic() - started


def test_a_run_stores_its_counts_and_marks_the_channel_synced(
    engine: Engine, sandbox: Sandbox
) -> None:
    waiting = unconfirmed(sandbox)
    result, took = timed_sync(engine, sandbox.account(page_size=10))
    assert result.ok and result.status == "ok" and result.error is None
    assert result.channel == CHANNEL
    counts = result.counts
    assert (counts.orders_new, counts.orders_changed, counts.quarantined) == (ORDERS, 0, 0)
    assert len(hub_orders(engine)) == ORDERS
    with UnitOfWork(engine) as uow:  # each new order's events were published with it
        assert all(uow.events.for_order(o.id or 0) for o in hub_orders(engine).values())
    assert waiting and counts.acknowledged == len(waiting) and not unconfirmed(sandbox)
    assert counts.requests == len(sandbox.state.requests) > 0
    assert counts.retries == counts.errors == 0
    assert 0 < counts.seconds <= took + 0.001
    run = run_row(engine, result)
    assert run.status == "ok" and run.error is None and run.finished_at is not None
    assert run.counts == counts and run.full is False and run.channel == CHANNEL
    with engine.connect() as conn:
        state = SyncRepository(conn).state(CHANNEL)
    assert state is not None and state.cursor is not None
    assert state.last_run_id == result.run_id and state.last_success_at == run.finished_at
    assert state.channel_type == "mall"


def test_progress_is_reported_after_every_page_with_the_running_totals(
    engine: Engine, sandbox: Sandbox
) -> None:
    seen: list[tuple[str, int, int | None]] = []
    stored_counts: list[int] = []

    def progress(report: SyncProgress) -> None:
        seen.append((report.channel, report.counts.orders, report.total))
        with engine.connect() as conn:  # the run row is updated with each page, not at the end
            stored_counts.append(SyncRepository(conn).last_runs()[CHANNEL].counts.orders)

    result = sync_account(engine, sandbox.account(page_size=10), progress=progress)
    assert result.ok, result.error
    list_calls = sandbox.state.requests_by_path["GET /v1/orders"]
    assert len(seen) >= ORDERS // 10 and len(seen) <= list_calls
    assert all(channel == CHANNEL for channel, _, _ in seen)
    totals = [orders for _, orders, _ in seen]
    assert totals == sorted(totals) and totals[-1] == result.counts.orders
    assert stored_counts == totals
    # The channel's own count of what is left to read, passed on as the channel says it.
    assert any(total is not None and total > 0 for _, _, total in seen)


def test_confirm_off_leaves_the_channel_queue_alone(engine: Engine, sandbox: Sandbox) -> None:
    waiting = unconfirmed(sandbox)
    result = sync_account(engine, sandbox.account(options={"confirm": False}))
    assert result.ok, result.error
    assert result.counts.acknowledged == 0 and unconfirmed(sandbox) == waiting
    assert not any(r.path.endswith("/confirm") for r in sandbox.state.requests)


def test_a_later_run_acknowledges_what_an_earlier_run_stored_without_confirming(
    engine: Engine, sandbox: Sandbox
) -> None:
    waiting = unconfirmed(sandbox)
    first = sync_account(engine, sandbox.account(page_size=10, options={"confirm": False}))
    assert first.ok, first.error
    again = sync_account(engine, sandbox.account(page_size=10))
    assert again.ok, again.error
    # The incremental pull reads few of them: the queue's other orders are fetched, then
    # acknowledged, and re-reading an unchanged order changes nothing.
    assert waiting and again.counts.acknowledged == len(waiting) and not unconfirmed(sandbox)
    assert again.counts.orders_unchanged >= len(waiting)
    assert again.counts.orders_new == again.counts.orders_changed == 0
    # Those fetches do not move the pull's cursor: a third run still reads only the overlap.
    third = sync_account(engine, sandbox.account(page_size=10))
    assert third.ok and third.counts.orders < ORDERS


def test_a_full_run_ignores_the_saved_cursor(engine: Engine, sandbox: Sandbox) -> None:
    assert sync_account(engine, sandbox.account(page_size=10)).ok
    again = sync_account(engine, sandbox.account(page_size=10), full=True)
    assert again.ok, again.error
    assert again.counts.orders_unchanged >= ORDERS and again.counts.orders_new == 0
    assert run_row(engine, again).full is True


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_channel_ends_the_run_failed_and_keeps_the_last_success(
    engine: Engine, sandbox: Sandbox
) -> None:
    good = sync_account(engine, sandbox.account())
    assert good.ok, good.error
    port = _closed_port()
    dead = sandbox.account(base_url=f"http://127.0.0.1:{port}/v1", max_attempts=2)
    result = sync_account(engine, dead)
    assert not result.ok and result.status == "failed"
    assert result.error is not None and result.error != "None"
    # Each retry is an error, and so is the failure that ended the run.
    assert result.counts.retries >= 1 and result.counts.errors == result.counts.retries + 1
    assert result.counts.orders == 0
    run = run_row(engine, result)
    assert run.status == "failed" and run.error == result.error and run.finished_at
    with engine.connect() as conn:
        state = SyncRepository(conn).state(CHANNEL)
    assert state is not None and state.last_run_id == good.run_id


def test_a_failure_outside_the_channel_is_raised_and_the_run_recorded_failed(
    engine: Engine, sandbox: Sandbox
) -> None:
    def explode(_: SyncProgress) -> None:
        raise RuntimeError("progress display broke")

    with pytest.raises(RuntimeError, match="progress display broke"):
        sync_account(engine, sandbox.account(page_size=10), progress=explode)
    with engine.connect() as conn:
        state = SyncRepository(conn).state(CHANNEL)
        run = SyncRepository(conn).last_runs()[CHANNEL]
    assert state is not None and state.last_success_at is None and state.last_run_id is None
    assert run.status == "failed" and run.finished_at is not None
    assert run.error == "RuntimeError: progress display broke"
    assert run.counts.orders_new == 10  # the first page was stored before the failure


def test_an_account_without_a_client_ends_the_run_failed(engine: Engine) -> None:
    account = Account(name="nowhere", type="nosuchchannel", base_url="http://127.0.0.1:9/")
    result = sync_account(engine, account)
    assert result.status == "failed" and not result.ok
    assert result.error is not None and "nosuchchannel" in result.error
    assert result.counts.errors == 1 and result.counts.requests == 0
    run = run_row(engine, result)
    assert (run.status, run.error, run.channel) == ("failed", result.error, "nowhere")


def test_a_connector_passed_in_is_left_open_for_its_owner(engine: Engine, sandbox: Sandbox) -> None:
    account = sandbox.account(page_size=10)
    with closing(open_connector(account)) as connector:
        assert sync_account(engine, account, connector=connector).ok
        page = connector.fetch([next(iter(hub_orders(engine)))])  # still usable
        assert len(page.orders) == 1


def test_one_account_failing_does_not_stop_the_others(engine: Engine, sandbox: Sandbox) -> None:
    broken = Account(name="nowhere", type="nosuchchannel", base_url="http://127.0.0.1:9/")
    results = sync_accounts(engine, [broken, sandbox.account()], full=True)
    assert [(r.channel, r.status) for r in results] == [("nowhere", "failed"), (CHANNEL, "ok")]
    assert results[1].counts.orders_new == ORDERS and run_row(engine, results[1]).full is True
