"""Daily quotas per key: counted in the database, exact under concurrency, told in headers."""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from helpers import api_key, auth_header, make_order, serve_in_thread, store
from orderhub.api.app import create_app
from orderhub.api.auth import WRITE, require
from orderhub.domain import ManualClock
from orderhub.services import keys as service
from orderhub.store import make_engine
from orderhub.store.keys import key_usage

RATE_LIMIT = re.compile(r'^"daily";r=(\d+);t=(\d+)$')


def _remaining_and_reset(response: httpx.Response) -> tuple[int, int]:
    match = RATE_LIMIT.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return int(match[1]), int(match[2])


def _counted(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(key_usage.c.count), 0))).scalar())


#: The apps' clock in these tests: noon UTC, 43,200 s before the quotas renew. On the system
#: clock a test running across midnight UTC would count its requests on two days.
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(engine, [make_order("1")])
    return TestClient(create_app(engine, clock=ManualClock(NOON)))


def test_every_answer_carries_the_policy_and_what_is_left(http: TestClient, engine: Engine) -> None:
    headers = auth_header(api_key(engine, "orders:read", daily_limit=5))
    answers = [
        http.get("/v1/orders", headers=headers),  # 200
        http.get("/v1/orders/1.xml", headers=headers),  # 200, XML
        http.get("/v1/orders?total=gt:abc", headers=headers),  # 400
        http.get("/v1/orders/999", headers=headers),  # 404
        http.get("/v1/no-such-thing", headers=headers),  # 404, no route
    ]
    assert [a.status_code for a in answers] == [200, 200, 400, 404, 404]
    for used, answer in enumerate(answers, start=1):
        assert answer.headers["ratelimit-policy"] == '"daily";q=5;w=86400'
        assert _remaining_and_reset(answer) == (5 - used, 43_200)
    assert _counted(engine) == 5


def test_past_the_quota_a_429_with_retry_after(http: TestClient, engine: Engine) -> None:
    headers = auth_header(api_key(engine, "orders:read", daily_limit=2))
    assert [http.get("/v1/orders", headers=headers).status_code for _ in range(2)] == [200, 200]
    refused = http.get("/v1/orders", headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["status"] == 429 and body["type"].endswith("/quotaexceeded")
    assert _remaining_and_reset(refused) == (0, 43_200)
    assert refused.headers["retry-after"] == "43200"
    assert refused.headers["ratelimit-policy"] == '"daily";q=2;w=86400'
    # XML clients get the problem in XML.
    assert http.get("/v1/orders.xml", headers=headers).headers["content-type"] == (
        "application/problem+xml"
    )


def test_a_403_counts_and_carries_the_headers(http: TestClient, engine: Engine) -> None:
    headers = auth_header(api_key(engine, "orders:write", daily_limit=3))
    refused = http.get("/v1/orders", headers=headers)
    assert refused.status_code == 403
    assert _remaining_and_reset(refused)[0] == 2


def test_a_refused_request_changes_nothing(engine: Engine) -> None:
    app: FastAPI = create_app(engine, clock=ManualClock(NOON))
    ran: list[int] = []

    @app.post("/v1/effects", dependencies=[require(WRITE)])
    def effect() -> dict[str, int]:
        ran.append(1)
        return {"ran": len(ran)}

    http = TestClient(app, headers=auth_header(api_key(engine, "orders:write", daily_limit=3)))
    codes = [http.post("/v1/effects").status_code for _ in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]
    assert len(ran) == 3


def test_keys_share_nothing(http: TestClient, engine: Engine) -> None:
    first = auth_header(api_key(engine, "orders:read", daily_limit=1))
    second = auth_header(api_key(engine, "orders:read", daily_limit=1))
    assert http.get("/v1/orders", headers=first).status_code == 200
    assert http.get("/v1/orders", headers=first).status_code == 429
    assert http.get("/v1/orders", headers=second).status_code == 200


def test_an_unlimited_key_is_not_counted_and_has_no_headers(
    http: TestClient, engine: Engine
) -> None:
    headers = auth_header(api_key(engine, "orders:read"))
    for _ in range(3):
        response = http.get("/v1/orders", headers=headers)
        assert response.status_code == 200
        assert "ratelimit" not in response.headers
        assert "ratelimit-policy" not in response.headers
    assert _counted(engine) == 0


def test_the_quota_renews_each_utc_day(engine: Engine) -> None:
    token = service.create_key(engine, "daily", ("orders:read",), 2).token
    late = datetime(2026, 3, 1, 23, 59, 59, 500_000, tzinfo=UTC)
    counts = [service.admit(engine, token, late).quota for _ in range(3)]
    assert [q.exceeded for q in counts if q] == [False, False, True]
    assert all(q is not None and q.reset_seconds == 1 for q in counts)
    next_day = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    renewed = service.admit(engine, token, next_day).quota
    assert renewed is not None and (renewed.used, renewed.remaining) == (1, 1)
    assert renewed.reset_seconds == 86_400


def test_days_are_utc_whatever_zone_the_clock_gives(engine: Engine) -> None:
    token = service.create_key(engine, "zoned", ("orders:read",), 5).token
    prague = timezone(timedelta(hours=1))
    # 00:30 in Prague on 2 March is 23:30 UTC on 1 March: the same UTC day as 23:00 UTC.
    service.admit(engine, token, datetime(2026, 3, 2, 0, 30, tzinfo=prague))
    quota = service.admit(engine, token, datetime(2026, 3, 1, 23, 0, tzinfo=UTC)).quota
    assert quota is not None and quota.used == 2


def test_seconds_until_reset() -> None:
    assert service.seconds_until_reset(datetime(2026, 1, 1, tzinfo=UTC)) == 86_400
    assert service.seconds_until_reset(datetime(2026, 1, 1, 23, 59, 59, 999, tzinfo=UTC)) == 1
    assert service.seconds_until_reset(datetime(2026, 1, 1, 12, tzinfo=UTC)) == 43_200


def test_exactly_the_quota_succeeds_under_concurrency(database_url: str) -> None:
    """60 concurrent clients against a quota of 20, through two servers with their own engines
    (as two processes would be) on loopback: exactly 20 answers are 200, the other 40 are 429."""
    quota, clients = 20, 60
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        store(engines[0], [make_order("1")])
        token = api_key(engines[0], "orders:read", daily_limit=quota)
        with ExitStack() as stack:
            apps = [create_app(e, clock=ManualClock(NOON)) for e in engines]
            bases = [stack.enter_context(serve_in_thread(app)) for app in apps]
            start = threading.Barrier(clients)

            def call(n: int) -> int:
                with httpx.Client(base_url=bases[n % 2], headers=auth_header(token)) as client:
                    start.wait(timeout=30)
                    return client.get("/v1/orders/1", timeout=60).status_code

            with ThreadPoolExecutor(clients) as pool:
                codes = Counter(pool.map(call, range(clients)))
        assert codes == {200: quota, 429: clients - quota}
        assert _counted(engines[0]) == clients
    finally:
        for engine in engines:
            engine.dispose()


def test_the_day_rolls_over_at_midnight_utc_on_the_apps_clock(engine: Engine) -> None:
    """A key at its limit at 23:59:59 UTC is refused; one second later (a new UTC day) it is
    served again, and every answer's RateLimit / Retry-After counts down to that midnight."""
    store(engine, [make_order("1")])
    clock = ManualClock(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC))
    http = TestClient(create_app(engine, clock=clock))
    headers = auth_header(api_key(engine, "orders:read", daily_limit=2))
    served = [http.get("/v1/orders", headers=headers) for _ in range(2)]
    assert [a.status_code for a in served] == [200, 200]
    assert [_remaining_and_reset(a) for a in served] == [(1, 1), (0, 1)]
    refused = http.get("/v1/orders", headers=headers)
    assert refused.status_code == 429
    assert _remaining_and_reset(refused) == (0, 1)
    assert refused.headers["retry-after"] == "1"  # midnight is one second away

    clock.advance(1)  # 2026-03-02 00:00:00 UTC: a new day, a new quota
    renewed = http.get("/v1/orders", headers=headers)
    assert renewed.status_code == 200
    assert _remaining_and_reset(renewed) == (1, 86_400)
    assert "retry-after" not in renewed.headers
    clock.advance(timedelta(hours=12))
    noon = http.get("/v1/orders", headers=headers)
    assert noon.status_code == 200 and _remaining_and_reset(noon) == (0, 43_200)
    assert http.get("/v1/orders", headers=headers).status_code == 429
