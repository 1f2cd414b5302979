"""Sandboxes started with an anchor (the demo's "now"): their orders lie in the year before it,
some in its last 30 days, none after it; without one, their orders are the fixed ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orderhub.channels.cdon import sandbox as cdon
from orderhub.channels.cscart import sandbox as cscart
from orderhub.channels.dexero import sandbox as dexero
from orderhub.channels.mall import sandbox as mall
from orderhub.domain.samples import generate_orders
from orderhub.services.demo import demo_channels, start_sandboxes

Times = tuple[datetime, datetime]
ANCHOR = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
YEAR = timedelta(days=365)
MONTH = timedelta(days=30)
_MALL_STAMPS = ("blocked", "open", "shipping", "shipped", "delivered", "returned", "cancelled",
                "lost")  # fmt: skip


# Each channel's own spelling of when an order was placed and last changed, read by hand.
def _mall(payload: dict[str, Any]) -> Times:
    prague = ZoneInfo("Europe/Prague")
    stamps = [
        datetime.strptime(payload[name], "%Y-%m-%d %H:%M:%S").replace(tzinfo=prague)
        for name in _MALL_STAMPS
        if payload[name]
    ]
    return min(stamps), max(stamps)


def _cscart(payload: dict[str, Any]) -> Times:
    return (datetime.fromtimestamp(int(payload["timestamp"]), UTC),
            datetime.fromtimestamp(int(payload["updated_at"]), UTC))  # fmt: skip


def _dexero(payload: dict[str, Any]) -> Times:
    placed = payload["purchase_date"]
    last = payload.get("updated_date", placed)  # only once the order has changed
    return datetime.fromisoformat(placed), datetime.fromisoformat(last)


def _cdon(payload: dict[str, Any]) -> Times:
    def utc(text: str) -> datetime:
        return datetime.fromisoformat(text.split(".")[0]).replace(tzinfo=UTC)

    details = payload["OrderDetails"]
    return utc(details["CreatedDateUtc"]), utc(details["LastModifiedDateUtc"])


CHANNELS: dict[str, tuple[Callable[..., Any], Callable[[dict[str, Any]], Times]]] = {
    "mall": (mall.create_app, _mall),
    "cscart": (cscart.create_app, _cscart),
    "dexero": (dexero.create_app, _dexero),
    "cdon": (cdon.create_app, _cdon),
}


def _times(channel: str, **options: Any) -> list[Times]:
    factory, read = CHANNELS[channel]
    app = factory(orders=300, seed=3, **options)
    try:
        return [read(payload) for payload in app.state.sandbox.orders_json()]
    finally:
        app.state.sandbox.close()


@pytest.mark.parametrize("channel", CHANNELS)
def test_anchored_orders_lie_in_the_year_before_the_anchor(channel: str) -> None:
    times = _times(channel, anchor=ANCHOR)
    assert len(times) == 300
    assert all(ANCHOR - YEAR - timedelta(days=15) <= created <= ANCHOR for created, _ in times)
    assert all(last <= ANCHOR for _, last in times)  # nothing has happened after "now"
    recent = [created for created, _ in times if created >= ANCHOR - MONTH]
    assert len(recent) >= 5
    assert any(created >= ANCHOR - timedelta(days=7) for created in recent)


@pytest.mark.parametrize("channel", CHANNELS)
def test_without_an_anchor_the_orders_are_the_fixed_ones(channel: str) -> None:
    # Placed in the year before 2026-11-01, as before the anchor existed.
    times = _times(channel)
    assert max(created for created, _ in times) < datetime(2026, 11, 1, tzinfo=UTC)
    assert min(created for created, _ in times) >= datetime(2025, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("channel", "first", "second"),
    [
        ("mall", "2026-06-02 10:48:26", "2026-08-03 08:05:54"),
        ("cscart", "1780253421", "1785691584"),
        ("dexero", "2026-05-31T19:50:21+01:00", "2026-08-02T12:26:24-05:00"),
        ("cdon", "2026-05-31T18:50:21.0000000", "2026-08-02T17:26:24.0000000"),
    ],
)
def test_default_orders_keep_their_times(channel: str, first: str, second: str) -> None:
    field = {"mall": "open", "cscart": "timestamp", "dexero": "purchase_date"}.get(channel)
    factory, _ = CHANNELS[channel]
    app = factory(orders=3, seed=1)
    payloads = app.state.sandbox.orders_json()
    app.state.sandbox.close()
    if field is None:
        found = [p["OrderDetails"]["CreatedDateUtc"] for p in payloads[:2]]
    else:
        found = [p[field] for p in payloads[:2]]
    assert found == [first, second]


def test_an_anchor_moves_only_the_times() -> None:
    fixed = list(generate_orders(500, 9))
    moved = list(generate_orders(500, 9, anchor=ANCHOR))
    assert [(o.external_id, o.status, o.total, o.customer) for o in fixed] == [
        (o.external_id, o.status, o.total, o.customer) for o in moved
    ]
    assert all(order.updated_at <= ANCHOR for order in moved)
    assert all(
        [c.status for c in a.status_history] == [c.status for c in b.status_history]
        for a, b in zip(fixed, moved, strict=True)
    )


def test_the_demo_anchors_its_sandboxes_at_now() -> None:
    before = datetime.now(UTC)
    running = start_sandboxes(demo_channels(), orders=1000, life_interval=0)
    try:
        for item in running:
            sandbox = item.server.app.state.sandbox
            _, read = CHANNELS[item.channel.type]
            times = [read(payload) for payload in sandbox.orders_json()]
            assert any(created >= before - MONTH for created, _ in times), item.channel.name
            assert all(last <= datetime.now(UTC) for _, last in times), item.channel.name
    finally:
        for item in running:
            item.server.stop()
            item.server.app.state.sandbox.close()
