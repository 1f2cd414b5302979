"""The real-HTTP test harness itself: the API over loopback, as clients see it."""

import httpx
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, serve_in_thread, store
from orderhub.api.app import create_app


def test_api_answers_over_real_http(engine: Engine) -> None:
    store(engine, [make_order("42")])
    with serve_in_thread(create_app(engine)) as base:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        orders = httpx.get(f"{base}/v1/orders", headers=_auth(engine)).json()
        assert [o["external_id"] for o in orders["data"]] == ["42"]


def _auth(engine: Engine) -> dict[str, str]:
    return auth_header(api_key(engine))
