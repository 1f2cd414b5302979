"""The server's logs as an operator reads them: `orderhub serve` processes (two server workers,
so the options must reach processes the command line never saw), then in-process for the key
name on both databases."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from helpers import free_port
from orderhub import __version__
from orderhub.api.app import create_app
from orderhub.api.logs import ACCESS_LOGGER, RequestIdFilter
from orderhub.services.keys import create_key, parse_scopes
from process_support import Fleet, fleet_of, wait, wait_http

KEY_NAME = "log-reader"


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with fleet_of(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path) as fleet:
        yield fleet


def _serve(fleet: Fleet, *options: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = fleet.start("serve", "serve", "--port", str(port), "--workers", "2", *options)
    base = f"http://127.0.0.1:{port}"
    wait_http(process, f"{base}/healthz", fleet, "serve")
    return process, base


def _key(fleet: Fleet) -> str:
    assert fleet.run("keys", "keys", "create", "--name", KEY_NAME, "--scopes", "orders:read") == 0
    return fleet.log("keys").strip().splitlines()[-1]


def _stopped_log(fleet: Fleet, process: subprocess.Popen[bytes]) -> str:
    process.terminate()
    assert process.wait(timeout=60) == 0, fleet.log("serve")
    return fleet.log("serve")


def test_json_lines_carry_the_access_fields_and_the_request_id(fleet: Fleet) -> None:
    key = _key(fleet)
    process, base = _serve(fleet, "--log-format", "json")
    auth = {"Authorization": f"Bearer {key}"}
    listed = httpx.get(f"{base}/v1/orders", headers=auth | {"X-Request-ID": "listing-1"})
    missing = httpx.get(f"{base}/v1/orders/999999", headers=auth | {"X-Request-ID": "missing-1"})
    anonymous = httpx.get(f"{base}/v1/orders", headers={"X-Request-ID": "anonymous-1"})
    assert (listed.status_code, missing.status_code, anonymous.status_code) == (200, 404, 401)

    lines = [json.loads(line) for line in _stopped_log(fleet, process).splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    [startup] = [line for line in lines if line["logger"] == "orderhub.server"]
    assert {k: startup[k] for k in ("version", "url", "database", "workers")} == {
        "version": __version__,
        "url": base,
        "database": fleet.env["ORDERHUB_DATABASE_URL"],
        "workers": 2,
    }
    assert _access(lines, "listing-1") == {
        "method": "GET", "path": "/v1/orders", "status": 200, "key_name": KEY_NAME
    }  # fmt: skip
    assert _access(lines, "missing-1") == {
        "method": "GET", "path": "/v1/orders/999999", "status": 404, "key_name": KEY_NAME
    }  # fmt: skip
    assert _access(lines, "anonymous-1")["key_name"] is None
    others = [line for line in lines if line["request_id"] == "missing-1"]
    assert {line["logger"] for line in others} == {ACCESS_LOGGER, "orderhub.api.problems"}
    problem = next(line for line in others if line["logger"] != ACCESS_LOGGER)
    assert "999999" in problem["message"]


def _access(lines: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    [line] = [x for x in lines if x["logger"] == ACCESS_LOGGER and x["request_id"] == request_id]
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    return {k: line[k] for k in ("method", "path", "status", "key_name")}


def test_no_access_log_writes_no_access_line_but_keeps_the_others(fleet: Fleet) -> None:
    process, base = _serve(fleet, "--no-access-log")
    for number in range(6):  # over both server processes
        answer = httpx.get(f"{base}/v1/orders", headers={"X-Request-ID": f"quiet-{number}"})
        assert answer.status_code == 401
    log = _stopped_log(fleet, process)
    assert ACCESS_LOGGER not in log
    assert log.count("orderhub.server") == 1
    problems = [line for line in log.splitlines() if "problem 401 Unauthorized" in line]
    # In text, each line of a request ends with its id.
    assert sorted(line.rsplit(" ", 1)[1] for line in problems) == [
        f"request_id=quiet-{number}" for number in range(6)
    ]


def test_the_startup_line_hides_the_database_password(pg_database: str, tmp_path: Path) -> None:
    with_password = make_url(pg_database).set(password="secret")
    with fleet_of(with_password.render_as_string(hide_password=False), tmp_path) as fleet:
        process, base = _serve(fleet)
        wait(lambda: "orderhub.server" in fleet.log("serve"), "the startup line")
        log = _stopped_log(fleet, process)
    [startup] = [line for line in log.splitlines() if "orderhub.server" in line]
    assert with_password.render_as_string(hide_password=True) in startup
    assert ":***@" in startup and base in startup
    assert "secret" not in log


def test_the_access_line_names_the_key_on_both_databases(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    token = create_key(engine, "in-process", parse_scopes("orders:read")).token
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, ACCESS_LOGGER), TestClient(create_app(engine)) as client:
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "in-process-1"}
        assert client.get("/v1/orders", headers=headers).status_code == 200
    [record] = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert (record.key_name, record.request_id, record.status) == (  # type: ignore[attr-defined]
        "in-process",
        "in-process-1",
        200,
    )
