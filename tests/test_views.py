"""Saved views (/v1/views, ?view=name; docs/views.md) on SQLite and PostgreSQL: the view's
orders are the orders of its own query, on the lists and the exports; extra parameters narrow
it; names and queries are checked when saved; unknown views are refused naming `view`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import Status

ORDERS = [
    make_order("A", total=Decimal("500.00"), customer="Jana Novak"),
    make_order("B", total=Decimal("150.00"), status=Status.SHIPPED, customer="Petr Novak"),
    make_order("C", total=Decimal("90.00"), customer="Jana Dvorak"),
    make_order("D", total=Decimal("300.00"), currency="EUR", customer="Ola Novak"),
    make_order("E", total=Decimal("120.00"), confirmed=False, customer="Eva Novak"),
    make_order("F", total=Decimal("700.00"), status=Status.PENDING, customer="Ivo Novak"),
]
BIG_CZK = "currency=CZK&total=ge:100&_sort=total:desc"


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(engine, ORDERS)
    return TestClient(create_app(engine), headers=auth_header(api_key(engine)))


def externals(http: TestClient, query: str, path: str = "/v1/orders") -> list[str]:
    response = http.get(f"{path}?{query}")
    assert response.status_code == 200, response.text
    return [_external(http, item) for item in response.json()["data"]]


def _external(http: TestClient, item: Any) -> str:
    if isinstance(item, int):  # the unconfirmed queue's ids
        return str(http.get(f"/v1/orders/{item}").json()["external_id"])
    return str(item["external_id"])


def save(http: TestClient, name: str, query: str) -> Any:
    response = http.post("/v1/views", json={"name": name, "query": query})
    assert response.status_code == 201, response.text
    return response


def test_a_view_gives_the_orders_of_its_own_query(http: TestClient) -> None:
    save(http, "big-czk", BIG_CZK)
    expected = ["A", "B", "E"]  # by hand: CZK, total >= 100, not pending, by total descending
    assert externals(http, BIG_CZK) == expected
    assert externals(http, "view=big-czk") == expected
    ndjson = http.get("/v1/orders.ndjson?view=big-czk&fields=external_id").text
    assert ndjson.splitlines() == [f'{{"external_id":"{e}"}}' for e in expected]
    csv = http.get("/v1/orders.csv?view=big-czk&fields=external_id").text
    assert csv.split("\r\n") == ["external_id", *expected, ""]
    assert externals(http, "view=big-czk", "/v1/orders/unconfirmed") == ["E"]


def test_extra_parameters_narrow_the_view(http: TestClient) -> None:
    save(http, "novaks", "q=novak&status=in:open,shipped,pending&_sort=total:desc")
    assert externals(http, "view=novaks") == ["F", "A", "D", "B", "E"]
    assert externals(http, "view=novaks&currency=CZK") == ["F", "A", "B", "E"]
    assert externals(http, "view=novaks&total=le:400") == ["D", "B", "E"]
    assert externals(http, "view=novaks&q=jana") == ["A"]  # both q's words must appear
    assert externals(http, "view=novaks&_sort=total:asc") == ["E", "B", "D", "A", "F"]
    assert externals(http, "view=novaks&status=shipped") == ["B"]  # status=in:... AND shipped
    page = http.get("/v1/orders?view=novaks&page_size=2").json()
    assert [o["external_id"] for o in page["data"]] == ["F", "A"]
    cursor = page["paging"]["cursor"]
    after = http.get(f"/v1/orders?view=novaks&page_size=2&cursor={cursor}").json()
    assert [o["external_id"] for o in after["data"]] == ["D", "B"]


def test_views_are_listed_changed_and_deleted(http: TestClient) -> None:
    created = save(http, "open", "status=open")
    assert created.headers["location"] == "/v1/views/open"
    assert created.json()["query"] == "status=open"
    save(http, "cz", "currency=CZK")
    assert [v["name"] for v in http.get("/v1/views").json()["data"]] == ["cz", "open"]
    assert http.get("/v1/views/open").json()["query"] == "status=open"
    changed = http.put("/v1/views/open", json={"query": "status=shipped"})
    assert changed.status_code == 200, changed.text
    assert externals(http, "view=open") == ["B"]
    assert http.delete("/v1/views/open").status_code == 204
    assert http.get("/v1/views/open").status_code == 404
    assert http.delete("/v1/views/open").status_code == 404
    assert http.put("/v1/views/open", json={"query": ""}).status_code == 404
    refused = http.get("/v1/orders?view=open")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["parameter"] == "view"


def test_a_name_is_unique(http: TestClient) -> None:
    save(http, "cz", "currency=CZK")
    again = http.post("/v1/views", json={"name": "cz", "query": "currency=EUR"})
    assert again.status_code == 409
    same = http.post("/v1/views", json={"name": "cz", "query": "currency=CZK"})
    assert same.status_code == 201  # the same view saved again: a retry, not a conflict
    assert http.get("/v1/views/cz").json()["query"] == "currency=CZK"


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"name": "x", "query": "total=bt:1"}, "total"),
        ({"name": "x", "query": "nosuch=1"}, "nosuch"),
        ({"name": "x", "query": "status=open&page=2"}, "page"),
        ({"name": "x", "query": "page_size=5"}, "page_size"),
        ({"name": "x", "query": "view=other"}, "view"),
        ({"name": "x", "query": "q="}, "q"),
        ({"name": "x", "query": "_sort=nosuch"}, "_sort"),
        ({"name": "-x", "query": ""}, "name"),
        ({"name": "x" * 65, "query": ""}, "name"),
        ({"name": "x", "query": "a" * 8193}, "query"),
        ({"name": "x"}, "query"),
    ],
)
def test_a_bad_view_is_a_400_naming_the_parameter(
    http: TestClient, body: dict[str, Any], parameter: str
) -> None:
    response = http.post("/v1/views", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["parameter"] == parameter
    assert http.get("/v1/views").json()["data"] == []
    if "query" in body:
        save(http, "good", "")
        put = http.put("/v1/views/good", json={"query": body["query"]})
        if parameter != "name":
            assert put.status_code == 400
            assert put.json()["errors"][0]["parameter"] == parameter
        assert http.get("/v1/views/good").json()["query"] == ""


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/orders.ndjson", "/v1/orders/unconfirmed"])
def test_an_unknown_or_repeated_view_is_a_400_naming_view(http: TestClient, path: str) -> None:
    save(http, "cz", "currency=CZK")
    for query in ("view=nosuch", "view=cz&view=cz"):
        response = http.get(f"{path}?{query}")
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["parameter"] == "view"


def test_reading_views_needs_read_and_changing_them_write(engine: Engine) -> None:
    reader = TestClient(create_app(engine), headers=auth_header(api_key(engine, "orders:read")))
    assert reader.get("/v1/views").status_code == 200
    assert reader.post("/v1/views", json={"name": "x", "query": ""}).status_code == 403
    assert reader.delete("/v1/views/x").status_code == 403
