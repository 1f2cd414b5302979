"""The sync schedule: when each channel account is next due, and which worker holds it now.

One row per account. A worker claims the most overdue due account that nobody holds (or whose
holder's lease has run out) and leases it: on PostgreSQL the pick is `FOR UPDATE SKIP LOCKED`,
so workers claiming at the same instant take different rows; on SQLite the UnitOfWork's `BEGIN
IMMEDIATE` makes claims take turns. The holder renews the lease while its sync runs and
releases the row with the next due time; a holder that dies stops renewing, and once its
lease has run out the account is due for the next worker. Every time compared or stamped here
is the caller's (its clock), never the database's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Integer, Table, and_, select, update
from sqlalchemy.sql.elements import ColumnElement

from orderhub.store.repository import Repository, from_row, lease_free
from orderhub.store.tables import metadata
from orderhub.store.types import Str, UTCDateTime

sync_schedule = Table(
    "sync_schedule",
    metadata,
    Column("channel", Str(64), primary_key=True),
    Column("next_due_at", UTCDateTime, nullable=False),
    Column("lease_owner", Str(64)),
    Column("lease_until", UTCDateTime),
    # Failed runs since the last successful one: the retry backoff's exponent.
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_started_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    channel: str
    next_due_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    consecutive_failures: int
    last_started_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    """An account leased to `owner` at `started_at`, with its failures before this run."""

    channel: str
    owner: str
    started_at: datetime
    lease_until: datetime
    consecutive_failures: int


class ScheduleRepository(Repository):
    def add(self, due: Mapping[str, datetime], at: datetime) -> int:
        """Schedule these accounts, each first due at its time; those already there are left
        as they are. Returns how many were added."""
        added = 0
        for channel, due_at in due.items():
            stmt = self._insert(sync_schedule).values(
                channel=channel, next_due_at=due_at, consecutive_failures=0, updated_at=at
            )
            stmt = stmt.on_conflict_do_nothing(index_elements=["channel"])
            added += self.conn.execute(stmt.returning(sync_schedule.c.channel)).first() is not None
        return added

    def due_no_later_than(self, channel: str, latest: datetime, at: datetime) -> bool:
        """Bring the account's next due time forward to `latest` if it is later (a shorter
        interval than the one it was scheduled with); True when it moved."""
        result = self.conn.execute(
            update(sync_schedule)
            .where(sync_schedule.c.channel == channel, sync_schedule.c.next_due_at > latest)
            .values(next_due_at=latest, updated_at=at)
        )
        return result.rowcount == 1

    def any_claimable(self, channels: Sequence[str], at: datetime) -> bool:
        """Whether `claim` would find one (a plain read: pollers ask this before they lock)."""
        if not channels:
            return False
        stmt = select(sync_schedule.c.channel).where(_claimable(channels, at)).limit(1)
        return self.conn.execute(stmt).first() is not None

    def claim(
        self, channels: Sequence[str], owner: str, *, at: datetime, lease_for: float
    ) -> Claim | None:
        """Lease the most overdue of these accounts that is due at `at` and not held by a
        live lease, to `owner` for `lease_for` seconds; None when none is."""
        if not channels:
            return None
        claimable = _claimable(channels, at)
        pick = select(sync_schedule.c.channel, sync_schedule.c.consecutive_failures)
        pick = pick.where(claimable).order_by(sync_schedule.c.next_due_at, sync_schedule.c.channel)
        row = self.conn.execute(self._skip_locked(pick.limit(1))).first()
        if row is None:
            return None
        until = at + timedelta(seconds=lease_for)
        taken = self.conn.execute(
            update(sync_schedule)
            .where(sync_schedule.c.channel == row.channel, claimable)
            .values(lease_owner=owner, lease_until=until, last_started_at=at, updated_at=at)
        )
        if taken.rowcount != 1:
            return None
        return Claim(row.channel, owner, at, until, row.consecutive_failures)

    def renew(self, channel: str, owner: str, *, at: datetime, lease_for: float) -> bool:
        """Extend `owner`'s lease to `lease_for` seconds from `at`; False if it has lost it."""
        result = self.conn.execute(
            update(sync_schedule)
            .where(sync_schedule.c.channel == channel, sync_schedule.c.lease_owner == owner)
            .values(lease_until=at + timedelta(seconds=lease_for), updated_at=at)
        )
        return result.rowcount == 1

    def release(
        self, channel: str, owner: str, *, next_due_at: datetime, failures: int, at: datetime
    ) -> bool:
        """End `owner`'s lease, the account next due at `next_due_at` after `failures`
        consecutive failures; False (nothing changed) if the lease was lost meanwhile."""
        result = self.conn.execute(
            update(sync_schedule)
            .where(sync_schedule.c.channel == channel, sync_schedule.c.lease_owner == owner)
            .values(
                lease_owner=None,
                lease_until=None,
                next_due_at=next_due_at,
                consecutive_failures=failures,
                updated_at=at,
            )
        )
        return result.rowcount == 1

    def get(self, channel: str) -> ScheduleEntry | None:
        return self._first(select(sync_schedule).where(sync_schedule.c.channel == channel), _entry)

    def entries(self) -> list[ScheduleEntry]:
        return self._all(select(sync_schedule).order_by(sync_schedule.c.channel), _entry)

    def due_times(self) -> dict[str, datetime]:
        """Each scheduled account's next due time."""
        stmt = select(sync_schedule.c.channel, sync_schedule.c.next_due_at)
        return {row.channel: row.next_due_at for row in self.conn.execute(stmt)}

    def failures(self) -> dict[str, int]:
        """Each scheduled account's failed runs since its last successful one."""
        stmt = select(sync_schedule.c.channel, sync_schedule.c.consecutive_failures)
        return {row.channel: row.consecutive_failures for row in self.conn.execute(stmt)}


def _claimable(channels: Sequence[str], at: datetime) -> ColumnElement[bool]:
    """Due at `at`, and not held by a lease that is still live then."""
    return and_(
        sync_schedule.c.channel.in_(list(channels)),
        sync_schedule.c.next_due_at <= at,
        lease_free(sync_schedule.c.lease_until, at),
    )


def _entry(row: Any) -> ScheduleEntry:
    return from_row(ScheduleEntry, row)
