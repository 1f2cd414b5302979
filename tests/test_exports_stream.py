"""Exports past one batch (keyset batches: no order twice, none missing, ties in the sort key
included), over real HTTP on loopback, and `orderhub orders export` writing a file; on SQLite
and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from helpers import api_key, auth_header, make_order, serve_in_thread, store
from orderhub.api.app import create_app
from orderhub.cli.main import app as cli
from orderhub.services import exports
from orderhub.settings import get_settings
from orderhub.store import OrderRepository

TOTALS = (Decimal("10.00"), Decimal("20.00"), Decimal("30.00"))
CUSTOMERS = (None, "Ann", "Bob")


def _orders(count: int) -> list[Any]:
    """Orders whose sort keys repeat: three totals, three customers (one of them empty)."""
    return [
        make_order(f"X{n:05}", total=TOTALS[n % 3], customer=CUSTOMERS[(n // 3) % 3])
        for n in range(count)
    ]


def _expected(engine: Engine, count: int, key: str, descending: bool) -> list[int]:
    """Ids in the order the sort means: the key (empty greatest), ties by id ascending."""
    ids = _ids(engine, count)
    values = {ids[n]: (TOTALS[n % 3] if key == "total" else CUSTOMERS[(n // 3) % 3]) for n in ids}
    present = sorted((i for i in values if values[i] is not None), key=lambda i: (values[i], i))
    if descending:
        present = sorted(present, key=lambda i: (values[i], -i), reverse=True)
    empty = sorted(i for i in values if values[i] is None)
    return empty + present if descending else present + empty


def _ids(engine: Engine, count: int) -> dict[int, int]:
    """Each order's id, by its number n (external id X<n>)."""
    with engine.connect() as conn:
        found = OrderRepository(conn).ids_by_external("mall-cz", [f"X{n:05}" for n in range(count)])
    return {n: found[f"X{n:05}"] for n in range(count)}


@pytest.fixture
def http(engine: Engine) -> TestClient:
    return TestClient(create_app(engine), headers=auth_header(api_key(engine)))


def _exported_ids(http: TestClient, fmt: str, query: str) -> list[int]:
    response = http.get(f"/v1/orders.{fmt}?fields=id&{query}")
    assert response.status_code == 200, response.text
    text = response.content.decode()
    if fmt == "csv":
        return [int(row[0]) for row in list(csv.reader(io.StringIO(text)))[1:]]
    return [json.loads(line)["id"] for line in text.splitlines()]


@pytest.mark.parametrize("sort", ["total", "total:desc", "id:desc"])
def test_more_orders_than_one_batch(http: TestClient, engine: Engine, sort: str) -> None:
    count = 2 * exports.BATCH_SIZE + 345
    store(engine, _orders(count))
    key, _, direction = sort.partition(":")
    ids = _ids(engine, count)
    if key == "id":
        expected = sorted(ids.values(), reverse=True)
    else:
        expected = _expected(engine, count, key, direction == "desc")
    for fmt in ("csv", "ndjson"):
        got = _exported_ids(http, fmt, f"_sort={sort}")
        assert len(got) == len(set(got)) == count
        assert got == expected


@pytest.mark.parametrize("sort", ["customer", "customer:desc", "total:desc,customer"])
def test_small_batches_with_ties_and_empty_keys(
    http: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    monkeypatch.setattr(exports, "BATCH_SIZE", 4)  # batch edges fall inside runs of ties
    count = 31
    store(engine, _orders(count))
    ids = _ids(engine, count)
    if sort == "total:desc,customer":
        n_of = {v: k for k, v in ids.items()}

        def key(i: int) -> tuple[Any, ...]:
            customer = CUSTOMERS[(n_of[i] // 3) % 3]
            return (-TOTALS[n_of[i] % 3], customer is None, customer or "", i)

        expected = sorted(ids.values(), key=key)
    else:
        expected = _expected(engine, count, "customer", sort.endswith("desc"))
    got = _exported_ids(http, "ndjson", f"_sort={sort}")
    assert got == expected
    rows = _exported_ids(http, "csv", f"_sort={sort}&lines=rows")
    assert rows == expected  # make_order has no lines: one row each


def test_streamed_over_loopback(engine: Engine) -> None:
    count = exports.BATCH_SIZE + 10
    store(engine, _orders(count))
    headers = auth_header(api_key(engine))
    with serve_in_thread(create_app(engine)) as base:
        with httpx.stream(
            "GET", f"{base}/v1/orders.ndjson?fields=id,total", headers=headers, timeout=60
        ) as response:
            assert response.status_code == 200
            assert response.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in response.headers
            lines = list(response.iter_lines())
        assert len(lines) == count
        assert json.loads(lines[0], parse_float=Decimal)["total"] == TOTALS[0]
        bad = httpx.get(f"{base}/v1/orders.csv?total=bt:1", headers=headers)
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["parameter"] == "total"


@pytest.fixture
def cli_db(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def test_the_cli_writes_a_file(cli_db: Engine, tmp_path: Path) -> None:
    store(cli_db, _orders(7))
    out = tmp_path / "orders.csv"
    args = ["orders", "export", "--fields", "external_id,total,customer", "-o", str(out)]
    result = CliRunner().invoke(cli, [*args, "--sort", "total:desc", "-f", "customer=Ann"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (
        b"external_id,total,customer\r\nX00005,30.00,Ann\r\nX00004,20.00,Ann\r\n"
        b"X00003,10.00,Ann\r\n"
    )
    assert not (tmp_path / "orders.csv.part").exists()
    assert "wrote 3 orders" in result.output


def test_the_cli_streams_ndjson_to_stdout_as_the_api_does(cli_db: Engine, tmp_path: Path) -> None:
    store(cli_db, _orders(5))
    args = ["orders", "export", "--format", "ndjson", "--basic", "-f", "total=ge:20"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    api = TestClient(create_app(cli_db), headers=auth_header(api_key(cli_db)))
    same = api.get("/v1/orders.ndjson?filter=basic&total=ge:20")
    assert result.stdout_bytes == same.content
    assert [json.loads(line)["external_id"] for line in result.stdout.splitlines()] == [
        "X00001",
        "X00002",
        "X00004",
    ]


def test_the_cli_refuses_bad_fields_and_writes_nothing(cli_db: Engine, tmp_path: Path) -> None:
    out = tmp_path / "orders.csv"
    result = CliRunner().invoke(cli, ["orders", "export", "--fields", "id,nope", "-o", str(out)])
    assert result.exit_code == 2
    assert "fields" in result.output and "nope" in result.output
    assert not out.exists() and not (tmp_path / "orders.csv.part").exists()
