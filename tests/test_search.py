"""Free-text search (`q=`, docs/search.md) on SQLite and PostgreSQL: an order found by each
searched field, partial and in either case, combined with filters, sort and cursor paging, in
the exports; kept exact across API writes and channel upserts; bad `q` refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from helpers import all_ids, api_key, auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import LineType, OrderLine, Status

BIG_ID = 9_000_000_000_123


def _line(sku: str) -> OrderLine:
    one = Decimal("10.00")
    return OrderLine("1", sku, "Thing", LineType.ARTICLE, 1, one, Decimal("21.00"), one, one)


ORDERS = [
    make_order(
        "MALL-7731-XQ",
        id=BIG_ID,
        customer="Jana Nováková",
        email="jana.novak@example.cz",
        vendor_ref="PO-2024-0042",
        tracking_number="DR1234567890CZ",
        lines=[_line("KB-ZX81"), _line("CABLE-3M")],
    ),
    make_order(
        "CD-55",
        channel="cdon-se",
        customer="Petr Svoboda",
        email="petr@shop.example",
        vendor_ref="INV-9",
        tracking_number="1Z999AA10123456784",
        lines=[_line("MUG_01")],
    ),
    make_order("OTHER-1", customer="Ola Nordmann", lines=[_line("MUGX01")]),
]


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(engine, ORDERS[:1])  # its own batch: the only one with its id given
    store(engine, ORDERS[1:])
    return TestClient(create_app(engine), headers=auth_header(api_key(engine)))


def found(http: TestClient, query: str, path: str = "/v1/orders") -> list[str]:
    response = http.get(f"{path}?{query}")
    assert response.status_code == 200, response.text
    return sorted(order["external_id"] for order in response.json()["data"])


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (str(BIG_ID), ["MALL-7731-XQ"]),  # the hub's id
        ("7731-x", ["MALL-7731-XQ"]),  # the channel's id, partly, in another case
        ("CD-55", ["CD-55"]),
        ("nováková", ["MALL-7731-XQ"]),  # the customer's name
        ("SVOBODA", ["CD-55"]),
        ("novak@example", ["MALL-7731-XQ"]),  # part of an e-mail address
        ("shop.example", ["CD-55"]),
        ("zx81", ["MALL-7731-XQ"]),  # a line's SKU
        ("cable-3m", ["MALL-7731-XQ"]),  # the second line's SKU
        ("PO-2024", ["MALL-7731-XQ"]),  # vendor_ref
        ("inv-9", ["CD-55"]),
        ("DR1234567890cz", ["MALL-7731-XQ"]),  # the tracking number
        ("1Z999AA", ["CD-55"]),
        ("MUG_01", ["CD-55"]),  # `_` is itself, not any character: MUGX01 is not found
        ("mug", ["CD-55", "OTHER-1"]),
        ("zx", ["MALL-7731-XQ"]),  # shorter than a trigram
        ("jana kb-zx81", ["MALL-7731-XQ"]),  # every term must appear
        ("jana svoboda", []),
        ("50%", []),
        ("nomatch", []),
    ],
)
def test_q_finds_an_order_by_each_searched_field(http: TestClient, q: str, expected: list[str]):
    assert found(http, f"q={q}".replace("%", "%25")) == expected


@pytest.mark.parametrize(
    "q",
    [
        "\U00016843_\U000a3644\U000ac87a\u00f6\x97",  # crashed SQLite 3.40's trigram LIKE
        '"quoted" AND (NEAR*) ^col: x',  # FTS5 query syntax is only text here
        "\u00a0\u00a0",  # a word of non-breaking spaces (words part at ASCII space only)
    ],
)
def test_any_text_is_only_text(http: TestClient, q: str) -> None:
    response = http.get("/v1/orders", params={"q": q})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


def test_any_stored_line_text_is_stored_and_searched(engine: Engine) -> None:
    """A NUL in a line's name (its JSON holds \\u0000, which PostgreSQL's jsonb refuses) and a
    quote in a SKU: the order is stored, and found by its SKU."""
    odd = _line('Q"7\\x')
    named = OrderLine("2", "NUL-9", "a\x00b", LineType.ARTICLE, 1, *[Decimal("1.00")] * 4)
    store(engine, [make_order("ODD", lines=[odd, named])])
    http = TestClient(create_app(engine), headers=auth_header(api_key(engine)))
    assert found(http, "q=nul-9") == ["ODD"]
    assert found(http, "q=q%227") == ["ODD"]


def test_q_in_the_exports_and_the_unconfirmed_queue(http: TestClient) -> None:
    response = http.get("/v1/orders.ndjson?q=svoboda&fields=external_id")
    assert response.status_code == 200, response.text
    assert response.text == '{"external_id":"CD-55"}\n'
    csv = http.get("/v1/orders.csv?q=novak@&fields=external_id")
    assert csv.text == "external_id\r\nMALL-7731-XQ\r\n"
    assert http.get("/v1/orders/unconfirmed?q=svoboda").json()["data"] == []


def test_q_selects_the_orders_of_a_bulk_job(http: TestClient) -> None:
    body = {"query": "q=mug", "action": "confirm", "dry_run": True}
    response = http.post("/v1/orders/bulk", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["matched"] == 2
    bad = http.post("/v1/orders/bulk", json={**body, "query": "q="})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["parameter"] == "q"


def test_q_combines_with_filters_sort_and_cursor_paging(engine: Engine) -> None:
    base = datetime(2024, 5, 1, tzinfo=UTC)
    many = [
        make_order(
            f"S{i}",
            customer="Search Target" if i % 3 else "Someone Else",
            total=Decimal(100 + (i * 7) % 23),
            status=Status.SHIPPED if i % 4 == 0 else Status.OPEN,
            created_at=base + timedelta(hours=i),
        )
        for i in range(1, 31)
    ]
    store(engine, many)
    http = TestClient(create_app(engine), headers=auth_header(api_key(engine)))
    # Expected by hand from the rules above: i not divisible by 3, status open (i % 4 != 0),
    # sorted by total descending, then id (= insertion order) ascending.
    chosen = [i for i in range(1, 31) if i % 3 and i % 4]
    chosen.sort(key=lambda i: (-((i * 7) % 23), i))
    params = [("q", "target"), ("status", "open"), ("_sort", "total:desc")]
    ids = _walk(http, [*params, ("page_size", "4")])
    assert ids == all_ids(http, "/v1/orders", params)  # pages of 4 and of 1,000 agree
    response = http.get("/v1/orders", params=[*params, ("page_size", "1000")])
    assert len(ids) == len(chosen) == response.json()["paging"]["total"]
    externals = _externals(http, ids)
    assert externals == [f"S{i}" for i in chosen]


def _walk(http: TestClient, params: list[tuple[str, str]]) -> list[int]:
    """Every page by its cursor, as a client walks them."""
    ids: list[int] = []
    body = http.get("/v1/orders", params=params).json()
    while True:
        ids += [order["id"] for order in body["data"]]
        cursor = body["paging"]["cursor"]
        if cursor is None:
            return ids
        response = http.get("/v1/orders", params=[*params, ("cursor", cursor)])
        assert response.status_code == 200, response.text
        body = response.json()


def _externals(http: TestClient, ids: list[int]) -> list[str]:
    return [http.get(f"/v1/orders/{i}").json()["external_id"] for i in ids]


def test_a_cursor_is_bound_to_its_q(http: TestClient) -> None:
    first = http.get("/v1/orders?q=mug&page_size=1").json()
    cursor = first["paging"]["cursor"]
    assert http.get(f"/v1/orders?q=mug&page_size=1&cursor={cursor}").status_code == 200
    other = http.get(f"/v1/orders?q=mug_&page_size=1&cursor={cursor}")
    assert other.status_code == 400
    assert other.json()["errors"][0]["parameter"] == "cursor"


def test_the_index_follows_channel_upserts_and_api_writes(http: TestClient, engine: Engine):
    # The channel reports the order again, newer, with another customer name and SKU.
    (old,) = [o for o in ORDERS if o.external_id == "CD-55"]
    changed = {"customer": "Petra Dvořák", "lines": [_line("LAMP-9")]}
    store(engine, [replace(old, **changed, updated_at=old.updated_at + timedelta(hours=1))])
    assert found(http, "q=dvořák") == ["CD-55"]
    assert found(http, "q=lamp-9") == ["CD-55"]
    assert found(http, "q=svoboda") == []
    assert found(http, "q=MUG_01") == []
    assert found(http, "q=inv-9") == ["CD-55"]
    order_id = http.get("/v1/orders?q=dvořák").json()["data"][0]["id"]
    response = http.put(f"/v1/orders/{order_id}", json={"vendor_ref": "NEWREF-77"})
    assert response.status_code == 200, response.text
    assert found(http, "q=newref-77") == ["CD-55"]
    assert found(http, "q=INV-9") == []
    assert found(http, "q=dvořák") == ["CD-55"]


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("q=", "empty"),
        ("q=%20%20", "only spaces"),
        ("q=" + "x" * 201, "too long"),
        ("q=" + "+".join("abcdefghijk"), "eleven words"),
        ("q=a&q=b", "twice"),
    ],
)
def test_a_bad_q_is_a_400_naming_q(http: TestClient, query: str, why: str) -> None:
    for path in ("/v1/orders", "/v1/orders.csv", "/v1/orders/unconfirmed"):
        response = http.get(f"{path}?{query}")
        assert response.status_code == 400, (why, path, response.text)
        assert response.json()["errors"][0]["parameter"] == "q", why


@pytest.mark.parametrize("table", ["orders", "shipments"])
def test_sqlite_keeps_the_index_by_triggers(engine: Engine, table: str) -> None:
    """A later migration that rebuilds `orders` or `shipments` on SQLite drops its triggers:
    this says so."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's triggers")
    with engine.connect() as conn:
        names = conn.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"
                " AND name LIKE :t || '_search_%'"  # not store/texts.py's
            ),
            {"t": table},
        ).scalars()
        assert sorted(names) == [f"{table}_search_{n}" for n in ("delete", "insert", "update")]


def test_q_finds_an_order_by_every_shipments_tracking_number(http: TestClient, engine: Engine):
    """Each shipment's tracking number becomes the order's own: the earlier one is still found,
    from the shipments table. A word may match a SKU and another a shipment's number."""
    lines = [_line("LAMP-77"), replace(_line("DESK-5"), line_id="2")]
    sku_only = make_order("SKU-ONLY", lines=[_line("LAMP-77")], tracking_number="PKG-ZZZ-9")
    store(engine, [make_order("TWICE", lines=lines), sku_only])
    (order_id,) = [o["id"] for o in http.get("/v1/orders?q=twice").json()["data"]]
    for number, line in (("PKG-AAA-1111", "1"), ("PKG-BBB-2222", "2")):
        url = f"https://t.example/{number}"
        body = {"lines": [{"line_id": line, "quantity": 1}], "carrier": "PPL",
                "tracking_number": number, "tracking_url": url}  # fmt: skip
        response = http.post(f"/v1/orders/{order_id}/shipments", json=body)
        assert response.status_code == 201, response.text
    assert http.get(f"/v1/orders/{order_id}").json()["tracking_number"] == "PKG-BBB-2222"
    assert found(http, "q=PKG-AAA-1111") == ["TWICE"]  # the first shipment's, no longer the order's
    assert found(http, "q=pkg-bbb-2222") == ["TWICE"]
    assert found(http, "q=aaa-1111+lamp-77") == ["TWICE"]  # SKU-ONLY has the SKU, not the parcel
    assert found(http, "q=lamp-77") == ["SKU-ONLY", "TWICE"]
    assert found(http, "q=aaa-1111+svoboda") == []
    assert found(http, "q=pkg-ccc") == []
    # With a filter, a count and the exports, as any q.
    response = http.get("/v1/orders?q=aaa-1111&status=shipped&page_size=1")
    assert response.json()["paging"]["total"] == 1, response.text
    assert found(http, "q=aaa-1111&status=open") == []
    csv = http.get("/v1/orders.csv?q=AAA-1111&fields=external_id")
    assert csv.text == "external_id\r\nTWICE\r\n"
    # Cursor paging over orders found in different sources (the order's own number, a shipment's).
    ids = _walk(http, [("q", "pkg-"), ("page_size", "1")])
    assert _externals(http, ids) == ["TWICE", "SKU-ONLY"]  # in id order: stored in that order


@pytest.mark.parametrize("common", [1, 10_000])
def test_a_common_word_walks_the_sort_and_finds_the_same(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, common: int
) -> None:
    """On SQLite a word with `COMMON` candidates or more is probed while the list walks its
    sort's index; fewer drive the list. Both plans give the same pages, cursor paging
    included; PostgreSQL has one plan and the same answer."""
    from orderhub.store import search

    monkeypatch.setattr(search, "COMMON", common)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    # (external id, customer, hours after start, total): written out, so the expected order is.
    rows = [
        ("A", "Eva Berg", 5, "30.00"),
        ("B", "Jan Bergman", 1, "10.00"),
        ("C", "Ola Nordmann", 3, "99.00"),
        ("D", "Ingrid BERG", 4, "20.00"),
        ("E", "Lars Isberg", 2, "40.00"),
        ("F", "Klara Novak", 6, "50.00"),
    ]
    store(engine, [
        make_order(ext, customer=name, created_at=start + timedelta(hours=h), total=Decimal(t))
        for ext, name, h, t in rows
    ])  # fmt: skip
    http = TestClient(create_app(engine), headers=auth_header(api_key(engine)))
    for sort, expected in (
        ("created_at:desc", ["A", "D", "E", "B"]),
        ("total:asc", ["B", "D", "A", "E"]),
        ("customer:desc", ["E", "B", "D", "A"]),  # Lars > Jan > Ingrid > Eva
    ):
        params = [("q", "berg"), ("_sort", sort), ("page_size", "1")]
        assert _externals(http, _walk(http, params)) == expected, (sort, common)
        whole = http.get("/v1/orders", params=[("q", "berg"), ("_sort", sort)]).json()
        assert [o["external_id"] for o in whole["data"]] == expected, (sort, common)
        assert whole["paging"]["total"] == 4
