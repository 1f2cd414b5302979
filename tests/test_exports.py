"""Exports (GET /v1/orders.csv, /v1/orders.ndjson) on SQLite and PostgreSQL: hand-written
orders and the exact bytes expected of them, every filter class, sort, the basic view,
fields=, lines=rows, quoting and the formula guard, errors, scopes and the quota."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import Address, LineType, ManualClock, OrderLine, Status
from orderhub.store import OrderRepository

CET = timezone(timedelta(hours=2))
BASIC_HEADER = (
    "id,channel,external_id,status,payment_status,confirmed,test,cod,total,currency,"
    "ship_date,delivered_at,customer_id,customer,created_at"
)
DEFAULT_HEADER = (
    "id,channel,external_id,status,payment_status,created_at,updated_at,ship_date,"
    "delivered_at,customer,email,phone,country,currency,subtotal,shipping_cost,discount,"
    "tax_total,total,cod,payment_method,carrier,tracking_number,vendor_ref,tags,lines"
)


def _line(line_id: str, sku: str | None, name: str, qty: int, unit: str, tax: str) -> OrderLine:
    total = Decimal(unit) * qty
    return OrderLine(
        line_id, sku, name, LineType.ARTICLE, qty, Decimal(unit), Decimal("21.00"),
        Decimal(tax), total,
    )  # fmt: skip


ORDERS = [
    make_order(
        "A",
        customer="Jana Nováková",
        email="jana@example.cz",
        total=Decimal("677.95"),
        ship_date=date(2024, 1, 12),
        lines=[
            _line("1", "KB-1", "Keyboard", 2, "300.00", "104.13"),
            _line("2", None, "Gift wrap", 1, "77.95", "13.53"),
        ],
        shipping_address=Address(name="Jana Nováková", city="Brno", country="CZ"),
    ),
    make_order(
        "B",
        channel="mall-sk",
        customer='Doe, "Jim"\nJr',
        currency="EUR",
        total=Decimal("25.00"),
        cod=Decimal("25.00"),
        status=Status.SHIPPED,
        created_at=datetime(2024, 2, 1, tzinfo=UTC),
    ),
    make_order(
        "C",
        customer='=HYPERLINK("http://evil")',
        customer_id=99,
        phone="+420 777 123 456",
        vendor_ref="@SUM(1)",
        tracking_number="-2+3",
        total=Decimal("1495.00"),
        status=Status.CANCELLED,
        confirmed=False,
        created_at=datetime(2024, 3, 5, 12, tzinfo=UTC),
    ),
    make_order("D", status=Status.PENDING, total=Decimal("10.00")),
    make_order("E", test=True, total=Decimal("5.00")),
    make_order(
        "F",
        customer_id=1234,
        total=Decimal("99.99"),
        status=Status.DELIVERED,
        delivered_at=datetime(2024, 1, 20, 10, tzinfo=CET),
    ),
]


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(engine, ORDERS)
    clock = ManualClock(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    return TestClient(create_app(engine, clock=clock), headers=auth_header(api_key(engine)))


def ids_of(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return OrderRepository(conn).ids_by_external("mall-cz", "ACDEF") | OrderRepository(
            conn
        ).ids_by_external("mall-sk", ["B"])


def csv_text(http: TestClient, query: str) -> str:
    response = http.get(f"/v1/orders.csv?{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return response.content.decode()


def ndjson(http: TestClient, query: str) -> list[Any]:
    response = http.get(f"/v1/orders.ndjson?{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    text = response.content.decode()
    assert text == "" or text.endswith("\n")
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines()]


def externals(http: TestClient, query: str) -> list[str]:
    return [obj["external_id"] for obj in ndjson(http, f"fields=external_id&{query}")]


def test_csv_cells_quoting_and_the_formula_guard(http: TestClient) -> None:
    fields = (
        "external_id,customer,phone,vendor_ref,tracking_number,total,currency,created_at,"
        "delivered_at,cod,confirmed,ship_date,lines,shipping_city"
    )
    assert csv_text(http, f"fields={fields}&_sort=external_id") == (
        f"{fields}\r\n"
        "A,Jana Nováková,,,,677.95,CZK,2024-01-10T08:30:00Z,,,true,2024-01-12,"
        "KB-1 x 2; Gift wrap x 1,Brno\r\n"
        'B,"Doe, ""Jim""\nJr",,,,25.00,EUR,2024-02-01T00:00:00Z,,25.00,true,,,\r\n'
        'C,"\'=HYPERLINK(""http://evil"")",\'+420 777 123 456,\'@SUM(1),\'-2+3,1495.00,CZK,'
        "2024-03-05T12:00:00Z,,,false,,,\r\n"
        "F,,,,,99.99,CZK,2024-01-10T08:30:00Z,2024-01-20T08:00:00Z,,true,,,\r\n"
    )


def test_csv_default_columns_and_attachment_name(http: TestClient, engine: Engine) -> None:
    response = http.get("/v1/orders.csv?external_id=A")
    assert response.headers["content-disposition"] == (
        "attachment; filename=orders-20240102T030405Z.csv"
    )
    a = ids_of(engine)["A"]
    assert response.content.decode() == (
        f"{DEFAULT_HEADER}\r\n"
        f"{a},mall-cz,A,open,paid,2024-01-10T08:30:00Z,2024-01-10T08:30:00Z,2024-01-12,,"
        "Jana Nováková,jana@example.cz,,,CZK,,,,,677.95,,,,,,,KB-1 x 2; Gift wrap x 1\r\n"
    )
    ndjson_name = http.get("/v1/orders.ndjson?external_id=A").headers["content-disposition"]
    assert ndjson_name == "attachment; filename=orders-20240102T030405Z.ndjson"


def test_the_basic_view(http: TestClient, engine: Engine) -> None:
    f = ids_of(engine)["F"]
    assert csv_text(http, "filter=basic&external_id=F") == (
        f"{BASIC_HEADER}\r\n"
        f"{f},mall-cz,F,delivered,paid,true,false,,99.99,CZK,,2024-01-20T08:00:00Z,1234,,"
        "2024-01-10T08:30:00Z\r\n"
    )
    [obj] = ndjson(http, "filter=basic&external_id=F")
    assert list(obj) == BASIC_HEADER.split(",")
    assert obj["total"] == Decimal("99.99")
    assert obj["delivered_at"] == "2024-01-20T08:00:00Z"


def test_ndjson_lines_are_the_order_detail(http: TestClient) -> None:
    objects = ndjson(http, "_sort=external_id")
    assert [o["external_id"] for o in objects] == ["A", "B", "C", "F"]
    for obj in objects:
        detail = http.get(f"/v1/orders/{obj['id']}")
        assert obj == json.loads(detail.text, parse_float=Decimal)
    a = objects[0]
    assert (a["total"], a["currency"], a["ship_date"]) == (Decimal("677.95"), "CZK", "2024-01-12")
    assert a["shipping_address"]["city"] == "Brno"
    assert [line["sku"] for line in a["lines"]] == ["KB-1", None]
    # Money exactly as written: two decimals, no float rounding.
    text = http.get("/v1/orders.ndjson?external_id=B&fields=total,cod").text
    assert text == '{"total":25.00,"cod":25.00}\n'


def test_fields_pick_and_order_ndjson_keys(http: TestClient) -> None:
    assert ndjson(http, "fields=total,external_id,external_id&external_id=in:A,B") == [
        {"total": Decimal("677.95"), "external_id": "A"},
        {"total": Decimal("25.00"), "external_id": "B"},
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["A", "B", "C", "F"]),  # default visibility: no pending, no test orders
        ("status=pending", ["D"]),
        ("test=1", ["E"]),
        ("status=in:shipped,cancelled", ["B", "C"]),
        ("customer_id=99", ["C"]),
        ("customer_id=in:99,1234", ["C", "F"]),
        ("total=bt:25,677.95", ["A", "B", "F"]),
        ("total=gt:677.95", ["C"]),
        ("customer=$null", ["F"]),
        ("customer=neq:Jana Nováková", ["B", "C", "F"]),
        ("created_at=2024-02-01", ["B"]),
        ("created_at=ge:2024-03-05 12:00:00", ["C"]),
        ("ship_date=2024-01-12", ["A"]),
        ("delivered_at=neq:$null", ["F"]),
        ("currency=EUR", ["B"]),
        ("confirmed=false", ["C"]),
        ("channel=mall-sk", ["B"]),
        ("total=ge:20&total=le:100", ["B", "F"]),
        ("currency=XYZ", []),
    ],
)
def test_every_filter_class(http: TestClient, query: str, expected: list[str]) -> None:
    assert externals(http, query) == expected
    rows = csv_text(http, f"fields=external_id&{query}").split("\r\n")
    assert rows == ["external_id", *expected, ""]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("total:desc", ["C", "A", "F", "B"]),
        ("total", ["B", "F", "A", "C"]),
        ("customer", ["C", "B", "A", "F"]),  # byte order ('=' < 'D' < 'J'), empty last
        ("customer:desc", ["F", "A", "B", "C"]),
        ("created_at:desc,external_id", ["C", "B", "A", "F"]),
    ],
)
def test_sort(http: TestClient, sort: str, expected: list[str]) -> None:
    assert externals(http, f"_sort={sort}") == expected


def test_lines_as_rows(http: TestClient) -> None:
    fields = "external_id,line_id,line_sku,line_name,line_quantity,line_unit_price,line_total"
    assert csv_text(http, f"lines=rows&fields={fields}&external_id=in:A,B") == (
        f"{fields}\r\n"
        "A,1,KB-1,Keyboard,2,300.00,600.00\r\n"
        "A,2,,Gift wrap,1,77.95,77.95\r\n"
        "B,,,,,,\r\n"  # an order without lines keeps one row
    )
    header = csv_text(http, "lines=rows&external_id=B").split("\r\n")[0]
    assert header == DEFAULT_HEADER.removesuffix(",lines") + (
        ",line_id,line_sku,line_name,line_type,line_quantity,line_unit_price,line_tax_rate,"
        "line_tax_amount,line_total,line_delivered_quantity,line_cancelled_quantity,"
        "line_returned_quantity"
    )
    keyboard = {
        "line_id": "1", "sku": "KB-1", "name": "Keyboard", "type": "article", "quantity": 2,
        "unit_price": Decimal("300.00"), "tax_rate": Decimal("21.00"),
        "tax_amount": Decimal("104.13"), "total": Decimal("600.00"), "delivered_quantity": 0,
        "cancelled_quantity": 0, "returned_quantity": 0,
    }  # fmt: skip
    objects = ndjson(http, "lines=rows&fields=external_id,line&external_id=in:A,B")
    assert objects[0] == {"external_id": "A", "line": keyboard}
    assert objects[1]["line"]["name"] == "Gift wrap"
    assert objects[2] == {"external_id": "B", "line": None}
    assert len(objects) == 3
    # Without the line's own key, still one object per line.
    assert externals(http, "lines=rows&external_id=in:A,B") == ["A", "A", "B"]


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_an_empty_result(http: TestClient, fmt: str) -> None:
    response = http.get(f"/v1/orders.{fmt}?currency=XYZ&fields=id,total")
    assert response.status_code == 200
    assert response.content == (b"id,total\r\n" if fmt == "csv" else b"")


def _problem(http: TestClient, url: str) -> dict[str, Any]:
    response = http.get(url)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("fields=id,nope", "fields"),
        ("fields=", "fields"),
        ("fields=line_sku", "fields"),
        ("lines=columns", "lines"),
        ("lines=rows&lines=rows", "lines"),
        ("page=2", "page"),
        ("page_size=10", "page_size"),
        ("cursor=abc", "cursor"),
        ("total=bt:1", "total"),
        ("status=lost-in-space", "status"),
        ("_sort=nope", "_sort"),
        ("filter=full", "filter"),
        ("colour=red", "colour"),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_bad_parameters_are_problems_naming_them(
    http: TestClient, fmt: str, query: str, parameter: str
) -> None:
    body = _problem(http, f"/v1/orders.{fmt}?{query}")
    assert body["errors"][0]["parameter"] == parameter


def test_the_fields_problem_lists_the_allowed_names(http: TestClient) -> None:
    expected = _problem(http, "/v1/orders.csv?fields=nope")["errors"][0]["expected"]
    names = expected.partition(" among ")[2].split(", ")
    assert {"id", "total", "lines", "shipping_city", "billing_zip", "extra"} <= set(names)
    assert "line_sku" not in names  # only with lines=rows
    rows = _problem(http, "/v1/orders.csv?lines=rows&fields=nope")["errors"][0]["expected"]
    assert "line_sku" in rows
    ndjson_names = _problem(http, "/v1/orders.ndjson?fields=line")["errors"][0]["expected"]
    assert "shipping_address" in ndjson_names and "only with lines=rows" in ndjson_names


def test_scopes_and_the_quota_are_the_lists(engine: Engine) -> None:
    store(engine, ORDERS[:1])
    app = create_app(engine)
    metrics_only = TestClient(app, headers=auth_header(api_key(engine, scopes="metrics")))
    assert metrics_only.get("/v1/orders.csv").status_code == 403
    assert TestClient(app).get("/v1/orders.ndjson").status_code == 401
    limited = TestClient(app, headers=auth_header(api_key(engine, "orders:read", 1)))
    assert limited.get("/v1/orders.csv").status_code == 200
    assert limited.get("/v1/orders.csv").status_code == 429


def test_an_unknown_name_is_offered_what_an_export_takes(http: TestClient) -> None:
    expected = _problem(http, "/v1/orders.csv?colour=red")["errors"][0]["expected"]
    offered = set(expected.partition("(")[2].rstrip(")").split(", "))
    assert {"status", "tags", "_sort", "filter", "q", "fields", "lines", "view"} <= offered
    assert not offered & {"page", "page_size", "cursor", "count"}  # refused by an export
