"""count=exact|estimated|none on the lists (docs/query-language.md, "Counting"), on SQLite and
PostgreSQL: the envelope says which count was used, the orders are the same in every mode."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, func, select, text

from helpers import api_key, auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import Status
from orderhub.services.keys import UsageTally
from orderhub.store import count_cache, counting, make_engine
from orderhub.store.tables import orders

#: 60 orders: 40 open, 20 shipped; 5 of them test orders (hidden by default).
ORDERS = [
    make_order(
        f"N{i}",
        status=Status.SHIPPED if i % 3 == 0 else Status.OPEN,
        total=Decimal(i),
        test=i >= 55,
    )
    for i in range(60)
]
VISIBLE = 55
SHIPPED_VISIBLE = len([i for i in range(55) if i % 3 == 0])  # 19


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(engine, ORDERS)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE orders"))  # the planner's statistics, as autovacuum would
    return TestClient(create_app(engine), headers=auth_header(api_key(engine)))


def paging(http: TestClient, query: str) -> dict[str, Any]:
    response = http.get(f"/v1/orders?{query}")
    assert response.status_code == 200, response.text
    return dict(response.json()["paging"])


def test_exact_is_the_default(http: TestClient) -> None:
    for query in ("page_size=10", "count=exact&page_size=10"):
        assert paging(http, query) | {"cursor": None} == {
            "total": VISIBLE,
            "count": "exact",
            "pages": 6,
            "size": 10,
            "page": 1,
            "cursor": None,
            "has_next": True,
        }
    assert paging(http, "status=shipped")["total"] == SHIPPED_VISIBLE


def test_none_counts_nothing_and_pages_the_same(http: TestClient) -> None:
    first = paging(http, "count=none&page_size=50")
    assert (first["total"], first["pages"], first["count"], first["has_next"]) == (
        None,
        None,
        "none",
        True,
    )
    response = http.get(f"/v1/orders?count=none&page_size=50&cursor={first['cursor']}")
    last = response.json()
    assert len(last["data"]) == VISIBLE - 50 and last["paging"]["has_next"] is False
    assert last["paging"]["count"] == "none"
    assert 'rel="prev"' in response.headers["link"]
    xml = http.get("/v1/orders.xml?count=none&page_size=1").text
    assert '<total nil="true" />' in xml and "<count>none</count>" in xml


def test_estimated_is_cheap_and_says_what_it_is(http: TestClient, engine: Engine) -> None:
    found = paging(http, "count=estimated&page_size=10")
    if engine.dialect.name == "postgresql":
        assert found["count"] == "estimated"
        assert VISIBLE / 2 <= found["total"] <= VISIBLE * 2  # the planner's, from ANALYZE
    else:
        assert (found["count"], found["total"]) == ("exact", VISIBLE)  # under the cap
    # A cursor made by an estimated page: the next one is estimated again, and an exact
    # request with it counts exactly (the estimate is never carried as a count).
    after = paging(http, f"count=estimated&page_size=10&cursor={found['cursor']}")
    assert after["count"] == found["count"] and after["page"] == 2
    exact = paging(http, f"count=exact&page_size=10&cursor={found['cursor']}")
    assert (exact["count"], exact["total"]) == ("exact", VISIBLE)


def test_sqlite_estimates_stop_at_the_cap(
    http: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's capped count")
    monkeypatch.setattr(counting, "ESTIMATE_CAP", 20)
    found = paging(http, "count=estimated&page_size=10")
    assert (found["count"], found["total"], found["pages"]) == ("at_least", 20, 2)
    assert paging(http, "count=estimated&status=open")["count"] == "at_least"
    assert paging(http, "count=estimated&status=shipped")["total"] == SHIPPED_VISIBLE  # 19 < 20
    assert paging(http, "count=estimated&total=lt:10") == paging(http, "total=lt:10")


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/orders/unconfirmed", "/v1/orders.csv"])
def test_a_bad_count_is_a_400_naming_count(http: TestClient, path: str) -> None:
    # The exports refuse count= whatever its value: an export counts nothing for a client.
    for value in ("many", "EXACT", ""):
        response = http.get(f"{path}?count={value}")
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["parameter"] == "count"
    if path.endswith(".csv"):
        assert http.get(f"{path}?count=exact").status_code == 400


def test_a_total_follows_every_write_whoever_makes_it(http: TestClient, engine: Engine) -> None:
    """SQLite keeps exact totals until the database changes (store/count_cache.py): the same
    list counts once; a commit by another connection (as another process's: not through this
    process's engine) or through the app's own engine is seen by the next request."""
    with _counts_run(engine) as counts:
        assert paging(http, "status=shipped")["total"] == SHIPPED_VISIBLE
        assert paging(http, "status=shipped&page_size=5")["total"] == SHIPPED_VISIBLE
        assert len(counts) == (1 if engine.dialect.name == "sqlite" else 2)
        _ship_from_outside(engine, "N1")  # N1 is open and visible
        assert paging(http, "status=shipped")["total"] == SHIPPED_VISIBLE + 1
        store(engine, [make_order("N-new", status=Status.SHIPPED)])
        assert paging(http, "status=shipped")["total"] == SHIPPED_VISIBLE + 2
        assert paging(http, "status=open")["total"] == VISIBLE - SHIPPED_VISIBLE - 1


@contextmanager
def _counts_run(engine: Engine) -> Iterator[list[str]]:
    """The count statements the engine's connections run inside the block."""
    counts: list[str] = []

    def note(statement: str) -> None:
        if "count(" in statement.lower():
            counts.append(statement)

    if engine.dialect.name == "sqlite":
        # SQLite's own trace, on every connection made from now on (the pool's, the held one):
        # lists also run on the driver alone (store/held.py), past SQLAlchemy's events.
        def trace(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(note)

        event.listen(engine, "connect", trace)
        engine.dispose()
        try:
            yield counts
        finally:
            event.remove(engine, "connect", trace)
            engine.dispose()
        return

    def noted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        note(statement)

    event.listen(engine, "before_cursor_execute", noted)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", noted)


def _ship_from_outside(engine: Engine, external_id: str) -> None:
    """Mark an order shipped through a connection the app's engine knows nothing of."""
    update = "UPDATE orders SET status = 'shipped' WHERE external_id = ?"
    if engine.dialect.name == "sqlite":
        with closing(sqlite3.connect(str(engine.url.database))) as raw:
            raw.execute(update, (external_id,))
            raw.commit()
        return
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with other.begin() as conn:
            conn.execute(text(update.replace("?", ":e")), {"e": external_id})
    finally:
        other.dispose()


def test_requests_for_a_total_being_counted_wait_for_it(engine: Engine) -> None:
    """Four connections asking for the same total at once run one count (SQLite's cache)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite keeps totals; PostgreSQL counts every time")
    store(engine, ORDERS[:3])

    @event.listens_for(engine, "connect")
    def slow_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("slow_one", 0, lambda: time.sleep(0.3) or 1)

    engine.dispose()  # every connection from now on has the function
    statement = select(func.count()).select_from(orders).where(func.slow_one() == 1)
    warm = select(func.count()).select_from(orders)
    executed: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda *a: executed.append(a[2]) if "slow_one" in a[2] else None,
    )
    connections = [engine.connect() for _ in range(4)]
    try:
        for conn in connections:  # each connection's data_version seen once
            count_cache.TOTALS.count(conn, warm)
        start = threading.Barrier(len(connections))
        totals: list[int] = []

        def ask(conn: Connection) -> None:
            start.wait()
            totals.append(count_cache.TOTALS.count(conn, statement))

        threads = [threading.Thread(target=ask, args=(conn,)) for conn in connections]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for conn in connections:
            conn.close()
    assert totals == [3, 3, 3, 3]
    assert len(executed) == 1


def test_the_usage_counts_of_unlimited_keys_keep_the_totals(
    http: TestClient, engine: Engine
) -> None:
    """Writing the batched usage of unlimited keys (once a second while serving) is a quiet
    write: SQLite's cached totals survive it; an order's change still drops them."""
    with _counts_run(engine) as counts:
        assert paging(http, "status=shipped")["total"] == SHIPPED_VISIBLE
        tally: UsageTally = http.app.state.key_usage  # type: ignore[attr-defined]
        assert tally.flush(engine) == 1  # the request above, with the client's unlimited key
        assert paging(http, "status=shipped")["total"] == SHIPPED_VISIBLE
        assert len(counts) == (1 if engine.dialect.name == "sqlite" else 2)
        _ship_from_outside(engine, "N1")
        assert paging(http, "status=shipped")["total"] == SHIPPED_VISIBLE + 1


def test_a_request_reading_the_version_does_not_empty_the_cache_for_another(
    engine: Engine,
) -> None:
    """The sentinel is held for a moment by another request reading `data_version`: a count
    meanwhile waits for it and answers from the cache (it used to treat the database as
    changed, so concurrent requests emptied the cache for each other)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite keeps totals; PostgreSQL counts every time")
    store(engine, ORDERS[:3])
    statement = select(func.count()).select_from(orders)
    with engine.connect() as conn:
        assert count_cache.TOTALS.count(conn, statement) == 3  # counted, then kept
        hits = count_cache.TOTALS.hits
        sentinel = count_cache.TOTALS._sentinel(engine)
        held = threading.Event()

        def read_the_version_slowly() -> None:
            with sentinel.lock:
                held.set()
                time.sleep(0.01)

        other = threading.Thread(target=read_the_version_slowly)
        other.start()
        held.wait()
        assert count_cache.TOTALS.count(conn, statement) == 3
        other.join()
    assert count_cache.TOTALS.hits == hits + 1
