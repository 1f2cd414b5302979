"""Sparse answers (`fields=`, docs/api.md) on every read, JSON and XML, on SQLite and
PostgreSQL: only the keys named, in that order; unknown keys refused listing the allowed ones."""

from __future__ import annotations

from decimal import Decimal
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import LineType, OrderLine

LINE = OrderLine(
    "1", "KB-1", "Keyboard", LineType.ARTICLE, 2, Decimal("300.00"), Decimal("21.00"),
    Decimal("104.13"), Decimal("600.00"),
)  # fmt: skip
ORDERS = [
    make_order("A", customer="Jana", total=Decimal("600.00"), lines=[LINE]),
    make_order("B", customer="Petr", total=Decimal("25.50"), confirmed=False),
]
LINE_JSON = {
    "line_id": "1", "sku": "KB-1", "name": "Keyboard", "type": "article", "quantity": 2,
    "unit_price": 300.0, "tax_rate": 21.0, "tax_amount": 104.13, "total": 600.0,
    "delivered_quantity": 0, "cancelled_quantity": 0, "returned_quantity": 0,
}  # fmt: skip


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(engine, ORDERS)
    return TestClient(create_app(engine), headers=auth_header(api_key(engine)))


def data(http: TestClient, url: str) -> list[dict[str, object]]:
    response = http.get(url)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_a_list_gives_only_the_keys_named_in_their_order(http: TestClient) -> None:
    items = data(http, "/v1/orders?fields=total,external_id,customer,total")
    assert [list(item) for item in items] == [["total", "external_id", "customer"]] * 2
    assert items == [
        {"total": 600.0, "external_id": "A", "customer": "Jana"},
        {"total": 25.5, "external_id": "B", "customer": "Petr"},
    ]
    # Any key of the full order, whatever the view: filter=basic has no lines of its own.
    assert data(http, "/v1/orders?filter=basic&fields=lines&external_id=A") == [
        {"lines": [LINE_JSON]}
    ]
    # The unconfirmed queue gives objects instead of ids.
    assert data(http, "/v1/orders/unconfirmed?fields=external_id") == [{"external_id": "B"}]


def test_a_detail_gives_only_the_keys_named(http: TestClient) -> None:
    order_id = data(http, "/v1/orders?external_id=A&fields=id")[0]["id"]
    whole = http.get(f"/v1/orders/{order_id}")
    sparse = http.get(f"/v1/orders/{order_id}?fields=external_id,lines")
    assert sparse.status_code == 200, sparse.text
    assert sparse.json() == {"external_id": "A", "lines": [LINE_JSON]}
    assert sparse.headers["etag"] == whole.headers["etag"]


def test_the_vendor_ref_search_gives_only_the_keys_named(http: TestClient) -> None:
    order_id = data(http, "/v1/orders?external_id=A&fields=id")[0]["id"]
    assert http.put(f"/v1/orders/{order_id}", json={"vendor_ref": "PO-1"}).status_code == 200
    found = http.get("/v1/orders/search?vendor_ref=PO-1&fields=external_id,vendor_ref")
    assert found.status_code == 200, found.text
    assert found.json()["data"] == [{"external_id": "A", "vendor_ref": "PO-1"}]
    bad = http.get("/v1/orders/search?vendor_ref=PO-1&fields=colour")
    assert bad.status_code == 400 and bad.json()["errors"][0]["parameter"] == "fields"


def test_xml_is_as_sparse(http: TestClient) -> None:
    listed = ElementTree.fromstring(http.get("/v1/orders.xml?fields=external_id,total").content)
    assert [[child.tag for child in order] for order in listed.find("data") or []] == [
        ["external_id", "total"]
    ] * 2
    order_id = data(http, "/v1/orders?external_id=A&fields=id")[0]["id"]
    detail = http.get(f"/v1/orders/{order_id}.xml?fields=customer,lines")
    root = ElementTree.fromstring(detail.content)
    assert [child.tag for child in root] == ["customer", "lines"]
    assert root.findtext("customer") == "Jana"
    assert root.findtext("lines/line/sku") == "KB-1"


@pytest.mark.parametrize("url", ["/v1/orders", "/v1/orders/unconfirmed", "/v1/orders/{id}"])
@pytest.mark.parametrize("value", ["id,nosuch", "", "ID", "id,,total", "line_sku"])
def test_an_unknown_key_is_a_400_listing_the_allowed_ones(
    http: TestClient, url: str, value: str
) -> None:
    order_id = data(http, "/v1/orders?external_id=A&fields=id")[0]["id"]
    response = http.get(url.replace("{id}", str(order_id)), params={"fields": value})
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["parameter"] == "fields"
    assert error["expected"].startswith("comma-separated names among id, channel, channel_type,")
    assert error["expected"].endswith(", lines, status_history, extra")


def test_fields_twice_is_a_400(http: TestClient) -> None:
    for url in ("/v1/orders?fields=id&fields=id", "/v1/orders/1?fields=id&fields=total"):
        response = http.get(url)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["parameter"] == "fields"
