"""The read API on SQLite and PostgreSQL: seed 000/001's examples, paging, views, XML, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import all_ids, client, json_decimal, make_order, store
from orderhub.domain import Status

T0 = datetime(2019, 7, 2, 10, 19, 14, tzinfo=UTC)


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(
        engine,
        [
            make_order(
                "1",
                customer_id=1234,
                customer="John Doe",
                total=Decimal("25.00"),
                cod=Decimal("25.00"),
                ship_date=date(2017, 1, 14),
                created_at=T0,
            ),
            make_order(
                "2",
                customer_id=12345,
                customer="Jane Roe",
                total=Decimal("677.95"),
                ship_date=date(2017, 1, 15),
                confirmed=False,
                created_at=datetime(2019, 7, 3, tzinfo=UTC),
            ),
            make_order(
                "3",
                customer_id=99,
                customer=None,
                total=Decimal("1495.00"),
                status=Status.SHIPPED,
                delivered_at=datetime(2018, 1, 14, 8, 13, tzinfo=UTC),
            ),
            make_order(
                "4",
                customer_id=1234,
                status=Status.PENDING,
                confirmed=False,
                total=Decimal("10.00"),
            ),
            make_order("5", customer_id=77, test=True, total=Decimal("5.00")),
            make_order(
                "6",
                customer_id=1234,
                customer="Max Mustermann",
                channel="mall-sk",
                currency="EUR",
                total=Decimal("99.99"),
                confirmed=False,
                status=Status.CANCELLED,
            ),
        ],
    )
    return client(engine)


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [item if isinstance(item, int) else item["id"] for item in response.json()["data"]]


def external(http: TestClient, query: str) -> list[str]:
    response = http.get(f"/v1/orders?{query}&filter=basic")
    assert response.status_code == 200, response.text
    return [item["external_id"] for item in response.json()["data"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("customer_id=1234", ["1", "6"]),
        ("customer_id=eq:1234", ["1", "6"]),
        ("customer_id=in:1234,12345", ["1", "2", "6"]),
        ("customer_id=nin:1234,12345", ["3"]),
        ("customer_id=neq:1234", ["2", "3"]),
        ("customer_id=ne:1234", ["2", "3"]),
        ("total=gt:99.99", ["2", "3"]),
        ("total=ge:99.99", ["2", "3", "6"]),
        ("total=lt:99.99", ["1"]),
        ("total=le:99.99", ["1", "6"]),
        ("total=bt:25,677.95", ["1", "2", "6"]),
        ("total=nbt:25,677.95", ["3"]),
        ("total=ge:20&total=le:100", ["1", "6"]),
        ("customer=$null", ["3"]),
        ("customer=eq:$null", ["3"]),
        ("customer=neq:$null", ["1", "2", "6"]),
        ("delivered_at=neq:$null", ["3"]),
        ("customer=neq:John Doe", ["2", "3", "6"]),
        ("confirmed=true", ["1", "3"]),
        ("confirmed=false", ["2", "6"]),
        ("confirmed=1", ["1", "3"]),
        ("confirmed=0", ["2", "6"]),
        ("ship_date=2017-01-14", ["1"]),
        ("ship_date=gt:2017-01-14", ["2"]),
        ("created_at=2019-07-02 10:19:14", ["1"]),
        ("created_at=2019-07-02", ["1"]),
        ("created_at=ge:2019-07-03 00:00:00", ["2", "3", "6"]),
        ("created_at=lt:2019-07-03 00:00:00", ["1"]),
        ("channel=mall-sk", ["6"]),
        ("currency=in:EUR", ["6"]),
        ("status=pending", ["4"]),
        ("status=in:pending,shipped", ["3", "4"]),
        ("test=1", ["5"]),
        ("test=0", ["1", "2", "3", "6"]),
        ("", ["1", "2", "3", "6"]),
    ],
)
def test_filters_follow_seed_001(http: TestClient, query: str, expected: list[str]) -> None:
    assert external(http, query) == expected


def test_multi_column_sort_and_ties_broken_by_id(http: TestClient) -> None:
    assert external(http, "_sort=customer_id:asc,id:desc") == ["3", "6", "1", "2"]
    assert external(http, "_sort=customer_id:desc") == ["2", "1", "6", "3"]
    assert external(http, "_sort=customer") == ["2", "1", "6", "3"]
    # NULL sorts as the greatest value: last ascending, first descending, on both databases.
    assert external(http, "_sort=customer:asc") == ["2", "1", "6", "3"]
    assert external(http, "_sort=customer:desc") == ["3", "6", "1", "2"]


def test_full_and_basic_views(http: TestClient) -> None:
    response = http.get("/v1/orders?customer_id=1234&channel=mall-cz")
    assert response.status_code == 200, response.text
    (full,) = response.json()["data"]
    assert {"lines", "status_history", "shipping_address", "extra", "channel_status"} <= set(full)
    assert (full["external_id"], full["channel_status"], full["lines"]) == ("1", "open", [])
    assert full["status_history"] == [
        {"status": "open", "at": "2019-07-02T10:19:14Z", "source": "channel"}
    ]
    (basic,) = http.get("/v1/orders?customer_id=1234&channel=mall-cz&filter=basic").json()["data"]
    assert list(basic) == [
        "id",
        "channel",
        "external_id",
        "status",
        "payment_status",
        "confirmed",
        "test",
        "cod",
        "total",
        "currency",
        "ship_date",
        "delivered_at",
        "customer_id",
        "customer",
        "created_at",
    ]
    assert basic["ship_date"] == "2017-01-14"
    assert basic["created_at"] == "2019-07-02T10:19:14Z"


def test_money_is_exact_in_json(http: TestClient) -> None:
    body = json_decimal(http.get("/v1/orders?customer_id=12345"))
    assert body["data"][0]["total"] == Decimal("677.95")
    assert '"total":677.95' in http.get("/v1/orders?customer_id=12345").text


def test_envelope_and_paging_block(http: TestClient) -> None:
    body = http.get("/v1/orders?page_size=3").json()
    assert body["result"] == {"code": 200, "status": "OK"}
    assert {k: body["paging"][k] for k in ("total", "pages", "size", "page")} == {
        "total": 4,
        "pages": 2,
        "size": 3,
        "page": 1,
    }
    second = http.get("/v1/orders?page_size=3&page=2").json()
    assert second["paging"]["page"] == 2 and len(second["data"]) == 1
    assert second["paging"]["cursor"] is None
    by_cursor = http.get(f"/v1/orders?page_size=3&cursor={body['paging']['cursor']}").json()
    assert by_cursor["data"] == second["data"]
    assert by_cursor["paging"]["page"] == 2


def test_unconfirmed_gives_ids_or_basic_objects(http: TestClient, engine: Engine) -> None:
    # Orders are stored in the fixture's order, so external id n has id n.
    response = http.get("/v1/orders/unconfirmed")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == [2, 6]  # pending (4) and test orders are left out as in /orders
    assert body["result"] == {"code": 200, "status": "OK"}
    assert {k: body["paging"][k] for k in ("total", "pages", "page")} == {
        "total": 2,
        "pages": 1,
        "page": 1,
    }
    basic = http.get("/v1/orders/unconfirmed?filter=basic").json()["data"]
    assert [(b["id"], b["external_id"], b["confirmed"]) for b in basic] == [
        (2, "2", False),
        (6, "6", False),
    ]
    pending = http.get("/v1/orders/unconfirmed?status=pending").json()["data"]
    assert pending == [4]


def test_order_by_id_with_etag_and_304(http: TestClient) -> None:
    first = ids(http.get("/v1/orders"))[0]
    response = http.get(f"/v1/orders/{first}")
    assert response.status_code == 200
    etag = response.headers["etag"]
    assert (response.json()["id"], response.json()["external_id"]) == (first, "1")
    assert http.get(f"/v1/orders/{first}", headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("path", ["/v1/orders/999999", "/v1/orders/9223372036854775807"])
def test_missing_order_is_a_404_problem(http: TestClient, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_xml_mirrors_json(http: TestClient) -> None:
    as_json = http.get("/v1/orders?filter=basic&customer_id=12345").json()
    for response in (
        http.get("/v1/orders.xml?filter=basic&customer_id=12345"),
        http.get(
            "/v1/orders?filter=basic&customer_id=12345", headers={"Accept": "application/xml"}
        ),
    ):
        assert response.headers["content-type"].startswith("application/xml")
        root = ElementTree.fromstring(response.content)
        order = root.find("data/order")
        assert order is not None
        assert [child.tag for child in order] == list(as_json["data"][0])
        assert order.findtext("total") == "677.95"
        assert order.findtext("confirmed") == "false"
        assert root.findtext("paging/total") == "1"
        assert root.findtext("result/status") == "OK"
    order_id = as_json["data"][0]["id"]
    single = ElementTree.fromstring(http.get(f"/v1/orders/{order_id}.xml").content)
    assert single.tag == "order" and single.findtext("id") == str(order_id)
    assert (single.findtext("external_id"), single.findtext("customer")) == ("2", "Jane Roe")
    assert single.find("lines") is not None
    unconfirmed = ElementTree.fromstring(http.get("/v1/orders/unconfirmed.xml").content)
    assert [e.text for e in unconfirmed.findall("data/id")] == ["2", "6"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("nosuchfield=1", "nosuchfield"),
        ("total=xx:1", "total"),
        ("total=abc", "total"),
        ("customer_id=1.5", "customer_id"),
        ("confirmed=yes", "confirmed"),
        ("ship_date=14.1.2017", "ship_date"),
        ("created_at=2019-07-02T25:00:00", "created_at"),
        ("total=bt:1", "total"),
        ("total=bt:1,2,3", "total"),
        ("status=gt:open", "status"),
        ("status=bogus", "status"),
        ("total=$null", "total"),
        ("total=gt:$null", "total"),
        ("page_size=1001", "page_size"),
        ("page_size=0", "page_size"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("cursor=garbage", "cursor"),
        ("_sort=nosuch:asc", "_sort"),
        ("_sort=id:sideways", "_sort"),
        ("filter=everything", "filter"),
        ("id=99999999999999999999", "id"),
    ],
)
def test_bad_input_is_a_400_problem_naming_the_parameter(
    http: TestClient, query: str, parameter: str
) -> None:
    response = http.get(f"/v1/orders?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert problem["errors"][0]["parameter"] == parameter
    assert problem["errors"][0]["expected"]


def test_cursor_made_for_another_query_is_refused(http: TestClient) -> None:
    cursor = http.get("/v1/orders?page_size=1").json()["paging"]["cursor"]
    response = http.get(f"/v1/orders?page_size=1&_sort=total:desc&cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "cursor"


def test_cursor_paging_is_stable_under_concurrent_inserts(engine: Engine) -> None:
    store(engine, [make_order(str(n), total=Decimal(n)) for n in range(1, 31)])
    http = client(engine)
    seen: list[int] = []
    body = http.get("/v1/orders?page_size=7&_sort=total:desc").json()
    seen += ids_of(body)
    inserted = 100
    while body["paging"]["cursor"]:
        # New orders land on both sides of the cursor while a client pages through.
        store(
            engine,
            [
                make_order(str(inserted), total=Decimal(inserted)),
                make_order(str(inserted + 1), total=Decimal("0.5")),
            ],
        )
        inserted += 2
        body = http.get(
            f"/v1/orders?page_size=7&_sort=total:desc&cursor={body['paging']['cursor']}"
        ).json()
        seen += ids_of(body)
    original = [o for o in seen if o <= 30]
    assert len(seen) == len(set(seen)), "an order was returned twice"
    assert original == list(range(30, 0, -1)), "an order that existed all along was skipped"


def ids_of(body: dict) -> list[int]:  # type: ignore[type-arg]
    return [item["id"] for item in body["data"]]


def test_following_cursors_reaches_every_order(engine: Engine) -> None:
    store(engine, [make_order(str(n), customer_id=n % 4 or None) for n in range(1, 51)])
    http = client(engine)
    walked = all_ids(http, "/v1/orders", [("_sort", "customer_id:desc")])
    assert sorted(walked) == list(range(1, 51))
    assert len(walked) == 50


def test_healthz_and_openapi_describe_every_parameter(http: TestClient) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    spec = http.get("/openapi.json").json()
    names = {p["name"] for p in spec["paths"]["/v1/orders"]["get"]["parameters"]}
    assert {"_sort", "page", "page_size", "cursor", "filter", "total", "vendor_ref"} <= names
    assert "Order" in spec["components"]["schemas"]


def test_cursor_pages_carry_the_walks_total_instead_of_counting_again(engine: Engine) -> None:
    store(engine, [make_order(str(n)) for n in range(1, 8)])
    http = client(engine)
    first = http.get("/v1/orders?page_size=3").json()
    assert first["paging"]["total"] == 7
    store(engine, [make_order("100")])  # arrives mid-walk
    second = http.get(f"/v1/orders?page_size=3&cursor={first['paging']['cursor']}").json()
    assert second["paging"]["total"] == 7  # the total the walk started with
    assert http.get("/v1/orders?page_size=3").json()["paging"]["total"] == 8


def test_sqlite_planner_statistics_are_refreshed_when_missing(engine: Engine) -> None:
    from orderhub.store import refresh_statistics

    store(engine, [make_order(str(n)) for n in range(1, 5)])
    analysed = refresh_statistics(engine)
    assert analysed is (engine.dialect.name == "sqlite")
    assert refresh_statistics(engine) is False  # fresh statistics are left alone
