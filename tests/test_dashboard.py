"""The dashboard's figures (services/dashboard.py over store/dashboard.py) on SQLite and
PostgreSQL, against hand-built orders whose per-day counts and revenue are worked out here."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from helpers import make_order, store
from orderhub.domain import ChannelType, Status
from orderhub.domain.clock import ManualClock
from orderhub.domain.order import PushStatus
from orderhub.services.dashboard import AggregateCache, dashboard, order_figures, window
from orderhub.services.mail import TOPIC as MAIL
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxRepository
from orderhub.store.push import PushRepository
from orderhub.store.sync import RunCounts, SyncRepository
from orderhub.store.tables import orders
from orderhub.store.webhooks import TOPIC as WEBHOOK

NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
#: 01:00 in UTC+2 on the 15th: 23:00 UTC on the 14th.
EARLY_IN_PRAGUE = datetime(2026, 3, 15, 1, 0, tzinfo=timezone(timedelta(hours=2)))
TODAY, YESTERDAY, FIRST = date(2026, 3, 15), date(2026, 3, 14), date(2026, 2, 14)


def _at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def _seed(engine: Engine) -> None:
    mall = {"channel": "mall-cz", "currency": "CZK"}
    dexero = {"channel": "dexero-dk", "channel_type": ChannelType.DEXERO, "currency": "DKK"}
    store(
        engine,
        [
            # Today from its first second: 100.00 CZK, not yet confirmed.
            make_order("a1", created_at=_at(TODAY, 0), total=Decimal("100.00"), confirmed=False,
                       **mall),
            # Yesterday's last second.
            make_order("a2", created_at=_at(YESTERDAY, 23, 59, 59), total=Decimal("250.50"),
                       status=Status.SHIPPED, **mall),
            # Yesterday, cancelled: an order of the day, but no revenue.
            make_order("a3", created_at=_at(YESTERDAY), total=Decimal("99.99"),
                       status=Status.CANCELLED, **mall),
            # The UTC day counts, not the order's own zone's.
            make_order("a4", created_at=EARLY_IN_PRAGUE, total=Decimal("1.25"), **mall),
            # The window's first day: 0.10 + 0.20 is exactly 0.30.
            make_order("a5", created_at=_at(FIRST, 0), total=Decimal("0.10"), **mall),
            make_order("a6", created_at=_at(FIRST, 18), total=Decimal("0.20"), **mall),
            # The second before the window: left out.
            make_order("a7", created_at=_at(FIRST, 0) - timedelta(seconds=1),
                       total=Decimal("5"), **mall),
            # A test order and a pending one: left out of the chart, as the list leaves them.
            make_order("a8", created_at=_at(YESTERDAY), total=Decimal("7"), test=True,
                       confirmed=False, **mall),
            make_order("a9", created_at=_at(YESTERDAY), total=Decimal("9"), status=Status.PENDING,
                       confirmed=False, **mall),
            make_order("d1", created_at=_at(TODAY, 9), total=Decimal("500.00"),
                       status=Status.DELIVERED, **dexero),
            # Another currency on the same account; returned: counted, no revenue.
            make_order("d2", created_at=_at(date(2026, 3, 1)), total=Decimal("12.34"),
                       status=Status.RETURNED, **{**dexero, "currency": "EUR"}),
        ],
    )  # fmt: skip


def _by_day(values: list[object]) -> dict[date, object]:
    return {day: v for day, v in zip(window(NOW), values, strict=True) if v}


def test_orders_and_revenue_per_utc_day_account_and_currency(engine: Engine) -> None:
    _seed(engine)
    figures = order_figures(engine, NOW, ["cdon-se"])

    assert figures.days == [FIRST + timedelta(days=n) for n in range(30)]
    assert [s.account for s in figures.series] == ["cdon-se", "dexero-dk", "mall-cz"]
    series = {s.account: s.counts for s in figures.series}
    assert series["cdon-se"] == [0] * 30
    assert _by_day(list(series["mall-cz"])) == {TODAY: 1, YESTERDAY: 3, FIRST: 2}
    assert _by_day(list(series["dexero-dk"])) == {TODAY: 1, date(2026, 3, 1): 1}

    revenue = {r.currency: r.amounts for r in figures.revenue}
    assert sorted(revenue) == ["CZK", "DKK", "EUR"]
    assert _by_day(list(revenue["CZK"])) == {
        TODAY: Decimal("100.00"),
        YESTERDAY: Decimal("251.75"),
        FIRST: Decimal("0.30"),
    }
    assert _by_day(list(revenue["DKK"])) == {TODAY: Decimal("500.00")}
    assert revenue["EUR"] == [Decimal(0)] * 30
    assert all(isinstance(a, Decimal) for amounts in revenue.values() for a in amounts)


def test_counts_by_status_and_the_unconfirmed_queue(engine: Engine) -> None:
    _seed(engine)
    figures = order_figures(engine, NOW)

    # Every non-test order whenever created (a7 too), in the lifecycle's order.
    assert figures.statuses == [
        ("pending", 1),
        ("open", 5),
        ("shipped", 1),
        ("delivered", 1),
        ("returned", 1),
        ("cancelled", 1),
    ]
    assert figures.unconfirmed == 1  # a1 (a8 is a test order, a9 pending)


def test_accounts_health_quarantine_push_backs_webhooks_and_mail(
    engine: Engine, tmp_path: Path
) -> None:
    _seed(engine)
    config = tmp_path / "orderhub.toml"
    config.write_text(
        '[[channels]]\nname = "mall-cz"\ntype = "mall"\nbase_url = "http://127.0.0.1:1/v1"\n'
        "sync_interval = 600\n"
    )
    ok_at, failed_at = NOW - timedelta(hours=2), NOW - timedelta(minutes=5)
    with UnitOfWork(engine) as uow:
        runs = SyncRepository(uow.conn)
        first = runs.start_run("mall-cz", False, ok_at - timedelta(seconds=30))
        runs.finish_run(first, "ok", ok_at, RunCounts(orders_new=7, requests=3))
        runs.mark_success("mall-cz", "mall", first, ok_at)
        for minutes in (20, 5):
            run = runs.start_run("mall-cz", False, NOW - timedelta(minutes=minutes + 1))
            error = f"502 Bad Gateway ({minutes})"
            runs.finish_run(run, "failed", NOW - timedelta(minutes=minutes),
                            RunCounts(orders_changed=2, requests=4), error)  # fmt: skip
        runs.quarantine("mall-cz", run, [("q1", "bad", {}), ("q2", "bad", {}), (None, "x", [])],
                        failed_at)  # fmt: skip
        runs.quarantine("dexero-dk", run, [("q3", "bad", {})], failed_at)
        ids = dict(uow.conn.execute(select(orders.c.external_id, orders.c.id)).all())
        push = PushRepository(uow.conn)
        push.set_state(ids["a1"], PushStatus.FAILED, "timeout", bump_version=False)
        push.set_state(ids["a2"], PushStatus.REFUSED, "no", bump_version=False)
        push.set_state(ids["a3"], PushStatus.PUSHED, None, bump_version=False)
        push.set_state(ids["d1"], PushStatus.UNSUPPORTED, "none", bump_version=False)
        for n in range(3):
            uow.outbox.enqueue(WEBHOOK, {"n": n}, at=NOW)
        for n in range(4):
            uow.outbox.enqueue(MAIL, {"n": n}, at=NOW)
    with engine.begin() as conn:
        outbox = OutboxRepository(conn)
        for item in outbox.lease([WEBHOOK], "t", at=NOW, limit=2):
            assert outbox.give_up(item.id, "t", "410 Gone")
        (mail,) = outbox.lease([MAIL], "t", at=NOW, limit=1)
        assert outbox.give_up(mail.id, "t", "550")
        (sent,) = outbox.lease([MAIL], "t", at=NOW, limit=1)
        assert outbox.complete(sent.id, "t", at=NOW)

    board = dashboard(engine, config, ManualClock(NOW))

    cards = {card.name: card for card in board.accounts}
    assert list(cards) == ["mall-cz", "dexero-dk"]  # configured first, then known from orders
    mall = cards["mall-cz"]
    assert mall.account is not None
    assert mall.account.health.last_success_at == ok_at
    assert mall.account.health.consecutive_failures == 2
    assert mall.account.health.last_error == "502 Bad Gateway (5)"
    assert mall.account.last_run is not None
    assert mall.account.last_run.counts.orders == 2
    assert mall.account.last_run.counts.requests == 4
    assert (mall.quarantined, mall.failed_pushes) == (3, 2)
    dexero = cards["dexero-dk"]
    assert (dexero.account, dexero.quarantined, dexero.failed_pushes) == (None, 1, 0)
    assert board.failed_webhooks == 2
    assert board.unsent_mail == {"pending": 2, "failed": 1}
    assert board.config_error is None


def test_an_unreadable_configuration_is_said_not_raised(engine: Engine, tmp_path: Path) -> None:
    config = tmp_path / "orderhub.toml"
    config.write_text("[[channels]\n")
    board = dashboard(engine, config, ManualClock(NOW))
    assert board.config_error is not None and "not valid TOML" in board.config_error
    assert board.accounts == [] and board.figures.series == []


def test_the_cache_keeps_the_figures_for_its_seconds_and_a_new_day_reads_again(
    engine: Engine,
) -> None:
    clock = ManualClock(datetime(2026, 3, 15, 23, 59, 0, tzinfo=UTC))
    cache = AggregateCache(seconds=30.0)
    store(engine, [make_order("c1", created_at=_at(TODAY, 8))])
    first = cache.figures(engine, clock)
    store(engine, [make_order("c2", created_at=_at(TODAY, 9))])

    clock.advance(29)
    assert cache.figures(engine, clock) is first  # within 30 s: not read again
    clock.advance(2)
    again = cache.figures(engine, clock)  # 31 s: read again, and sees c2
    assert again is not first and again.series[0].counts[-1] == 2

    clock.set(datetime(2026, 3, 16, 0, 0, 5, tzinfo=UTC))  # a new UTC day within 30 s
    new_day = cache.figures(engine, clock)
    assert new_day.days[-1] == date(2026, 3, 16) and new_day.series[0].counts[-2] == 2


def test_requests_that_find_the_figures_stale_together_read_them_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orderhub.services import dashboard as service

    reads: list[int] = []
    started, gate = threading.Event(), threading.Event()
    real = service.order_figures

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        started.set()
        gate.wait(timeout=10)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "order_figures", counted)
    cache, clock = AggregateCache(), ManualClock(NOW)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(cache.figures, engine, clock)]
        assert started.wait(timeout=10)  # the first is reading; the others find it stale
        futures += [pool.submit(cache.figures, engine, clock) for _ in range(3)]
        time.sleep(0.2)  # let them reach the cache (were they to read too, they would now)
        gate.set()
        results = [f.result() for f in futures]
    assert len(reads) == 1
    assert all(r is results[0] for r in results)
