"""The MALL codec against the seed examples (seeds 000 and 001), both directions."""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracles import differences, golden, raw_fixture
from oracles import mall as mall_oracle
from orderhub.channels.mall.codec import (
    MALL_ZONE,
    decode_order,
    encode_basic,
    encode_order,
)
from orderhub.domain import Address, LineType, PaymentStatus, Status, StatusSource
from orderhub.domain.money import to_decimal

# The order object of seed 000 (GET /orders/unconfirmed?filter=basic) and seed 001 (GET /orders),
# and seed 001's "Basic data" example (filter=basic): verbatim in tests/channels/golden.
SEED_ORDER: dict[str, Any] = raw_fixture("mall_seed_order.json")
SEED_BASIC: dict[str, Any] = raw_fixture("mall_seed_basic.json")
#: MALL status word -> canonical status, copied by hand from design section 3 (not STATUS_MAP).
MALL_STATUSES = {
    "blocked": Status.PENDING,
    "open": Status.OPEN,
    "shipping": Status.SHIPPING,
    "shipped": Status.SHIPPED,
    "delivered": Status.DELIVERED,
    "returned": Status.RETURNED,
    "cancelled": Status.CANCELLED,
    "lost": Status.LOST,
}
GOLDEN = ["mall_seed_order", "mall_full_order", "mall_client_order"]

# A full MALL order in the shape the seeds do not show (items, address, prices, tracking): the
# assumed shape of docs/channels-mall.md. It straddles the switch to summer time (2024-03-31).
FULL_ORDER: dict[str, Any] = {
    "id": 4300000123,
    "purchase_id": 4300000124,
    "external_id": "9a7e1c2e-5f1b-4c1e-9f43-0d1c2b3a4f5e",
    "source": "mallCz",
    "currency": "CZK",
    "cod": 2107.0,
    "cod_price": 39.0,
    "delivery_price": 79.0,
    "discount": 0,
    "payment_type": "cod",
    "delivery_method": "ZAS",
    "delivery_method_id": "21",
    "branch_id": None,
    "tracking_number": "DR1234567890",
    "tracking_url": "https://tracking.example.com/DR1234567890",
    "ship_date": "2024-03-31",
    "delivery_date": "2024-04-02",
    "delivered_at": "2024-04-02 10:05:00",
    "customer_id": 1111111112,
    "customer": "Jana Novakova",
    "address": {
        "customer_id": 1111111112,
        "name": "Jana Novakova",
        "company": None,
        "street": "Dlouha 12",
        "city": "Praha",
        "zip": "11000",
        "country": "CZ",
        "phone": "+420123456789",
        "email": "jana@example.com",
    },
    "items": [
        {
            "id": "KETTLE-1",
            "article_id": 100123,
            "title": "Kettle",
            "quantity": 2,
            "price": 499.5,
            "vat": 21,
            "commission": 12.5,
            "serial_numbers": [],
        },
        {
            "id": "LAMP-7",
            "article_id": 100124,
            "title": "Desk lamp",
            "quantity": 1,
            "price": 990.0,
            "vat": 21,
        },
    ],
    "status": "delivered",
    "confirmed": False,
    "test": False,
    "mdp": True,
    "ready_to_return": False,
    "blocked": None,
    "open": "2024-03-30 22:15:00",
    "shipping": "2024-03-31 09:00:00",
    "shipped": "2024-03-31 15:30:00",
    "delivered": "2024-04-02 10:05:00",
    "returned": None,
    "cancelled": None,
    "lost": None,
}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


SEED_TIME = utc(2019, 7, 2, 8, 19, 14)  # 10:19:14 Prague summer time


# --- golden fixtures: seed objects and their canonical orders, written by hand -------------------


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_fixture_decodes_to_the_hand_written_order(name: str) -> None:
    raw, _, expected = golden(name)
    order = decode_order(raw, channel="mall-cz")
    assert differences(order, expected) == []
    assert order.extra == expected["extra"]


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_fixture_accounts_for_every_field_of_the_object(name: str) -> None:
    raw, fields, expected = golden(name)
    assert set(fields) == set(raw)
    assert {target for targets in fields.values() for target in targets} <= set(expected)


@pytest.mark.parametrize("name", GOLDEN)
def test_the_sync_oracle_agrees_with_the_hand_written_order(name: str) -> None:
    raw, _, expected = golden(name)
    predicted = mall_oracle.expected(raw, "mall-cz")
    assert predicted == {key: expected[key] for key in predicted}


def test_a_basic_object_has_no_time_to_decode_and_is_refused_naming_it() -> None:
    """filter=basic objects carry no status timestamps: the connector reads the full order."""
    with pytest.raises(ValueError, match="'created'"):
        decode_order(SEED_BASIC, channel="mall-cz")


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("channel", "mall-cz"),
        ("channel_type", "mall"),
        ("external_id", "89591350"),
        ("status", Status.OPEN),
        ("channel_status", "open"),
        ("payment_status", PaymentStatus.UNPAID),
        ("confirmed", True),
        ("test", False),
        ("ship_date", date(2017, 1, 14)),
        ("delivered_at", utc(2018, 1, 14, 7, 13)),
        ("created_at", SEED_TIME),
        ("updated_at", SEED_TIME),
        ("customer_id", 1111111111),
        ("customer", "John Doe"),
        ("cod", Decimal("25.0")),
        ("total", Decimal("25.0")),
        ("currency", "CZK"),
        ("country", "CZ"),
        ("language", "cs"),
        ("email", None),
        ("subtotal", None),
        ("shipping_cost", None),
        ("payment_method", None),
        ("tracking_number", None),
        ("shipping_address", None),
        ("lines", []),
    ],
)
def test_seed_order_decodes_field_by_field(field: str, expected: object) -> None:
    order = decode_order(SEED_ORDER, channel="mall-cz")
    assert getattr(order, field) == expected


def test_seed_money_is_an_exact_decimal() -> None:
    order = decode_order(SEED_ORDER, channel="mall-cz")
    assert isinstance(order.cod, Decimal)
    assert isinstance(order.total, Decimal)
    assert str(order.cod) == "25.0"


def test_seed_fields_without_a_canonical_place_stay_verbatim_in_extra() -> None:
    order = decode_order(SEED_ORDER, channel="mall-cz")
    assert order.extra == {
        "source": "mallCz",
        "external_id": "24bcb8fe-13d8-11ed-861d-0242ac120002",
        "purchase_id": 89591351,
        "mdp": False,
        "mdp_classic": False,
        "mdp_spectrum": False,
    }


def test_seed_history_has_one_change_per_status_timestamp_in_lifecycle_order() -> None:
    order = decode_order(SEED_ORDER, channel="mall-cz")
    assert [change.status for change in order.status_history] == list(MALL_STATUSES.values())
    assert {change.at for change in order.status_history} == {SEED_TIME}
    assert {change.source for change in order.status_history} == {StatusSource.CHANNEL}


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("external_id", "4300000123"),
        ("status", Status.DELIVERED),
        ("payment_status", PaymentStatus.PAID),
        ("created_at", utc(2024, 3, 30, 21, 15)),  # winter time, UTC+1
        ("updated_at", utc(2024, 4, 2, 8, 5)),  # summer time, UTC+2
        ("delivered_at", utc(2024, 4, 2, 8, 5)),
        ("currency", "CZK"),
        ("total", Decimal("2107.0")),
        ("subtotal", Decimal("1989.0")),
        ("shipping_cost", Decimal("79.0")),
        ("discount", Decimal("0")),
        ("tax_total", Decimal("345.20")),
        ("cod", Decimal("2107.0")),
        ("payment_method", "cod"),
        ("tracking_number", "DR1234567890"),
        ("tracking_url", "https://tracking.example.com/DR1234567890"),
        ("email", "jana@example.com"),
        ("phone", "+420123456789"),
        ("country", "CZ"),
        ("billing_address", None),
        (
            "shipping_address",
            Address(
                name="Jana Novakova",
                street="Dlouha 12",
                city="Praha",
                zip="11000",
                country="CZ",
                phone="+420123456789",
                email="jana@example.com",
            ),
        ),
    ],
)
def test_full_order_decodes_field_by_field(field: str, expected: object) -> None:
    order = decode_order(FULL_ORDER, channel="mall-cz")
    assert getattr(order, field) == expected


@pytest.mark.parametrize(
    ("index", "field", "expected"),
    [
        (0, "line_id", "1"),
        (0, "sku", "KETTLE-1"),
        (0, "name", "Kettle"),
        (0, "type", LineType.ARTICLE),
        (0, "quantity", 2),
        (0, "unit_price", Decimal("499.5")),
        (0, "tax_rate", Decimal("21")),
        (0, "tax_amount", Decimal("173.38")),
        (0, "total", Decimal("999.0")),
        (1, "line_id", "2"),
        (1, "sku", "LAMP-7"),
        (1, "tax_amount", Decimal("171.82")),
        (1, "total", Decimal("990.0")),
    ],
)
def test_full_order_items_decode_to_lines(index: int, field: str, expected: object) -> None:
    line = decode_order(FULL_ORDER, channel="mall-cz").lines[index]
    assert getattr(line, field) == expected


def test_full_order_keeps_nested_leftovers_in_extra() -> None:
    extra = decode_order(FULL_ORDER, channel="mall-cz").extra
    assert extra["items_extra"] == {
        "1": {"article_id": 100123, "commission": 12.5, "serial_numbers": []},
        "2": {"article_id": 100124},
    }
    assert extra["address_extra"] == {"customer_id": 1111111112}
    assert extra["cod_price"] == 39.0
    assert extra["delivery_method"] == "ZAS"


def test_full_order_history_skips_null_timestamps() -> None:
    history = decode_order(FULL_ORDER, channel="mall-cz").status_history
    assert [(change.status, change.at) for change in history] == [
        (Status.OPEN, utc(2024, 3, 30, 21, 15)),
        (Status.SHIPPING, utc(2024, 3, 31, 7, 0)),
        (Status.SHIPPED, utc(2024, 3, 31, 13, 30)),
        (Status.DELIVERED, utc(2024, 4, 2, 8, 5)),
    ]


def test_history_is_sorted_by_time_not_by_status() -> None:
    payload = {**SEED_ORDER, "blocked": "2019-07-02 12:00:00", "open": "2019-07-01 09:00:00"}
    payload.update({name: None for name in ("shipping", "shipped", "delivered", "returned")})
    payload.update({"cancelled": "2019-07-03 08:00:00", "lost": None})
    order = decode_order(payload, channel="mall-cz")
    assert [change.status for change in order.status_history] == [
        Status.OPEN,
        Status.PENDING,
        Status.CANCELLED,
    ]
    assert order.created_at == utc(2019, 7, 1, 7, 0)
    assert order.updated_at == utc(2019, 7, 3, 6, 0)


def test_explicit_created_and_updated_win_over_status_timestamps() -> None:
    payload = {**SEED_ORDER, "created": "2019-06-30 23:30:00", "updated": "2019-07-05 00:00:00"}
    order = decode_order(payload, channel="mall-cz")
    assert order.created_at == utc(2019, 6, 30, 21, 30)
    assert order.updated_at == utc(2019, 7, 4, 22, 0)


@pytest.mark.parametrize(("mall", "canonical"), list(MALL_STATUSES.items()))
def test_status_mapping(mall: str, canonical: Status) -> None:
    order = decode_order({**SEED_ORDER, "status": mall}, channel="mall-cz")
    assert (order.status, order.channel_status) == (canonical, mall)
    assert encode_order(order)["status"] == mall


@pytest.mark.parametrize(
    ("status", "cod", "delivered", "expected"),
    [
        ("blocked", 0, None, PaymentStatus.UNPAID),
        ("open", 0, None, PaymentStatus.PAID),
        ("shipped", 0.0, None, PaymentStatus.PAID),
        ("cancelled", 0, None, PaymentStatus.PAID),
        ("open", 25.0, None, PaymentStatus.UNPAID),
        ("shipped", 25.0, None, PaymentStatus.UNPAID),
        ("delivered", 25.0, "2019-07-03 10:00:00", PaymentStatus.PAID),
        ("returned", 25.0, "2019-07-03 10:00:00", PaymentStatus.PAID),
        ("returned", 25.0, None, PaymentStatus.UNPAID),
        ("lost", 25.0, None, PaymentStatus.UNPAID),
    ],
)
def test_payment_status(
    status: str, cod: float, delivered: str | None, expected: PaymentStatus
) -> None:
    payload = {**SEED_ORDER, "status": status, "cod": cod, "delivered": delivered}
    assert decode_order(payload, channel="mall-cz").payment_status is expected


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2019-01-14 08:13:00", utc(2019, 1, 14, 7, 13)),
        ("2019-07-14 08:13:00", utc(2019, 7, 14, 6, 13)),
        ("2019-07-14T08:13:00+00:00", utc(2019, 7, 14, 8, 13)),
    ],
)
def test_mall_times_are_prague_wall_time_stored_in_utc(local: str, expected: datetime) -> None:
    order = decode_order({**SEED_ORDER, "delivered_at": local}, channel="mall-cz")
    assert order.delivered_at == expected
    assert order.delivered_at is not None and order.delivered_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("source", "currency", "country", "language"),
    [
        ("mallCz", "CZK", "CZ", "cs"),
        ("mallSk", "EUR", "SK", "sk"),
        ("mallHu", "HUF", "HU", "hu"),
        ("somethingElse", "CZK", None, None),
    ],
)
def test_source_implies_currency_country_and_language(
    source: str, currency: str, country: str | None, language: str | None
) -> None:
    order = decode_order({**SEED_ORDER, "source": source}, channel="mall")
    assert (order.currency, order.country, order.language) == (currency, country, language)


def test_explicit_price_is_the_total() -> None:
    order = decode_order({**FULL_ORDER, "price": "2106.99"}, channel="mall-cz")
    assert order.total == Decimal("2106.99")


def test_string_values_are_accepted() -> None:
    payload = {**SEED_ORDER, "id": "89591350", "cod": "25.0", "confirmed": "1", "test": 0}
    order = decode_order(payload, channel="mall-cz")
    assert (order.external_id, order.cod, order.confirmed, order.test) == (
        "89591350",
        Decimal("25.0"),
        True,
        False,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "paid"}, "status"),
        ({"id": None}, "id"),
        ({"id": 1.5}, "id"),
        ({"cod": "abc"}, "cod"),
        ({"open": "02.07.2019"}, "open"),
        ({"confirmed": "maybe"}, "confirmed"),
        ({"items": {"id": "x"}}, "items"),
        ({"items": [{"id": "x", "price": 1}]}, "items[0]"),
        ({"address": "Praha"}, "address"),
    ],
)
def test_bad_input_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"field '{field}'")):
        decode_order({**SEED_ORDER, **change}, channel="mall-cz")


def test_an_order_without_any_time_is_refused() -> None:
    payload = {**SEED_ORDER, **{name: None for name in MALL_STATUSES}}
    with pytest.raises(ValueError, match="created"):
        decode_order(payload, channel="mall-cz")


def test_decode_does_not_modify_the_payload() -> None:
    payload = copy.deepcopy(FULL_ORDER)
    decode_order(payload, channel="mall-cz")
    assert payload == FULL_ORDER


# --- encoding and round trips -----------------------------------------------------------------


@pytest.mark.parametrize("payload", [SEED_ORDER, FULL_ORDER], ids=["seed", "full"])
def test_encode_gives_back_every_field_of_the_payload(payload: dict[str, Any]) -> None:
    encoded = encode_order(decode_order(payload, channel="mall-cz"))
    for key, value in payload.items():
        assert normal(encoded[key]) == normal(value), key


def covers(encoded: Any, original: Any) -> bool:
    """Every field of `original` is in `encoded` with the same meaning (extra nulls allowed)."""
    if isinstance(original, dict):
        return isinstance(encoded, dict) and all(
            covers(encoded.get(key), value) for key, value in original.items()
        )
    if isinstance(original, list):
        return (
            isinstance(encoded, list)
            and len(encoded) == len(original)
            and all(covers(*pair) for pair in zip(encoded, original, strict=True))
        )
    return bool(normal(encoded) == normal(original))


@pytest.mark.parametrize("payload", [SEED_ORDER, FULL_ORDER], ids=["seed", "full"])
def test_decode_of_encode_round_trips(payload: dict[str, Any]) -> None:
    order = decode_order(payload, channel="mall-cz")
    assert decode_order(encode_order(order), channel="mall-cz") == order


def test_encode_writes_money_as_decimal() -> None:
    encoded = encode_order(decode_order(FULL_ORDER, channel="mall-cz"))
    assert encoded["price"] == Decimal("2107.0")
    assert isinstance(encoded["cod"], Decimal)
    assert isinstance(encoded["items"][0]["price"], Decimal)


def test_encode_basic_gives_the_seed_basic_object_and_what_the_client_reads() -> None:
    basic = encode_basic(decode_order(SEED_ORDER, channel="mall-cz"))
    assert {key: basic[key] for key in SEED_BASIC} == SEED_BASIC
    assert list(basic)[: len(SEED_BASIC)] == list(SEED_BASIC)
    # MALL's PHP client's BasicOrder reads these too; the seed order carries no payment type
    # or tracking, and is neither MALL Delivery service.
    client = ("payment_type", "mdp_classic", "mdp_spectrum", "tracking_number", "tracking_url")
    assert {key: basic[key] for key in client} == dict(
        zip(client, (None, False, False, None, None), strict=True)
    )


def test_encode_writes_created_only_when_the_timestamps_do_not_imply_it() -> None:
    order = decode_order(SEED_ORDER, channel="mall-cz")
    assert "created" not in encode_order(order)
    order.created_at = utc(2019, 7, 1, 10, 0)
    encoded = encode_order(order)
    assert encoded["created"] == "2019-07-01 12:00:00"
    assert decode_order(encoded, channel="mall-cz").created_at == order.created_at


@pytest.mark.parametrize(
    ("status", "mall"),
    [(Status.BACKORDERED, "open"), (Status.RETURNING, "shipped"), (Status.FAILED, "cancelled")],
)
def test_statuses_mall_lacks_encode_as_the_nearest(status: Status, mall: str) -> None:
    order = decode_order(SEED_ORDER, channel="mall-cz")
    order.status = status
    assert encode_order(order)["status"] == mall


def test_encode_refuses_a_non_numeric_external_id() -> None:
    order = decode_order(SEED_ORDER, channel="mall-cz")
    order.external_id = "A-17"
    with pytest.raises(ValueError, match="'id'"):
        encode_order(order)


def normal(value: Any) -> Any:
    """JSON values compared as the codec means them: numbers as exact Decimals, "" as null."""
    if isinstance(value, dict):
        return {key: normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normal(item) for item in value]
    if isinstance(value, float | Decimal) or (
        isinstance(value, int) and not isinstance(value, bool)
    ):
        return to_decimal(value)
    return None if value == "" else value


# --- property: any MALL-shaped payload round-trips ----------------------------------------------


def _real_local_time(naive: datetime) -> bool:
    """A Prague wall time that exists and is not repeated (MALL's zone-less times are exact)."""
    early, late = naive.replace(tzinfo=MALL_ZONE), naive.replace(tzinfo=MALL_ZONE, fold=1)
    return early.utcoffset() == late.utcoffset()


local_times = (
    st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 12, 31))
    .map(lambda moment: moment.replace(microsecond=0))
    .filter(_real_local_time)
    .map(lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S"))
)
amounts = st.decimals(min_value=0, max_value=100_000, places=2).map(float)
texts = st.text(max_size=12)
address = st.fixed_dictionaries(
    {name: st.none() | texts for name in ("name", "company", "street", "city", "zip", "country")},
    optional={"phone": texts, "email": texts, "customer_id": st.integers(1, 2**40)},
)
item = st.fixed_dictionaries(
    {
        "title": texts,
        "quantity": st.integers(1, 9),
        "price": amounts,
        "vat": st.sampled_from([0, 10, 12, 21, 27]),
    },
    optional={
        "article_id": st.integers(1, 10**9),
        "commission": amounts,
        "serial_numbers": st.lists(st.text(min_size=1, max_size=8), max_size=3),
    },
)
# Consignment codes that never repeat what a status timestamp says (RETURNING always enters
# the history; the others follow the parcel only).
consignment_entry = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["CREATED", "RECEIVED", "DELIVERING", "DAMAGED", "RETURNING"]),
        "date": local_times,
        "flags": st.lists(st.sampled_from(["damaged", "lost"]), max_size=2),
        "tracking_number": texts,
    }
)
branches = st.fixed_dictionaries(
    {
        "branch_id": st.none() | st.integers(1, 10**6),
        "secondary_branch_id": st.none() | st.integers(1, 10**6),
        "overridden": st.booleans(),
        "last_change": st.none() | local_times,
    }
)
items = st.lists(item, max_size=4).map(
    lambda found: [{**entry, "id": f"SKU-{n}"} for n, entry in enumerate(found)]
)
payloads = st.fixed_dictionaries(
    {
        "id": st.integers(1, 2**53),
        "status": st.sampled_from(list(MALL_STATUSES)),
        "cod": st.just(0.0) | amounts,
        "confirmed": st.booleans(),
        "test": st.booleans(),
        "mdp": st.booleans(),
        "open": local_times,
        **{name: st.none() | local_times for name in MALL_STATUSES if name != "open"},
    },
    optional={
        "source": st.sampled_from(["mallCz", "mallSk", "mallPl", "elsewhere"]),
        "external_id": st.uuids().map(str),
        "purchase_id": st.integers(1, 2**53),
        "customer_id": st.integers(1, 2**40),
        "customer": texts,
        "currency": st.sampled_from(["CZK", "EUR", "HUF"]),
        "price": amounts,
        "delivery_price": amounts,
        "cod_price": amounts,
        "discount": amounts,
        "ship_date": st.dates(date(2015, 1, 1), date(2030, 12, 31)).map(date.isoformat),
        "delivered_at": local_times,
        "created": local_times,
        "tracking_number": texts,
        "address": address,
        "billing_address": address,
        "items": items,
        "delivery_method": texts,
        "delivery_method_id": st.integers(1, 99).map(str),
        "branches": branches,
        "consignment_status_history": st.lists(consignment_entry, max_size=4),
    },
)


@settings(max_examples=200, deadline=None)
@given(payloads)
def test_property_decode_encode_decode_is_stable(payload: dict[str, Any]) -> None:
    order = decode_order(payload, channel="mall-x")
    assert decode_order(encode_order(order), channel="mall-x") == order


@settings(max_examples=200, deadline=None)
@given(payloads)
def test_property_encode_gives_back_every_non_empty_field(payload: dict[str, Any]) -> None:
    encoded = encode_order(decode_order(payload, channel="mall-x"))
    for key, value in payload.items():
        # `created` is written only where the status timestamps do not imply it; an empty
        # customer, e-mail or phone is filled from the address.
        if key != "created" and normal(value) is not None:
            assert covers(encoded[key], value), key


# --- what MALL's official client reads: delivery, branches, consignment history ---------------

SHIPPED_ORDER: dict[str, Any] = {
    "id": 4300000300,
    "status": "shipped",
    "cod": 500,
    "open": "2024-05-05 10:00:00",
    "shipped": "2024-05-06 10:00:00",
    "tracking_number": "T1",
}


def consignment(*steps: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"status": code, "date": at, "flags": [], "tracking_number": "T1"} for code, at in steps
    ]


@pytest.mark.parametrize(
    ("steps", "added"),
    [
        # The carrier delivered before MALL stamped the order delivered: the history says so.
        ([("DELIVERED", "2024-05-07 12:00:00")], [(Status.DELIVERED, utc(2024, 5, 7, 10))]),
        ([("RETURNING", "2024-05-08 12:00:00")], [(Status.RETURNING, utc(2024, 5, 8, 10))]),
        ([("LOST", "2024-05-09 08:30:00")], [(Status.LOST, utc(2024, 5, 9, 6, 30))]),
        # Parcel steps that are no order status.
        (
            [("CREATED", "2024-05-06 09:00:00"), ("RECEIVED", "2024-05-06 10:00:00"),
             ("DELIVERING", "2024-05-07 08:00:00"), ("READY_FOR_PICKUP", "2024-05-07 09:00:00"),
             ("DAMAGED", "2024-05-07 10:00:00"), ("CANCELLED", "2024-05-07 11:00:00")],
            [],
        ),
    ],
)  # fmt: skip
def test_consignment_codes_that_mean_a_status_enter_the_history(
    steps: list[tuple[str, str]], added: list[tuple[Status, datetime]]
) -> None:
    payload = SHIPPED_ORDER | {"consignment_status_history": consignment(*steps)}
    order = decode_order(payload, channel="mall-cz")
    stamped = [(Status.OPEN, utc(2024, 5, 5, 8)), (Status.SHIPPED, utc(2024, 5, 6, 8))]
    assert [(c.status, c.at) for c in order.status_history] == stamped + added
    assert {c.source for c in order.status_history} == {StatusSource.CHANNEL}
    assert order.status is Status.SHIPPED  # the order's status is MALL's `status`
    assert order.extra["consignment_status_history"] == payload["consignment_status_history"]


def test_a_status_mall_stamped_is_not_repeated_from_the_consignment() -> None:
    payload = SHIPPED_ORDER | {
        "status": "delivered",
        "delivered": "2024-05-07 12:05:00",
        "consignment_status_history": consignment(("DELIVERED", "2024-05-07 12:00:00")),
    }
    history = decode_order(payload, channel="mall-cz").status_history
    assert [(c.status, c.at) for c in history][-1] == (Status.DELIVERED, utc(2024, 5, 7, 10, 5))
    assert sum(c.status is Status.DELIVERED for c in history) == 1


def test_a_cod_order_returned_after_the_carrier_delivered_it_is_paid() -> None:
    payload = SHIPPED_ORDER | {
        "status": "returned",
        "returned": "2024-05-20 10:00:00",
        "consignment_status_history": consignment(("DELIVERED", "2024-05-07 12:00:00")),
    }
    assert decode_order(payload, channel="mall-cz").payment_status is PaymentStatus.PAID


@pytest.mark.parametrize(
    ("history", "field"),
    [
        ("none", "consignment_status_history"),
        (["x"], "consignment_status_history[0]"),
        ([{"status": "RETURNING", "date": "15.05.2024"}], "consignment_status_history[0].date"),
        ([{"status": 7, "date": "2024-05-15 10:00:00"}], None),
    ],
)
def test_a_bad_consignment_history_is_refused_naming_the_entry(
    history: object, field: str | None
) -> None:
    payload = SHIPPED_ORDER | {"consignment_status_history": history}
    if field is None:  # a number is read as its digits: an unknown code, no status
        assert len(decode_order(payload, channel="mall-cz").status_history) == 2
        return
    with pytest.raises(ValueError, match=re.escape(f"'{field}'")):
        decode_order(payload, channel="mall-cz")


def test_the_contact_is_read_from_the_address_when_the_order_has_none() -> None:
    payload = SHIPPED_ORDER | {
        "address": {"customer_id": 1101334728, "name": "Jana Novakova", "company": None,
                    "phone": "+420721123456", "email": "jana@example.com", "street": "Prazska 121",
                    "city": "Pelhrimov", "zip": "39301", "country": "CZ"},
    }  # fmt: skip
    order = decode_order(payload, channel="mall-cz")
    assert (order.customer_id, order.customer) == (1101334728, "Jana Novakova")
    assert (order.email, order.phone) == ("jana@example.com", "+420721123456")


def test_article_ids_serial_numbers_and_commission_stay_with_their_line() -> None:
    items = [
        {"id": "A-1", "article_id": 100001, "title": "Kettle", "quantity": 1, "price": 10,
         "vat": 21, "commission": 15, "serial_numbers": ["SN-1", "SN-2"]},
        {"id": "B-2", "article_id": 100002, "title": "Lamp", "quantity": 2, "price": 5,
         "vat": 21, "commission": None, "serial_numbers": []},
    ]  # fmt: skip
    order = decode_order(SHIPPED_ORDER | {"items": items}, channel="mall-cz")
    assert [line.sku for line in order.lines] == ["A-1", "B-2"]
    assert order.extra["items_extra"] == {
        "1": {"article_id": 100001, "commission": 15, "serial_numbers": ["SN-1", "SN-2"]},
        "2": {"article_id": 100002, "commission": None, "serial_numbers": []},
    }
    encoded = encode_order(order)
    assert encoded["items"][0]["serial_numbers"] == ["SN-1", "SN-2"]
    assert encoded["items"][1]["article_id"] == 100002


def test_delivery_method_and_pickup_branch_are_kept_verbatim() -> None:
    branches = {"branch_id": 23, "secondary_branch_id": 41, "overridden": True,
                "last_change": "2024-05-06 09:00:00"}  # fmt: skip
    payload = SHIPPED_ORDER | {
        "delivery_method": "zasilkovna", "delivery_method_id": "23", "branch_id": 23,
        "branches": branches, "delivery_date": "2024-05-07",
        "first_delivery_attempt": None, "ready_to_return": False,
    }  # fmt: skip
    order = decode_order(payload, channel="mall-cz")
    assert {key: order.extra[key] for key in payload if key not in SHIPPED_ORDER} == {
        "delivery_method": "zasilkovna", "delivery_method_id": "23", "branch_id": 23,
        "branches": branches, "delivery_date": "2024-05-07",
        "first_delivery_attempt": None, "ready_to_return": False,
    }  # fmt: skip
    assert order.carrier is None  # the hub's own field at MALL (docs/channels-mall.md)
    assert encode_order(order)["branches"] == branches
