"""`orderhub orders tag / untag` and `orderhub orders bulk tag / untag`, on SQLite and
PostgreSQL; what they did is read back through the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from helpers import auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.cli.common import console
from orderhub.cli.main import app as cli
from orderhub.services.keys import create_key, parse_scopes
from orderhub.settings import get_settings


@pytest.fixture
def http(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    monkeypatch.setattr(console, "_width", 200)
    get_settings.cache_clear()
    store(engine, [make_order(ext) for ext in ("1", "2", "3")])
    token = create_key(engine, "twin", parse_scopes("orders:read,orders:write")).token
    yield TestClient(create_app(engine), headers=auth_header(token))
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["orders", *args])


def tags_by_external(http: TestClient) -> dict[str, list[str]]:
    data = http.get("/v1/orders", params={"page_size": 100}).json()["data"]
    return {o["external_id"]: o["tags"] for o in data}


def hub_id(http: TestClient, external_id: str) -> str:
    data = http.get("/v1/orders", params={"external_id": external_id}).json()["data"]
    return str(data[0]["id"])


def test_tag_and_untag_one_order(http: TestClient) -> None:
    one = hub_id(http, "1")
    result = run("tag", one, "VIP", "gift")
    assert result.exit_code == 0, result.output
    assert f"order {one}: tags (none) -> gift, vip" in result.output
    assert tags_by_external(http) == {"1": ["gift", "vip"], "2": [], "3": []}
    result = run("untag", one, "gift", "never-there")
    assert result.exit_code == 0, result.output
    assert tags_by_external(http)["1"] == ["vip"]
    history = http.get(f"/v1/orders/{one}/history").json()["history"]
    assert [h["actor"].startswith("cli:") for h in history if h["field"] == "tags"] == [True, True]
    shown = run("get", one)
    assert "tags" in shown.output and "vip" in shown.output


def test_a_bad_tag_is_refused_naming_it(http: TestClient) -> None:
    result = run("tag", hub_id(http, "1"), "two words")
    assert result.exit_code == 2, result.output
    assert "TAG" in result.output and "a-z, 0-9" in result.output
    assert tags_by_external(http)["1"] == []


def test_bulk_tag_by_filter_then_untag(http: TestClient) -> None:
    run("tag", hub_id(http, "2"), "review")
    result = run("bulk", "tag", "review", "--filter", "external_id=in:1,2", "--yes")
    assert result.exit_code == 0, result.output
    assert "2 order(s) to tag review" in result.output
    assert "changed 1, unchanged 1, failed 0" in result.output
    assert tags_by_external(http) == {"1": ["review"], "2": ["review"], "3": []}
    result = run("bulk", "untag", "review", "--filter", "tags=review", "--yes")
    assert result.exit_code == 0, result.output
    assert "changed 2, unchanged 0, failed 0" in result.output
    assert tags_by_external(http) == {"1": [], "2": [], "3": []}
