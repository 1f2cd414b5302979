"""The admin pages (web/admin*.py) over the real services, on SQLite and PostgreSQL: who may
open them, API keys (the token once, then working, then revoked), webhook subscriptions (a
filter in the API's language, pause as the API sees it, delete, a failed delivery resent), the
mail outbox's retry, quarantined payloads shown as text, and channels' health and "sync now"."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, serve_in_thread
from orderhub.services.channels import ConfigError
from orderhub.services.outbox import Backoff, Topic, Worker
from orderhub.services.push import TOPIC as PUSH
from orderhub.services.push import Pusher
from orderhub.services.scheduler import FixedAccount, Scheduler
from orderhub.services.sync import SyncResult
from orderhub.store import RunCounts, ScheduleRepository, SyncRepository, UnitOfWork
from orderhub.web.app import create_app
from web_support import sign_in
from webhook_support import Subscriber, merge, worker
from webhook_support import allow_private as allow_private

PAGES = [
    "/admin",
    "/admin/keys",
    "/admin/webhooks",
    "/admin/mail",
    "/admin/quarantine",
    "/admin/channels",
]
POSTS = [
    "/admin/keys",
    "/admin/keys/anything/revoke",
    "/admin/webhooks",
    "/admin/webhooks/1/pause",
    "/admin/webhooks/1/delete",
    "/admin/webhooks/1/deliveries/1/resend",
    "/admin/mail/1/retry",
    "/admin/channels/mall-cz/sync",
    "/admin/channels/push/1/retry",
]
CONFIG = """
[[channels]]
name = "mall-cz"
type = "mall"
base_url = "https://mall.example/api"
sync_interval = 300
"""


@pytest.fixture
def web(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine), follow_redirects=False) as http:
        yield http


def form(user: Any, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": user.csrf, **fields}


def field_error(page: str, name: str) -> str:
    """The error shown next to a form field (the page's `<p class="error" id="NAME-error">`)."""
    found = re.search(rf'<p class="error" id="{name}-error">(.*?)</p>', page, re.S)
    assert found, f"no error next to {name}"
    return html.unescape(found.group(1))


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_only_an_admin_opens_the_admin_pages(engine: Engine, web: TestClient, role: str) -> None:
    user = sign_in(web, engine, role)
    for path in PAGES:
        answer = web.get(path)
        assert answer.status_code == 403, path
        assert "Only an admin" in answer.text and "text/html" in answer.headers["content-type"]
    for path in POSTS:
        assert web.post(path, data=form(user)).status_code == 403, path
    assert api_key_names(engine) == []  # nothing was created


def test_the_admin_index_links_every_admin_page(engine: Engine, web: TestClient) -> None:
    sign_in(web, engine, "admin")
    index = web.get("/admin")
    assert index.status_code == 200
    for path in ["/admin/users", *PAGES[1:]]:
        assert f'href="{path}"' in index.text
    for path in PAGES[1:]:
        assert web.get(path).status_code == 200, path


def api_key_names(engine: Engine) -> list[str]:
    from orderhub.services.keys import list_keys

    return [row.key.name for row in list_keys(engine)]


def test_a_key_is_shown_once_works_and_is_revoked(engine: Engine, web: TestClient) -> None:
    user = sign_in(web, engine, "admin")
    created = web.post(
        "/admin/keys", data=form(user, name="warehouse", scopes=["orders:read"], daily_limit="50")
    )
    assert created.status_code == 201
    tokens = re.findall(r'value="(ohk_[0-9a-f]{12}_[^"]+)"', created.text)
    assert len(tokens) == 1 and "shown only this once" in created.text
    token = tokens[0]

    orders = web.get("/v1/orders", headers=auth_header(token))
    assert orders.status_code == 200, orders.text
    listing = web.get("/admin/keys").text
    assert token not in listing  # never again
    public_id = token.split("_")[1]
    assert f"ohk_{public_id}" in listing and "warehouse" in listing
    assert re.search(r"1 / 50</td>", listing), "today's use against the daily limit"
    assert f"{datetime.now(UTC).date().isoformat()} <span" in listing  # last used: today

    revoked = web.post("/admin/keys/warehouse/revoke", data=form(user))
    assert revoked.status_code == 303
    after = web.get(revoked.headers["location"]).text
    assert "API key warehouse is revoked" in after and re.search(r"revoked <time", after)
    refused = web.get("/v1/orders", headers=auth_header(token))
    assert refused.status_code == 401


def test_bad_key_input_is_said_next_to_its_field(engine: Engine, web: TestClient) -> None:
    user = sign_in(web, engine, "admin")
    empty = web.post("/admin/keys", data=form(user, name="", scopes=["orders:read"]))
    assert empty.status_code == 400
    assert field_error(empty.text, "name").startswith("name: expected 1 to 64 letters")
    no_scope = web.post("/admin/keys", data=form(user, name="ops"))
    assert no_scope.status_code == 400
    assert field_error(no_scope.text, "scopes").startswith("scopes: expected a comma-separated")
    limit = web.post("/admin/keys", data=form(user, name="ops", scopes=["admin"], daily_limit="x"))
    assert limit.status_code == 400 and "daily_limit" in field_error(limit.text, "daily_limit")
    assert api_key_names(engine) == []
    web.post("/admin/keys", data=form(user, name="ops", scopes=["admin"]))
    taken = web.post("/admin/keys", data=form(user, name="ops", scopes=["admin"]))
    assert taken.status_code == 409 and "exists" in field_error(taken.text, "name")


@pytest.mark.usefixtures("allow_private")
def test_a_webhook_with_a_filter_paused_and_deleted(engine: Engine, web: TestClient) -> None:
    user = sign_in(web, engine, "admin")
    admin_key = auth_header(api_key(engine))
    bad = "status=nonsense:1"
    refused_by_api = web.post(
        "/v1/webhooks",
        headers=admin_key,
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["order.created"], "filter": bad},
    )
    assert refused_by_api.status_code == 400
    wrong = web.post(
        "/admin/webhooks",
        data=form(user, url="http://127.0.0.1:9/hook", event_types=["order.created"], filter=bad),
    )
    assert wrong.status_code == 400
    assert field_error(wrong.text, "filter") == refused_by_api.json()["detail"]
    assert web.get("/v1/webhooks", headers=admin_key).json()["data"] == []

    good = "channel=mall-cz&status=in:shipped,delivered"
    created = web.post(
        "/admin/webhooks",
        data=form(user, url="http://127.0.0.1:9/hook", event_types=["order.created"], filter=good),
    )
    assert created.status_code == 201
    (secret,) = re.findall(r'value="(whsec_[^"]+)"', created.text)
    (sub,) = web.get("/v1/webhooks", headers=admin_key).json()["data"]
    assert (sub["filter"], sub["event_types"], sub["active"]) == (good, ["order.created"], True)
    assert secret not in web.get("/admin/webhooks").text

    paused = web.post(f"/admin/webhooks/{sub['id']}/pause", data=form(user))
    assert paused.status_code == 303
    seen = web.get(f"/v1/webhooks/{sub['id']}", headers=admin_key).json()
    assert seen["active"] is False and seen["disabled_reason"].startswith("switched off")
    assert "paused" in web.get("/admin/webhooks").text
    web.post(f"/admin/webhooks/{sub['id']}/resume", data=form(user))
    assert web.get(f"/v1/webhooks/{sub['id']}", headers=admin_key).json()["active"] is True

    assert web.post(f"/admin/webhooks/{sub['id']}/delete", data=form(user)).status_code == 303
    assert web.get(f"/v1/webhooks/{sub['id']}", headers=admin_key).status_code == 404
    assert web.get(f"/admin/webhooks/{sub['id']}").status_code == 404


@pytest.mark.usefixtures("allow_private")
def test_a_failed_delivery_is_resent(engine: Engine, web: TestClient) -> None:
    user = sign_in(web, engine, "admin")
    admin_key = auth_header(api_key(engine))
    subscriber = Subscriber(status=500)
    with serve_in_thread(subscriber) as base:
        body = {"url": base + "/hook", "event_types": ["order.created"]}
        sub = web.post("/v1/webhooks", headers=admin_key, json=body).json()
        (order_id,) = merge(engine, [make_order("A-1")]).created
        worker(engine, Backoff(first=0.0, attempts=1)).run_until_idle()
    log_path = f"/admin/webhooks/{sub['id']}"
    deliveries = f"/v1/webhooks/{sub['id']}/deliveries"
    (failed,) = web.get(deliveries, headers=admin_key).json()["data"]
    assert failed["status"] == "failed"

    listed = web.get("/admin/webhooks").text
    assert f'<a href="{log_path}">1 failed</a>' in listed
    shown = web.get(log_path).text
    assert f'href="/orders/{order_id}"' in shown and failed["last_error"] in html.unescape(shown)
    resend = f"{log_path}/deliveries/{failed['id']}/resend"
    assert f'action="{resend}"' in shown
    assert web.post(resend, data=form(user)).status_code == 303
    (again,) = web.get(deliveries, headers=admin_key).json()["data"]
    assert (again["id"], again["status"], again["attempts"]) == (failed["id"], "pending", 0)
    assert "1 failed" not in web.get("/admin/webhooks").text
    twice = web.post(resend, data=form(user))
    assert twice.status_code == 409 and "still pending" in twice.text


def test_failed_mail_is_retried(engine: Engine, web: TestClient) -> None:
    user = sign_in(web, engine, "admin")
    with UnitOfWork(engine) as uow:
        uow.outbox.enqueue("mail", {"to": "ann@example.com", "subject": "Shipped"}, order_id=7)
        (item,) = uow.outbox.lease(["mail"], "test", at=datetime.now(UTC) + timedelta(seconds=1))
        uow.outbox.give_up(item.id, "test", "SMTP 550 mailbox unavailable")
    page = web.get("/admin/mail?status=failed").text
    assert "ann@example.com" in page and "SMTP 550 mailbox unavailable" in page
    assert 'href="/orders/7"' in page
    retried = web.post(f"/admin/mail/{item.id}/retry", data=form(user))
    assert retried.status_code == 303
    with UnitOfWork(engine) as uow:
        row = uow.outbox.get(item.id)
    assert row is not None and row.status == "pending"
    assert web.post("/admin/mail/999999/retry", data=form(user)).status_code == 404
    assert web.get("/admin/mail?status=nope").status_code == 400


def test_quarantined_payloads_are_shown_as_text(engine: Engine, web: TestClient) -> None:
    sign_in(web, engine, "admin")
    at = datetime.now(UTC)
    hostile = "<script>alert('x')</script><b>bold</b>"
    with UnitOfWork(engine) as uow:
        repo = SyncRepository(uow.conn)
        run = repo.start_run("mall-cz", False, at)
        repo.quarantine("mall-cz", run, [("M-9", "total: not a number", {"note": hostile})], at)
        other = repo.start_run("cdon-se", False, at)
        repo.quarantine("cdon-se", other, [("C-1", "no lines", {"id": "C-1"})], at)
    page = web.get("/admin/quarantine?account=mall-cz").text
    assert hostile not in page and "<b>bold" not in page
    (shown,) = re.findall(r"<pre [^>]*>(.*?)</pre>", page, re.S)
    assert "<" not in shown and html.unescape(shown) == json.dumps({"note": hostile}, indent=2)
    assert "total: not a number" in page and "M-9" in page
    assert "C-1" not in page.split("</select>")[1]  # the other account's record is not listed
    assert "C-1" in web.get("/admin/quarantine").text


def test_channels_show_health_pushes_and_sync_now_schedules(
    engine: Engine, web: TestClient, tmp_path: Path
) -> None:
    user = sign_in(web, engine, "admin")
    config = tmp_path / "orderhub.toml"
    config.write_text(CONFIG)
    web.app.state.config_file = str(config)  # type: ignore[attr-defined]
    now = datetime.now(UTC).replace(microsecond=0)
    with UnitOfWork(engine) as uow:
        repo = SyncRepository(uow.conn)
        run = repo.start_run("mall-cz", False, now - timedelta(minutes=5))
        counts = RunCounts(orders_new=3, orders_changed=2, requests=7)
        repo.finish_run(run, "failed", now - timedelta(minutes=4), counts, "HTTP 503 from MALL")
        ScheduleRepository(uow.conn).add({"mall-cz": now + timedelta(hours=1)}, now)
    failed_push = _failed_push(engine, web)

    page = web.get("/admin/channels").text
    section = page.split('id="mall-cz"')[1]
    assert "HTTP 503 from MALL" in section and "5 orders" in section and "7 requests" in section
    assert "Failures in a row</dt><dd>1</dd>" in section
    assert f'href="/orders/{failed_push}"' in section
    assert "configuration: no account" in section

    fake = _FakeSync()
    scheduler = Scheduler(engine, [FixedAccount(_account(), 300)], sync=fake)
    assert scheduler.tick() is None  # due in an hour
    synced = web.post("/admin/channels/mall-cz/sync", data=form(user))
    assert synced.status_code == 303 and synced.headers["location"].endswith("#mall-cz")
    with UnitOfWork(engine) as uow:
        entry = ScheduleRepository(uow.conn).get("mall-cz")
    assert entry is not None and entry.next_due_at <= datetime.now(UTC)
    assert fake.runs == []  # the post only scheduled it
    outcome = scheduler.tick()
    assert outcome is not None and outcome.channel == "mall-cz" and fake.runs == ["mall-cz"]
    unknown = web.post("/admin/channels/nowhere/sync", data=form(user))
    assert unknown.status_code == 409 and "no worker schedules" in unknown.text

    retried = web.post(f"/admin/channels/push/{failed_push}/retry", data=form(user))
    assert retried.status_code == 303
    shown = web.get(f"/v1/orders/{failed_push}", headers=auth_header(api_key(engine))).json()
    assert shown["push_status"] == "pending"
    with UnitOfWork(engine) as uow:
        (row,) = uow.outbox.list(PUSH)
    assert (row.status, row.attempts) == ("pending", 0)
    again = web.post(f"/admin/channels/push/{failed_push}/retry", data=form(user))
    assert again.status_code == 409


def _failed_push(engine: Engine, web: TestClient) -> int:
    """An order whose push-back ran out of retries: a change the push service could not send
    (no such account), tried once."""
    (order_id,) = merge(engine, [make_order("P-1")]).created
    key = auth_header(api_key(engine))
    changed = web.put(f"/v1/orders/{order_id}", headers=key, json={"status": "shipping"})
    assert changed.status_code == 200, changed.text

    def no_account(name: str) -> Any:
        raise ConfigError(f"no account {name}")

    pusher = Pusher(engine, no_account, Backoff(first=0.0, attempts=1))
    Worker(engine, {PUSH: Topic(pusher, Backoff(first=0.0, attempts=1))}).run_until_idle()
    assert web.get(f"/v1/orders/{order_id}", headers=key).json()["push_status"] == "failed"
    return order_id


def _account() -> Any:
    from orderhub.channels.base import Account

    return Account(name="mall-cz", type="mall", base_url="https://mall.example/api")


class _FakeSync:
    """Stands in for `sync_account` under the scheduler: records which account it ran."""

    def __init__(self) -> None:
        self.runs: list[str] = []

    def __call__(self, engine: Engine, account: Any, **_: Any) -> SyncResult:
        self.runs.append(account.name)
        return SyncResult(account.name, 0, "ok", RunCounts())


@pytest.mark.usefixtures("allow_private")
def test_bad_input_is_never_a_server_error(engine: Engine, web: TestClient) -> None:
    user = sign_in(web, engine, "admin")
    posts = {
        "/admin/keys": {"name": "a\x00b", "scopes": ["orders:read\x00"], "daily_limit": "\x00"},
        "/admin/webhooks": {"url": "http://x/\x00", "event_types": ["no\x00"], "filter": "\x00"},
        "/admin/keys/no-such-key/revoke": {},
        "/admin/webhooks/99/pause": {},
        "/admin/webhooks/x1/delete": {},
        "/admin/webhooks/1/deliveries/zz/resend": {},
        "/admin/mail/-1/retry": {},
        "/admin/channels/push/abc/retry": {"account": "\x00"},
        "/admin/channels/push/5/retry": {},
    }
    for path, fields in posts.items():
        answer = web.post(path, data=form(user, **fields))
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        assert "text/html" in answer.headers["content-type"], path
    for path in [
        "/admin/quarantine?page=0",
        "/admin/quarantine?account=%E2%80%AE",
        "/admin/mail?status=x",
        "/admin/webhooks/1?before=x",
        "/admin/webhooks/123456789012345678901",
    ]:
        answer = web.get(path)
        assert answer.status_code < 500, path
