"""XML that always parses: any order the store can hold (text with control characters,
U+FFFE/U+FFFF, any Decimal in the store's range, any zoned datetime), stored through the
repository and read through the API, is JSON and XML that parse; JSON gives back exactly what
was stored, and XML too once its one escape rule (docs/api.md, "XML") is undone."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import defusedxml.ElementTree as SafeXML
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import client, make_order
from orderhub.domain import (
    Address,
    ChannelType,
    LineType,
    Order,
    OrderLine,
    PaymentStatus,
    Status,
    StatusChange,
    StatusSource,
)
from orderhub.store import UnitOfWork, make_engine

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: No surrogates (no UTF-8 for them), and in columns no NUL: PostgreSQL's text cannot hold it.
COLUMN_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
NESTED_CHARS = st.characters(exclude_categories=["Cs"])  # JSON text: NUL is written \u0000
HOSTILE = st.sampled_from(["\x01", "\x1f", "\ufffe", "\uffff", "\x7f", "\r", "\t", "\\", "<&>"])
_unique = itertools.count(1)


def text(size: int, chars: st.SearchStrategy[str] = COLUMN_CHARS) -> st.SearchStrategy[str]:
    """Any text of at most `size` characters, often with the characters XML cannot carry."""
    pieces = st.lists(st.one_of(st.text(chars, max_size=8), HOSTILE), max_size=6)
    return pieces.map("".join).map(lambda t: t[:size])


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


#: Amounts the store keeps exactly: NUMERIC(18,4) (PostgreSQL), 1/10,000 units in 64 bits (SQLite).
AMOUNTS = st.decimals(
    min_value=Decimal("-99999999999999.9999"),
    max_value=Decimal("99999999999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60)
)
MOMENTS = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=ZONES | st.just(UTC)
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | text(40, NESTED_CHARS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text(12, NESTED_CHARS), inner),
    max_leaves=8,
)
LINES = st.builds(
    OrderLine,
    line_id=text(20, NESTED_CHARS),
    sku=optional(text(20, NESTED_CHARS)),
    name=text(60, NESTED_CHARS),
    type=st.sampled_from(LineType),
    quantity=st.integers(0, 10**6),
    unit_price=AMOUNTS,
    tax_rate=AMOUNTS,
    tax_amount=AMOUNTS,
    total=AMOUNTS,
)
ADDRESSES = st.builds(
    Address, name=optional(text(40, NESTED_CHARS)), city=optional(text(40, NESTED_CHARS))
)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    created = draw(MOMENTS)
    return make_order(
        f"xml-{next(_unique)}-" + draw(text(40)),
        channel_type=draw(st.sampled_from(ChannelType)),
        status=draw(st.sampled_from(Status)),
        channel_status=draw(text(64)),
        payment_status=draw(st.sampled_from(PaymentStatus)),
        confirmed=draw(st.booleans()),
        created_at=created,
        updated_at=draw(MOMENTS),
        ship_date=draw(optional(st.dates(date(1, 1, 1), date(9999, 12, 31)))),
        delivered_at=draw(optional(MOMENTS)),
        customer_id=draw(optional(st.integers(-(2**63), 2**63 - 1))),
        customer=draw(optional(text(255))),
        email=draw(optional(text(320))),
        phone=draw(optional(text(64))),
        country=draw(optional(text(2))),
        currency=draw(text(3)),
        total=draw(AMOUNTS),
        subtotal=draw(optional(AMOUNTS)),
        cod=draw(optional(AMOUNTS)),
        payment_method=draw(optional(text(64))),
        tracking_number=draw(optional(text(128))),
        tracking_url=draw(optional(text(1024))),
        carrier=draw(optional(text(64))),
        vendor_ref=draw(optional(text(64))),
        language=draw(optional(text(16))),
        push_error=draw(optional(text(200))),
        shipping_address=draw(optional(ADDRESSES)),
        lines=draw(st.lists(LINES, max_size=3)),
        status_history=[StatusChange(Status.OPEN, created, StatusSource.CHANNEL)],
        extra=draw(st.dictionaries(text(12, NESTED_CHARS), JSON_VALUES, max_size=4)),
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from conftest import _truncate
    from orderhub.store import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('xml') / 'orderhub.db'}"
        upgrade(make_engine(url))
    else:
        url = request.getfixturevalue("pg_database")
        _truncate(url)
    engine = make_engine(url)
    yield engine, client(engine)
    engine.dispose()


@SETTINGS
@given(order=orders())
def test_every_storable_order_is_json_and_xml_that_parse(api: Any, order: Order) -> None:
    engine, http = api
    with UnitOfWork(engine) as uow:
        uow.orders.upsert_many([order])
        order_id = uow.orders.ids_by_external(order.channel, [order.external_id])[order.external_id]
    as_json = http.get(f"/v1/orders/{order_id}")
    assert as_json.status_code == 200, as_json.text
    stored = json.loads(as_json.text, parse_float=Decimal)
    assert_same_order(stored, order)

    as_xml = http.get(f"/v1/orders/{order_id}.xml")
    assert as_xml.status_code == 200, as_xml.text
    root = SafeXML.fromstring(as_xml.content)  # raises on anything no parser accepts
    for name in TEXT_FIELDS:
        assert xml_text(root.find(name)) == getattr(order, name), name
    for line, element in zip(order.lines, root.find("lines") or [], strict=True):
        assert xml_text(element.find("name")) == line.name


TEXT_FIELDS = (
    "external_id",
    "channel_status",
    "customer",
    "email",
    "phone",
    "country",
    "currency",
    "payment_method",
    "tracking_number",
    "tracking_url",
    "carrier",
    "vendor_ref",
    "language",
    "push_error",
)


def xml_text(element: Any) -> str | None:
    """An element's text with the rule of docs/api.md undone, written here independently:
    `escaped="true"` marks text whose `\\\\` and `\\uXXXX` stand for one character each."""
    assert element is not None
    if element.get("nil") == "true":
        return None
    value = element.text or ""
    if element.get("escaped") != "true":
        return value
    return re.sub(
        r"\\(\\|u[0-9A-F]{4})", lambda m: "\\" if m[1] == "\\" else chr(int(m[1][1:], 16)), value
    )


def assert_same_order(got: dict[str, Any], order: Order) -> None:
    """Field by field, the JSON against the order that was stored (not against any encoder)."""
    for name in TEXT_FIELDS:
        assert got[name] == getattr(order, name), name
    for name in ("total", "subtotal", "cod"):
        expected = getattr(order, name)
        assert (None if got[name] is None else Decimal(got[name])) == expected, name
    for name in ("created_at", "updated_at", "delivered_at"):
        expected = getattr(order, name)
        assert _moment(got[name]) == expected, name
    assert got["ship_date"] == (order.ship_date.isoformat() if order.ship_date else None)
    assert got["customer_id"] == order.customer_id
    assert got["confirmed"] is order.confirmed
    assert got["status"] == order.status.value
    assert got["extra"] == order.extra
    shipping = order.shipping_address
    assert got["shipping_address"] == (asdict(shipping) if shipping else None)
    assert [_line(line) for line in got["lines"]] == [asdict(line) for line in order.lines]


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)


def _line(line: dict[str, Any]) -> dict[str, Any]:
    money = ("unit_price", "tax_rate", "tax_amount", "total")
    return {k: Decimal(v) if k in money else v for k, v in line.items()}


def test_a_channels_control_character_is_escaped_by_the_documented_rule(engine: Any) -> None:
    """The issue's case, with the expected XML written by hand from docs/api.md."""
    from helpers import store

    line = OrderLine("1", None, "Mug\x01", LineType.ARTICLE, 1, *[Decimal("1.00")] * 4)
    store(engine, [make_order("u1", customer="Jan\x01 Nov\\k", lines=[line], carrier="DPD")])
    http = client(engine)
    body = http.get("/v1/orders/1.xml").text
    assert '<customer escaped="true">Jan\\u0001 Nov\\\\k</customer>' in body
    assert '<name escaped="true">Mug\\u0001</name>' in body
    assert "<carrier>DPD</carrier>" in body  # ordinary text is written as it is
    SafeXML.fromstring(body.encode())
    assert http.get("/v1/orders/1").json()["customer"] == "Jan\x01 Nov\\k"


def test_a_problem_echoing_hostile_text_is_xml_that_parses(engine: Any) -> None:
    http = client(engine)
    # An unknown parameter's name is echoed as it came (a value would be shown by its repr).
    response = http.get("/v1/orders.xml", params={"x\x01\ufffe": "1"})
    assert response.status_code == 400
    problem = SafeXML.fromstring(response.content)
    assert problem.find("detail").get("escaped") == "true"
    assert problem.findtext("detail").startswith("x\\u0001\\uFFFE: expected a known field")
