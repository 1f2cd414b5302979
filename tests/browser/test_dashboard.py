"""A real browser sees the dashboard chart: an <svg> with one series per channel account, the
same accounts in its "Show as a table", the status links, and it fits a 390 px phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from helpers import make_order, store
from orderhub.domain import ChannelType

#: Orders of the last 30 days (the generated ones are older): two accounts, by the real clock.
ACCOUNTS = ("dash-mall", "dash-cdon")


@pytest.fixture(scope="module", autouse=True)
def recent_orders(hub: Any) -> None:
    now = datetime.now(UTC)
    store(
        hub.engine,
        [
            make_order(f"dash-{n}", channel=ACCOUNTS[n % 2], created_at=now - timedelta(days=n),
                       channel_type=ChannelType.MALL if n % 2 == 0 else ChannelType.CDON,
                       total=Decimal("10.00") * (n + 1))
            for n in range(12)
        ],
    )  # fmt: skip


def test_the_dashboard_chart_has_a_series_per_account(hub: Any, signed_in: Any, shot: Any) -> None:
    page = signed_in("admin")
    page.goto(hub.url("/"))
    chart = page.locator("figure.chart svg")
    chart.wait_for()
    assert chart.get_attribute("role") == "img"
    assert "Orders per day" in (chart.get_attribute("aria-label") or "")

    legend = chart.locator("g.legends text").all_text_contents()
    assert set(ACCOUNTS) <= set(legend)
    assert chart.locator('g[class="plot"] > g.series').count() == len(legend)
    shot(page, "chart")

    page.get_by_text("Show as a table").click()
    headers = page.locator("#orders-table thead th").all_inner_texts()
    assert headers[1:] == legend
    # Each seeded account's total over the 30 days is at least the orders seeded for it.
    totals = page.locator("#orders-table tfoot td").all_inner_texts()
    for account in ACCOUNTS:
        assert int(totals[legend.index(account)]) >= 6
    shot(page, "table")

    page.locator(".dash-statuses a").first.click()
    page.wait_for_url("**/orders?status=*")


def test_the_dashboard_fits_a_phone(hub: Any, signed_in: Any, shot: Any) -> None:
    page = signed_in("viewer", width=390, height=844)
    page.goto(hub.url("/"))
    page.locator("figure.chart svg").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "phone")
