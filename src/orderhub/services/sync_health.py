"""Sync health: is each channel account syncing, and who is told when it is not.

`sync_health` is a pure function of an account's state, runs, interval and the time: when it
last succeeded, when it is next due, how many runs failed in a row (and the last error), and
whether it is `overdue` (no successful sync for more than 3 intervals). The sync engine calls
`announce_run` when a run finishes (in the run's own transaction) to send
`channel.sync_failed` (failed runs 1, 11, 21, ... in a row) and `channel.sync_recovered` (the
first ok run after failed ones); the scheduler calls `notify_overdue` every tick to send
`channel.overdue` once per overdue episode. See docs/sync.md, "Sync health".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.domain.events import ChannelEventType
from orderhub.domain.jsonfmt import dumps, fields_document
from orderhub.store import ScheduleRepository, UnitOfWork
from orderhub.store.sync import ChannelState, Failures, SyncRepository, SyncRun
from orderhub.store.webhook_fanout import enqueue_channel_event

#: No successful sync for more than this many intervals: the account is overdue.
OVERDUE_INTERVALS = 3
#: `channel.sync_failed` goes out at failures 1, 1 + EVERY, 1 + 2 * EVERY, ... in a row.
FAILED_EVERY = 10


class Watched(Protocol):
    """An account whose health is watched: `ChannelConfig` (orderhub.toml) is one."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def sync_interval(self) -> float: ...


@dataclass(frozen=True, slots=True)
class SyncHealth:
    last_success_at: datetime | None
    #: When the next scheduled run is due (None: the account has no interval, i.e. it is
    #: known only from earlier syncs, not configured).
    next_due_at: datetime | None
    overdue: bool
    #: Failed or interrupted runs since the last ok run.
    consecutive_failures: int
    #: The latest of those runs' error; None when the last finished run was ok.
    last_error: str | None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """What the store holds about one account's syncing, as `sync_health` reads it."""

    state: ChannelState | None = None
    last_run: SyncRun | None = None
    failures: Failures | None = None
    #: When its first recorded run started (the baseline of an account never synced ok).
    first_started_at: datetime | None = None


def sync_health(
    record: AccountRecord,
    interval: float | None,
    now: datetime,
    scheduled_at: datetime | None = None,
) -> SyncHealth:
    """The account's health at `now`; `scheduled_at` (the scheduler's own due time) wins
    over the one computed from the last run."""
    success = record.state.last_success_at if record.state else None
    failures = record.failures.count if record.failures else 0
    return SyncHealth(
        last_success_at=success,
        next_due_at=scheduled_at or _next_due(record, interval, now),
        overdue=_overdue(success or record.first_started_at, interval, now),
        consecutive_failures=failures,
        last_error=record.failures.last_error if record.failures else None,
    )


def _next_due(record: AccountRecord, interval: float | None, now: datetime) -> datetime | None:
    if interval is None:
        return None
    run = record.last_run
    last = run.finished_at if run and run.finished_at else None
    last = last or (record.state.last_success_at if record.state else None)
    return now if last is None else last + timedelta(seconds=interval)


def _overdue(since: datetime | None, interval: float | None, now: datetime) -> bool:
    """More than OVERDUE_INTERVALS intervals since `since` (an account that never ran, or
    has no interval, has no baseline: not overdue)."""
    if since is None or interval is None:
        return False
    return now - since > timedelta(seconds=OVERDUE_INTERVALS * interval)


def account_records(conn: Connection, channel: str | None = None) -> dict[str, AccountRecord]:
    """Every account's record (or only `channel`'s)."""
    repo = SyncRepository(conn)
    if channel is None:
        states, runs = repo.states(), repo.last_runs()
        names = states.keys() | runs.keys()
    else:  # a run's finish: indexed look-ups of one account
        state, run = repo.state(channel), repo.last_run(channel)
        states = {channel: state} if state else {}
        runs = {channel: run} if run else {}
        names = {channel}
    failures = repo.failures_since_success(channel)
    # Only an account that never succeeded measures "overdue" from its first run.
    unproven = [n for n in names if n not in states or states[n].last_success_at is None]
    first = repo.first_started(sorted(unproven))
    return {
        name: AccountRecord(states.get(name), runs.get(name), failures.get(name), first.get(name))
        for name in names
    }


# --- the events ------------------------------------------------------------------------------


def announce_run(
    conn: Connection,
    account: tuple[str, str],
    interval: float | None,
    run: tuple[int, str],
    failed_before: int,
    now: datetime,
) -> str | None:
    """After `run` (id, status) of `account` (name, type) finished, following
    `failed_before` failed runs in a row (interrupted ones not counted): enqueue
    `channel.sync_failed` or `channel.sync_recovered` when due, in the caller's transaction.
    Returns the type sent."""
    name = account[0]
    run_id, status = run
    record = account_records(conn, name)[name]
    if status == "ok":
        if failed_before == 0:
            return None
        kind = ChannelEventType.SYNC_RECOVERED
    else:
        if record.failures is None or record.failures.failed % FAILED_EVERY != 1:
            return None
        kind = ChannelEventType.SYNC_FAILED
    health = sync_health(record, interval, now)
    _send(conn, kind, account, f"run:{run_id}", health, record.last_run, now)
    return str(kind)


def notify_overdue(
    engine: Engine, configs: Sequence[Watched], clock: Clock = SYSTEM_CLOCK
) -> list[str]:
    """Enqueue `channel.overdue` for each configured account that is overdue, once per
    episode (the event is keyed on the account and its last success, so a call every tick
    sends it once). Returns the accounts for which a delivery was enqueued now."""
    now = clock.now()
    with engine.connect() as conn:  # a plain read: no write lock unless one is overdue
        records = account_records(conn)
        due = ScheduleRepository(conn).due_times()
    overdue = []
    for config in configs:
        record = records.get(config.name, AccountRecord())
        health = sync_health(record, config.sync_interval, now, due.get(config.name))
        if health.overdue:
            overdue.append((config, record, health))
    if not overdue:
        return []
    notified = []
    with UnitOfWork(engine) as uow:
        for config, record, health in overdue:
            success = health.last_success_at
            episode = "since:" + (success.isoformat() if success else "never")
            account = (config.name, config.type)
            kind = ChannelEventType.OVERDUE
            if _send(uow.conn, kind, account, episode, health, record.last_run, now):
                notified.append(config.name)
    return notified


def _send(
    conn: Connection,
    kind: ChannelEventType,
    account: tuple[str, str],
    key: str,
    health: SyncHealth,
    last_run: SyncRun | None,
    now: datetime,
) -> int:
    """Enqueue the event for its subscribers; its id is derived from (type, account, key),
    so the same happening is never enqueued twice for one subscription."""
    name, channel_type = account
    digest = hashlib.sha256(f"{kind}\n{name}\n{key}".encode()).hexdigest()
    event_id = "evt_" + digest[:24]
    data = {"channel": name, "channel_type": channel_type, **fields_document(health)}
    data["last_run"] = run_document(last_run) if last_run else None
    envelope = {"id": event_id, "type": str(kind), "timestamp": now, "data": data}
    return enqueue_channel_event(conn, str(kind), name, event_id, dumps(envelope), now)


#: What a run's record shows of the run itself (its account is the document's context).
_RUN_FIELDS = ("id", "status", "full", "started_at", "finished_at")


def run_document(run: SyncRun) -> dict[str, Any]:
    """A run's record with its totals: orders (all read), requests, seconds and the rest."""
    counts = run.counts
    return {
        **{name: getattr(run, name) for name in _RUN_FIELDS},
        "orders": counts.orders,
        **fields_document(counts),
        "requests_per_1000_orders": counts.requests_per_1000,
        "error": run.error,
    }
