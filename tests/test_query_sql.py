"""The query module's table test: query string -> the SQL it compiles to, and its parameters."""

from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from orderhub.query import compile_query, parse_query
from orderhub.store.tables import ORDER_COLUMNS, orders
from orderhub.store.tags import FILTER_COLUMNS


def compiled(query_string: str, dialect=sqlite.dialect()) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    query = parse_query(parse_qsl(query_string, keep_blank_values=True), defaults=None)
    parts = compile_query(query, FILTER_COLUMNS)
    where = parts.where if parts.after is None else parts.where & parts.after
    stmt = select(orders.c.id).where(where).order_by(*parts.order_by)
    result = stmt.compile(dialect=dialect)
    sql = str(result).split("WHERE ", 1)[1].replace("\n", " ")
    return sql, result.params


CASES = [
    (
        "customer_id=12345",
        "orders.customer_id = ? ORDER BY orders.id ASC",
        {"customer_id_1": 12345},
    ),
    (
        "customer_id=eq:12345",
        "orders.customer_id = ? ORDER BY orders.id ASC",
        {"customer_id_1": 12345},
    ),
    (
        "customer=neq:John",
        "orders.customer != ? OR orders.customer IS NULL ORDER BY orders.id ASC",
        {"customer_1": "John"},
    ),
    (
        "customer=ne:John",
        "orders.customer != ? OR orders.customer IS NULL ORDER BY orders.id ASC",
        {"customer_1": "John"},
    ),
    ("status=neq:open", "orders.status != ? ORDER BY orders.id ASC", {"status_1": "open"}),
    ("total=gt:10", "orders.total > ? ORDER BY orders.id ASC", {"total_1": 100000}),
    ("total=ge:10.5", "orders.total >= ? ORDER BY orders.id ASC", {"total_1": 105000}),
    ("id=lt:5", "orders.id < ? ORDER BY orders.id ASC", {"id_1": 5}),
    ("id=le:5", "orders.id <= ? ORDER BY orders.id ASC", {"id_1": 5}),
    (
        "customer_id=in:1234,12345",
        "orders.customer_id IN (__[POSTCOMPILE_customer_id_1]) ORDER BY orders.id ASC",
        {"customer_id_1": [1234, 12345]},
    ),
    (
        "status=nin:open,shipped",
        "(orders.status NOT IN (__[POSTCOMPILE_status_1])) ORDER BY orders.id ASC",
        {"status_1": ["open", "shipped"]},
    ),
    (
        "total=bt:10,20",
        "orders.total >= ? AND orders.total <= ? ORDER BY orders.id ASC",
        {"total_1": 100000, "total_2": 200000},
    ),
    (
        "ship_date=nbt:2017-01-01,2017-01-31",
        "NOT (orders.ship_date >= ? AND orders.ship_date <= ?) OR orders.ship_date IS NULL"
        " ORDER BY orders.id ASC",
        {"ship_date_1": "2017-01-01", "ship_date_2": "2017-01-31"},
    ),
    ("delivered_at=$null", "orders.delivered_at IS NULL ORDER BY orders.id ASC", {}),
    ("delivered_at=neq:$null", "orders.delivered_at IS NOT NULL ORDER BY orders.id ASC", {}),
    ("test=true", "orders.test = 1 ORDER BY orders.id ASC", {}),
    ("confirmed=0", "orders.confirmed = 0 ORDER BY orders.id ASC", {}),
    (
        "ship_date=2017-01-14",
        "orders.ship_date = ? ORDER BY orders.id ASC",
        {"ship_date_1": "2017-01-14"},
    ),
    (
        "created_at=2019-07-02 10:19:14",
        "orders.created_at = ? ORDER BY orders.id ASC",
        {"created_at_1": "2019-07-02 10:19:14.000000"},
    ),
    (
        "created_at=2019-07-02",
        "orders.created_at >= ? AND orders.created_at < ? ORDER BY orders.id ASC",
        {
            "created_at_1": "2019-07-02 00:00:00.000000",
            "created_at_2": "2019-07-03 00:00:00.000000",
        },
    ),
    (
        "total=ge:10&total=le:100",
        "orders.total >= ? AND orders.total <= ? ORDER BY orders.id ASC",
        {"total_1": 100000, "total_2": 1000000},
    ),
    (
        "_sort=customer_id:asc,id:desc",
        "1 = 1 ORDER BY orders.customer_id ASC NULLS LAST, orders.id DESC",
        {},
    ),
    ("_sort=total:desc", "1 = 1 ORDER BY orders.total DESC, orders.id ASC", {}),
    ("_sort=ship_date", "1 = 1 ORDER BY orders.ship_date ASC NULLS LAST, orders.id ASC", {}),
]


_HAS_TAG = "EXISTS (SELECT *  FROM order_tags  WHERE order_tags.order_id = orders.id"
_TAGGED = "orders.id IN (SELECT order_tags.order_id  FROM order_tags  WHERE order_tags.tag"
#: Tags (docs/tags.md): membership in the order_tags table, the tag lowered. "Has" is an IN
#: driven from the tag's index; "has not" a NOT EXISTS per order.
TAG_CASES = [
    ("tags=eq:VIP", f"{_TAGGED} = ?) ORDER BY orders.id ASC", {"tag_1": "vip"}),
    ("tags=vip", f"{_TAGGED} = ?) ORDER BY orders.id ASC", {"tag_1": "vip"}),
    (
        "tags=in:a,b:c",
        f"{_TAGGED} IN (__[POSTCOMPILE_tag_1])) ORDER BY orders.id ASC",
        {"tag_1": ["a", "b:c"]},
    ),
    (
        "tags=neq:x",
        f"NOT ({_HAS_TAG} AND order_tags.tag = ?)) ORDER BY orders.id ASC",
        {"tag_1": "x"},
    ),
    (
        "tags=nin:x,y",
        f"NOT ({_HAS_TAG} AND order_tags.tag IN (__[POSTCOMPILE_tag_1]))) ORDER BY orders.id ASC",
        {"tag_1": ["x", "y"]},
    ),
    ("tags=$null", f"NOT ({_HAS_TAG})) ORDER BY orders.id ASC", {}),
    ("tags=neq:$null", f"{_HAS_TAG}) ORDER BY orders.id ASC", {}),
    (
        "tags=eq:vip&status=open",
        f"{_TAGGED} = ?) AND orders.status = ? ORDER BY orders.id ASC",
        {"tag_1": "vip", "status_1": "open"},
    ),
]


@pytest.mark.parametrize(("query_string", "sql", "params"), TAG_CASES)
def test_tag_filters_compile_to_exists(query_string: str, sql: str, params: dict) -> None:  # type: ignore[type-arg]
    assert compiled(query_string) == (sql, params)


def test_tag_filters_on_postgresql() -> None:
    sql, params = compiled("tags=eq:vip", postgresql.dialect())
    assert sql == (
        "orders.id IN (SELECT order_tags.order_id  FROM order_tags"
        "  WHERE order_tags.tag = %(tag_1)s::VARCHAR) ORDER BY orders.id ASC"
    )
    assert params == {"tag_1": "vip"}


@pytest.mark.parametrize(("query_string", "sql", "params"), CASES)
def test_query_compiles_to_expected_sql(query_string: str, sql: str, params: dict) -> None:  # type: ignore[type-arg]
    got_sql, got_params = compiled(query_string)
    assert got_sql == sql
    processed = {k: _bound(k, v) for k, v in got_params.items()}
    assert processed == params


def _bound(key: str, value: object) -> object:
    """The value as the driver receives it (money scaled, dates as SQLite text)."""
    column = ORDER_COLUMNS[key.rsplit("_", 1)[0]]
    processor = column.type.dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    if processor is None:
        return value
    if isinstance(value, list):
        return [processor(v) for v in value]
    return processor(value)


def test_default_visibility_hides_pending_and_test_orders() -> None:
    query = parse_query([])
    sql = str(compile_query(query, ORDER_COLUMNS).where.compile(dialect=sqlite.dialect()))
    assert sql == "orders.status != ? AND orders.test = 0"
    assert [f.field for f in parse_query([("status", "pending")]).implicit] == ["test"]
    assert [f.field for f in parse_query([("test", "1")]).implicit] == ["status"]


def test_postgresql_uses_the_same_shape_with_its_own_placeholders() -> None:
    sql, params = compiled("total=bt:10,20&_sort=customer:desc", postgresql.dialect())
    assert sql == (
        "orders.total >= %(total_1)s AND orders.total <= %(total_2)s "
        "ORDER BY orders.customer DESC NULLS FIRST, orders.id ASC"
    )
    assert params == {"total_1": Decimal("10"), "total_2": Decimal("20")}


def test_keyset_after_uses_a_row_value_comparison_when_it_can() -> None:
    from orderhub.query.compiler import compile_after
    from orderhub.query.parser import parse_sort

    sql = str(
        compile_after(parse_sort("id:desc"), [42], ORDER_COLUMNS).compile(dialect=sqlite.dialect())
    )
    assert sql == "(orders.id) < (?)"
    nullable = str(
        compile_after(parse_sort("customer"), [None, 7], ORDER_COLUMNS).compile(
            dialect=sqlite.dialect()
        )
    )
    assert nullable == "0 = 1 OR orders.customer IS NULL AND orders.id > ?"
