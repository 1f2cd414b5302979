"""The real-HTTP test harness itself: the API over loopback, as clients see it; and what the
server writes about an unexpected error."""

import logging

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, serve_in_thread, store
from orderhub.api.app import create_app
from orderhub.api.logs import ACCESS_LOGGER, RequestIdFilter


def test_api_answers_over_real_http(engine: Engine) -> None:
    store(engine, [make_order("42")])
    with serve_in_thread(create_app(engine)) as base:
        health = httpx.get(f"{base}/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        listed = httpx.get(f"{base}/v1/orders", headers=_auth(engine))
        assert listed.status_code == 200, listed.text
        assert [o["external_id"] for o in listed.json()["data"]] == ["42"]
        anonymous = httpx.get(f"{base}/v1/orders")
        assert anonymous.status_code == 401


def _auth(engine: Engine) -> dict[str, str]:
    return auth_header(api_key(engine))


def test_an_unexpected_error_has_its_request_id_and_access_line(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(engine)

    @app.get("/boom", include_in_schema=False)  # a test's route: not in the API's document
    def boom() -> None:
        raise RuntimeError("the bug")

    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO), TestClient(app, raise_server_exceptions=False) as http:
        answer = http.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert answer.status_code == 500
    assert (answer.headers["x-request-id"], answer.json()["request_id"]) == ("boom-1", "boom-1")
    lines = [(r.name, r.levelname, r.request_id) for r in caplog.records]  # type: ignore[attr-defined]
    assert ("orderhub.api.problems", "ERROR", "boom-1") in lines
    [access] = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert (access.status, access.path, access.request_id) == (500, "/boom", "boom-1")  # type: ignore[attr-defined]
