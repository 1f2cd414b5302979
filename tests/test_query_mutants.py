"""Gaps the mutation run found in the query tests (docs/testing.md, "Mutation testing"):
what a refusal says was expected, and which queries a cursor is bound to.

The expected texts are written out here from docs/query-language.md and the Status list, not
taken from the module that produces them.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest

from orderhub.domain import InvalidInput
from orderhub.query import Cursor, encode_cursor, parse_query
from orderhub.query.ast import After
from orderhub.query.cursor import fingerprint

STATUSES = (
    "pending, open, backordered, shipping, partially_shipped, shipped, delivered, returning, "
    "returned, cancelled, failed, lost"
)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("status", "teleported", f"one of {STATUSES}"),
        ("customer_id", "12x", "an integer"),
        ("customer_id", "9223372036854775808", "an integer"),
        ("customer", "a\x00b", "a string"),
        ("total", "1e5", "a decimal number such as 12.50 (at most 14 digits, 4 decimals)"),
        ("test", "yes", "true, false, 1 or 0"),
        ("ship_date", "2024-02-30", "a date YYYY-MM-DD"),
        (
            "created_at",
            "2024-01-01 25:00:00",
            "a date-time YYYY-MM-DD HH:MM:SS (UTC) or a date YYYY-MM-DD",
        ),
    ],
)
def test_a_bad_value_is_refused_saying_what_its_field_expects(
    name: str, raw: str, expected: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_query([(name, raw)])
    assert refused.value.parameter == name
    assert refused.value.expected == expected


def _cursor_for(params: list[tuple[str, str]]) -> str:
    """The cursor the API would hand out after page 1 of this query."""
    query = parse_query(params)
    after = After(tuple(1 for _ in query.sort), 2, 10)
    return encode_cursor(Cursor(fingerprint(query.filters, query.sort), after))


@pytest.mark.parametrize(
    "other",
    [
        [("customer_id", "8")],  # another value
        [("customer_id", "gt:7")],  # another modifier
        [("total", "7")],  # another field
        [("customer_id", "7"), ("total", "7")],  # one filter more
        [("customer_id", "7"), ("_sort", "id:desc")],  # another direction
        [("customer_id", "7"), ("_sort", "total")],  # another sort field
    ],
)
def test_a_cursor_is_refused_by_any_other_query(other: list[tuple[str, str]]) -> None:
    cursor = _cursor_for([("customer_id", "7")])
    with pytest.raises(InvalidInput) as refused:
        parse_query([*other, ("cursor", cursor)])
    assert refused.value.parameter == "cursor"


def test_a_cursor_is_taken_by_its_own_query_with_any_page_size() -> None:
    params = [("customer_id", "7"), ("_sort", "total:desc")]
    query = parse_query([*params, ("page_size", "3"), ("cursor", _cursor_for(params))])
    assert query.after is not None and query.page == 2 and query.after.total == 10


def test_neq_takes_its_whole_text_as_one_value_commas_included() -> None:
    (only,) = parse_query([("customer", "neq:Smith, John")], defaults=None).filters
    assert only.values == ("Smith, John",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nbt:1", "nbt with exactly two comma-separated values"),
        ("nbt:1,2,3", "nbt with exactly two comma-separated values"),
        ("bt:1,2,3", "bt with exactly two comma-separated values"),
        ("nin:1,,2", "nin with one or more comma-separated values"),
        ("in:", "in with one or more comma-separated values"),
        ("neq:", "neq with one value"),
    ],
)
def test_a_modifier_with_the_wrong_number_of_values_is_refused(raw: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_query([("customer_id", raw)])
    assert (refused.value.parameter, refused.value.expected) == ("customer_id", expected)


@pytest.mark.parametrize(("raw", "values"), [("nin:1,2,3", (1, 2, 3)), ("nbt:1,2", (1, 2))])
def test_negated_lists_keep_every_value(raw: str, values: tuple[int, ...]) -> None:
    (only,) = parse_query([("customer_id", raw)], defaults=None).filters
    assert only.values == values


@pytest.mark.parametrize("customer_id", ["7", "77", "777"])
def test_a_cursor_is_url_safe_text_without_padding(customer_id: str) -> None:
    params = [("customer_id", customer_id)]
    cursor = _cursor_for(params)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor), cursor
    assert parse_query([*params, ("cursor", cursor)]).page == 2


SORT = [("_sort", "confirmed:desc,total,created_at,ship_date,customer")]


def _tampered(**changes: object) -> str:
    """A cursor for SORT whose JSON is written here by hand, then changed."""
    real = orjson.loads(base64.urlsafe_b64decode(_cursor_for(SORT) + "=="))
    payload = {
        "f": real["f"],
        "p": 2,
        "t": 10,
        "v": ["1", "12.5", "2024-01-10T08:30:00+00:00", "2024-01-11", "Smith, John", "5"],
    } | changes
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def test_a_hand_written_cursor_decodes_to_its_values() -> None:
    after = parse_query([*SORT, ("cursor", _tampered())]).after
    assert after is not None and (after.page, after.total) == (2, 10)
    assert after.values == (
        True,
        Decimal("12.5"),
        datetime(2024, 1, 10, 8, 30, tzinfo=UTC),
        date(2024, 1, 11),
        "Smith, John",
        5,
    )
    no_total = parse_query([*SORT, ("cursor", _tampered(t=0, v=[None] * 5 + ["5"]))]).after
    assert no_total is not None and no_total.total == 0 and no_total.values[:5] == (None,) * 5


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        base64.urlsafe_b64encode(b"{}").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        _tampered(f="0" * 16),
        _tampered(v="1"),
        _tampered(v=["1"]),
        _tampered(p=0),
        _tampered(p=True),
        _tampered(p="2"),
        _tampered(t=-1),
        _tampered(t=True),
        _tampered(t="10"),
        _tampered(v=[1, "12.5", "2024-01-10T08:30:00+00:00", "2024-01-11", "a", "5"]),
        _tampered(v=["1", "12.5", "2024-01-10", "2024-01-11", "a", "5"]),
    ],
)
def test_a_tampered_cursor_is_refused_naming_the_cursor(cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_query([*SORT, ("cursor", cursor)])
    assert refused.value.parameter == "cursor"
    assert refused.value.expected == (
        "a cursor returned in paging.cursor by the same query (same filters and _sort)"
    )
    assert refused.value.value == cursor


def test_a_cursor_value_its_sort_field_cannot_take_is_refused_naming_the_cursor() -> None:
    cursor = _tampered(v=["1", "twelve", "2024-01-10T08:30:00+00:00", "2024-01-11", "a", "5"])
    with pytest.raises(InvalidInput) as refused:
        parse_query([*SORT, ("cursor", cursor)])
    assert (refused.value.parameter, refused.value.value) == ("cursor", "twelve")


def test_every_kind_of_sort_value_survives_a_cursor_round_trip() -> None:
    values = (
        True,
        Decimal("12.5"),
        datetime(2024, 1, 10, 8, 30, tzinfo=UTC),
        date(2024, 1, 11),
        "Smith, John",
        5,
    )
    query = parse_query(SORT)
    after = After(values, 3, 7)
    cursor = encode_cursor(Cursor(fingerprint(query.filters, query.sort), after))
    assert parse_query([*SORT, ("cursor", cursor)]).after == after
    falsy = After((False, *values[1:]), 3, 7)
    cursor = encode_cursor(Cursor(fingerprint(query.filters, query.sort), falsy))
    assert parse_query([*SORT, ("cursor", cursor)]).after == falsy


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("customer", "gt:$null", "$null only with eq or neq"),
        ("customer", "in:a,$null", "$null only with eq or neq"),
        ("total", "$null", "a value (total is never null)"),
        ("total", "neq:$null", "a value (total is never null)"),
    ],
)
def test_null_is_refused_where_it_cannot_apply(name: str, raw: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_query([(name, raw)])
    assert (refused.value.parameter, refused.value.expected) == (name, expected)
    assert refused.value.value == raw


MODIFIERS = "eq, gt, ge, lt, le, in, bt, neq, nin, nbt"


@pytest.mark.parametrize(
    ("params", "parameter", "expected", "value"),
    [
        (
            [("customer_id", "xx:1")],
            "customer_id",
            f"a modifier among {MODIFIERS} (or ne); write eq:xx:1 for a literal",
            "xx:1",
        ),
        ([("status", "gt:open")], "status", "a modifier eq, neq, in, nin for a enum field", None),
        (
            [("_sort", "nosuch")],
            "_sort",
            "field[:asc|:desc] with a known field, got 'nosuch'",
            None,
        ),
        ([("_sort", "id:up")], "_sort", "asc or desc after id:", "up"),
        ([("_sort", "id,id")], "_sort", "each field at most once, got id twice", None),
        ([("page", "0")], "page", "an integer from 1 to 10000000", "0"),
        ([("page", "abc")], "page", "an integer from 1 to 10000000", "abc"),
        ([("page_size", "1001")], "page_size", "an integer from 1 to 1000", "1001"),
        ([("filter", "full")], "filter", "basic", "full"),
        ([("page", "1"), ("page", "2")], "page", "at most one value", None),
        ([("customer", "")], "customer", "eq with one value", ""),
        (
            [("customer_id", "bt:1")],
            "customer_id",
            "bt with exactly two comma-separated values",
            None,
        ),
        ([("customer_id", "bt:1,x")], "customer_id", "an integer", "x"),
    ],
)
def test_each_refusal_names_its_parameter_what_was_expected_and_the_value(
    params: list[tuple[str, str]], parameter: str, expected: str, value: str | None
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_query(params)
    assert (refused.value.parameter, refused.value.expected) == (parameter, expected)
    if value is not None:
        assert refused.value.value == value


def test_an_unknown_parameter_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_query([("nosuch", "1")])
    assert refused.value.parameter == "nosuch"
    assert refused.value.expected.startswith("a known field or parameter (id, channel, ")
    known = ", _sort, page, page_size, cursor, filter, q, count, fields)"
    assert refused.value.expected.endswith(known)


def test_the_basic_view_and_a_blank_sort_are_accepted() -> None:
    query = parse_query([("filter", "basic"), ("_sort", "  ")])
    assert query.view == "basic" and [str(k) for k in query.sort] == ["id:asc"]
    assert parse_query([]).view == "full"


def test_a_page_number_beside_a_cursor_is_refused_naming_page() -> None:
    params = [("customer_id", "7")]
    with pytest.raises(InvalidInput) as refused:
        parse_query([*params, ("page", "2"), ("cursor", _cursor_for(params))])
    assert (refused.value.parameter, refused.value.expected) == (
        "page",
        "no page together with cursor (the cursor knows its page)",
    )
