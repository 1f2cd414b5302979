"""The acceptance run of scheduled syncs (issue 11, point 1): three real `orderhub worker
--only-sync` processes share two accounts with `sync_interval = 10`. Each account syncs about
every 10 s, never two runs of one account at once (the run records), on SQLite and PostgreSQL;
meanwhile the worker holding the other account mid-sync (its sandbox made slow) is SIGKILLed,
and another worker takes that account over once the lease (5 s here) has run out.

This test waits on real time because real processes run the schedule; the rules themselves are
tested on a manual clock in tests/test_scheduler.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.types import Receive, Scope, Send

from helpers import serve_in_thread
from orderhub.channels.mall.sandbox import create_app
from orderhub.store.schedule import sync_schedule
from orderhub.store.sync import sync_runs
from process_support import Fleet, cmdline, fleet_of, kill, wait, wait_running

INTERVAL = 10
#: Short, so the takeover comes soon; renewed every third of it, so a busy worker keeps it.
LEASE = 5.0
ACCOUNTS = ("mall-cz", "mall-sk")
#: How late a run may start after it is due: the workers poll every 0.2 s; the rest is a busy
#: machine's margin (2 cores shared with other tests).
LATE = timedelta(seconds=4)


class Slowable:
    """ASGI middleware holding every API request `delay` seconds (0: none)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.delay = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_sandbox/"):
            await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)


@dataclass
class Channel:
    name: str
    app: Any
    gate: Slowable
    base_url: str

    @property
    def requests(self) -> int:
        return int(self.app.state.sandbox.request_count)


@contextmanager
def sandboxes() -> Iterator[dict[str, Channel]]:
    with ExitStack() as stack:
        channels = {}
        for seed, name in enumerate(ACCOUNTS, start=51):
            app = create_app(orders=30, seed=seed)
            stack.callback(app.state.sandbox.close)
            gate = Slowable(app)
            base_url = stack.enter_context(serve_in_thread(gate))
            channels[name] = Channel(name, app, gate, base_url)
        yield channels


def configure(fleet: Fleet, channels: dict[str, Channel]) -> None:
    blocks = [
        f'[[channels]]\nname = "{c.name}"\ntype = "mall"\nbase_url = "{c.base_url}/v1"\n'
        f'client_id_env = "SCHED_CLIENT_ID"\nsync_interval = {INTERVAL}\npage_size = 10\n'
        for c in channels.values()
    ]
    Path(fleet.env["ORDERHUB_CONFIG_FILE"]).write_text("\n".join(blocks))
    fleet.env |= {"SCHED_CLIENT_ID": "sandbox", "ORDERHUB_SYNC_LEASE_SECONDS": str(LEASE)}


def runs(engine: Engine, channel: str) -> list[Any]:
    with engine.connect() as conn:
        stmt = select(sync_runs).where(sync_runs.c.channel == channel).order_by(sync_runs.c.id)
        return list(conn.execute(stmt))


def count_ok(engine: Engine, channel: str) -> int:
    return sum(run.status == "ok" for run in runs(engine, channel))


def lease(engine: Engine, channel: str) -> tuple[str | None, datetime | None]:
    with engine.connect() as conn:
        stmt = select(sync_schedule.c.lease_owner, sync_schedule.c.lease_until)
        row = conn.execute(stmt.where(sync_schedule.c.channel == channel)).one()
    return row.lease_owner, row.lease_until


@pytest.mark.slow
def test_three_workers_share_two_accounts_and_replace_a_killed_one(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with sandboxes() as channels, fleet_of(database_url, tmp_path) as fleet:
        configure(fleet, channels)
        workers = {
            fleet.start(f"worker-{n}", "worker", "--only-sync", "--poll", "0.2").pid: f"worker-{n}"
            for n in (1, 2, 3)
        }
        for name in workers.values():
            wait_running(fleet, name, fleet.started[name])
        # Both accounts sync; mall-cz turns slow for its second run, mall-sk runs on.
        wait(lambda: count_ok(engine, "mall-cz") >= 1, "a run of mall-cz", timeout=40)
        slow = channels["mall-cz"]
        slow.gate.delay = 1.0
        killed_run, until, killed_at = kill_the_holder_mid_sync(engine, fleet, workers, slow)
        slow.gate.delay = 0.0
        wait(lambda: count_ok(engine, "mall-sk") >= 3, "three runs of mall-sk", timeout=40)
        wait(lambda: any(r.id > killed_run and r.status == "ok" for r in runs(engine, "mall-cz")),
             "another worker to sync mall-cz", timeout=40)  # fmt: skip
        for name in workers.values():
            process = fleet.started[name]
            if process.poll() is None:
                process.terminate()
                assert process.wait(timeout=30) == 0, fleet.log(name)
                assert "stopped" in fleet.log(name)
        fleet.assert_logs_clean()
    check_the_schedule(runs(engine, "mall-sk"), killed=None)
    cz = runs(engine, "mall-cz")
    check_the_schedule(cz, killed=(killed_run, until))
    taken_over = next(r for r in cz if r.id > killed_run)
    assert until <= taken_over.started_at <= killed_at + timedelta(seconds=LEASE) + LATE


def kill_the_holder_mid_sync(
    engine: Engine, fleet: Fleet, workers: dict[int, str], channel: Channel
) -> tuple[int, datetime, datetime]:
    """SIGKILL the worker syncing `channel` once its run is under way at the (slow) sandbox:
    the run's id, the lease the dead worker held then, and when it was killed."""
    before = max(r.id for r in runs(engine, channel.name))
    requests = channel.requests

    def under_way() -> bool:
        latest = runs(engine, channel.name)[-1]
        return latest.id > before and latest.status == "running" and channel.requests > requests

    wait(under_way, f"a slow run of {channel.name}", timeout=40)
    owner, _ = lease(engine, channel.name)
    assert owner is not None
    pid = int(owner.split(":")[1])
    assert pid in workers, (owner, workers)
    assert "orderhub" in cmdline(pid)
    run_id = runs(engine, channel.name)[-1].id
    kill(pid)
    killed_at = datetime.now(UTC)
    assert fleet.started[workers[pid]].wait(timeout=30) < 0
    owner_after, until = lease(engine, channel.name)
    assert until is not None and owner_after == owner  # no one else had it while it ran
    return run_id, until, killed_at


def check_the_schedule(runs_of: list[Any], killed: tuple[int, datetime] | None) -> None:
    """Runs one after another, each started about an interval after the one before (right away
    after a killed one's lease), none overlapping: the killed one is `interrupted`, every other
    `ok`."""
    assert len(runs_of) >= 3, runs_of
    killed_id = None if killed is None else killed[0]
    statuses = [run.status for run in runs_of]
    assert statuses == ["interrupted" if r.id == killed_id else "ok" for r in runs_of]
    for before, after in pairwise(runs_of):
        if before.id == killed_id:
            assert killed is not None and after.started_at >= killed[1]
            continue
        assert after.started_at >= before.finished_at, (before, after)  # never two at once
        gap = after.started_at - before.started_at
        assert timedelta(seconds=INTERVAL - 0.1) <= gap <= timedelta(seconds=INTERVAL) + LATE
