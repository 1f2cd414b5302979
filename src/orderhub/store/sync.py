"""Sync bookkeeping: each account's cursor, each run's metrics, the quarantine of bad records.

The sync engine writes a page's orders, its quarantined records, the cursor after it and the
run's running totals in ONE transaction, so a crash at any point leaves them consistent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    case,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from orderhub.domain.jsonfmt import dumps, loads
from orderhub.store.repository import Repository, from_row
from orderhub.store.tables import id_table, metadata
from orderhub.store.types import Str, UTCDateTime

channel_state = Table(
    "channel_state",
    metadata,
    Column("channel", Str(64), primary_key=True),
    Column("channel_type", Str(16), nullable=False),
    # The connector's resume point (JSON), committed with the page it covers.
    Column("cursor", Text),
    Column("last_success_at", UTCDateTime),
    Column("last_run_id", BigInteger),
    Column("updated_at", UTCDateTime, nullable=False),
)

sync_runs = id_table(
    "sync_runs",
    Column("channel", Str(64), nullable=False),
    Column("full", Boolean, nullable=False),
    # running | ok | failed | interrupted (a run found still "running" by the next one)
    Column("status", Str(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("orders_new", Integer, nullable=False, default=0),
    Column("orders_changed", Integer, nullable=False, default=0),
    Column("orders_unchanged", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("acknowledged", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("retries", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("seconds", Float, nullable=False, default=0.0),
    Column("error", Text),
    Index(None, "channel", "id"),
)

quarantine = id_table(
    "quarantine",
    Column("channel", Str(64), nullable=False),
    # The channel's id when the record has a readable one, else a hash of the payload.
    Column("record_key", Str(128), nullable=False),
    Column("external_id", Str(128)),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("run_id", BigInteger),
    UniqueConstraint("channel", "record_key"),
)


@dataclass(slots=True)
class RunCounts:
    """A run's running totals, stored after every page."""

    orders_new: int = 0
    orders_changed: int = 0
    orders_unchanged: int = 0
    quarantined: int = 0
    acknowledged: int = 0
    requests: int = 0
    retries: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def orders(self) -> int:
        return self.orders_new + self.orders_changed + self.orders_unchanged

    @property
    def requests_per_1000(self) -> float | None:
        """Requests per 1,000 orders read; None when the run read none."""
        return round(self.requests * 1000 / self.orders, 1) if self.orders else None


@dataclass(frozen=True, slots=True)
class SyncRun:
    id: int
    channel: str
    full: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: RunCounts
    error: str | None


@dataclass(frozen=True, slots=True)
class ChannelState:
    channel: str
    channel_type: str
    cursor: dict[str, Any] | None
    last_success_at: datetime | None
    last_run_id: int | None
    updated_at: datetime


#: Run statuses that count as a failure in a row of them (an interrupted run died mid-way).
FAILED_STATUSES = ("failed", "interrupted")


@dataclass(frozen=True, slots=True)
class Failures:
    """An account's failed (or interrupted) runs since its last ok run."""

    count: int
    #: The latest of them: its error ("interrupted" for a run that died without one).
    last_error: str | None
    last_run_id: int
    #: Those that ended `failed` (the others were interrupted).
    failed: int = 0


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    id: int
    channel: str
    external_id: str | None
    reason: str
    payload: Any
    first_seen: datetime
    last_seen: datetime


#: RunCounts' fields, which are also sync_runs' count columns.
COUNT_NAMES = tuple(f.name for f in fields(RunCounts))


class SyncRepository(Repository):
    """Reads and writes channel_state, sync_runs and quarantine on one connection."""

    # --- cursors ---------------------------------------------------------------------------

    def state(self, channel: str) -> ChannelState | None:
        return self._first(select(channel_state).where(channel_state.c.channel == channel), _state)

    def states(self) -> dict[str, ChannelState]:
        return {state.channel: state for state in self._all(select(channel_state), _state)}

    def save_cursor(
        self, channel: str, channel_type: str, cursor: dict[str, Any] | None, at: datetime
    ) -> None:
        text = None if cursor is None else dumps(cursor).decode()
        postgres = self.conn.dialect.name == "postgresql"
        params = {"channel": channel, "channel_type": channel_type, "cursor": text, "at": at}
        self.conn.execute(_save_cursor(postgres), params)

    def mark_success(self, channel: str, channel_type: str, run_id: int, at: datetime) -> None:
        values = {"last_success_at": at, "last_run_id": run_id, "updated_at": at}
        self._upsert_state(channel, channel_type, values)

    def _upsert_state(self, channel: str, channel_type: str, values: dict[str, Any]) -> None:
        stmt = self._insert(channel_state).values(
            channel=channel, channel_type=channel_type, **values
        )
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["channel"], set_=values))

    # --- runs ------------------------------------------------------------------------------

    def start_run(self, channel: str, full: bool, at: datetime) -> int:
        """A new run; runs of this channel still marked running died without a word."""
        self.conn.execute(
            update(sync_runs)
            .where(sync_runs.c.channel == channel, sync_runs.c.status == "running")
            .values(status="interrupted")
        )
        stmt = sync_runs.insert().values(
            channel=channel, full=full, status="running", started_at=at, **_zero_counts()
        )
        return int(self.conn.execute(stmt.returning(sync_runs.c.id)).scalar_one())

    def save_counts(self, run_id: int, counts: RunCounts) -> None:
        values = {name: getattr(counts, name) for name in COUNT_NAMES}
        self.conn.execute(_SAVE_COUNTS, {"run_id": run_id, **values})

    def finish_run(
        self, run_id: int, status: str, at: datetime, counts: RunCounts, error: str | None = None
    ) -> None:
        self.save_counts(run_id, counts)
        self.conn.execute(
            update(sync_runs)
            .where(sync_runs.c.id == run_id)
            .values(status=status, finished_at=at, error=error)
        )

    def run(self, run_id: int) -> SyncRun | None:
        return self._first(select(sync_runs).where(sync_runs.c.id == run_id), _run)

    def last_run(self, channel: str) -> SyncRun | None:
        """The channel's latest run."""
        stmt = select(sync_runs).where(sync_runs.c.channel == channel)
        return self._first(stmt.order_by(sync_runs.c.id.desc()).limit(1), _run)

    def last_runs(self) -> dict[str, SyncRun]:
        """Each channel's latest run."""
        latest = select(func.max(sync_runs.c.id)).group_by(sync_runs.c.channel).scalar_subquery()
        runs = self._all(select(sync_runs).where(sync_runs.c.id.in_(latest)), _run)
        return {run.channel: run for run in runs}

    def failures_since_success(self, channel: str | None = None) -> dict[str, Failures]:
        """Per account: failed or interrupted runs after its last ok one (the run id
        `channel_state.last_run_id` keeps), every account in one query; for one `channel`
        (a run's finish), a range of the (channel, id) index."""
        failed = func.sum(case((sync_runs.c.status == "failed", 1), else_=0))
        counted = select(sync_runs.c.channel, func.count(), func.max(sync_runs.c.id), failed).where(
            sync_runs.c.status.in_(FAILED_STATUSES)
        )
        if channel is None:
            joined = sync_runs.outerjoin(
                channel_state, channel_state.c.channel == sync_runs.c.channel
            )
            last_ok: Any = func.coalesce(channel_state.c.last_run_id, 0)
            counted = counted.select_from(joined)
        else:
            state = self.state(channel)
            last_ok = (state.last_run_id if state else None) or 0
            counted = counted.where(sync_runs.c.channel == channel)
        counted = counted.where(sync_runs.c.id > last_ok).group_by(sync_runs.c.channel)
        rows = self.conn.execute(counted).all()
        error = func.coalesce(sync_runs.c.error, sync_runs.c.status)
        latest = select(sync_runs.c.id, error).where(sync_runs.c.id.in_([row[2] for row in rows]))
        errors = dict(self.conn.execute(latest).all())
        return {
            row[0]: Failures(int(row[1]), errors.get(row[2]), int(row[2]), int(row[3]))
            for row in rows
        }

    def first_started(self, channels: Sequence[str]) -> dict[str, datetime]:
        """When each of these accounts' first recorded run started (one indexed look-up each)."""
        found = {}
        for channel in channels:
            first = select(func.min(sync_runs.c.id)).where(sync_runs.c.channel == channel)
            stmt = select(sync_runs.c.started_at).where(sync_runs.c.id == first.scalar_subquery())
            started = self.conn.execute(stmt).scalar()
            if started is not None:
                found[channel] = started
        return found

    # --- quarantine ------------------------------------------------------------------------

    def quarantine(
        self,
        channel: str,
        run_id: int,
        records: Sequence[tuple[str | None, str, Any]],
        at: datetime,
    ) -> None:
        """Keep (external_id, reason, raw payload) records; a record seen again is refreshed."""
        for external_id, reason, payload in records:
            text = dumps(payload).decode()
            key = external_id or "sha256:" + hashlib.sha256(text.encode()).hexdigest()
            stmt = self._insert(quarantine).values(
                channel=channel,
                record_key=key,
                external_id=external_id,
                reason=reason,
                payload=text,
                first_seen=at,
                last_seen=at,
                run_id=run_id,
            )
            refreshed = {"reason": reason, "payload": text, "last_seen": at, "run_id": run_id}
            self.conn.execute(
                stmt.on_conflict_do_update(index_elements=["channel", "record_key"], set_=refreshed)
            )

    def release(self, channel: str, external_ids: Sequence[str]) -> int:
        """Drop quarantined records of these ids (they have now been decoded and stored)."""
        if not external_ids:
            return 0
        params = {"channel": channel, "keys": list(external_ids)}
        return self.conn.execute(_RELEASE, params).rowcount or 0

    def quarantined(
        self, channel: str | None, offset: int, limit: int
    ) -> tuple[list[QuarantinedRecord], int]:
        """A page of quarantined records (newest first) and how many there are."""
        where = [] if channel is None else [quarantine.c.channel == channel]
        stmt = select(quarantine).where(*where).order_by(quarantine.c.id.desc())
        records = self._all(stmt.offset(offset).limit(limit), _record)
        total = self.conn.execute(
            select(func.count()).select_from(quarantine).where(*where)
        ).scalar_one()
        return records, total

    def quarantine_counts(self) -> dict[str, int]:
        """Quarantined records per account (the (channel, record_key) index)."""
        stmt = select(quarantine.c.channel, func.count()).group_by(quarantine.c.channel)
        return {channel: int(count) for channel, count in self.conn.execute(stmt)}


# Per page of a sync: built once (building and keying one per call cost more than running it).
_SAVE_COUNTS = (
    update(sync_runs)
    .where(sync_runs.c.id == bindparam("run_id"))
    .values({name: bindparam(name) for name in COUNT_NAMES})
)
_RELEASE = delete(quarantine).where(
    quarantine.c.channel == bindparam("channel"),
    quarantine.c.record_key.in_(bindparam("keys", expanding=True)),
)


@cache
def _save_cursor(postgres: bool) -> Insert:
    """channel_state's cursor and updated_at, the row made if missing."""
    insert = (postgresql if postgres else sqlite).insert(channel_state)
    stmt = insert.values(
        channel=bindparam("channel"),
        channel_type=bindparam("channel_type"),
        cursor=bindparam("cursor"),
        updated_at=bindparam("at"),
    )
    updated = {"cursor": insert.excluded.cursor, "updated_at": insert.excluded.updated_at}
    return stmt.on_conflict_do_update(index_elements=["channel"], set_=updated)


def _zero_counts() -> dict[str, Any]:
    return {name: getattr(RunCounts(), name) for name in COUNT_NAMES}


def _state(row: Any) -> ChannelState:
    cursor = None if row["cursor"] is None else loads(row["cursor"])
    return from_row(ChannelState, row, cursor=cursor)


def _run(row: Any) -> SyncRun:
    counts = RunCounts(**{name: row[name] for name in COUNT_NAMES})
    return from_row(SyncRun, row, counts=counts)


def _record(row: Any) -> QuarantinedRecord:
    return from_row(QuarantinedRecord, row, payload=loads(row["payload"]))
