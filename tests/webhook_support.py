"""What the webhook tests share: a recording subscriber, fast workers, producing events."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import Receive, Scope, Send

from helpers import api_key, auth_header
from orderhub.api.app import create_app
from orderhub.domain import Order
from orderhub.domain.clock import ManualClock
from orderhub.services.outbox import Backoff, Worker
from orderhub.services.webhook_delivery import webhook_topic
from orderhub.settings import get_settings
from orderhub.store import MergeResult, UnitOfWork

ALL_TYPES = ["order.created", "order.updated", "order.status_changed"]
#: Retries due at once: tests drive the worker round by round instead of waiting.
NO_WAIT = Backoff(first=0.0, attempts=50)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body, parse_float=Decimal)


@dataclass
class Subscriber:
    """An ASGI webhook receiver that records every request and answers `status`."""

    status: int = 200
    requests: list[Request] = field(default_factory=list)
    #: Headers of every answer (e.g. a Retry-After with a 429).
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = self.status
        with self.lock:
            self.requests.append(Request(scope["path"], headers, body, status))
        await send({"type": "http.response.start", "status": status, "headers": self.headers})
        await send({"type": "http.response.body", "body": b""})

    def accepted(self, path: str | None = None) -> list[Request]:
        """The requests answered with a 2xx (optionally only those to `path`)."""
        return [
            r for r in self.requests if 200 <= r.answered < 300 and (path is None or r.path == path)
        ]

    def accepted_ids(self) -> Counter[str]:
        return Counter(r.webhook_id for r in self.accepted())


def merge(engine: Engine, batch: Sequence[Order]) -> MergeResult:
    """Channel orders into the store, their events published: what the sync engine does."""
    with UnitOfWork(engine) as uow:
        result = uow.orders.merge_from_channel(list(batch))
        uow.publish(result.events)
        return result


def worker(engine: Engine, backoff: Backoff = NO_WAIT, name: str = "w") -> Worker:
    topic = webhook_topic(engine, backoff, allow_private=True)
    return Worker(engine, {"webhook": topic}, name=name)


def event_ids(engine: Engine, order_ids: Sequence[int]) -> set[str]:
    with UnitOfWork(engine) as uow:
        return {e["event_id"] for o in order_ids for e in uow.events.for_order(o)}


def near_now() -> ManualClock:
    """A clock near the real time (standardwebhooks refuses timestamps more than 5 minutes
    off), and past it, so the rows a test enqueues at the real time are due."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30))


def hub(engine: Engine, clock: ManualClock) -> tuple[TestClient, Worker]:
    """The API with an admin key, and a worker delivering webhooks, both on `clock`."""
    http = TestClient(create_app(engine, clock), headers=auth_header(api_key(engine)))
    topic = webhook_topic(engine, NO_WAIT, allow_private=True, clock=clock)
    return http, Worker(engine, {"webhook": topic}, clock=clock)


@pytest.fixture
def allow_private(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ORDERHUB_WEBHOOKS_ALLOW_PRIVATE=1 for this test (subscribers live on loopback)."""
    monkeypatch.setenv("ORDERHUB_WEBHOOKS_ALLOW_PRIVATE", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def forbid_private(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("ORDERHUB_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
