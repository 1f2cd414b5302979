"""Idempotency-Key (docs/idempotency.md) on PUT /v1/orders/{id} and POST /v1/webhooks: a
retry gets the first answer and changes nothing, a reused key is a 409, answers expire after
24 hours, keys are scoped to the API key; on SQLite and PostgreSQL. What "changed nothing"
means is read from the database's own rows, not from the API's answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from helpers import api_key, auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import Status
from orderhub.domain.clock import ManualClock
from webhook_support import allow_private  # noqa: F401

SHIP = {
    "status": "shipped",
    "tracking_number": "Z-1",
    "tracking_url": "https://track.example/Z-1",
    "carrier": "PPL",
}
HOOK = {"url": "http://127.0.0.1:9/hook", "event_types": ["order.created"]}
HEADER = "Idempotency-Key"


@pytest.fixture
def clock() -> ManualClock:
    # Rows an order change enqueues carry the system's time: start there (docs/architecture.md).
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def http(engine: Engine, clock: ManualClock) -> TestClient:
    store(engine, [make_order("1"), make_order("2", status=Status.SHIPPED)])
    return TestClient(create_app(engine, clock=clock), headers=auth_header(api_key(engine)))


def put(http: TestClient, body: Any, key: str | None = None, order_id: int = 1) -> Any:
    headers = {} if key is None else {HEADER: key}
    return http.put(f"/v1/orders/{order_id}", json=body, headers=headers)


def scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def order_row(engine: Engine, order_id: int = 1) -> tuple[Any, ...]:
    """The order as stored, with how many changes and outbox rows it has."""
    with engine.connect() as conn:
        version, ref, status = conn.execute(
            text(f"SELECT version, vendor_ref, status FROM orders WHERE id = {order_id}")
        ).one()
        changes = conn.execute(
            text(f"SELECT count(*) FROM order_changes WHERE order_id = {order_id}")
        ).scalar_one()
        outbox = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
    return version, ref, status, changes, outbox


def stored_keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT key FROM idempotency_keys")).scalars())


def assert_refused(response: Any, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["type"].endswith(kind), problem
    assert problem["errors"][0]["parameter"] == HEADER, problem


def test_a_retry_gets_the_first_answer_and_changes_nothing(
    http: TestClient, engine: Engine
) -> None:
    first = put(http, {"vendor_ref": "PO-1"}, "k-1")
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    after_first = order_row(engine)
    assert after_first[:2] == (2, "PO-1")
    # Someone else changes the order; a retry of the first request must not set it back.
    assert put(http, {"vendor_ref": "PO-2"}).status_code == 200
    changed = order_row(engine)
    assert changed[:2] == (3, "PO-2")

    retry = put(http, {"vendor_ref": "PO-1"}, "k-1")
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert retry.headers["etag"] == first.headers["etag"] == '"2"'
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert retry.headers["x-request-id"] != first.headers["x-request-id"]  # the retry's own
    assert order_row(engine) == changed


def test_a_key_used_for_another_request_is_a_409_and_changes_nothing(
    http: TestClient, engine: Engine
) -> None:
    assert put(http, SHIP, "k-1").status_code == 200
    before = order_row(engine), order_row(engine, 2)
    other_body = put(http, {**SHIP, "carrier": "DHL"}, "k-1")
    assert_refused(other_body, 409, "idempotency-key-reused")
    other_order = put(http, SHIP, "k-1", order_id=2)
    assert_refused(other_order, 409, "idempotency-key-reused")
    other_method = http.post("/v1/webhooks", json=HOOK, headers={HEADER: "k-1"})
    assert_refused(other_method, 409, "idempotency-key-reused")
    assert (order_row(engine), order_row(engine, 2)) == before
    # The stored answer is still the one replayed.
    assert put(http, SHIP, "k-1").headers["idempotent-replayed"] == "true"


BAD_KEYS = ["", "a b", "x" * 256, "tab\there", "ключ"]


def test_a_malformed_key_is_a_400_naming_the_header_and_changes_nothing(
    http: TestClient, engine: Engine
) -> None:
    before = order_row(engine)
    for key in BAD_KEYS:
        response = http.put("/v1/orders/1", json=SHIP, headers={HEADER: key.encode()})
        assert response.status_code == 400, (key, response.text)
        assert response.json()["errors"][0]["parameter"] == HEADER, key
    twice = http.put(
        "/v1/orders/1",
        json=SHIP,
        headers=[(HEADER, "k-1"), (HEADER, "k-2")],  # type: ignore[arg-type]
    )
    assert twice.status_code == 400 and twice.json()["errors"][0]["parameter"] == HEADER
    assert order_row(engine) == before
    assert stored_keys(engine) == []
    longest = "~" * 255
    assert put(http, SHIP, longest).status_code == 200
    assert stored_keys(engine) == [longest]


def test_a_body_over_the_cap_is_a_413_even_when_streamed(http: TestClient, engine: Engine) -> None:
    def chunks() -> Any:  # no Content-Length: the cap is counted as the body arrives
        yield b'{"vendor_ref": "'
        for _ in range(1100):
            yield b"x" * 1024
        yield b'"}'

    headers = {HEADER: "k-1", "Content-Type": "application/json"}
    response = http.put("/v1/orders/1", content=chunks(), headers=headers)
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["parameter"] == "body"
    assert stored_keys(engine) == []


def test_a_refused_request_does_not_keep_its_key(http: TestClient, engine: Engine) -> None:
    # A 400 ran nothing: the client fixes the body and sends it again with the same key.
    bad = put(http, {"status": "shipped"}, "k-1")
    assert bad.status_code == 400
    assert stored_keys(engine) == []
    good = put(http, SHIP, "k-1")
    assert good.status_code == 200 and "idempotent-replayed" not in good.headers
    assert order_row(engine)[2] == "shipped"


def test_a_refused_change_is_kept_and_replayed_too(http: TestClient, engine: Engine) -> None:
    refused = put(http, {"status": "open"}, "k-1", order_id=2)
    assert refused.status_code == 409 and refused.json()["allowed"]
    again = put(http, {"status": "open"}, "k-1", order_id=2)
    assert again.status_code == 409
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == refused.content


def test_xml_answers_are_replayed_as_xml(http: TestClient) -> None:
    first = http.put("/v1/orders/1.xml", json={"vendor_ref": "PO-1"}, headers={HEADER: "x"})
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/xml")
    retry = http.put("/v1/orders/1.xml", json={"vendor_ref": "PO-1"}, headers={HEADER: "x"})
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert retry.content == first.content


def test_the_answer_is_replayed_for_24_hours_then_the_key_is_new(
    http: TestClient, engine: Engine, clock: ManualClock
) -> None:
    first = put(http, {"vendor_ref": "PO-1"}, "k-1")
    put(http, {"vendor_ref": "PO-2"})
    clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    assert put(http, {"vendor_ref": "PO-1"}, "k-1").content == first.content
    assert order_row(engine)[1] == "PO-2"
    clock.advance(timedelta(seconds=1))
    fresh = put(http, {"vendor_ref": "PO-1"}, "k-1")
    assert fresh.status_code == 200 and "idempotent-replayed" not in fresh.headers
    assert order_row(engine)[:2] == (4, "PO-1")
    # And a day later, the first use of another key deletes the expired ones.
    clock.advance(timedelta(hours=25))
    assert put(http, {"vendor_ref": "PO-3"}, "k-2").status_code == 200
    assert stored_keys(engine) == ["k-2"]


@pytest.mark.usefixtures("allow_private")
def test_post_creates_once_per_key_and_keys_are_scoped_to_the_api_key(
    http: TestClient, engine: Engine
) -> None:
    first = http.post("/v1/webhooks", json=HOOK, headers={HEADER: "sub-1"})
    retry = http.post("/v1/webhooks", json=HOOK, headers={HEADER: "sub-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["secret"] == first.json()["secret"]
    assert scalar(engine, "SELECT count(*) FROM webhook_subscriptions") == 1
    # Another API key's "sub-1" is another request, with any body.
    other = TestClient(http.app, headers=auth_header(api_key(engine)))
    theirs = other.post("/v1/webhooks", json=HOOK, headers={HEADER: "sub-1"})
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    mine_again = other.post("/v1/webhooks", json=HOOK, headers={HEADER: "sub-1"})
    assert mine_again.json()["id"] == theirs.json()["id"] != first.json()["id"]
    with_other_body = other.post(
        "/v1/webhooks", json={**HOOK, "filter": "status=open"}, headers={HEADER: "sub-2"}
    )
    assert with_other_body.status_code == 201
    # Without a key nothing is deduplicated: the same body subscribes again.
    assert http.post("/v1/webhooks", json=HOOK).status_code == 201
    assert scalar(engine, "SELECT count(*) FROM webhook_subscriptions") == 4


def test_reads_and_unkeyed_routes_ignore_the_header(http: TestClient, engine: Engine) -> None:
    for _ in range(2):
        got = http.get("/v1/orders/1", headers={HEADER: "k-1"})
        assert got.status_code == 200 and "idempotent-replayed" not in got.headers
    assert stored_keys(engine) == []
