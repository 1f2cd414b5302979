"""The dashboard page at `/` (TestClient, signed in): each account's series in the chart and its
table, the status counts of the seeded orders, the links to the pages that deal with each
figure, and a viewer sees it too (without the admin links)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import make_order, store
from orderhub.domain import ChannelType, Status
from orderhub.domain.clock import ManualClock
from orderhub.web.app import create_app
from web_support import sign_in

NOW = datetime(2026, 5, 20, 15, 0, tzinfo=UTC)
_DAY = timedelta(days=1)


@pytest.fixture
def http(engine: Engine, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    store(
        engine,
        [
            make_order("m1", created_at=NOW - _DAY, total=Decimal("120.50")),
            make_order("m2", created_at=NOW - _DAY, status=Status.SHIPPED, confirmed=False),
            make_order("m3", created_at=NOW - 40 * _DAY, status=Status.CANCELLED),
            make_order("c1", channel="cdon-se", channel_type=ChannelType.CDON, currency="SEK",
                       created_at=NOW, total=Decimal("99.90"), status=Status.DELIVERED),
        ],
    )  # fmt: skip
    app = create_app(engine, ManualClock(NOW))
    app.state.config_file = str(tmp_path) + "/none.toml"  # no accounts configured
    return TestClient(app)


def _chart(body: str) -> str:
    found = re.search(r"<svg\b.*?</svg>", body, re.DOTALL)
    assert found, "no chart"
    return found.group(0)


def _status_counts(body: str) -> dict[str, int]:
    pairs = re.findall(
        r'<a href="/orders\?status=(\w+)"[^>]*>.*?class="status-count">(\d+)<', body, re.DOTALL
    )
    return {status: int(count) for status, count in pairs}


def test_the_chart_has_a_series_per_account_and_the_table_its_numbers(
    http: TestClient, engine: Engine
) -> None:
    sign_in(http, engine, "admin")
    answer = http.get("/")
    assert answer.status_code == 200
    body = answer.text
    chart = _chart(body)
    assert 'role="img"' in chart and "aria-label=" in chart
    assert "<script" not in chart and "<?xml" not in body
    legend = re.findall(r'class="legend[^"]*">.*?<text[^>]*>([^<]+)</text>', chart, re.DOTALL)
    assert legend == ["cdon-se", "mall-cz"]
    # The table: yesterday has mall-cz's two orders, today cdon-se's one; m3 is too old.
    table = body[body.index('id="orders-table"') :]
    rows = dict(re.findall(r'<th scope="row">([\d-]+)</th>((?:<td class="num">\d+</td>)+)', table))
    cells = {day: [int(n) for n in re.findall(r">(\d+)<", row)] for day, row in rows.items()}
    assert cells["2026-05-20"] == [1, 0]
    assert cells["2026-05-19"] == [0, 2]
    assert cells["2026-04-21"] == [0, 0] and "2026-04-20" not in cells


def test_revenue_is_per_currency_and_exact(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "admin")
    body = unescape(http.get("/").text)
    table = body[body.index('id="revenue-table"') :]
    table = table[: table.index("</table>")]
    assert re.findall(r'<th scope="col" class="num">(\w+)</th>', table) == ["CZK", "SEK"]
    # m1 120.50 + m2 100.00 (make_order's default) yesterday; cdon-se's 99.90 today.
    assert '<td class="num">220.50 CZK</td><td class="num">0.00 SEK</td>' in table
    assert '<td class="num">0.00 CZK</td><td class="num">99.90 SEK</td>' in table


def test_status_counts_match_the_seeded_orders_and_link_to_the_list(
    http: TestClient, engine: Engine
) -> None:
    sign_in(http, engine, "admin")
    body = http.get("/").text
    assert _status_counts(body) == {"open": 1, "shipped": 1, "delivered": 1, "cancelled": 1}
    assert re.search(r'<a href="/orders\?preset=unconfirmed"[^>]*>1<', body)


def test_an_admin_gets_the_links_to_the_pages_that_deal_with_each_figure(
    http: TestClient, engine: Engine
) -> None:
    sign_in(http, engine, "admin")
    body = http.get("/").text
    for href in (
        "/admin/webhooks",
        "/admin/mail",
        "/admin/quarantine?account=mall-cz",
        "/admin/channels#mall-cz",
        "/admin/quarantine?account=cdon-se",
        "/admin/channels#cdon-se",
    ):
        assert f'href="{href}"' in body, href
    assert "<time datetime=" in body  # when the figures were read, through |when


def test_a_viewer_sees_the_dashboard_without_admin_links(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "viewer")
    answer = http.get("/")
    assert answer.status_code == 200
    body = answer.text
    assert _status_counts(body) == {"open": 1, "shipped": 1, "delivered": 1, "cancelled": 1}
    assert "cdon-se" in _chart(body) and "mall-cz" in _chart(body)
    assert 'href="/admin/' not in body


def test_no_session_is_sent_to_sign_in(http: TestClient) -> None:
    answer = http.get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
