"""GET /metrics: who may read it, what it counts, and that the numbers move by exactly what was
done (requests made here, a sandbox's own orders, outbox rows written here), on SQLite and
PostgreSQL. The HTTP counters are this process's: each test compares two scrapes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, serve_in_thread, store
from orderhub.api.app import create_app
from orderhub.api.instruments import UNMATCHED
from orderhub.domain import ManualClock
from orderhub.services.keys import create_key, parse_scopes
from orderhub.services.mail import TOPIC as MAIL
from orderhub.services.sync import sync_account
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxRepository
from orderhub.store.webhooks import TOPIC as WEBHOOK
from sync_support import CHANNEL, Sandbox, mall_sandbox

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
ORDER_ROUTE = "/v1/orders/{order_id}"
#: Methods the HTTP parser knows and no route of the hub answers.
EXOTIC_METHODS = ("PROPFIND", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "PURGE", "SEARCH")


def parse(text: str) -> Samples:
    """Every sample of an exposition, by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def requests(samples: Samples, route: str, status: int, method: str = "GET") -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return value(samples, "orderhub_http_requests_total", **labels)


def routes(samples: Samples) -> set[str]:
    return {
        dict(labels)["route"] for name, labels in samples if name == "orderhub_http_requests_total"
    }


class Scraper:
    """Scrapes /metrics with a key of the scope `metrics` (over real HTTP or a TestClient)."""

    def __init__(self, client: httpx.Client | TestClient, engine: Engine) -> None:
        self.client = client
        self.key = api_key(engine, "metrics")

    def __call__(self) -> Samples:
        response = self.client.get("/metrics", headers=auth_header(self.key))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        return parse(response.text)


@pytest.fixture
def served(engine: Engine) -> Iterator[httpx.Client]:
    """The API over loopback HTTP."""
    with (
        serve_in_thread(create_app(engine)) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as http,
    ):
        yield http


# --- who may read it ------------------------------------------------------------------------


def test_metrics_needs_a_key_with_the_scope_metrics_or_admin(
    served: httpx.Client, engine: Engine
) -> None:
    anonymous = served.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="orderhub"'

    reader = served.get("/metrics", headers=auth_header(api_key(engine, "orders:read")))
    assert reader.status_code == 403
    assert reader.headers["content-type"] == "application/problem+json"
    assert "metrics" in reader.json()["detail"]

    for scopes in ("metrics", "admin"):
        allowed = served.get("/metrics", headers=auth_header(api_key(engine, scopes)))
        assert allowed.status_code == 200, (scopes, allowed.text)
        assert value(parse(allowed.text), "orderhub_database_up") == 1


def test_a_metrics_key_reads_no_orders(served: httpx.Client, engine: Engine) -> None:
    key = auth_header(api_key(engine, "metrics"))
    assert served.get("/v1/orders", headers=key).status_code == 403


# --- HTTP requests ----------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_and_status(
    served: httpx.Client, engine: Engine
) -> None:
    store(engine, [make_order("7")])
    scrape = Scraper(served, engine)
    reader = auth_header(api_key(engine, "orders:read"))
    before = scrape()
    for _ in range(3):
        assert served.get("/v1/orders/1", headers=reader).status_code == 200
    for _ in range(2):
        assert served.get("/v1/orders/999", headers=reader).status_code == 404
    assert served.get("/v1/orders/1").status_code == 401  # refused before routing: same route
    assert served.get("/v1/orders", headers=reader).status_code == 200
    after = scrape()

    def grew(route: str, status: int) -> float:
        return requests(after, route, status) - requests(before, route, status)

    assert grew(ORDER_ROUTE, 200) == 3
    assert grew(ORDER_ROUTE, 404) == 2
    assert grew(ORDER_ROUTE, 401) == 1
    assert grew("/v1/orders", 200) == 1
    assert grew("/metrics", 200) == 1  # the first scrape, counted once it was answered
    counted = "orderhub_http_request_duration_seconds_count"
    timed = value(after, counted, method="GET", route=ORDER_ROUTE) - value(
        before, counted, method="GET", route=ORDER_ROUTE
    )
    assert timed == 6


def test_fifty_order_ids_are_one_route_label_and_unknown_paths_another(
    served: httpx.Client, engine: Engine
) -> None:
    scrape = Scraper(served, engine)
    reader = auth_header(api_key(engine, "orders:read"))
    before = scrape()
    for order_id in range(1000, 1050):
        assert served.get(f"/v1/orders/{order_id}", headers=reader).status_code == 404
    for n in range(10):
        assert served.get(f"/v1/no-such-thing-{n}", headers=reader).status_code == 404
        assert served.get(f"/nowhere/{n}").status_code == 404
    for method in EXOTIC_METHODS:  # methods no route has: one label for them all
        assert served.request(method, "/v1/orders/1", headers=reader).status_code == 405
    after = scrape()
    assert routes(after) - routes(before) <= {ORDER_ROUTE, UNMATCHED, "/metrics"}
    assert not any(str(n) in route for route in routes(after) for n in range(1000, 1050))
    assert requests(after, ORDER_ROUTE, 404) - requests(before, ORDER_ROUTE, 404) == 50
    assert requests(after, UNMATCHED, 404) - requests(before, UNMATCHED, 404) == 20
    other = requests(after, ORDER_ROUTE, 405, "OTHER") - requests(before, ORDER_ROUTE, 405, "OTHER")
    assert other == len(EXOTIC_METHODS)
    methods = {dict(labels).get("method") for _, labels in after}
    assert not methods & set(EXOTIC_METHODS)


def test_a_quota_refusal_is_counted_by_key_name(served: httpx.Client, engine: Engine) -> None:
    scrape = Scraper(served, engine)
    name = f"limited-{uuid.uuid4().hex[:8]}"
    token = create_key(engine, name, parse_scopes("orders:read"), daily_limit=2).token
    before = scrape()
    answers = [served.get("/v1/orders", headers=auth_header(token)).status_code for _ in range(5)]
    assert answers == [200, 200, 429, 429, 429]
    after = scrape()
    refused = "orderhub_quota_rejections_total"
    assert value(after, refused, key=name) - value(before, refused, key=name) == 3
    assert requests(after, "/v1/orders", 429) - requests(before, "/v1/orders", 429) == 3
    # Every request tried is in the key's count (the refused ones too).
    assert value(after, "orderhub_api_key_requests_total", key=name) == 5


# --- what the database says -------------------------------------------------------------------

START = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with mall_sandbox(orders=25, seed=7) as sandbox:
        yield sandbox


def test_a_sync_moves_the_run_order_and_request_counters_by_the_sandboxs_own_numbers(
    engine: Engine, sandbox: Sandbox
) -> None:
    clock = ManualClock(START)
    scrape = Scraper(TestClient(create_app(engine, clock=clock)), engine)
    before = scrape()
    assert value(before, "orderhub_sync_runs_total", account=CHANNEL, status="ok") == 0

    # A generous timeout: a request retried after a timeout on a loaded machine is an error
    # (counted below), not one of the sandbox's.
    account = sandbox.account(page_size=10, timeout=30.0)
    result = sync_account(engine, account, clock=clock)
    assert result.ok, result.error
    sandbox_orders = len(sandbox.state.orders_json())
    sandbox_requests = len(sandbox.state.requests)
    clock.advance(timedelta(seconds=42))
    after = scrape()

    assert value(after, "orderhub_sync_runs_total", account=CHANNEL, status="ok") == 1
    read = sum(
        value(after, "orderhub_sync_orders_total", account=CHANNEL, result=result)
        for result in ("new", "changed", "unchanged")
    )
    assert read == sandbox_orders == 25
    assert value(after, "orderhub_sync_orders_total", account=CHANNEL, result="new") == 25
    assert value(after, "orderhub_sync_requests_total", account=CHANNEL) == sandbox_requests
    assert value(after, "orderhub_sync_errors_total", account=CHANNEL) == 0
    assert value(after, "orderhub_sync_running", account=CHANNEL) == 0
    assert value(after, "orderhub_sync_lag_seconds", account=CHANNEL) == 42
    last = value(after, "orderhub_sync_last_success_timestamp_seconds", account=CHANNEL)
    assert last == START.timestamp()

    # A second run reads the same orders again (a full re-read): the counters add up.
    again = sync_account(engine, account, full=True, clock=clock)
    assert again.ok, again.error
    twice = scrape()
    assert value(twice, "orderhub_sync_runs_total", account=CHANNEL, status="ok") == 2
    read_twice = sum(
        value(twice, "orderhub_sync_orders_total", account=CHANNEL, result=result)
        for result in ("new", "changed", "unchanged")
    )
    assert read_twice == 2 * sandbox_orders
    assert value(twice, "orderhub_sync_lag_seconds", account=CHANNEL) == 0


def test_a_refused_sync_is_a_failed_run_and_the_lag_of_an_account_never_synced_is_infinite(
    engine: Engine, sandbox: Sandbox
) -> None:
    clock = ManualClock(START)
    scrape = Scraper(TestClient(create_app(engine, clock=clock)), engine)
    refused = sync_account(engine, sandbox.account(credentials={"client_id": "wrong"}), clock=clock)
    assert not refused.ok
    samples = scrape()
    assert value(samples, "orderhub_sync_runs_total", account=CHANNEL, status="failed") == 1
    assert value(samples, "orderhub_sync_runs_total", account=CHANNEL, status="ok") == 0
    assert value(samples, "orderhub_sync_requests_total", account=CHANNEL) == len(
        sandbox.state.requests
    )
    assert value(samples, "orderhub_sync_lag_seconds", account=CHANNEL) == float("inf")
    assert ("orderhub_sync_last_success_timestamp_seconds", (("account", CHANNEL),)) not in samples


def test_outbox_depth_and_age_by_topic_and_state_and_delivery_outcomes(engine: Engine) -> None:
    clock = ManualClock(START)
    scrape = Scraper(TestClient(create_app(engine, clock=clock)), engine)
    with UnitOfWork(engine) as uow:
        for n in range(4):
            uow.outbox.enqueue(WEBHOOK, {"n": n}, at=START - timedelta(minutes=10 - n))
        for n in range(3):
            uow.outbox.enqueue(MAIL, {"n": n}, at=START - timedelta(seconds=30 + n))
        uow.outbox.enqueue("push", {"n": 0}, at=START - timedelta(hours=2))
    with engine.begin() as conn:
        outbox = OutboxRepository(conn)
        webhooks = outbox.lease([WEBHOOK], "test", at=START, limit=3)  # the three oldest
        assert outbox.complete(webhooks[0].id, "test", at=START)
        assert outbox.complete(webhooks[1].id, "test", at=START)
        assert outbox.give_up(webhooks[2].id, "test", "410 Gone")
        (mail,) = outbox.lease([MAIL], "test", at=START, limit=1)  # the oldest: 32 s
        assert outbox.complete(mail.id, "test", at=START)

    samples = scrape()

    def rows(topic: str, state: str) -> float:
        return value(samples, "orderhub_outbox_rows", topic=topic, state=state)

    def age(topic: str, state: str) -> float:
        return value(samples, "orderhub_outbox_oldest_age_seconds", topic=topic, state=state)

    assert (rows(WEBHOOK, "pending"), rows(WEBHOOK, "delivered"), rows(WEBHOOK, "failed")) == (
        1,
        2,
        1,
    )
    assert (rows(MAIL, "pending"), rows(MAIL, "delivered"), rows("push", "pending")) == (2, 1, 1)
    assert age(WEBHOOK, "pending") == 7 * 60  # the fourth, made 7 minutes before
    assert age(WEBHOOK, "delivered") == 10 * 60
    assert age(MAIL, "pending") == 31
    assert age("push", "pending") == 2 * 3600
    assert value(samples, "orderhub_webhook_deliveries_total", outcome="delivered") == 2
    assert value(samples, "orderhub_webhook_deliveries_total", outcome="failed") == 1
    assert value(samples, "orderhub_webhook_deliveries_pending") == 1
    assert value(samples, "orderhub_emails_sent_total") == 1
    assert value(samples, "orderhub_emails_failed_total") == 0
    assert value(samples, "orderhub_emails_pending") == 2


def test_every_metric_is_listed_in_the_operations_guide(engine: Engine) -> None:
    from pathlib import Path

    guide = (Path(__file__).parents[1] / "docs" / "operations.md").read_text()
    families = text_string_to_metric_families(
        TestClient(create_app(engine))
        .get("/metrics", headers=auth_header(api_key(engine, "metrics")))
        .text
    )
    names = {f.name for f in families if f.name.startswith("orderhub_")}
    for name in names:
        shown = name + ("_total" if f"{name}_total" in guide else "")
        assert f"`{shown}`" in guide, name
