"""`orderhub webhooks list|create|deliveries|resend`: the same subscriptions and delivery log as
/v1/webhooks, through the same service, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from typer.testing import CliRunner, Result

from helpers import client, make_order, store
from orderhub.cli.common import console
from orderhub.cli.main import app as cli
from orderhub.settings import get_settings
from orderhub.store.outbox import outbox

HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture
def http(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    monkeypatch.setenv("ORDERHUB_WEBHOOKS_ALLOW_PRIVATE", "1")
    # Tables as wide as their values, whatever the terminal (rich keeps its width in _width).
    monkeypatch.setattr(console, "_width", 200)
    get_settings.cache_clear()
    store(engine, [make_order("1")])
    yield client(engine)
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def create(*extra: str) -> Result:
    return run("webhooks", "create", "--url", HOOK, *extra)


def test_create_prints_the_secret_once_and_lists_as_the_api(http: TestClient) -> None:
    created = create(
        "--event", "order.created", "-e", "order.status_changed", "--filter", "status=shipped"
    )
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and " " not in secret
    [listed] = http.get("/v1/webhooks").json()["data"]
    assert (listed["url"], listed["event_types"], listed["filter"]) == (
        HOOK,
        ["order.created", "order.status_changed"],
        "status=shipped",
    )
    as_json = run("webhooks", "list", "--json")
    assert as_json.exit_code == 0
    assert as_json.output.rstrip("\n") == http.get("/v1/webhooks").text
    table = run("webhooks", "list")
    assert table.exit_code == 0 and HOOK in table.output and "order.status_changed" in table.output
    assert secret not in as_json.output + table.output


@pytest.mark.parametrize(
    ("extra", "parameter"),
    [
        (["--event", "order.deleted"], "event_types"),
        (["--event", "order.created", "--filter", "colour=red"], "filter"),
    ],
)
def test_bad_subscriptions_name_the_parameter(
    http: TestClient, extra: list[str], parameter: str
) -> None:
    result = create(*extra)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {parameter}: expected")
    assert http.get("/v1/webhooks").json()["data"] == []


def test_a_private_url_is_refused_unless_allowed(
    http: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERHUB_WEBHOOKS_ALLOW_PRIVATE", "0")
    get_settings.cache_clear()
    result = create("--event", "order.created")
    assert result.exit_code == 2
    assert result.output.startswith("error: url: expected a public address")


def test_deliveries_and_resend(http: TestClient, engine: Engine) -> None:
    assert create("--event", "order.updated").exit_code == 0
    assert http.put("/v1/orders/1", json={"vendor_ref": "PO-1"}).status_code == 200
    log = run("webhooks", "deliveries", "1", "--json")
    assert log.exit_code == 0, log.output
    assert log.output.rstrip("\n") == http.get("/v1/webhooks/1/deliveries").text
    [delivery] = http.get("/v1/webhooks/1/deliveries").json()["data"]
    assert (delivery["type"], delivery["status"]) == ("order.updated", "pending")

    pending = run("webhooks", "resend", "1", str(delivery["id"]))
    assert pending.exit_code == 2
    assert pending.output.startswith(f"error: delivery {delivery['id']} is still pending")

    with engine.begin() as conn:  # as the worker leaves it after the last attempt
        conn.execute(update(outbox).values(status="failed", last_error="HTTP 500"))
    failed = run("webhooks", "deliveries", "1", "--status", "failed", "--json")
    assert failed.exit_code == 0, failed.output
    assert [d["last_error"] for d in json.loads(failed.output)["data"]] == ["HTTP 500"]
    assert "failed" in run("webhooks", "deliveries", "1").output
    resent = run("webhooks", "resend", "1", str(delivery["id"]))
    assert resent.exit_code == 0, resent.output
    [again] = http.get("/v1/webhooks/1/deliveries").json()["data"]
    assert (again["id"], again["event_id"], again["status"]) == (
        delivery["id"],
        delivery["event_id"],
        "pending",
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["deliveries", "7"], 1),
        (["deliveries", "1", "--status", "lost"], 2),
        (["deliveries", "0"], 2),
        (["resend", "7", "1"], 1),
        (["resend", "1", "99"], 1),
    ],
)
def test_missing_or_bad_ids(http: TestClient, args: list[str], code: int) -> None:
    assert create("--event", "order.updated").exit_code == 0
    result = run("webhooks", *args)
    assert result.exit_code == code, result.output
