"""Aggregate reads for `/metrics`: a few GROUP BY queries over the tables every process writes.

The API may run as several processes beside separate workers, so what they did together is read
from the database at scrape time rather than counted in any one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from orderhub.store.keys import api_keys, key_usage
from orderhub.store.outbox import outbox
from orderhub.store.sync import COUNT_NAMES, channel_state, sync_runs

#: The run columns summed per account and status (each only grows within a run).
RUN_SUMS = COUNT_NAMES


@dataclass(frozen=True, slots=True)
class RunTotals:
    """The runs of one account in one status, and their summed counts (`RUN_SUMS`)."""

    account: str
    status: str
    runs: int
    sums: dict[str, float]


@dataclass(frozen=True, slots=True)
class OutboxGroup:
    """The outbox rows of one topic in one state: how many, and when the oldest was made."""

    topic: str
    state: str
    rows: int
    oldest_created_at: datetime


def run_totals(conn: Connection) -> list[RunTotals]:
    columns = [func.coalesce(func.sum(sync_runs.c[name]), 0).label(name) for name in RUN_SUMS]
    stmt = (
        select(sync_runs.c.channel, sync_runs.c.status, func.count().label("runs"), *columns)
        .group_by(sync_runs.c.channel, sync_runs.c.status)
        .order_by(sync_runs.c.channel, sync_runs.c.status)
    )
    return [
        RunTotals(
            row.channel, row.status, int(row.runs), {n: float(row._mapping[n]) for n in RUN_SUMS}
        )
        for row in conn.execute(stmt)
    ]


def last_successes(conn: Connection) -> dict[str, datetime | None]:
    """Each account with a sync state: when its last successful run finished (None: never)."""
    stmt = select(channel_state.c.channel, channel_state.c.last_success_at)
    return {row.channel: row.last_success_at for row in conn.execute(stmt)}


def outbox_groups(conn: Connection) -> list[OutboxGroup]:
    stmt = (
        select(
            outbox.c.topic,
            outbox.c.status,
            func.count().label("rows"),
            func.min(outbox.c.created_at).label("oldest"),
        )
        .group_by(outbox.c.topic, outbox.c.status)
        .order_by(outbox.c.topic, outbox.c.status)
    )
    return [
        OutboxGroup(row.topic, row.status, int(row.rows), row.oldest) for row in conn.execute(stmt)
    ]


def key_requests(conn: Connection) -> dict[str, int]:
    """Requests counted per key name, over every day kept (keys never used show 0)."""
    joined = api_keys.outerjoin(key_usage, key_usage.c.key_id == api_keys.c.id)
    stmt = (
        select(api_keys.c.name, func.coalesce(func.sum(key_usage.c.count), 0).label("used"))
        .select_from(joined)
        .group_by(api_keys.c.name)
        .order_by(api_keys.c.name)
    )
    return {row.name: int(row.used) for row in conn.execute(stmt)}
