"""Four `orderhub serve` worker processes on one PostgreSQL (`--workers 4`), many clients at once:

- a daily quota of 20 under 50 parallel clients: exactly 20 answers are 200 and 30 are 429,
  never 21 (docs/keys-and-quotas.md), and the day's counter holds every request tried;
- 12 clients changing the same two orders with If-Match, each retrying its 412s: every 200 is
  in the order's history, the versions the 200s answered are consecutive with no gaps or
  repeats, and the final version is the start plus the number of 200s (no update lost).

Connections are not kept alive, so the requests spread over the four processes.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from conftest import _truncate
from helpers import api_key, auth_header, make_order, store
from orderhub.store import make_engine
from orderhub.store.keys import key_usage
from process_support import fleet_of, server_workers, start_server

WORKERS = 4
QUOTA, QUOTA_CLIENTS = 20, 50
WRITERS, WRITES_EACH, TARGETS = 12, 2, 2


def _fresh(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers=auth_header(token) | {"Connection": "close"},
        limits=httpx.Limits(max_keepalive_connections=0),
        timeout=60,
    )


def _all_at_once(clients: int, call: Callable[[int], Any]) -> list[Any]:
    start = threading.Barrier(clients)

    def run(n: int) -> Any:
        start.wait(timeout=60)
        return call(n)

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(run, range(clients)))


@pytest.mark.slow
def test_four_server_processes_keep_quotas_exact_and_lose_no_update(
    pg_database: str, tmp_path: Path
) -> None:
    _truncate(pg_database)
    engine = make_engine(pg_database)
    try:
        store(engine, [make_order(str(n)) for n in range(1, TARGETS + 1)])
        limited = api_key(engine, "orders:read", daily_limit=QUOTA)
        writer = api_key(engine, "orders:read,orders:write")
        with fleet_of(pg_database, tmp_path) as fleet:
            serve, base_url = start_server(fleet, workers=WORKERS)
            assert len(server_workers(serve.pid)) == WORKERS
            _quota_is_exact(engine, base_url, limited)
            _no_update_is_lost(base_url, writer)
            fleet.assert_logs_clean()
    finally:
        engine.dispose()


def _quota_is_exact(engine: Any, base_url: str, token: str) -> None:
    def call(_n: int) -> tuple[int, str | None]:
        with _fresh(base_url, token) as http:
            answer = http.get("/v1/orders/1")
            return answer.status_code, answer.headers.get("retry-after")

    answers = _all_at_once(QUOTA_CLIENTS, call)
    codes = Counter(code for code, _ in answers)
    assert codes == {200: QUOTA, 429: QUOTA_CLIENTS - QUOTA}, codes
    assert all(after is not None for code, after in answers if code == 429)
    with engine.connect() as conn:
        tried = conn.execute(select(func.sum(key_usage.c.count))).scalar()
    # Every request tried is counted (docs/keys-and-quotas.md), only QUOTA were let through.
    assert tried == QUOTA_CLIENTS


def _no_update_is_lost(base_url: str, token: str) -> None:
    with _fresh(base_url, token) as http:
        start = {n: _version(http.get(f"/v1/orders/{n}").headers["etag"]) for n in _targets()}

    def writes(client: int) -> list[tuple[int, str, int]]:
        done: list[tuple[int, str, int]] = []
        with _fresh(base_url, token) as http:
            for n in range(WRITES_EACH):
                order_id = _targets()[(client + n) % TARGETS]
                ref = f"c{client}-w{n}"
                for _attempt in range(200):
                    etag = http.get(f"/v1/orders/{order_id}").headers["etag"]
                    answer = http.put(f"/v1/orders/{order_id}", json={"vendor_ref": ref},
                                      headers={"If-Match": etag})  # fmt: skip
                    if answer.status_code == 200:
                        done.append((order_id, ref, _version(answer.headers["etag"])))
                        assert _version(answer.headers["etag"]) == _version(etag) + 1
                        break
                    assert answer.status_code == 412, answer.text
                else:
                    raise AssertionError(f"client {client}: no 200 in 200 tries")
        return done

    won = [write for done in _all_at_once(WRITERS, writes) for write in done]
    assert len(won) == WRITERS * WRITES_EACH
    with _fresh(base_url, token) as http:
        for order_id in _targets():
            mine = [(ref, version) for oid, ref, version in won if oid == order_id]
            versions = sorted(version for _, version in mine)
            assert versions == list(range(start[order_id] + 1, start[order_id] + 1 + len(mine)))
            final = _version(http.get(f"/v1/orders/{order_id}").headers["etag"])
            assert final == start[order_id] + len(mine)
            history = http.get(f"/v1/orders/{order_id}/history").json()["history"]
            recorded = [e["new"] for e in history if e["field"] == "vendor_ref"]
            # Each 200's value is in the history, in the order of the versions it answered.
            assert recorded == [ref for ref, _ in sorted(mine, key=lambda m: m[1])]


def _targets() -> list[int]:
    return list(range(1, TARGETS + 1))


def _version(etag: str) -> int:
    return int(etag.strip('"'))
