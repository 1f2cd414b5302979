"""The webhook subscription API: subscribe, list, delete, scopes, bad input, private addresses."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from sqlalchemy import Engine

from helpers import api_key, auth_header, client, make_order
from orderhub.services.webhooks import is_public
from orderhub.store import UnitOfWork
from webhook_support import ALL_TYPES, allow_private, forbid_private, merge  # noqa: F401

HOOK = "http://127.0.0.1:9/hook"


def subscribe(http: Any, **body: Any) -> Any:
    return http.post("/v1/webhooks", json={"url": HOOK, "event_types": ALL_TYPES} | body)


@pytest.mark.usefixtures("allow_private")
def test_subscribe_shows_the_secret_once(engine: Engine) -> None:
    http = client(engine)
    created = subscribe(http, filter="channel=mall-cz&status=in:shipped,delivered")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert body["url"] == HOOK and body["event_types"] == ALL_TYPES
    assert body["filter"] == "channel=mall-cz&status=in:shipped,delivered"
    assert body["active"] is True and body["created_at"].endswith("Z")

    listed = http.get("/v1/webhooks").json()["data"]
    one = http.get(f"/v1/webhooks/{body['id']}").json()
    assert [s["id"] for s in listed] == [body["id"]]
    assert "secret" not in listed[0] and "secret" not in one
    assert one == {k: v for k, v in body.items() if k != "secret"}


@pytest.mark.usefixtures("allow_private")
def test_delete_unsubscribes_and_drops_pending_deliveries(engine: Engine) -> None:
    http = client(engine)
    sub_id = subscribe(http).json()["id"]
    merge(engine, [make_order("1")])  # one pending delivery (nobody runs a worker here)
    assert len(http.get(f"/v1/webhooks/{sub_id}/deliveries").json()["data"]) == 1

    assert http.delete(f"/v1/webhooks/{sub_id}").status_code == 204
    assert http.get(f"/v1/webhooks/{sub_id}").status_code == 404
    assert http.delete(f"/v1/webhooks/{sub_id}").status_code == 404
    with UnitOfWork(engine) as uow:
        (row,) = uow.outbox.list("webhook")
    assert row.status == "failed" and row.last_error == "subscription deleted"
    merge(engine, [make_order("2")])
    with UnitOfWork(engine) as uow:
        assert len(uow.outbox.list("webhook")) == 1  # nothing new for a deleted subscription


def test_no_subscription_no_delivery(engine: Engine) -> None:
    merge(engine, [make_order("1"), make_order("2")])
    with UnitOfWork(engine) as uow:
        assert uow.outbox.list("webhook") == []
        assert len(uow.events.for_order(1)) == 1  # the events themselves were recorded


def test_webhooks_need_the_admin_scope(engine: Engine) -> None:
    http = client(engine)
    reader = auth_header(api_key(engine, "orders:read,orders:write"))
    assert http.get("/v1/webhooks", headers=reader).status_code == 403
    answer = http.post("/v1/webhooks", json={"url": HOOK, "event_types": ALL_TYPES}, headers=reader)
    assert answer.status_code == 403
    assert http.get("/v1/webhooks", headers={"Authorization": ""}).status_code == 401


BAD_BODIES = [
    ({"url": "ftp://example.com/hook"}, "url"),
    ({"url": "example.com/hook"}, "url"),
    ({"url": "http:///nohost"}, "url"),
    ({"url": "http://example.com:99999/"}, "url"),
    ({"url": "http://exa mple.com/"}, "url"),
    ({"url": 42}, "url"),
    ({"event_types": []}, "event_types"),
    ({"event_types": ["order.deleted"]}, "event_types"),
    ({"event_types": "order.created"}, "event_types"),
    ({"filter": "status=bogus"}, "filter"),
    ({"filter": "nosuchfield=1"}, "filter"),
    ({"filter": "total=bt:1"}, "filter"),
    ({"filter": "_sort=id:desc"}, "filter"),
    ({"filter": "status"}, "filter"),
    ({"secret": "whsec_mine"}, "secret"),
]


@pytest.mark.usefixtures("allow_private")
def test_bad_subscriptions_are_400s_naming_the_parameter(engine: Engine) -> None:
    http = client(engine)
    for change, parameter in BAD_BODIES:
        answer = subscribe(http, **change)
        assert answer.status_code == 400, (change, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"][0]["parameter"] == parameter, change
    assert http.get("/v1/webhooks").json()["data"] == []


def test_missing_fields_and_bad_ids_are_400s(engine: Engine) -> None:
    http = client(engine)
    missing = http.post("/v1/webhooks", json={"event_types": ALL_TYPES})
    assert missing.status_code == 400 and missing.json()["errors"][0]["parameter"] == "url"
    not_json = http.post("/v1/webhooks", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    cases = {
        "/v1/webhooks/abc": "subscription_id",
        "/v1/webhooks/0/deliveries": "subscription_id",
        "/v1/webhooks/1/deliveries?status=lost": "status",
        "/v1/webhooks/1/deliveries?limit=0": "limit",
        "/v1/webhooks/1/deliveries?limit=x": "limit",
        "/v1/webhooks/1/deliveries?page=2": "page",
    }
    for url, parameter in cases.items():
        answer = http.get(url)
        assert answer.status_code == 400, url
        assert answer.json()["errors"][0]["parameter"] == parameter
    retry = http.post("/v1/webhooks/1/deliveries/x/retry")
    assert retry.status_code == 400 and retry.json()["errors"][0]["parameter"] == "delivery_id"
    assert http.get("/v1/webhooks/99").status_code == 404
    assert http.get("/v1/webhooks/99/deliveries").status_code == 404


PRIVATE_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "https://169.254.169.254/latest/meta-data",
    "http://[::1]:8000/hook",
    "http://[fd00::1]/hook",
    "http://0.0.0.0/hook",
]


@pytest.mark.usefixtures("forbid_private")
def test_private_addresses_are_refused_by_default(engine: Engine) -> None:
    http = client(engine)
    for url in PRIVATE_URLS:
        answer = subscribe(http, url=url)
        assert answer.status_code == 400, (url, answer.text)
        error = answer.json()["errors"][0]
        assert error["parameter"] == "url"
        assert "ORDERHUB_WEBHOOKS_ALLOW_PRIVATE" in error["expected"], url
    assert http.get("/v1/webhooks").json()["data"] == []


@pytest.mark.usefixtures("allow_private")
def test_private_addresses_are_accepted_when_allowed(engine: Engine) -> None:
    answer = subscribe(client(engine), url="http://localhost:8080/hook")
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("ff02::1", False),
        ("fe80::1", False),
        ("240.0.0.1", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
