"""`orderhub orders get|update|confirm|list`: the command line as a client of the same services
as the API, checked against what the API answers and does, on SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import json
import shlex
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from helpers import auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.cli.common import console
from orderhub.cli.main import app as cli
from orderhub.domain import LineType, OrderLine, Status
from orderhub.services.keys import create_key, parse_scopes
from orderhub.services.webhooks import create_subscription
from orderhub.settings import get_settings
from orderhub.store import UnitOfWork

SHIP = [
    "--status",
    "shipped",
    "--tracking-number",
    "Z-1",
    "--tracking-url",
    "https://track.example/Z-1",
]


@pytest.fixture
def cli_engine(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """The test's database as the CLI's (ORDERHUB_DATABASE_URL), with four orders in it."""
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    # Tables as wide as their values, whatever the terminal (rich keeps its width in _width).
    monkeypatch.setattr(console, "_width", 200)
    get_settings.cache_clear()
    store(
        engine,
        [
            make_order("1", email="jana@example.cz", language="cs", confirmed=False),
            make_order("2", email="jana@example.cz", language="cs", confirmed=False),
            make_order("3", status=Status.SHIPPED, confirmed=True),
            make_order("4", status=Status.CANCELLED, confirmed=False),
        ],
    )
    yield engine
    get_settings.cache_clear()


@pytest.fixture
def http(cli_engine: Engine) -> TestClient:
    token = create_key(cli_engine, "api-twin", parse_scopes("orders:read,orders:write")).token
    return TestClient(create_app(cli_engine), headers=auth_header(token))


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


# --- get ---------------------------------------------------------------------------------------


def test_get_json_and_xml_are_the_apis_documents(http: TestClient) -> None:
    as_json = run("orders", "get", "1", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert as_json.output.rstrip("\n") == http.get("/v1/orders/1").text
    as_xml = run("orders", "get", "1", "--xml")
    assert as_xml.exit_code == 0, as_xml.output
    assert as_xml.output.rstrip("\n") == http.get("/v1/orders/1.xml").text


def test_get_reads_as_a_page_for_people(cli_engine: Engine) -> None:
    result = run("orders", "get", "3")
    assert result.exit_code == 0, result.output
    for expected in (
        "order 3 (version 1)",
        "mall-cz",
        "shipped",
        "100.00",
        "CZK",
        "status history",
    ):
        assert expected in result.output
    assert "{" not in result.output  # not JSON


def test_text_that_looks_like_markup_is_shown_as_it_is(cli_engine: Engine) -> None:
    store(cli_engine, [make_order("9", customer="[/] Anna [bold]Nov[/bold]")])
    for args in (["orders", "get", "5"], ["orders", "list", "--filter", "external_id=9"]):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert "[/] Anna [bold]Nov[/bold]" in result.output


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["99"], 1, "order 99 does not exist"),
        (["x1"], 2, "ID: expected an integer"),
        (["1", "--json", "--xml"], 2, "one of them, not both"),
    ],
)
def test_get_errors_are_one_line(
    cli_engine: Engine, args: list[str], code: int, words: str
) -> None:
    result = run("orders", "get", *args)
    assert result.exit_code == code
    [line] = error_lines(result)
    assert words in line


# --- update ------------------------------------------------------------------------------------


def outbox_shape(engine: Engine, order_id: int) -> list[tuple[str, list[str]]]:
    """What a change queued for an order: each outbox row's topic and payload keys."""
    with UnitOfWork(engine) as uow:
        rows = [item for item in uow.outbox.list(limit=1000) if item.order_id == order_id]
    return sorted((item.topic, sorted(item.payload)) for item in rows)


def test_update_does_what_the_put_does(http: TestClient, cli_engine: Engine) -> None:
    create_subscription(
        cli_engine, "http://127.0.0.1:9/hook", ["order.status_changed"], allow_private=True
    )
    by_cli = run("orders", "update", "1", *SHIP, "--vendor-ref", "PO-7", "--notify")
    assert by_cli.exit_code == 0, by_cli.output
    body = {
        "status": "shipped",
        "tracking_number": "Z-1",
        "tracking_url": "https://track.example/Z-1",
        "vendor_ref": "PO-7",
        "notify_user": True,
    }
    assert http.put("/v1/orders/2", json=body).status_code == 200

    one, two = http.get("/v1/orders/1").json(), http.get("/v1/orders/2").json()
    different = {"id", "external_id", "updated_at", "status_history"}
    assert {k: v for k, v in one.items() if k not in different} == {
        k: v for k, v in two.items() if k not in different
    }
    assert one["status"] == "shipped" and one["vendor_ref"] == "PO-7"
    shape = outbox_shape(cli_engine, 1)
    assert shape == outbox_shape(cli_engine, 2)
    assert {topic for topic, _ in shape} >= {"mail", "push"}  # the customer and the channel
    assert "customer e-mail: queued (hub)" in by_cli.output


def test_update_is_recorded_with_the_cli_actor(http: TestClient, cli_engine: Engine) -> None:
    assert run("orders", "update", "1", "--vendor-ref", "PO-8").exit_code == 0
    [change] = http.get("/v1/orders/1/history").json()["history"]
    assert (change["field"], change["new"], change["actor"]) == (
        "vendor_ref",
        "PO-8",
        f"cli:{getpass.getuser()}",
    )


def test_a_refused_transition_names_the_allowed_statuses(http: TestClient) -> None:
    before = http.get("/v1/orders/3").text
    result = run("orders", "update", "3", "--status", "open")
    assert result.exit_code == 2  # a usage error: the rules refuse it
    assert error_lines(result) == [
        "error: cannot change status from shipped to open; "
        "allowed next: delivered, lost, returned, returning"
    ]
    assert http.get("/v1/orders/3").text == before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--status", "shipped"], "tracking_number"),
        (["--status", "sent"], "status"),
        (["--tracking-number", "a b"], "tracking_number"),
        (["--tracking-url", "ftp://x"], "tracking_url"),
        (["--delivered-at", "yesterday"], "delivered_at"),
        ([], "body"),
    ],
)
def test_bad_updates_name_the_field_and_change_nothing(
    http: TestClient, args: list[str], field: str
) -> None:
    before = http.get("/v1/orders/1").text
    result = run("orders", "update", "1", *args)
    assert result.exit_code == 2, result.output
    [line] = error_lines(result)
    assert line.startswith(f"error: {field}: expected")
    assert http.get("/v1/orders/1").text == before


def test_update_of_a_missing_order_is_not_found(cli_engine: Engine) -> None:
    result = run("orders", "update", "99", "--vendor-ref", "x")
    assert result.exit_code == 1
    assert error_lines(result) == ["error: order 99 does not exist"]


# --- confirm -----------------------------------------------------------------------------------


def confirmed(http: TestClient) -> dict[int, bool]:
    return {i: http.get(f"/v1/orders/{i}").json()["confirmed"] for i in (1, 2, 3, 4)}


def test_confirm_ids_counts_done_already_and_refused(http: TestClient) -> None:
    result = run("orders", "confirm", "1", "3", "99", "--yes")
    assert result.exit_code == 1, result.output
    assert "3 order(s) to confirm" in result.output
    assert "refused order 99: order 99 does not exist" in result.output
    assert "confirmed 1, already confirmed 1, refused 1" in result.output
    assert confirmed(http) == {1: True, 2: False, 3: True, 4: False}
    [change] = http.get("/v1/orders/1/history").json()["history"]
    assert (change["field"], change["new"]) == ("confirmed", True)


def test_confirm_by_filter_asks_first(http: TestClient) -> None:
    declined = run("orders", "confirm", "--filter", "status=open", stdin="n\n")
    assert declined.exit_code == 1
    assert "2 order(s) to confirm" in declined.output and "nothing changed" in declined.output
    assert confirmed(http) == {1: False, 2: False, 3: True, 4: False}

    agreed = run("orders", "confirm", "--filter", "status=open", stdin="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert "confirmed 2, already confirmed 0, refused 0" in agreed.output
    assert confirmed(http) == {1: True, 2: True, 3: True, 4: False}


def test_confirm_without_input_changes_nothing(http: TestClient) -> None:
    result = run("orders", "confirm", "4")
    assert result.exit_code == 1
    assert confirmed(http)[4] is False


@pytest.mark.parametrize(
    "args", [[], ["1", "--filter", "status=open"], ["--filter", "status"], ["--filter", "nope=1"]]
)
def test_confirm_needs_ids_or_a_good_filter(http: TestClient, args: list[str]) -> None:
    result = run("orders", "confirm", *args, "--yes")
    assert result.exit_code == 2, result.output
    assert len(error_lines(result)) == 1
    assert confirmed(http) == {1: False, 2: False, 3: True, 4: False}


# --- list: walking the pages -------------------------------------------------------------------


def listed_ids(output: str) -> list[int]:
    return [int(json.loads(line)["id"]) for line in output.splitlines() if line.startswith("{")]


def test_list_prints_the_command_for_the_next_page(cli_engine: Engine) -> None:
    store(cli_engine, [make_order(str(n)) for n in range(10, 15)])  # ids 5 to 9, open
    seen: list[int] = []
    args = ["orders", "list", "--filter", "status=in:open,shipped", "--page-size", "3"]
    for _ in range(5):
        page = run(*args, "--json")
        assert page.exit_code == 0, page.output
        document = json.loads(page.output)
        seen += [order["id"] for order in document["data"]]
        table = run(*args)
        hints = [line for line in table.output.splitlines() if line.startswith("next page: ")]
        if document["paging"]["cursor"] is None:
            assert hints == []
            break
        [hint] = hints
        words = shlex.split(hint.removeprefix("next page: ").partition("  (")[0])
        assert words[:3] == ["orderhub", "orders", "list"]
        assert words[-2:] == ["--cursor", document["paging"]["cursor"]]
        args = words[1:]
    assert seen == [1, 2, 3, 5, 6, 7, 8, 9]


def test_list_json_is_the_apis_envelope(http: TestClient, cli_engine: Engine) -> None:
    line = OrderLine(
        "1",
        "SKU-1",
        "Yoga mat",
        LineType.ARTICLE,
        1,
        *(Decimal(v) for v in ("582.50", "25.00", "116.50", "582.50")),
    )
    store(cli_engine, [make_order("7", total=Decimal("582.50"), lines=[line])])
    query = ["--filter", "status=open", "--sort", "total:desc", "--page-size", "2"]
    result = run("orders", "list", *query, "--json")
    assert result.exit_code == 0, result.output
    api = http.get("/v1/orders", params={"status": "open", "_sort": "total:desc", "page_size": 2})
    assert result.output.rstrip("\n") == api.text
    assert '"unit_price":582.50' in result.output  # the stored digits, not a float's


def test_list_all_walks_every_page(cli_engine: Engine) -> None:
    store(cli_engine, [make_order(str(n)) for n in range(10, 15)])
    result = run("orders", "list", "--all", "--page-size", "2", "--json", "--sort", "id:desc")
    assert result.exit_code == 0, result.output
    assert listed_ids(result.output) == [9, 8, 7, 6, 5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        (["--all", "--page", "2"], "--all"),
        (["--cursor", "nonsense"], "cursor"),
        (["--page", "1", "--cursor", "x"], "page"),
        (["--filter", "colour=red"], "colour"),
        (["--filter", "status"], "--filter"),
    ],
)
def test_list_refuses_bad_paging_in_one_line(
    cli_engine: Engine, args: list[str], parameter: str
) -> None:
    result = run("orders", "list", *args)
    assert result.exit_code == 2, result.output
    [line] = error_lines(result)
    assert line.startswith(f"error: {parameter}: ")


def test_list_table_title_counts_every_page(cli_engine: Engine) -> None:
    result = run("orders", "list", "--all", "--page-size", "1")
    assert result.exit_code == 0, result.output
    assert "4 orders, every page" in result.output
    rows = [line.split()[1] for line in result.output.splitlines() if line.startswith("│")]
    assert rows == ["1", "2", "3", "4"]
