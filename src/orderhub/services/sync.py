"""The sync engine: pull each channel account's changed orders into the store, page by page.

Each page is one transaction: its orders are merged (new, changed if newer, history and events
recorded), its undecodable records quarantined, the cursor after it saved and the run's totals
updated, together. A run killed at any point resumes from the last committed page: no order is
lost, none duplicated. Orders are acknowledged to the channel (MALL: its "confirm" call) only
once they are stored. A run's end sends `channel.sync_failed`/`channel.sync_recovered` when due
(services/sync_health.py), in the transaction that records it. See docs/sync.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from orderhub.channels.base import (
    Account,
    ChannelError,
    Connector,
    Cursor,
    Page,
    RequestStats,
)
from orderhub.channels.registry import open_connector
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services.prefetch import prefetched
from orderhub.services.sync_health import announce_run
from orderhub.store import RunCounts, SyncRepository, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """Reported after every stored page."""

    channel: str
    counts: RunCounts
    #: The channel's count of records this pull reads, when it says so.
    total: int | None


@dataclass(frozen=True, slots=True)
class SyncResult:
    channel: str
    run_id: int
    status: str
    counts: RunCounts
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


Progress = Callable[[SyncProgress], None]


def sync_account(
    engine: Engine,
    account: Account,
    *,
    full: bool = False,
    connector: Connector | None = None,
    progress: Progress | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> SyncResult:
    """One run for one account. A channel failure ends the run as `failed` (pages kept)."""
    run = _Run(engine, account, full, clock)
    owned = connector is None
    try:
        connector = connector or open_connector(account)
    except ChannelError as exc:
        return run.finish("failed", RequestStats(), str(exc))
    try:
        run.pull(connector, progress)
        if account.options.get("confirm", True):
            run.acknowledge(connector)
    except ChannelError as exc:
        log.warning("sync of %s failed: %s", account.name, exc)
        return run.finish("failed", connector.stats, str(exc))
    except BaseException as exc:
        run.finish("failed", connector.stats, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if owned:
            connector.close()
    return run.finish("ok", connector.stats)


def sync_accounts(
    engine: Engine,
    accounts: Sequence[Account],
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> list[SyncResult]:
    """Sync each account in turn; one account's failure does not stop the others."""
    return [sync_account(engine, a, full=full, progress=progress) for a in accounts]


class _Run:
    """One sync run's bookkeeping: its row, its totals, the page transactions."""

    def __init__(self, engine: Engine, account: Account, full: bool, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.account = account
        self.counts = RunCounts()
        #: External ids stored or quarantined by this run and not acknowledged at the channel
        #: when read: the acknowledgement step re-fetches the others from its queue (one read
        #: acknowledged that is waiting again has changed since). Only those, so a first sync
        #: of a million MALL orders keeps some 150,000 ids here, not a million (~90 MB).
        self.seen: set[str] = set()
        #: Quarantined records this run counted (by external id), so a record met twice (the
        #: listing, then the unconfirmed queue) counts once.
        self.quarantined: set[str] = set()
        self.started = clock.monotonic()
        with UnitOfWork(engine) as uow:
            repo = SyncRepository(uow.conn)
            self.run_id = repo.start_run(account.name, full, clock.now())
            state = repo.state(account.name)
        self.cursor: Cursor | None = None if full or state is None else state.cursor

    def pull(self, connector: Connector, progress: Progress | None) -> None:
        # The next page is fetched while this one is stored (services/prefetch.py).
        for page in prefetched(connector.pull(self.cursor)):
            self.store(page, connector, save_cursor=True)
            if progress is not None:
                progress(SyncProgress(self.account.name, self.counts, page.total))

    def acknowledge(self, connector: Connector) -> None:
        """Acknowledge what the channel waits for, once it is stored.

        Orders this run has not stored are fetched first: the channel may have changed them
        in a way the pull does not see (MALL: a detail change without a new status).
        """
        for batch in connector.unacknowledged():
            unseen = [i for i in batch if i not in self.seen]
            if unseen:
                self.store(connector.fetch(unseen), connector, save_cursor=False)
            stored = self._stored_ids(batch)
            ready = [i for i in batch if i in stored]
            connector.acknowledge(ready)
            self.counts.acknowledged += len(ready)

    def store(self, page: Page, connector: Connector, *, save_cursor: bool) -> None:
        """One transaction: orders, events, quarantine, cursor, run totals."""
        now = self.clock.now()
        with UnitOfWork(self.engine) as uow:
            repo = SyncRepository(uow.conn)
            result = uow.orders.merge_from_channel(page.orders)
            uow.publish(result.events)
            self._count(result.created, result.changed, result.unchanged, page, connector)
            repo.quarantine(self.account.name, self.run_id, _skipped(page), now)
            repo.release(self.account.name, [o.external_id for o in page.orders])
            self.seen.update(o.external_id for o in page.orders if not o.confirmed)
            self.seen.update(s.external_id for s in page.skipped if s.external_id is not None)
            if save_cursor:
                repo.save_cursor(self.account.name, self.account.type, page.cursor, now)
            repo.save_counts(self.run_id, self.counts)

    def finish(self, status: str, stats: RequestStats, error: str | None = None) -> SyncResult:
        self._take_stats(stats)
        if status != "ok":
            self.counts.errors += 1
        now = self.clock.now()
        name = self.account.name
        with UnitOfWork(self.engine) as uow:
            repo = SyncRepository(uow.conn)
            earlier = repo.failures_since_success(name).get(name)
            repo.finish_run(self.run_id, status, now, self.counts, error)
            if status == "ok":
                repo.mark_success(name, self.account.type, self.run_id, now)
            self._announce(uow.conn, status, earlier.failed if earlier else 0, now)
        return SyncResult(self.account.name, self.run_id, status, self.counts, error)

    def _announce(self, conn: Connection, status: str, failed_before: int, at: datetime) -> None:
        """channel.sync_failed / channel.sync_recovered when due (services/sync_health.py)."""
        account = (self.account.name, self.account.type)
        interval = self.account.options.get("sync_interval")
        announce_run(conn, account, interval, (self.run_id, status), failed_before, at)

    def _count(
        self,
        created: Sequence[int],
        changed: Sequence[int],
        unchanged: int,
        page: Page,
        connector: Connector,
    ) -> None:
        self.counts.orders_new += len(created)
        self.counts.orders_changed += len(changed)
        self.counts.orders_unchanged += unchanged
        fresh = [s for s in page.skipped if s.external_id not in self.quarantined]
        self.counts.quarantined += len(fresh)
        self.quarantined.update(s.external_id for s in fresh if s.external_id is not None)
        self._take_stats(connector.stats)

    def _take_stats(self, stats: RequestStats) -> None:
        self.counts.requests = stats.requests
        self.counts.retries = stats.retries
        self.counts.errors = self.counts.retries
        self.counts.seconds = round(self.clock.monotonic() - self.started, 3)

    def _stored_ids(self, external_ids: Sequence[str]) -> set[str]:
        with UnitOfWork(self.engine) as uow:
            return set(uow.orders.ids_by_external(self.account.name, external_ids))


def _skipped(page: Page) -> list[tuple[str | None, str, object]]:
    return [(s.external_id, s.reason, s.payload) for s in page.skipped]
