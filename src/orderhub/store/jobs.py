"""Bulk jobs: one row per job with its running counts, and one row per order it acts on.

The orders a job acts on are fixed when it is made (`INSERT ... SELECT` from the query, or the
ids given), so the job is a snapshot of what matched then, however the orders change while it
runs, and making it costs no memory in the number of orders. The worker takes the items in
order-id order, a batch at a time; each batch's changes, its items' outcomes, the job's counts
and its checkpoint commit in one transaction, so a worker that dies mid-batch leaves the batch
to the next one, never half done and never done twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain.jsonfmt import dumps, loads
from orderhub.store.repository import Repository
from orderhub.store.tables import id_table, metadata, orders
from orderhub.store.types import Id64, Str, UTCDateTime

FAILED = "failed"
#: A job's counts: items in it, items done, and how each ended.
COUNTS = ("matched", "processed", "changed", "unchanged", FAILED)

jobs = id_table(
    "jobs",
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Str(64), nullable=False),
    Column("status", Str(16), nullable=False),
    Column("action", Text, nullable=False),  # JSON: {"action": ..., "value": ..., ...}
    Column("selection", Text, nullable=False),  # JSON: {"ids": N} or {"query": "..."}
    *(Column(name, Integer, nullable=False) for name in COUNTS),
    # The last order id done: the next batch starts after it.
    Column("checkpoint", Id64, nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
)

job_items = Table(
    "job_items",
    metadata,
    Column("job_id", Id64, nullable=False),
    Column("order_id", Id64, nullable=False),
    Column("outcome", Str(16)),  # None until done: changed, unchanged or failed
    Column("reason", Text),
    PrimaryKeyConstraint("job_id", "order_id"),
)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    action: dict[str, Any]
    selection: dict[str, Any]
    status: str
    matched: int
    processed: int
    changed: int
    unchanged: int
    failed: int
    checkpoint: int
    cancel_requested: bool
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    order_id: int
    outcome: str
    reason: str | None = None


class JobRepository(Repository):
    def create(
        self, action: dict[str, Any], selection: dict[str, Any], actor: str, at: datetime
    ) -> int:
        """A queued job with no items yet (`add_matching` / `add_ids` fill it)."""
        values = {
            "action": dumps(action).decode(),
            "selection": dumps(selection).decode(),
            "status": "queued",
            **dict.fromkeys(COUNTS, 0),
            "checkpoint": 0,
            "cancel_requested": False,
            "created_by": actor,
            "created_at": at,
        }
        return int(
            self.conn.execute(insert(jobs).values(**values).returning(jobs.c.id)).scalar_one()
        )

    def add_matching(self, job_id: int, where: ColumnElement[bool]) -> int:
        """Every order the condition matches becomes an item, in SQL (no order passes through
        Python); returns how many."""
        chosen = select(literal(job_id, Id64), orders.c.id).where(where)
        self.conn.execute(insert(job_items).from_select(["job_id", "order_id"], chosen))
        return self._set_matched(job_id)

    def add_ids(self, job_id: int, order_ids: Iterable[int], at: datetime) -> int:
        """Each given id becomes an item once; an id that names no order is a failed item
        from the start. Returns how many items."""
        ids = sorted(set(order_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            chosen = select(literal(job_id, Id64), orders.c.id).where(orders.c.id.in_(chunk))
            self.conn.execute(insert(job_items).from_select(["job_id", "order_id"], chosen))
        found = set(
            self.conn.execute(
                select(job_items.c.order_id).where(job_items.c.job_id == job_id)
            ).scalars()
        )
        missing = [
            {
                "job_id": job_id,
                "order_id": i,
                "outcome": "failed",
                "reason": f"order {i} does not exist",
            }
            for i in ids
            if i not in found
        ]
        if missing:
            self.conn.execute(insert(job_items), missing)
            self.conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(processed=len(missing), failed=len(missing), started_at=at)
            )
        return self._set_matched(job_id)

    def _set_matched(self, job_id: int) -> int:
        count = self.conn.execute(
            select(func.count()).select_from(job_items).where(job_items.c.job_id == job_id)
        ).scalar_one()
        self.conn.execute(update(jobs).where(jobs.c.id == job_id).values(matched=count))
        return int(count)

    def get(self, job_id: int) -> Job | None:
        return self._first(select(jobs).where(jobs.c.id == job_id), _job)

    def get_for_update(self, job_id: int) -> Job | None:
        stmt = select(jobs).where(jobs.c.id == job_id)
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return self._first(stmt, _job)

    def recent(self, limit: int, before: int | None = None) -> list[Job]:
        """Jobs newest first, older than id `before` when given."""
        stmt = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if before is not None:
            stmt = stmt.where(jobs.c.id < before)
        return self._all(stmt, _job)

    def next_items(self, job: Job, limit: int) -> list[int]:
        """The next order ids to act on, after the job's checkpoint."""
        stmt = (
            select(job_items.c.order_id)
            .where(
                job_items.c.job_id == job.id,
                job_items.c.order_id > job.checkpoint,
                job_items.c.outcome.is_(None),
            )
            .order_by(job_items.c.order_id)
            .limit(limit)
        )
        return list(self.conn.execute(stmt).scalars())

    def record(self, job: Job, outcomes: list[ItemOutcome], at: datetime) -> None:
        """A batch's outcomes, the counts they add and the checkpoint after them."""
        done = (
            update(job_items)
            .where(job_items.c.job_id == job.id, job_items.c.order_id == bindparam("order"))
            .values(outcome=bindparam("outcome"), reason=bindparam("reason"))
        )
        self.conn.execute(
            done,
            [{"order": i.order_id, "outcome": i.outcome, "reason": i.reason} for i in outcomes],
        )
        counts = dict.fromkeys(("changed", "unchanged", FAILED), 0)
        for item in outcomes:
            counts[item.outcome] += 1
        self.conn.execute(
            update(jobs)
            .where(jobs.c.id == job.id)
            .values(
                status="running",
                started_at=job.started_at or at,
                processed=jobs.c.processed + len(outcomes),
                checkpoint=max(i.order_id for i in outcomes),
                **{name: jobs.c[name] + added for name, added in counts.items()},
            )
        )

    def finish(self, job_id: int, status: str, at: datetime) -> None:
        self.conn.execute(
            update(jobs).where(jobs.c.id == job_id).values(status=status, finished_at=at)
        )

    def request_cancel(self, job_id: int) -> None:
        self.conn.execute(update(jobs).where(jobs.c.id == job_id).values(cancel_requested=True))

    def failures(self, job_id: int, limit: int, after: int = 0) -> list[ItemOutcome]:
        """The job's failed items in order-id order, after order id `after`."""
        return self._items(job_id, limit, after, job_items.c.outcome == FAILED)

    def outcomes(self, job_id: int, limit: int, after: int = 0) -> list[ItemOutcome]:
        """The job's items done so far, whatever their outcome, in order-id order."""
        return self._items(job_id, limit, after, job_items.c.outcome.is_not(None))

    def _items(
        self, job_id: int, limit: int, after: int, which: ColumnElement[bool]
    ) -> list[ItemOutcome]:
        stmt = (
            select(job_items.c.order_id, job_items.c.outcome, job_items.c.reason)
            .where(job_items.c.job_id == job_id, which, job_items.c.order_id > after)
            .order_by(job_items.c.order_id)
            .limit(limit)
        )
        return [ItemOutcome(r.order_id, r.outcome, r.reason) for r in self.conn.execute(stmt)]


def _job(row: Any) -> Job:
    values = dict(row)
    values["action"] = loads(values["action"])
    values["selection"] = loads(values["selection"])
    return Job(**values)
