"""`orderhub orders tag / untag` and `orderhub orders bulk tag / untag`, on SQLite and
PostgreSQL; what they did is read back through the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from helpers import client
from orderhub.cli.main import app as cli
from test_cli_bulk import http  # noqa: F401  (orders 1-4, the CLI on the test's database)

pytestmark = pytest.mark.usefixtures("http")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["orders", *args])


def tags_by_external(api: TestClient) -> dict[str, list[str]]:
    data = api.get("/v1/orders", params={"page_size": 100}).json()["data"]
    return {o["external_id"]: o["tags"] for o in data}


def hub_id(api: TestClient, external_id: str) -> str:
    data = api.get("/v1/orders", params={"external_id": external_id}).json()["data"]
    return str(data[0]["id"])


def test_tag_and_untag_one_order(engine: Engine) -> None:
    api = client(engine)
    one = hub_id(api, "1")
    result = run("tag", one, "VIP", "gift")
    assert result.exit_code == 0, result.output
    assert f"order {one}: tags (none) -> gift, vip" in result.output
    assert tags_by_external(api) == {"1": ["gift", "vip"], "2": [], "3": [], "4": []}
    result = run("untag", one, "gift", "never-there")
    assert result.exit_code == 0, result.output
    assert tags_by_external(api)["1"] == ["vip"]
    history = api.get(f"/v1/orders/{one}/history").json()["history"]
    assert [h["actor"].startswith("cli:") for h in history if h["field"] == "tags"] == [True, True]
    shown = run("get", one)
    assert "tags" in shown.output and "vip" in shown.output


def test_a_bad_tag_is_refused_naming_it(engine: Engine) -> None:
    api = client(engine)
    result = run("tag", hub_id(api, "1"), "two words")
    assert result.exit_code == 2, result.output
    assert "TAG" in result.output and "a-z, 0-9" in result.output
    assert tags_by_external(api)["1"] == []


def test_bulk_tag_by_filter_then_untag(engine: Engine) -> None:
    api = client(engine)
    run("tag", hub_id(api, "2"), "review")
    result = run("bulk", "tag", "review", "--filter", "external_id=in:1,2", "--yes")
    assert result.exit_code == 0, result.output
    assert "2 order(s) to tag review" in result.output
    assert "changed 1, unchanged 1, failed 0" in result.output
    assert tags_by_external(api) == {"1": ["review"], "2": ["review"], "3": [], "4": []}
    result = run("bulk", "untag", "review", "--filter", "tags=review", "--yes")
    assert result.exit_code == 0, result.output
    assert "changed 2, unchanged 0, failed 0" in result.output
    assert tags_by_external(api) == {"1": [], "2": [], "3": [], "4": []}
