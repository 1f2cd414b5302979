"""Every POST, PUT and PATCH route under /v1 honours Idempotency-Key and documents it: the
routes are walked from the app itself, so a new write route is covered the day it is added
(give it a body below if an empty one is refused). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import api_key, auth_header
from orderhub.api.app import create_app
from orderhub.store import make_engine
from webhook_support import allow_private  # noqa: F401

HEADER = "Idempotency-Key"
WRITE_METHODS = {"POST", "PUT", "PATCH"}
#: Writes that take no Idempotency-Key, and why.
NOT_KEYED = {
    ("POST", "/v1/channels/{name}/webhook"): "a channel's callback: no API key to scope it to",
}
#: A body each route runs with (else the default); ids in paths are ones nobody has (a 404).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/webhooks"): {"url": "http://127.0.0.1:9/hook", "event_types": ["order.created"]},
    ("POST", "/v1/orders/bulk"): {"ids": [1], "action": "confirm"},
    ("POST", "/v1/orders/{order_id}/shipments"): {"lines": [{"line_id": "1", "quantity": 1}]},
    ("POST", "/v1/orders/{order_id}/cancellations"): {"all_remaining": True, "reason": "r"},
    ("POST", "/v1/orders/{order_id}/returns"): {
        "lines": [{"sku": "A", "quantity": 1}],
        "reason": "r",
    },
    ("PUT", "/v1/orders/{order_id}/tags"): {"tags": ["vip"]},
    ("POST", "/v1/orders/{order_id}/tags"): {"tags": ["vip"]},
    ("PATCH", "/v1/webhooks/{subscription_id}"): {"max_per_second": 5},
    ("POST", "/v1/views"): {"name": "open", "query": "status=open"},
    ("PUT", "/v1/views/{name}"): {"query": "status=shipped"},
}
DEFAULT_BODY = {"vendor_ref": "PO-1"}
#: The query a route needs to run (else none).
QUERIES = {("POST", "/v1/webhooks/{subscription_id}/replay"): "?since=2026-12-06T10:00:00Z"}
NO_SUCH_ID = "9000000000000000001"
#: Answers that mean "refused before running" (docs/idempotency.md): never kept.
REFUSED_BEFORE_RUNNING = {400, 401, 403, 405, 413, 414, 415, 429, 431}


def _writes() -> list[tuple[str, str]]:
    app = create_app(make_engine("sqlite://"))  # never connected: only its routes are read
    return sorted(
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if getattr(route, "include_in_schema", False) and route.path.startswith("/v1/")
        for method in (getattr(route, "methods", None) or set()) & WRITE_METHODS
    )


WRITES = _writes()
KEYED = [write for write in WRITES if write not in NOT_KEYED]


def test_the_walk_finds_the_writes() -> None:
    assert ("PUT", "/v1/orders/{order_id}") in KEYED
    assert ("POST", "/v1/webhooks") in KEYED
    assert set(NOT_KEYED) <= set(WRITES)


def send(http: TestClient, method: str, path: str, key: str | None, extra: bytes = b"") -> Any:
    url = "/".join(NO_SUCH_ID if part.startswith("{") else part for part in path.split("/"))
    url += QUERIES.get((method, path), "")
    body = json.dumps(BODIES.get((method, path), DEFAULT_BODY)).encode() + extra
    headers = {"Content-Type": "application/json"} | ({} if key is None else {HEADER: key})
    return http.request(method, url, content=body, headers=headers)


@pytest.mark.usefixtures("allow_private")
@pytest.mark.parametrize(("method", "path"), KEYED, ids=[f"{m} {p}" for m, p in KEYED])
def test_each_write_replays_refuses_reuse_and_documents_the_key(
    engine: Engine, method: str, path: str
) -> None:
    http = TestClient(create_app(engine), headers=auth_header(api_key(engine)))
    operation = http.app.openapi()["paths"][path][method.lower()]
    parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
    assert parameters[HEADER]["schema"]["maxLength"] == 255
    assert "409" in operation["responses"]

    first = send(http, method, path, "k-1")
    assert first.status_code < 500 and first.status_code not in REFUSED_BEFORE_RUNNING, (
        f"{method} {path} refused its request: give it a body in BODIES",
        first.text,
    )
    assert "idempotent-replayed" not in first.headers
    again = send(http, method, path, "k-1")
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true"

    reused = send(http, method, path, "k-1", extra=b" ")  # the same JSON, another body
    assert reused.status_code == 409, reused.text
    assert reused.json()["errors"][0]["parameter"] == HEADER

    other_key = TestClient(http.app, headers=auth_header(api_key(engine)))
    theirs = send(other_key, method, path, "k-1")
    assert theirs.status_code == first.status_code
    assert "idempotent-replayed" not in theirs.headers

    malformed = send(http, method, path, "a b")
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["parameter"] == HEADER


@pytest.mark.parametrize(("method", "path"), list(NOT_KEYED), ids=[p for _, p in NOT_KEYED])
def test_the_writes_without_a_key_ignore_the_header(engine: Engine, method: str, path: str) -> None:
    http = TestClient(create_app(engine))
    operation = http.app.openapi()["paths"][path][method.lower()]
    assert HEADER not in {p["name"] for p in operation.get("parameters", [])}
    answers = [send(http, method, path.replace("{name}", "mall-cz"), "k-1") for _ in range(2)]
    assert answers[0].status_code == answers[1].status_code
    assert all("idempotent-replayed" not in a.headers for a in answers)
