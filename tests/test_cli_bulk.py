"""`orderhub orders bulk`: the API's bulk job from the shell, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from helpers import auth_header, cli_database, make_order, store
from orderhub.api.app import create_app
from orderhub.cli.main import app as cli
from orderhub.domain import Status
from orderhub.services.keys import create_key, parse_scopes


@pytest.fixture
def http(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    with cli_database(database_url, monkeypatch):
        store(
            engine,
            [
                make_order("1", confirmed=False),
                make_order("2", confirmed=False),
                make_order("3", status=Status.SHIPPED, confirmed=True),
                make_order("4", status=Status.CANCELLED, confirmed=False),
            ],
        )
        token = create_key(engine, "twin", parse_scopes("orders:read,orders:write")).token
        yield TestClient(create_app(engine), headers=auth_header(token))


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["orders", "bulk", *args], input=stdin)


def by_external(http: TestClient) -> dict[str, dict]:
    data = http.get("/v1/orders", params={"page_size": 100}).json()["data"]
    return {o["external_id"]: o for o in data}


def test_dry_run_counts_and_changes_nothing(http: TestClient) -> None:
    result = run("confirm", "--filter", "confirmed=0", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "3 order(s) to confirm" in result.output
    assert [o["confirmed"] for o in by_external(http).values()].count(False) == 3
    assert http.get("/v1/jobs").json()["data"] == []


def test_a_job_runs_here_and_is_the_apis_job(http: TestClient) -> None:
    result = run("confirm", "--filter", "confirmed=0", "--yes")
    assert result.exit_code == 0, result.output
    assert "changed 3, unchanged 0, failed 0" in result.output
    assert all(o["confirmed"] for o in by_external(http).values())
    (job,) = http.get("/v1/jobs").json()["data"]
    assert (job["status"], job["changed"], job["created_by"][:4]) == ("finished", 3, "cli:")


def test_refusals_are_listed_and_exit_1(http: TestClient) -> None:
    ids = {ext: o["id"] for ext, o in by_external(http).items()}
    result = run("status", "shipping", "--id", str(ids["1"]), "--id", str(ids["4"]), "--yes")
    assert result.exit_code == 1
    assert f"order {ids['4']}: cannot change status from cancelled to shipping" in result.output
    assert "changed 1, unchanged 0, failed 1" in result.output
    assert by_external(http)["1"]["status"] == "shipping"


def test_detach_leaves_the_job_queued(http: TestClient) -> None:
    result = run("vendor_ref", "W-1", "--filter", "status=open", "--yes", "--detach")
    assert result.exit_code == 0, result.output
    (job,) = http.get("/v1/jobs").json()["data"]
    assert (job["status"], job["matched"], job["processed"]) == ("queued", 2, 0)
    assert f"job {job['id']} queued" in result.output


def test_no_answer_changes_nothing(http: TestClient) -> None:
    result = run("confirm", "--filter", "confirmed=0", stdin="")
    assert result.exit_code == 1
    assert http.get("/v1/jobs").json()["data"] == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["confirm"], "--id/--filter"),
        (["status", "--filter", "status=open"], "value"),
        (["teleport", "--filter", "status=open"], "action"),
        (["confirm", "--filter", "colour=red"], "colour"),
    ],
)
def test_mistakes_are_one_line_naming_the_parameter(
    http: TestClient, args: list[str], named: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {named}:"), result.output
