"""What the dashboard at `/` shows (docs/web-dashboard.md): the last 30 UTC days' orders and
revenue, counts by status, the unconfirmed queue, and what needs someone per channel account.

The order aggregates read indexes (store/dashboard.py) and are kept for `CACHE_SECONDS` per
process (`AggregateCache`), so a dashboard left open in many tabs does not read them again on
every load; sync health and the outbox counts are read fresh each time (small tables).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from orderhub.domain import Status
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services.channels import ChannelConfig, ChannelOverview, ConfigError, overview
from orderhub.services.channels import load_config as load_channels
from orderhub.services.mail import TOPIC as MAIL_TOPIC
from orderhub.store import dashboard as reads
from orderhub.store.outbox import OutboxStatus
from orderhub.store.sync import SyncRepository
from orderhub.store.webhooks import TOPIC as WEBHOOK_TOPIC

#: The chart's span: today (UTC, by the injected clock) and the 29 days before it.
DAYS = 30
#: How long one process reuses the order aggregates it read.
CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Series:
    """One account's orders per day, a number for each of the window's days (0: none)."""

    account: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class Revenue:
    """One currency's revenue per day (exact, never mixed with another currency)."""

    currency: str
    amounts: list[Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, Decimal(0))


@dataclass(frozen=True, slots=True)
class OrderFigures:
    """The aggregates read from the orders table (the cached part)."""

    days: list[date]
    series: list[Series]
    revenue: list[Revenue]
    #: Non-test orders per status, in the lifecycle's order, statuses with none left out.
    statuses: list[tuple[str, int]]
    unconfirmed: int
    failed_pushes: dict[str, int]
    #: When these figures were read (the clock's time).
    read_at: datetime


@dataclass(frozen=True, slots=True)
class AccountCard:
    """A channel account: its sync health and last run (None: configured nowhere and never
    synced, known from its orders only), and what waits on someone."""

    name: str
    account: ChannelOverview | None
    quarantined: int
    failed_pushes: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    figures: OrderFigures
    accounts: list[AccountCard]
    failed_webhooks: int
    #: Unsent e-mails per outbox status (pending: still to be tried; failed: given up).
    unsent_mail: dict[str, int]
    #: orderhub.toml could not be read: accounts are those known from earlier syncs only.
    config_error: str | None = None

    @property
    def unsent_mail_total(self) -> int:
        return sum(self.unsent_mail.values())


def window(now: datetime) -> list[date]:
    """The window's UTC days, oldest first, ending with `now`'s."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=back) for back in range(DAYS - 1, -1, -1)]


def order_figures(engine: Engine, now: datetime, accounts: Sequence[str] = ()) -> OrderFigures:
    """The order aggregates at `now`; each of `accounts` gets a series, orders or not."""
    days = window(now)
    start = datetime.combine(days[0], time(), UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), UTC)
    with engine.connect() as conn:
        groups = reads.orders_by_day(conn, start, end)
        statuses = reads.status_counts(conn)
        unconfirmed = reads.unconfirmed_count(conn)
        pushes = reads.failed_pushes(conn)
    position = {day: i for i, day in enumerate(days)}
    counts: dict[str, list[int]] = {name: [0] * DAYS for name in accounts}
    money: dict[str, list[Decimal]] = {}
    for group in groups:
        at = position[group.day]
        counts.setdefault(group.channel, [0] * DAYS)[at] += group.orders
        amounts = money.setdefault(group.currency, [Decimal(0)] * DAYS)
        amounts[at] += group.revenue
    return OrderFigures(
        days=days,
        series=[Series(name, counts[name]) for name in _ordered(counts, accounts)],
        revenue=[Revenue(currency, money[currency]) for currency in sorted(money)],
        statuses=[(s, statuses[s]) for s in sorted(statuses, key=_lifecycle_rank)],
        unconfirmed=unconfirmed,
        failed_pushes=pushes,
        read_at=now,
    )


def _ordered(names: Iterable[str], accounts: Sequence[str]) -> list[str]:
    """`accounts` in their order, then the other `names` by name."""
    return [*accounts, *sorted(set(names) - set(accounts))]


_LIFECYCLE = [s.value for s in Status]


def _lifecycle_rank(status: str) -> tuple[int, str]:
    """Statuses in the lifecycle's order (one the code does not know, last)."""
    known = status in _LIFECYCLE
    return (_LIFECYCLE.index(status) if known else len(_LIFECYCLE), status)


@dataclass
class AggregateCache:
    """The last order figures one process read, reused for `seconds` (by the clock's
    monotonic time) while the window's days and the accounts asked for are the same.

    One request reads them at a time: the others that found them stale wait for it and take
    what it read, rather than each running the same seconds-long reads at once."""

    seconds: float = CACHE_SECONDS
    _entry: tuple[tuple[object, ...], float, OrderFigures] | None = None
    _reading: threading.Lock = field(default_factory=threading.Lock)

    def figures(self, engine: Engine, clock: Clock, accounts: Sequence[str] = ()) -> OrderFigures:
        now = clock.now()
        key = (window(now)[-1], tuple(accounts))
        fresh = self._fresh(key, clock)
        if fresh is not None:
            return fresh
        with self._reading:
            fresh = self._fresh(key, clock)  # read by the request this one waited for
            if fresh is not None:
                return fresh
            figures = order_figures(engine, now, accounts)
            self._entry = (key, clock.monotonic() + self.seconds, figures)
            return figures

    def _fresh(self, key: tuple[object, ...], clock: Clock) -> OrderFigures | None:
        entry = self._entry  # one reference, replaced whole: no lock needed to read it
        if entry is not None and entry[0] == key and clock.monotonic() < entry[1]:
            return entry[2]
        return None


def load_configs(path: str | Path) -> tuple[list[ChannelConfig], str | None]:
    """orderhub.toml's accounts, or none and the error in words when it cannot be read."""
    try:
        return load_channels(path), None
    except ConfigError as exc:
        return [], str(exc)


def dashboard(
    engine: Engine,
    config_file: str | Path,
    clock: Clock = SYSTEM_CLOCK,
    cache: AggregateCache | None = None,
) -> Dashboard:
    """Everything the dashboard shows, at the clock's time."""
    configs, config_error = load_configs(config_file)
    accounts = overview(engine, configs, clock)
    names = [view.name for view in accounts]
    if cache is None:
        figures = order_figures(engine, clock.now(), names)
    else:
        figures = cache.figures(engine, clock, names)
    with engine.connect() as conn:
        quarantined = SyncRepository(conn).quarantine_counts()
        failed = OutboxStatus.FAILED.value
        webhooks = reads.outbox_counts(conn, WEBHOOK_TOPIC, [failed])
        mail = reads.outbox_counts(conn, MAIL_TOPIC, [OutboxStatus.PENDING.value, failed])
    views = {view.name: view for view in accounts}
    others = {s.account for s in figures.series} | figures.failed_pushes.keys() | quarantined.keys()
    cards = [
        AccountCard(
            name, views.get(name), quarantined.get(name, 0), figures.failed_pushes.get(name, 0)
        )
        for name in _ordered(others, names)
    ]
    return Dashboard(figures, cards, webhooks[failed], mail, config_error)
