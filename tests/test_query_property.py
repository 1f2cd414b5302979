"""Property tests: the API agrees with filtering the same orders in Python, on both databases;
and no query string, however odd, gets anything but a 200 or a 400."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import all_ids, client
from orderhub.domain import SCALAR_FIELDS, FieldKind, Order
from orderhub.services.generate import generate_orders
from orderhub.store import UnitOfWork, make_engine

ORDERS = list(generate_orders(300, seed=11))
#: 60 examples in the `ci` profile, 600 in `thorough`: each example is a full HTTP round trip
#: on both databases. The 300-example compiler oracle is tests/test_query_oracle.py.
SETTINGS = settings(
    max_examples=settings.default.max_examples * 3 // 5,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[int, Order]]]:
    """The same 300 generated orders stored once per database; ids mapped back to orders."""
    from conftest import _truncate
    from orderhub.store import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('prop') / 'orderhub.db'}"
        upgrade(make_engine(url))
    else:
        url = request.getfixturevalue("pg_database")
        _truncate(url)
    engine = make_engine(url)
    with UnitOfWork(engine) as uow:
        uow.orders.upsert_many(ORDERS)
        by_key = uow.orders.ids_by_external
        ids: dict[int, Order] = {}
        for channel in {o.channel for o in ORDERS}:
            mine = [o for o in ORDERS if o.channel == channel]
            found = by_key(channel, [o.external_id for o in mine])
            ids.update({found[o.external_id]: o for o in mine})
    yield client(engine), ids
    engine.dispose()


# ---- a reference implementation of the query language, in plain Python --------------------


def _python_value(kind: FieldKind, raw: str) -> Any:
    if kind is FieldKind.INT:
        return int(raw)
    if kind is FieldKind.DECIMAL:
        return Decimal(raw)
    if kind is FieldKind.BOOL:
        return raw in ("1", "true")
    if kind is FieldKind.DATE:
        return date.fromisoformat(raw)
    if kind is FieldKind.DATETIME:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    return raw


def _matches(actual: Any, op: str, values: list[Any]) -> bool:
    if op in ("neq", "nin", "nbt"):
        positive = {"neq": "eq", "nin": "in", "nbt": "bt"}[op]
        return actual is None or not _matches(actual, positive, values)
    if actual is None:
        return False
    if isinstance(actual, datetime) and not isinstance(values[0], datetime):
        actual = actual.astimezone(UTC).date()  # a whole-day comparison
    first = values[0]
    return {
        "eq": lambda: actual == first,
        "gt": lambda: actual > first,
        "ge": lambda: actual >= first,
        "lt": lambda: actual < first,
        "le": lambda: actual <= first,
        "in": lambda: actual in values,
        "bt": lambda: values[0] <= actual <= values[1],
    }[op]()


def expected_ids(orders: dict[int, Order], filters: list[tuple[str, str]]) -> list[int]:
    result = []
    names = {name for name, _ in filters}
    for order_id, order in sorted(orders.items()):
        values = {**{n: getattr(order, n) for n in SCALAR_FIELDS}, "id": order_id}
        if "status" not in names and values["status"] == "pending":
            continue
        if "test" not in names and values["test"]:
            continue
        if all(_keep(values, name, raw) for name, raw in filters):
            result.append(order_id)
    return result


def _keep(values: dict[str, Any], name: str, raw: str) -> bool:
    op, _, text = raw.partition(":")
    kind = SCALAR_FIELDS[name].kind
    if text == "$null":
        return (values[name] is None) == (op == "eq")
    parts = [text] if op in ("eq", "gt", "ge", "lt", "le", "neq") else text.split(",")
    return _matches(values[name], op, [_python_value(kind, p) for p in parts])


# ---- strategies built from the same 300 orders, so filters hit real values ---------------


def _sample(name: str, as_date: bool = False) -> st.SearchStrategy[str]:
    kind = SCALAR_FIELDS[name].kind
    seen = [getattr(o, name) for o in ORDERS if getattr(o, name) is not None]
    if kind is FieldKind.BOOL:
        return st.sampled_from(["true", "false", "1", "0"])
    if kind is FieldKind.DATETIME:
        if as_date:
            return st.sampled_from(sorted({v.astimezone(UTC).date().isoformat() for v in seen}))
        return st.sampled_from(
            sorted({v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") for v in seen})
        )
    if kind is FieldKind.DECIMAL:
        return st.one_of(
            st.sampled_from([str(v) for v in seen]), st.decimals(0, 20000, places=2).map(str)
        )
    return st.sampled_from(sorted({str(v) for v in seen}))


FIELDS = [
    "status",
    "payment_status",
    "confirmed",
    "test",
    "total",
    "cod",
    "currency",
    "channel",
    "customer_id",
    "ship_date",
    "created_at",
    "delivered_at",
    "email",
    "tracking_number",
    "country",
]


@st.composite
def a_filter(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(FIELDS))
    spec = SCALAR_FIELDS[name]
    ops = ["eq", "neq", "in", "nin"]
    if spec.kind not in (FieldKind.BOOL, FieldKind.ENUM):
        ops += ["gt", "ge", "lt", "le", "bt", "nbt"]
    op = draw(st.sampled_from(ops))
    as_date = draw(st.booleans())  # a date given for a date-time field means the whole day
    if spec.nullable and op in ("eq", "neq") and draw(st.booleans()):
        return name, f"{op}:$null"
    if op in ("in", "nin"):
        values = draw(st.lists(_sample(name, as_date), min_size=1, max_size=3))
    elif op in ("bt", "nbt"):
        values = sorted(draw(st.lists(_sample(name, as_date), min_size=2, max_size=2)))
    else:
        values = [draw(_sample(name, as_date))]
    return name, f"{op}:{','.join(values)}"


@SETTINGS
@given(filters=st.lists(a_filter(), min_size=1, max_size=3))
def test_api_matches_python_filtering(
    loaded: tuple[TestClient, dict[int, Order]], filters: list[tuple[str, str]]
) -> None:
    http, orders = loaded
    got = all_ids(http, "/v1/orders", filters)
    assert got == expected_ids(orders, filters), filters


SORTABLE = ["id", "total", "customer_id", "created_at", "ship_date", "customer", "cod", "status"]


@SETTINGS
@given(
    keys=st.lists(
        st.tuples(st.sampled_from(SORTABLE), st.sampled_from(["asc", "desc"])),
        min_size=1,
        max_size=3,
        unique_by=lambda k: k[0],
    )
)
def test_sort_and_cursor_paging_match_python(
    loaded: tuple[TestClient, dict[int, Order]], keys: list[tuple[str, str]]
) -> None:
    http, orders = loaded
    sort = ",".join(f"{k}:{d}" for k, d in keys)
    got = all_ids(http, "/v1/orders", [("_sort", sort), ("test", "0"), ("status", "neq:pending")])
    rows = [(i, o) for i, o in orders.items() if not o.test and o.status != "pending"]
    if all(k != "id" for k, _ in keys):
        keys = [*keys, ("id", "asc")]
    for name, direction in reversed(keys):

        def key(item: tuple[int, Order], name: str = name) -> tuple[bool, Any]:
            value = item[0] if name == "id" else getattr(item[1], name)
            return (value is None, value if value is not None else 0)

        rows.sort(key=key, reverse=direction == "desc")
    assert got == [i for i, _ in rows]


NAMES = st.sampled_from([*SCALAR_FIELDS, "_sort", "page", "page_size", "cursor", "filter", "x"])
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "eq:",
            "bt:1",
            "in:",
            "$null",
            "neq:$null",
            "gt:$null",
            "nbt:a,b",
            "9" * 30,
            "2024-02-30",
            "2024-01-01 25:00:00",
            "-1",
            "1e5",
            "NaN",
            "true",
            "\x00",
            "asc",
            "id:desc,id",
            "basic",
            "0",
            "1001",
        ]
    ),
)


@SETTINGS
@given(params=st.lists(st.tuples(NAMES, VALUES), max_size=4))
def test_fuzzed_query_strings_get_only_200_or_400(
    loaded: tuple[TestClient, dict[int, Order]], params: list[tuple[str, str]]
) -> None:
    http, _ = loaded
    for path in ("/v1/orders", "/v1/orders/unconfirmed"):
        response = http.get(path, params=params)
        assert response.status_code in (200, 400), (params, response.text)
        if response.status_code == 400:
            assert response.json()["errors"][0]["parameter"]
