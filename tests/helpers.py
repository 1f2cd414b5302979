"""Small helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from orderhub.api.app import create_app
from orderhub.domain import Order
from orderhub.store import UnitOfWork


def store(engine: Engine, orders: Iterable[Order]) -> None:
    with UnitOfWork(engine) as uow:
        uow.orders.upsert_many(list(orders))


def client(engine: Engine) -> TestClient:
    """A client of a new app, sending a fresh unlimited key with every scope (see api_key)."""
    return TestClient(create_app(engine), headers=auth_header(api_key(engine)))


def api_key(
    engine: Engine, scopes: str = "orders:read,orders:write,admin", daily_limit: int | None = None
) -> str:
    """Create an API key with a unique name and return it (the bearer token)."""
    import uuid

    from orderhub.services.keys import create_key, parse_scopes

    name = f"test-{uuid.uuid4().hex[:12]}"
    return create_key(engine, name, parse_scopes(scopes), daily_limit).token


def auth_header(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def json_decimal(response: Any) -> Any:
    """The body with JSON numbers as Decimal, as a money-aware client reads it."""
    import json

    return json.loads(response.text, parse_float=Decimal)


def all_ids(http: TestClient, url: str, params: list[tuple[str, str]]) -> list[int]:
    """Follow the cursor through every page and return the ids in order."""
    ids: list[int] = []
    cursor = None
    while True:
        page_params = [*params, ("page_size", "1000")]
        if cursor:
            page_params.append(("cursor", cursor))
        response = http.get(url, params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [item if isinstance(item, int) else item["id"] for item in body["data"]]
        cursor = body["paging"]["cursor"]
        if cursor is None:
            return ids


def make_order(external_id: str = "1", **fields: Any) -> Order:
    """A small valid order; any field can be overridden."""
    from datetime import UTC, datetime

    from orderhub.domain import ChannelType, PaymentStatus, Status, StatusChange, StatusSource

    created = fields.pop("created_at", datetime(2024, 1, 10, 8, 30, tzinfo=UTC))
    status = Status(fields.pop("status", Status.OPEN))
    values: dict[str, Any] = {
        "channel": "mall-cz",
        "channel_type": ChannelType.MALL,
        "external_id": external_id,
        "status": status,
        "channel_status": status.value,
        "payment_status": PaymentStatus.PAID,
        "created_at": created,
        "updated_at": created,
        "currency": "CZK",
        "total": Decimal("100.00"),
        "confirmed": True,
        "status_history": [StatusChange(status, created, StatusSource.CHANNEL)],
    }
    values.update(fields)
    return Order(**values)


@contextmanager
def serve_in_thread(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port (or `port`); yields its base URL."""
    import threading
    import time

    import uvicorn

    if port is None:
        port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def free_port() -> int:
    """A loopback TCP port that nothing listens on (yet)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def cli_database(database_url: str, monkeypatch: Any) -> Iterator[None]:
    """The test's database as the CLI's (ORDERHUB_DATABASE_URL), tables as wide as their values
    whatever the terminal (rich keeps its width in _width); settings read afresh."""
    from orderhub.cli.common import console
    from orderhub.settings import get_settings

    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    monkeypatch.setattr(console, "_width", 200)
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()
