"""Scheduled syncs: every configured account synced at its `sync_interval` by whichever worker
claims it when it is due (the leases live in store/schedule.py; docs/sync.md, "Scheduled syncs").

A `Scheduler` is one worker's share: `tick()` claims the most overdue due account nobody holds,
syncs it while renewing its lease, and releases it with its next due time: an interval after
the run started when it succeeded, a backoff (doubling from `retry_base`, never longer than the
interval) after the failure when it failed. Any number of schedulers, in any number of
processes, share one database; one account is synced by one of them at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from orderhub.channels.base import Account
from orderhub.domain import Conflict
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services.outbox import worker_name
from orderhub.services.sync import SyncProgress, SyncResult, sync_account
from orderhub.services.sync_health import Watched, notify_overdue
from orderhub.store import Claim, ScheduleRepository, SyncRepository, UnitOfWork

log = logging.getLogger(__name__)

#: How long a worker holds an account it syncs (ORDERHUB_SYNC_LEASE_SECONDS); renewed every
#: third of it while the sync runs.
LEASE_SECONDS = 120.0
#: The first retry after a failed run comes this many seconds later, then twice as late each
#: time, never later than the account's interval.
RETRY_BASE = 10.0

SyncFunction = Callable[..., SyncResult]
#: How often a running scheduler looks for accounts that became overdue.
_OVERDUE_LOOK = timedelta(seconds=10)


class Schedulable(Watched, Protocol):
    """What the scheduler needs of an account: `ChannelConfig` (orderhub.toml) is one."""

    def missing_credentials(self) -> list[str]: ...

    def account(self) -> Account: ...


@dataclass(frozen=True, slots=True)
class FixedAccount:
    """An account whose credentials are already at hand (the demo's), synced every interval."""

    fixed: Account
    sync_interval: float

    @property
    def name(self) -> str:
        return self.fixed.name

    @property
    def type(self) -> str:
        return self.fixed.type

    def missing_credentials(self) -> list[str]:
        return []

    def account(self) -> Account:
        return self.fixed


@dataclass(frozen=True, slots=True)
class Outcome:
    """One scheduled run: `ok`, `failed`, or `lost` (the lease ran out mid-run and another
    worker has the account now; the run stopped and the schedule is that worker's)."""

    channel: str
    status: str
    failures: int
    next_due_at: datetime | None
    error: str | None = None
    result: SyncResult | None = None


class LeaseLost(Exception):
    """The account's lease ran out and another worker took it: stop this run."""


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        configs: Sequence[Schedulable],
        *,
        clock: Clock = SYSTEM_CLOCK,
        owner: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        retry_base: float = RETRY_BASE,
        sync: SyncFunction = sync_account,
        report: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.owner = (owner or worker_name())[:64]
        self.lease_seconds = lease_seconds
        self.retry_base = retry_base
        self.sync = sync
        self.report = report
        #: The accounts this scheduler syncs, by name.
        self.jobs: dict[str, Schedulable] = {}
        #: Accounts it does not sync, and why (shown on start).
        self.skipped: dict[str, str] = {}
        for config in configs:
            missing = config.missing_credentials()
            if missing:
                self.skipped[config.name] = f"set the environment variable {missing[0]}"
            else:
                self.jobs[config.name] = config
        self._scheduled = False
        self._overdue_checked_at: datetime | None = None

    def intervals(self) -> dict[str, float]:
        return {name: job.sync_interval for name, job in self.jobs.items()}

    def schedule(self) -> None:
        """Put this scheduler's accounts in the schedule: one new there is first due an
        interval after its last successful sync (now if it never had one); one due later
        than an interval from now (its interval was shortened) is brought forward."""
        now = self.clock.now()
        with UnitOfWork(self.engine) as uow:
            states = SyncRepository(uow.conn).states()
            repo = ScheduleRepository(uow.conn)
            first_due = {}
            for name, job in self.jobs.items():
                state = states.get(name)
                last = state.last_success_at if state is not None else None
                first_due[name] = now if last is None else last + _seconds(job.sync_interval)
            repo.add(first_due, now)
            for name, job in self.jobs.items():
                repo.due_no_later_than(name, now + _seconds(job.sync_interval), now)
        self._scheduled = True

    def tick(self) -> Outcome | None:
        """Sync the most overdue due account nobody holds; None when there is none."""
        if not self._scheduled:
            self.schedule()
        now, names = self.clock.now(), list(self.jobs)
        with self.engine.connect() as conn:  # no write lock while nothing is due
            if not ScheduleRepository(conn).any_claimable(names, now):
                return None
        with UnitOfWork(self.engine) as uow:
            claim = ScheduleRepository(uow.conn).claim(
                names, self.owner, at=now, lease_for=self.lease_seconds
            )
        if claim is None:
            return None
        outcome = self._run(claim)
        if self.report is not None:
            self.report(outcome)
        return outcome

    def run_due(self) -> list[Outcome]:
        """Sync what is due now, each account at most once, then return (`--once`)."""
        outcomes = []
        for _ in range(len(self.jobs)):
            outcome = self.tick()
            if outcome is None:
                break
            outcomes.append(outcome)
        self.watch_overdue()
        return outcomes

    def run_forever(self, stop: threading.Event, poll: float = 1.0) -> None:
        """Tick until `stop` is set (a sync under way is finished first); between rounds,
        tell subscribers of accounts that became overdue."""
        while not stop.is_set():
            try:
                outcome = self.tick()
                if self._overdue_check_due():
                    self.watch_overdue()
            except Exception:  # a broken database connection must not end the worker
                log.exception("scheduler round failed; retrying")
                outcome = None
            if outcome is None:
                stop.wait(poll)

    def _overdue_check_due(self) -> bool:
        """Overdue is measured in intervals (10 s at least): one look per 10 s is enough,
        instead of reading every account's runs at each poll."""
        now = self.clock.now()
        if self._overdue_checked_at is not None and now - self._overdue_checked_at < _OVERDUE_LOOK:
            return False
        self._overdue_checked_at = now
        return True

    def watch_overdue(self) -> list[str]:
        """Send `channel.overdue` for this scheduler's accounts that became overdue (once per
        episode, whichever worker sees it first); the accounts notified now."""
        watched = list(self.jobs.values())
        notified = notify_overdue(self.engine, watched, self.clock)
        for name in notified:
            log.warning("%s is overdue: no successful sync for 3 intervals", name)
        return notified

    def next_due(self, claim: Claim, interval: float, failures: int, now: datetime) -> datetime:
        """An interval after the run started when it succeeded (now, if it took longer); after
        the n-th failure in a row, `retry_base * 2**(n-1)` seconds from now, capped at the
        interval."""
        if failures == 0:
            return max(now, claim.started_at + _seconds(interval))
        backoff = self.retry_base * 2 ** min(failures - 1, 40)
        return now + _seconds(min(interval, backoff))

    def _run(self, claim: Claim) -> Outcome:
        job = self.jobs[claim.channel]
        error, result = None, None
        with _Lease(self, claim) as lease:
            try:
                result = self.sync(
                    self.engine, job.account(), clock=self.clock, progress=lease.progress
                )
            except LeaseLost as exc:
                log.warning("stopped the sync of %s: %s", claim.channel, exc)
                return Outcome(claim.channel, "lost", claim.consecutive_failures, None, str(exc))
            except Exception as exc:  # one account's failure must not end the worker
                log.exception("scheduled sync of %s failed", claim.channel)
                error = f"{type(exc).__name__}: {exc}"
        ok = result is not None and result.ok
        if result is not None:
            error = result.error
        return self._release(claim, job.sync_interval, ok, error, result)

    def _release(
        self,
        claim: Claim,
        interval: float,
        ok: bool,
        error: str | None,
        result: SyncResult | None,
    ) -> Outcome:
        failures = 0 if ok else claim.consecutive_failures + 1
        now = self.clock.now()
        due = self.next_due(claim, interval, failures, now)
        with UnitOfWork(self.engine) as uow:
            kept = ScheduleRepository(uow.conn).release(
                claim.channel, self.owner, next_due_at=due, failures=failures, at=now
            )
        if not kept:
            log.warning("the lease of %s ran out during its sync", claim.channel)
            return Outcome(claim.channel, "lost", failures, None, error, result)
        return Outcome(claim.channel, "ok" if ok else "failed", failures, due, error, result)


@dataclass(frozen=True, slots=True)
class SyncRequested:
    """What "sync now" did: the account is due at `due_at` for the next worker round, or a
    worker is syncing it right now (`running`: nothing was changed)."""

    channel: str
    due_at: datetime
    running: bool


class NotScheduled(Conflict):
    def __init__(self, channel: str) -> None:
        super().__init__(
            f"no worker schedules {channel!r}: add the account to orderhub.toml (docs/sync.md)"
        )


def sync_now(
    engine: Engine, channel: str, configured: Collection[str], clock: Clock = SYSTEM_CLOCK
) -> SyncRequested:
    """Make an account due now: the worker that schedules syncs (`orderhub worker`, `orderhub
    run`) claims it at its next poll, within about a second; the call returns at once. The
    account is `configured` (orderhub.toml) or already scheduled (the demo's accounts); one a
    worker holds is left alone (its run is under way)."""
    now = clock.now()
    with UnitOfWork(engine) as uow:
        repo = ScheduleRepository(uow.conn)
        if channel in configured:
            repo.add({channel: now}, now)
        entry = repo.get(channel)
        if entry is None:
            raise NotScheduled(channel)
        if entry.lease_owner is not None and entry.lease_until and entry.lease_until > now:
            return SyncRequested(channel, entry.next_due_at, running=True)
        repo.due_no_later_than(channel, now, now)
    return SyncRequested(channel, min(entry.next_due_at, now), running=False)


def scheduled_accounts(engine: Engine) -> set[str]:
    """The accounts in the schedule (some worker's scheduler has taken them on)."""
    with engine.connect() as conn:
        return set(ScheduleRepository(conn).due_times())


class _Lease:
    """A claimed account's lease, renewed once a third of it has passed while the sync runs:
    between pages (the progress callback) and from a thread (for one slow request)."""

    def __init__(self, scheduler: Scheduler, claim: Claim) -> None:
        self.scheduler = scheduler
        self.claim = claim
        self.renew_every = scheduler.lease_seconds / 3
        self.renewed = scheduler.clock.monotonic()
        self.lost = threading.Event()
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> _Lease:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done.set()
        self.thread.join()

    def progress(self, _event: SyncProgress) -> None:
        """After each stored page: renew when due; stop the run if the lease is gone."""
        self.keep()
        if self.lost.is_set():
            raise LeaseLost(f"another worker holds {self.claim.channel} now")

    def keep(self) -> None:
        clock = self.scheduler.clock
        with self.lock:
            if self.lost.is_set() or clock.monotonic() - self.renewed < self.renew_every:
                return
            with UnitOfWork(self.scheduler.engine) as uow:
                kept = ScheduleRepository(uow.conn).renew(
                    self.claim.channel,
                    self.scheduler.owner,
                    at=clock.now(),
                    lease_for=self.scheduler.lease_seconds,
                )
            self.renewed = clock.monotonic()
            if not kept:
                self.lost.set()

    def _beat(self) -> None:
        while not self.done.wait(self.renew_every):
            try:
                self.keep()
            except Exception:  # the next beat (or page) tries again
                log.exception("renewing the lease of %s failed", self.claim.channel)


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
