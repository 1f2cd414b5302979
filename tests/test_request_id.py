"""X-Request-ID: the client's id is kept (when it is a sensible token) or one is made; every
answer returns it, and every problem body of that request names it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import client
from orderhub.api.app import create_app


def test_the_clients_id_comes_back_on_answers_and_in_problems(engine: Engine) -> None:
    http = client(engine)
    ok = http.get("/v1/orders", headers={"X-Request-ID": "trace-42.a:b"})
    assert ok.status_code == 200
    assert ok.headers["x-request-id"] == "trace-42.a:b"
    bad = http.get("/v1/orders?total=gt:abc", headers={"X-Request-ID": "trace-43"})
    assert bad.status_code == 400
    assert (bad.headers["x-request-id"], bad.json()["request_id"]) == ("trace-43", "trace-43")


def test_an_id_is_made_when_none_or_an_unusable_one_is_sent(engine: Engine) -> None:
    anonymous = TestClient(create_app(engine))  # no key: the refusal carries an id too
    made = []
    for headers in ({}, {"X-Request-ID": "x" * 129}, {"X-Request-ID": "a b;c"}):
        answer = anonymous.get("/v1/orders", headers=headers)
        assert answer.status_code == 401
        request_id = answer.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
        assert answer.json()["request_id"] == request_id
        made.append(request_id)
    assert len(set(made)) == 3  # a new id per request


def test_an_input_refused_before_routing_names_its_request(engine: Engine) -> None:
    answer = client(engine).get("/v1/orders?customer=%C3", headers={"X-Request-ID": "utf8-1"})
    assert answer.status_code == 400
    assert answer.json()["request_id"] == "utf8-1"
    assert answer.headers["x-request-id"] == "utf8-1"
