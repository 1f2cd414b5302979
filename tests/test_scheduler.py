"""Scheduled syncs (services/scheduler.py, store/schedule.py) on a manual clock: due times,
claims and leases, takeover after a lease runs out, retry backoff, the most overdue first, and
several schedulers sharing accounts; real MALL sandboxes over HTTP, SQLite and PostgreSQL.

Expected schedules come from docs/sync.md ("Scheduled syncs"), written out here by hand."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from orderhub.channels.base import Account
from orderhub.domain import ManualClock
from orderhub.services.channels import ChannelConfig
from orderhub.services.scheduler import FixedAccount, Outcome, Scheduler
from orderhub.services.sync import SyncProgress, SyncResult, sync_account
from orderhub.services.worker import run_once
from orderhub.store import ScheduleEntry, ScheduleRepository, UnitOfWork
from orderhub.store.sync import sync_runs
from sync_support import CHANNEL, Sandbox, mall_sandbox

LEASE = 60.0
INTERVAL = 300.0
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with mall_sandbox(orders=12, seed=31) as sandbox:
        yield sandbox


@pytest.fixture
def second() -> Iterator[Sandbox]:
    with mall_sandbox(orders=8, seed=32) as sandbox:
        yield sandbox


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def job(sandbox: Sandbox, interval: float = INTERVAL, **account: Any) -> FixedAccount:
    return FixedAccount(sandbox.account(**account), interval)


def scheduler(
    engine: Engine, jobs: list[FixedAccount], clock: ManualClock, **opts: Any
) -> Scheduler:
    return Scheduler(engine, jobs, clock=clock, lease_seconds=LEASE, **opts)


def runs(engine: Engine, channel: str = CHANNEL) -> list[Any]:
    with engine.connect() as conn:
        stmt = select(sync_runs).where(sync_runs.c.channel == channel).order_by(sync_runs.c.id)
        return list(conn.execute(stmt))


def due_times(engine: Engine) -> dict[str, datetime]:
    with engine.connect() as conn:
        return ScheduleRepository(conn).due_times()


def failures(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return ScheduleRepository(conn).failures()


def entry(engine: Engine, channel: str = CHANNEL) -> ScheduleEntry:
    with engine.connect() as conn:
        found = ScheduleRepository(conn).get(channel)
    assert found is not None
    return found


def claim(engine: Engine, owner: str, when: datetime, channels: list[str]) -> str | None:
    with UnitOfWork(engine) as uow:
        taken = ScheduleRepository(uow.conn).claim(channels, owner, at=when, lease_for=LEASE)
    return None if taken is None else taken.channel


def claimable(engine: Engine, when: datetime, channels: list[str]) -> bool:
    with engine.connect() as conn:
        return ScheduleRepository(conn).any_claimable(channels, when)


# --- the repository: claims, leases, release --------------------------------------------------


def test_a_claim_takes_a_due_account_once_until_its_lease_runs_out(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        assert ScheduleRepository(uow.conn).add({"a": at(0), "b": at(5)}, at(0)) == 2
        assert ScheduleRepository(uow.conn).add({"a": at(99)}, at(0)) == 0  # kept as it was
    names = ["a", "b"]
    assert claimable(engine, at(0), names) and not claimable(engine, at(0), [])
    assert claim(engine, "w1", at(0), names) == "a"
    assert not claimable(engine, at(0), names)
    assert claim(engine, "w2", at(0), names) is None  # a is held, b is not due yet
    assert claim(engine, "w2", at(5), names) == "b"
    assert claim(engine, "w3", at(LEASE), names) is None  # a's lease ends at 60: not before
    assert claim(engine, "w3", at(LEASE + 1), names) == "a"  # w1 died: its lease ran out
    with UnitOfWork(engine) as uow:
        repo = ScheduleRepository(uow.conn)
        assert not repo.renew("a", "w1", at=at(LEASE + 1), lease_for=LEASE)
        assert not repo.release("a", "w1", next_due_at=at(500), failures=0, at=at(LEASE + 1))
        assert repo.release("a", "w3", next_due_at=at(500), failures=2, at=at(LEASE + 2))
    a = entry(engine, "a")
    assert (a.lease_owner, a.lease_until, a.next_due_at) == (None, None, at(500))
    assert (a.consecutive_failures, a.last_started_at) == (2, at(LEASE + 1))
    assert due_times(engine) == {"a": at(500), "b": at(5)}
    assert claim(engine, "w1", at(499), ["a"]) is None
    assert claim(engine, "w1", at(500), ["a"]) == "a"


def test_the_most_overdue_account_is_claimed_first(engine: Engine) -> None:
    due = {"a": at(-10), "b": at(-30), "c": at(-20), "d": at(1)}
    with UnitOfWork(engine) as uow:
        ScheduleRepository(uow.conn).add(due, at(-40))
    taken = [claim(engine, f"w{n}", at(0), list(due)) for n in range(4)]
    assert taken == ["b", "c", "a", None]


# --- the scheduler: due times, intervals, backoff ---------------------------------------------


def test_an_account_is_synced_when_due_and_again_an_interval_after_it_started(
    engine: Engine, sandbox: Sandbox, clock: ManualClock
) -> None:
    worker = scheduler(engine, [job(sandbox)], clock)
    first = worker.tick()
    assert first is not None and first.status == "ok" and first.result is not None
    assert first.result.counts.orders_new == 12
    assert first.next_due_at == at(INTERVAL) and first.failures == 0
    requests = sandbox.state.request_count
    assert worker.tick() is None
    clock.advance(INTERVAL - 1)
    assert worker.tick() is None
    assert sandbox.state.request_count == requests  # nothing asked of the channel meanwhile
    clock.advance(1)
    second = worker.tick()
    assert second is not None and second.status == "ok"
    assert second.next_due_at == at(2 * INTERVAL)
    assert [run.status for run in runs(engine)] == ["ok", "ok"]
    assert [run.started_at for run in runs(engine)] == [at(0), at(INTERVAL)]


def test_an_account_synced_before_is_first_due_an_interval_after_its_last_success(
    engine: Engine, sandbox: Sandbox, clock: ManualClock
) -> None:
    assert sync_account(engine, sandbox.account(), clock=clock).ok  # `orderhub sync` at T0
    clock.advance(100)
    worker = scheduler(engine, [job(sandbox)], clock)
    assert worker.tick() is None
    assert due_times(engine) == {CHANNEL: at(INTERVAL)}
    clock.set(at(INTERVAL))
    assert worker.tick() is not None


def test_a_shorter_interval_brings_the_next_sync_forward(
    engine: Engine, sandbox: Sandbox, clock: ManualClock
) -> None:
    assert scheduler(engine, [job(sandbox, 3600)], clock).tick() is not None
    assert due_times(engine) == {CHANNEL: at(3600)}
    clock.advance(10)
    worker = scheduler(engine, [job(sandbox, 60)], clock)
    assert worker.tick() is None
    assert due_times(engine) == {CHANNEL: at(70)}


def test_failed_runs_are_retried_sooner_doubling_but_never_later_than_the_interval(
    engine: Engine, sandbox: Sandbox, clock: ManualClock
) -> None:
    refused = job(sandbox, 100, credentials={"client_id": "wrong"})
    worker = scheduler(engine, [refused], clock, retry_base=10)
    delays = []
    for count in range(1, 7):
        outcome = worker.tick()
        assert outcome is not None and outcome.status == "failed", outcome
        assert outcome.failures == count and "401" in (outcome.error or "")
        assert outcome.next_due_at is not None
        delays.append((outcome.next_due_at - clock.now()).total_seconds())
        clock.set(outcome.next_due_at - timedelta(seconds=1))
        assert worker.tick() is None
        clock.advance(1)
    assert delays == [10, 20, 40, 80, 100, 100]
    assert failures(engine) == {CHANNEL: 6}
    fixed = scheduler(engine, [job(sandbox, 100)], clock, retry_base=10).tick()
    assert fixed is not None and fixed.status == "ok"
    assert fixed.failures == 0 and fixed.next_due_at == clock.now() + timedelta(seconds=100)
    assert failures(engine) == {CHANNEL: 0}
    assert [run.status for run in runs(engine)] == ["failed"] * 6 + ["ok"]


def test_accounts_missing_credentials_are_skipped_with_the_reason(
    engine: Engine, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCHED_TEST_UNSET_ID", raising=False)
    config = ChannelConfig.model_validate(
        {"name": "mall-xx", "type": "mall", "base_url": "http://127.0.0.1:9/v1",
         "client_id_env": "SCHED_TEST_UNSET_ID"}
    )  # fmt: skip
    worker = Scheduler(engine, [config], clock=clock)
    assert worker.skipped == {"mall-xx": "set the environment variable SCHED_TEST_UNSET_ID"}
    assert worker.intervals() == {}
    assert worker.tick() is None
    assert due_times(engine) == {}


def test_accounts_removed_from_the_configuration_are_not_synced(
    engine: Engine, sandbox: Sandbox, clock: ManualClock
) -> None:
    with UnitOfWork(engine) as uow:
        ScheduleRepository(uow.conn).add({"mall-gone": at(-3600)}, at(-3600))
    worker = scheduler(engine, [job(sandbox)], clock)
    synced = worker.run_due()
    assert [o.channel for o in synced] == [CHANNEL]
    clock.advance(INTERVAL)
    assert [o.channel for o in worker.run_due()] == [CHANNEL]
    assert runs(engine, "mall-gone") == []
    gone = entry(engine, "mall-gone")
    assert gone.lease_owner is None and gone.last_started_at is None


def test_once_runs_each_due_account_once(
    engine: Engine, sandbox: Sandbox, second: Sandbox, clock: ManualClock
) -> None:
    worker = scheduler(engine, [job(sandbox), job(second, name="mall-sk")], clock)
    done = run_once(engine, None, worker, clock=clock)
    assert sorted(o.channel for o in done.synced) == [CHANNEL, "mall-sk"]
    assert done.delivered == 0
    assert run_once(engine, None, worker, clock=clock).synced == []


# --- leases while a sync runs -----------------------------------------------------------------


def test_the_lease_is_renewed_while_a_long_sync_runs(
    engine: Engine, sandbox: Sandbox, clock: ManualClock
) -> None:
    """Each page takes 0.6 of a lease on the clock; another worker can never take over."""
    others: list[str | None] = []

    def slow_sync(engine: Engine, account: Account, **options: Any) -> SyncResult:
        progress = options.pop("progress")

        def page(event: SyncProgress) -> None:
            clock.advance(0.6 * LEASE)
            progress(event)
            others.append(claim(engine, "other", clock.now(), [CHANNEL]))

        return sync_account(engine, account, progress=page, **options)

    outcome = scheduler(engine, [job(sandbox, page_size=2)], clock, sync=slow_sync).tick()
    assert outcome is not None and outcome.status == "ok"
    assert len(others) >= 4 and others == [None] * len(others)  # 2.4+ leases long, still held
    assert entry(engine).lease_owner is None


def test_a_sync_whose_lease_was_taken_over_stops(
    engine: Engine, sandbox: Sandbox, clock: ManualClock
) -> None:
    def stalled_sync(engine: Engine, account: Account, **options: Any) -> SyncResult:
        progress = options.pop("progress")

        def page(event: SyncProgress) -> None:
            clock.advance(LEASE + 1)  # this worker stalled: its lease ran out
            assert claim(engine, "other", clock.now(), [CHANNEL]) == CHANNEL
            progress(event)

        return sync_account(engine, account, progress=page, **options)

    outcome = scheduler(engine, [job(sandbox, page_size=2)], clock, sync=stalled_sync).tick()
    assert outcome is not None and outcome.status == "lost" and outcome.next_due_at is None
    (run,) = runs(engine)
    assert run.status == "failed" and "LeaseLost" in run.error
    assert run.orders_new == 2  # stopped after its first page
    assert entry(engine).lease_owner == "other"


def test_three_schedulers_never_hold_one_account_at_once(
    engine: Engine, sandbox: Sandbox, second: Sandbox, clock: ManualClock
) -> None:
    jobs = [job(sandbox, page_size=3), job(second, name="mall-sk", page_size=3)]
    lock = threading.Lock()
    running: Counter[str] = Counter()
    peak: Counter[str] = Counter()

    def watched_sync(engine: Engine, account: Account, **options: Any) -> SyncResult:
        with lock:
            running[account.name] += 1
            peak[account.name] = max(peak[account.name], running[account.name])
        try:
            return sync_account(engine, account, **options)
        finally:
            with lock:
                running[account.name] -= 1

    workers = [scheduler(engine, jobs, clock, owner=f"w{n}", sync=watched_sync) for n in range(3)]
    for _ in range(3):
        outcomes = run_together(workers)
        assert sorted(o.channel for o in outcomes) == [CHANNEL, "mall-sk"]
        assert all(o.status == "ok" for o in outcomes)
        clock.advance(INTERVAL)
    assert peak == {CHANNEL: 1, "mall-sk": 1}
    for channel in (CHANNEL, "mall-sk"):  # a second run of one account would interrupt the first
        assert [run.status for run in runs(engine, channel)] == ["ok"] * 3


def run_together(workers: list[Scheduler]) -> list[Outcome]:
    """Every scheduler ticks until nothing is due, all starting at once; every outcome."""
    start = threading.Barrier(len(workers))
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def run(worker: Scheduler) -> None:
        try:
            start.wait(timeout=30)
            while (outcome := worker.tick()) is not None:
                outcomes.append(outcome)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return outcomes
