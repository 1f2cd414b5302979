"""`orderhub views list|create|delete`: the same saved views as /v1/views, on SQLite and
PostgreSQL; a bad query is refused naming its parameter and nothing is saved."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from helpers import client, make_order, store
from orderhub.cli.common import console
from orderhub.cli.main import app as cli
from orderhub.domain import Status
from orderhub.settings import get_settings


@pytest.fixture
def http(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    monkeypatch.setattr(console, "_width", 200)
    get_settings.cache_clear()
    store(engine, [make_order("1"), make_order("2", status=Status.SHIPPED)])
    yield client(engine)
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_views_made_in_the_shell_serve_the_api(http: TestClient) -> None:
    made = run("views", "create", "shipped", "status=shipped&_sort=id:desc")
    assert made.exit_code == 0, made.output
    listed = http.get("/v1/orders?view=shipped").json()["data"]
    assert [o["external_id"] for o in listed] == ["2"]
    shown = run("views", "list", "--json")
    assert [(v["name"], v["query"]) for v in json.loads(shown.output)] == [
        ("shipped", "status=shipped&_sort=id:desc")
    ]
    assert "status=shipped" in run("views", "list").output
    assert run("views", "create", "shipped", "status=open", "--replace").exit_code == 0
    assert http.get("/v1/views/shipped").json()["query"] == "status=open"
    assert run("views", "delete", "shipped").exit_code == 0
    assert http.get("/v1/views").json()["data"] == []


def test_a_bad_view_is_refused_and_nothing_saved(http: TestClient) -> None:
    refused = run("views", "create", "x", "total=bt:1")
    assert refused.exit_code == 2, refused.output
    assert "total" in refused.output
    assert run("views", "delete", "nosuch").exit_code != 0
    assert http.get("/v1/views").json()["data"] == []
