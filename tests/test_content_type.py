"""A body in a media type a route does not read is a 415 problem naming the type sent and the
one expected, and changes nothing (issue 11, point 10: a form-typed PUT was read as JSON)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from helpers import client, make_order, store

FORM = "application/x-www-form-urlencoded"
CHANGE = b'{"status": "cancelled"}'


@pytest.mark.parametrize("sent", [FORM, "text/plain", "multipart/form-data; boundary=x", "xml"])
def test_a_put_that_is_not_json_is_a_415_and_changes_nothing(engine: Engine, sent: str) -> None:
    store(engine, [make_order("1")])
    http = client(engine)
    before = http.get("/v1/orders/1")

    answer = http.put("/v1/orders/1", content=CHANGE, headers={"Content-Type": sent})

    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 415
    assert problem["errors"] == [{"parameter": "Content-Type", "expected": "application/json"}]
    assert sent in problem["detail"] and "application/json" in problem["detail"]
    after = http.get("/v1/orders/1")
    assert after.headers["etag"] == before.headers["etag"]
    assert after.json()["status"] == "open"


@pytest.mark.parametrize(
    "sent",
    [None, "application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json"],
)
def test_a_put_in_json_or_without_a_type_is_read(engine: Engine, sent: str | None) -> None:
    store(engine, [make_order("1")])
    headers = {"Content-Type": sent} if sent else {}
    answer = client(engine).put("/v1/orders/1", content=CHANGE, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"


def test_a_webhook_subscription_as_a_form_is_a_415_and_creates_nothing(engine: Engine) -> None:
    http = client(engine)
    answer = http.post(
        "/v1/webhooks",
        content=b"url=http://127.0.0.1:9/hook&event_types=order.created",
        headers={"Content-Type": FORM},
    )
    assert answer.status_code == 415, answer.text
    assert answer.json()["errors"] == [
        {"parameter": "Content-Type", "expected": "application/json"}
    ]
    assert http.get("/v1/webhooks").json()["data"] == []
