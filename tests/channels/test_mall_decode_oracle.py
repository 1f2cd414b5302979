"""The MALL decode's fast paths against the decode as it was (tests/oracles/mall_decode_before.py):
the same Order, or the same error with the same message, for any payload: the golden fixtures
with their fields, their items', addresses' and consignment entries' replaced by any JSON value
(wrong types, empty text, bad times, infinite floats, Decimals as `parse_float` gives them)."""

from __future__ import annotations

import copy
import math
from typing import Any

import orjson
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from oracles import mall_decode_before, raw_fixture
from orderhub.channels.mall.codec import decode_order

FIXTURES = ["mall_seed_order.json", "mall_full_order.json", "mall_client_order.json"]
BASES = [raw_fixture(name) for name in FIXTURES]
# The same payloads as orjson reads them (floats, not Decimals), as the sync decodes them.
BASES += [orjson.loads(orjson.dumps(base, default=float)) for base in BASES]

TOP_FIELDS = [
    "id", "status", "confirmed", "test", "customer_id", "customer", "cod", "cod_price",
    "ship_date", "delivered_at", "currency", "price", "delivery_price", "discount",
    "payment_type", "tracking_number", "tracking_url", "email", "phone", "address",
    "billing_address", "items", "created", "updated", "source", "mdp", "branches",
    "consignment_status_history", "blocked", "open", "shipping", "shipped", "delivered",
    "returned", "cancelled", "lost",
]  # fmt: skip
ITEM_FIELDS = ["id", "title", "quantity", "price", "vat", "article_id", "serial_numbers"]
ADDRESS_FIELDS = [
    "name", "company", "street", "city", "zip", "country", "phone", "email", "customer_id",
    "note",
]  # fmt: skip
ENTRY_FIELDS = ["status", "date", "flags"]
AMOUNT_FIELDS = ["cod", "cod_price", "price", "delivery_price", "discount", "customer_id", "id"]

times = st.sampled_from([
    "2024-05-15 10:00:00", "2024-03-31 02:30:00", "2024-10-27 02:30:00", "2024-05-15",
    "2024-05-15T10:00:00+02:00", "2024-05-15 10:00:00Z", "15.05.2024", "0001-01-01 00:00:00",
    "9999-12-31 23:59:59", "2024-13-01 00:00:00",
])  # fmt: skip
words = st.sampled_from([
    "", " ", "0", "1", "-5", "7", "12.5", "1e3", "true", "false", "abc", "open", "blocked",
    "delivered", "returned", "DELIVERED", "RETURNING", "RETURNED", "LOST", "mallSk", "EUR", "٣",
])  # fmt: skip
# Floats whose shortest repr is not their binary value, and those that are no amount.
odd_floats = st.sampled_from(
    [0.1, 2107.3, -0.0, 1e-7, 1e22, 1.5e300, math.inf, -math.inf, math.nan]
)
#: Values an amount or a count may come as (and several it may not).
numeric = [
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    odd_floats,
    st.decimals(places=3, allow_nan=False, allow_infinity=False),
]
numbers = st.one_of(*numeric, st.sampled_from(["", "12.5", "1e3", "abc", "-0", "NaN", "Infinity"]))
scalars = st.one_of(*numeric, st.text(max_size=6), times, words)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["status", "date", "name", "x"]), scalars, max_size=3),
)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload = copy.deepcopy(draw(st.sampled_from(BASES)))
    for field in draw(st.lists(st.sampled_from(TOP_FIELDS), max_size=4)):
        payload[field] = draw(values)
    _change_all(draw, payload.get("items"), ITEM_FIELDS)
    for key in ("address", "billing_address"):
        _change_all(draw, [payload.get(key)], ADDRESS_FIELDS)
    _change_all(draw, payload.get("consignment_status_history"), ENTRY_FIELDS)
    return payload


@st.composite
def payloads_with_odd_amounts(draw: st.DrawFn) -> dict[str, Any]:
    payload = copy.deepcopy(draw(st.sampled_from(BASES)))
    for field in draw(st.lists(st.sampled_from(AMOUNT_FIELDS), max_size=3)):
        payload[field] = draw(numbers)
    for item in payload.get("items") or []:
        for field in draw(st.lists(st.sampled_from(["price", "vat", "quantity"]), max_size=2)):
            item[field] = draw(numbers)
    return payload


def _change_all(draw: st.DrawFn, found: object, fields: list[str]) -> None:
    for entry in found if isinstance(found, list) else []:
        if isinstance(entry, dict):
            for field in draw(st.lists(st.sampled_from(fields), max_size=2)):
                entry[field] = draw(values)


def outcome(decode: Any, payload: dict[str, Any]) -> tuple[str, Any, str]:
    """The order and its repr (equal Decimals may differ in their digits: 1.5 and 1.50, and
    equal times in their zone objects), or the error's type and message."""
    try:
        order = decode(payload, channel="mall-cz")
    except Exception as exc:  # any error: the type and message must be the old ones
        return type(exc).__name__, None, str(exc)
    return "order", order, repr(order)


@settings(max_examples=1500, deadline=None)
@given(payloads())
def test_decode_gives_what_the_old_decode_gave(payload: dict[str, Any]) -> None:
    expected = outcome(mall_decode_before.decode_order, payload)
    assert outcome(decode_order, payload) == expected


@settings(max_examples=500, deadline=None)
@given(payloads_with_odd_amounts())
def test_amounts_decode_as_the_old_decode_read_them(payload: dict[str, Any]) -> None:
    expected = outcome(mall_decode_before.decode_order, payload)
    assert outcome(decode_order, payload) == expected


@pytest.mark.parametrize("base", BASES)
def test_the_fixtures_decode_as_before(base: dict[str, Any]) -> None:
    assert outcome(decode_order, base) == outcome(mall_decode_before.decode_order, base)
    assert outcome(decode_order, base)[0] == "order"


@pytest.mark.parametrize("kind", ["order", "ValueError", "OverflowError"])
def test_the_payloads_reach_every_outcome(kind: str) -> None:
    """Orders, refusals and the zone conversion's overflow (year 1): a comparison that only
    ever saw errors would say little."""
    find(payloads(), lambda payload: outcome(decode_order, payload)[0] == kind)
