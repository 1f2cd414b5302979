"""`orderhub orders ship | cancel-lines | return-lines`: the API's line actions from the shell,
on SQLite and PostgreSQL; what they did is read back through the API."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from helpers import cli_database, client, make_order, store
from orderhub.cli.main import app as cli
from orderhub.domain import LineType, OrderLine


def _line(line_id: str, sku: str, quantity: int) -> OrderLine:
    return OrderLine(line_id, sku, sku, LineType.ARTICLE, quantity, Decimal("2.00"), Decimal(0),
                     Decimal(0), Decimal("2.00") * quantity)  # fmt: skip


@pytest.fixture
def http(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    with cli_database(database_url, monkeypatch):
        store(engine, [make_order("1", lines=[_line("A1", "MUG", 3), _line("A2", "TEE", 2)])])
        yield client(engine)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["orders", *args])


def test_ship_then_cancel_then_return(http: TestClient) -> None:
    shipped = run("ship", "1", "--line", "A1:2", "--line", "sku=TEE:1", "--carrier", "PPL",
                  "--tracking-number", "T-1", "--tracking-url", "https://t.example/1")  # fmt: skip
    assert shipped.exit_code == 0, shipped.output
    assert "order 1: shipment 1 (A1 x2, A2 x1)" in shipped.output
    assert "order 1 is now partially_shipped at version 2" in shipped.output
    cancelled = run("cancel-lines", "1", "--all-remaining", "--reason", "sold out")
    assert cancelled.exit_code == 0, cancelled.output
    assert "now shipped" in cancelled.output
    returned = run("return-lines", "1", "--line", "A1:1", "--reason", "broken")
    assert returned.exit_code == 0, returned.output
    lines = http.get("/v1/orders/1").json()["lines"]
    assert [(ln["delivered_quantity"], ln["cancelled_quantity"], ln["returned_quantity"])
            for ln in lines] == [(2, 1, 1), (1, 1, 0)]  # fmt: skip
    (shipment,) = http.get("/v1/orders/1/shipments").json()["data"]
    assert (shipment["created_by"].startswith("cli:"), shipment["carrier"]) == (True, "PPL")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("ship", "1", "--line", "A1"), "--line[0]"),
        (("ship", "1", "--line", "A1:9"), "lines[0].quantity"),
        (("ship", "1"), "lines"),
        (("ship", "x", "--all-remaining"), "ORDER_ID"),
    ],
)
def test_a_refusal_is_one_line_naming_the_field(
    http: TestClient, args: tuple[str, ...], named: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert http.get("/v1/orders/1/shipments").json()["data"] == []
