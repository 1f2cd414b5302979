"""The channel HTTP layer: error classes, retries, Retry-After and X-RateLimit pacing.

A tiny scripted ASGI app on loopback answers each request with the next scripted answer; the
client runs on a fake clock whose sleeps only advance it, so waits are checked exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from helpers import serve_in_thread
from orderhub.channels.base import ChannelNotFound, Fatal, QuotaExhausted, Retriable
from orderhub.channels.http import Backoff, ChannelHttp
from orderhub.channels.mall.client import MallClient, error_message

Answer = tuple[int, dict[str, str], bytes]
OK: Answer = (200, {}, b'{"data": [], "paging": {"page": 1, "pages": 1, "size": 0}}')


class Script:
    """An ASGI app answering request n with answers[n] (the last one repeats)."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.seen: list[str] = []
        self.delay = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        self.seen.append(f"{request.method} {request.url.path}?{request.url.query}")
        if self.delay:
            await asyncio.sleep(self.delay)
        index = min(len(self.seen), len(self.answers)) - 1
        status, headers, body = self.answers[index] if self.answers else OK
        await Response(body, status, headers, "application/json")(scope, receive, send)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serve_in_thread(script) as base_url:
        yield script, base_url


@pytest.fixture
def script(server: tuple[Script, str]) -> Script:
    script = server[0]
    script.answers, script.seen, script.delay = [], [], 0.0
    return script


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def http(server: tuple[Script, str], fake: FakeTime, **options: Any) -> ChannelHttp:
    values: dict[str, Any] = {"max_attempts": 4, "backoff": Backoff(0.01, 0.05), "timeout": 2.0}
    return ChannelHttp(server[1], sleep=fake.sleep, clock=fake.clock, **(values | options))


def test_429_waits_for_retry_after_then_succeeds(server, script, fake) -> None:  # type: ignore[no-untyped-def]
    script.answers = [(429, {"Retry-After": "3"}, b"{}"), OK]
    client = http(server, fake, backoff=Backoff(0.0, 0.0))  # no jitter: the wait is exact
    assert client.request("GET", "orders") == {
        "data": [],
        "paging": {"page": 1, "pages": 1, "size": 0},
    }
    assert len(script.seen) == 2
    assert (client.stats.requests, client.stats.retries) == (2, 1)
    assert fake.sleeps == [3.0]  # the Retry-After, no sooner and no longer


def test_5xx_and_bodies_cut_short_are_retried(server, script, fake) -> None:  # type: ignore[no-untyped-def]
    script.answers = [(503, {}, b"busy"), (200, {}, b'{"data": [1, 2'), OK]
    client = http(server, fake)
    assert client.request("GET", "orders") == {
        "data": [],
        "paging": {"page": 1, "pages": 1, "size": 0},
    }
    assert len(script.seen) == 3
    assert (client.stats.requests, client.stats.retries) == (3, 2)
    # Two backoff waits, each within Backoff(0.01, 0.05)'s bound for its attempt (no pacing).
    first, second = fake.sleeps
    assert 0 < first <= 0.01 and 0 < second <= 0.02


def test_retriable_gives_up_after_max_attempts(server, script, fake) -> None:  # type: ignore[no-untyped-def]
    script.answers = [(500, {}, b"{}")]
    client = http(server, fake, max_attempts=3)
    with pytest.raises(Retriable, match="HTTP 500"):
        client.request("GET", "orders")
    assert client.stats.requests == 3
    assert len(script.seen) == 3


@pytest.mark.parametrize(
    ("status", "error"), [(400, Fatal), (401, Fatal), (403, Fatal), (404, ChannelNotFound)]
)
def test_client_errors_are_fatal_and_not_repeated(server, script, fake, status, error) -> None:  # type: ignore[no-untyped-def]
    body = b'{"result": {"code": 400, "status": "ERROR", "message": "bad filter"}}'
    script.answers = [(status, {}, body)]
    client = http(server, fake, error_message=error_message)
    with pytest.raises(error, match="bad filter") as caught:
        client.request("GET", "orders")
    assert not isinstance(caught.value, Retriable)
    assert client.stats.requests == 1
    assert len(script.seen) == 1 and fake.sleeps == []


def test_timeouts_and_refused_connections_are_retriable(server, script, fake) -> None:  # type: ignore[no-untyped-def]
    script.delay = 0.5
    slow = http(server, fake, timeout=0.1, max_attempts=2)
    with pytest.raises(Retriable, match="timed out"):
        slow.request("GET", "orders")
    assert slow.stats.requests == 2
    closed = ChannelHttp("http://127.0.0.1:9/", max_attempts=2, sleep=fake.sleep)
    with pytest.raises(Retriable, match="connection failed"):
        closed.request("GET", "orders")
    assert closed.stats.requests == 2


def test_low_quota_spreads_the_remaining_requests(server, script, fake) -> None:  # type: ignore[no-untyped-def]
    low = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "20"}
    plenty = low | {"X-RateLimit-Remaining": "90"}
    script.answers = [(200, plenty, b"{}"), (200, low, b"{}"), (200, low, b"{}")]
    client = http(server, fake)
    client.request("GET", "a")
    client.request("GET", "b")
    assert fake.sleeps == []  # 90 of 100 left: no pacing
    client.request("GET", "c")
    assert fake.sleeps == [pytest.approx(4.0)]  # 20 s / 5 requests left


def test_spent_quota_stops_before_sending(server, script, fake) -> None:  # type: ignore[no-untyped-def]
    spent = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3600"}
    script.answers = [(200, spent, b"{}")]
    client = http(server, fake, max_pause=60)
    client.request("GET", "orders")  # this answer was still used
    with pytest.raises(QuotaExhausted) as caught:
        client.request("GET", "orders")
    assert caught.value.retry_after == 3600 and len(script.seen) == 1


def test_long_retry_after_ends_the_run_instead_of_waiting(server, script, fake) -> None:  # type: ignore[no-untyped-def]
    script.answers = [(429, {"Retry-After": "86400"}, b"{}")]
    client = http(server, fake, max_pause=120)
    with pytest.raises(QuotaExhausted):
        client.request("GET", "orders")
    assert client.stats.requests == 1 and fake.sleeps == []


def test_mall_client_refuses_what_is_not_its_envelope(server, script, fake) -> None:  # type: ignore[no-untyped-def]
    script.answers = [(200, {}, b'{"orders": []}')]
    client = MallClient(http(server, fake))
    with pytest.raises(Fatal, match="data"):
        client.list_orders([("page", "1")])


def test_mall_client_sends_client_id_and_paging(server, script, fake) -> None:  # type: ignore[no-untyped-def]
    from orderhub.channels.base import Account

    account = Account("mall-x", "mall", server[1] + "/v1", {"client_id": "secret"})
    client = MallClient.for_account(account, sleep=fake.sleep, clock=fake.clock)
    page = client.unconfirmed(2, 50)
    assert page.data == []
    assert page.last is True
    assert script.seen == ["GET /v1/orders/unconfirmed?client_id=secret&page=2&page_size=50"]
    with pytest.raises(Fatal, match="client_id"):
        MallClient.for_account(Account("mall-y", "mall", server[1]))


def test_a_mall_refusal_repeating_its_message_says_it_once() -> None:
    body = {
        "result": {"code": 401, "status": "ERROR", "message": "client_id not valid"},
        "errorCodes": [{"code": "AUTH", "message": "client_id not valid"}, {"message": "see docs"}],
    }
    answer = httpx.Response(401, json=body)
    assert error_message(answer) == "client_id not valid; see docs"
