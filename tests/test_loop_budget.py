"""SQLite lists answered on the event loop within a budget (api/fast_reads.py, store/budget.py):
a statement past the budget is interrupted and the list asked again in a thread, with the
same answer; waits that are not SQL give up at the budget too; nothing leaks past `within`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from helpers import api_key, auth_header, make_order, store
from orderhub.api import fast_reads
from orderhub.api.app import create_app
from orderhub.store import budget, make_engine, upgrade
from orderhub.store.count_cache import CountCache

#: A statement that runs for seconds: SQLite counts to fifty million.
SLOW = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000) "
    "SELECT count(*) FROM n"
)
QUERIES = [
    "page_size=7",
    "status=open&_sort=total:desc&page_size=5",
    "customer_id=in:1,2,3&filter=basic",
    "page_size=4&page=3",
]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'budget.db'}")
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_statement_past_the_budget_is_interrupted(sqlite_engine: Engine) -> None:
    started = time.perf_counter()
    with (
        sqlite_engine.connect() as conn,
        pytest.raises(DBAPIError) as raised,
        budget.within(0.02),
    ):
        conn.execute(text(SLOW))
    assert budget.ran_over(raised.value), raised.value
    assert time.perf_counter() - started < 2  # fifty million steps take far longer
    assert budget.remaining() is None  # reset on the way out


def test_without_a_budget_nothing_is_interrupted(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        short = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)"
        assert conn.execute(text(short + " SELECT count(*) FROM n")).scalar_one() == 300_000


def test_other_errors_are_not_taken_for_running_over(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn, pytest.raises(DBAPIError) as raised, budget.within(5):
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not budget.ran_over(raised.value)


def test_a_thread_started_inside_within_has_no_budget(sqlite_engine: Engine) -> None:
    seen: list[float | None] = []
    with budget.within(0.5):
        worker = threading.Thread(target=lambda: seen.append(budget.remaining()))
        worker.start()
        worker.join()
        assert budget.remaining() is not None
    assert seen == [None]


def test_waiting_for_a_count_under_way_gives_up_at_the_budget(sqlite_engine: Engine) -> None:
    cache = CountCache()
    release = threading.Event()

    def slow_count() -> int:
        release.wait(10)
        return 42

    leader = threading.Thread(target=cache._counted, args=(sqlite_engine, "key", slow_count))
    leader.start()
    time.sleep(0.2)  # the leader's flight is under way
    started = time.perf_counter()
    with pytest.raises(budget.OverBudget), budget.within(0.05):
        cache._counted(sqlite_engine, "key", lambda: 0)
    waited = time.perf_counter() - started
    release.set()
    leader.join()
    assert waited < 1
    # Without a budget the same request waits for the leader's total.
    assert cache._counted(sqlite_engine, "key", lambda: 0) == 42


def _orders() -> list[Any]:
    return [
        make_order(f"B{i}", total=Decimal(i) + Decimal("0.5"), customer_id=1 + i % 4)
        for i in range(30)
    ]


def _answers(http: TestClient) -> list[tuple[int, bytes, str | None]]:
    found = []
    for query in QUERIES:
        response = http.get(f"/v1/orders?{query}")
        found.append((response.status_code, response.content, response.headers.get("link")))
    response = http.get("/v1/orders/unconfirmed")
    found.append((response.status_code, response.content, response.headers.get("link")))
    return found


def test_lists_answer_the_same_on_the_loop_and_in_a_thread(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(sqlite_engine, _orders())
    http = TestClient(create_app(sqlite_engine), headers=auth_header(api_key(sqlite_engine)))
    tries: list[float] = []
    real_within = budget.within

    def counted(seconds: float) -> Any:
        tries.append(seconds)
        return real_within(seconds)

    monkeypatch.setattr(budget, "within", counted)
    on_loop = _answers(http)
    assert len(tries) == len(QUERIES) + 1  # every list tried on the loop
    assert all(status == 200 for status, _, _ in on_loop)

    # A budget no statement fits in: every list is interrupted, then asked in a thread.
    monkeypatch.setattr(fast_reads, "LOOP_BUDGET_SECONDS", 0.0)
    monkeypatch.setattr(budget, "CHECK_EVERY", 1)
    sqlite_engine.dispose()  # new connections: their progress handler looks at every step
    fresh = TestClient(create_app(sqlite_engine), headers=auth_header(api_key(sqlite_engine)))
    over: list[bool] = []
    real_ran_over = budget.ran_over

    def noted(exc: BaseException) -> bool:
        over.append(real_ran_over(exc))
        return over[-1]

    monkeypatch.setattr(budget, "ran_over", noted)
    tries.clear()
    assert _answers(fresh) == on_loop
    assert over and all(over)
    # The shapes that ran over go straight to a thread for a while: no second try.
    tries.clear()
    assert _answers(fresh) == on_loop
    assert tries == []


def test_bad_input_on_the_loop_is_the_same_problem(sqlite_engine: Engine) -> None:
    store(sqlite_engine, _orders())
    http = TestClient(create_app(sqlite_engine), headers=auth_header(api_key(sqlite_engine)))
    response = http.get("/v1/orders?total=gt:abc")
    assert response.status_code == 400
    assert "total" in response.json()["detail"]
