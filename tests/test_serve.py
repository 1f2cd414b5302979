"""The real-HTTP test harness itself: the API over loopback, as clients see it."""

import httpx
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, serve_in_thread, store
from orderhub.api.app import create_app


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
