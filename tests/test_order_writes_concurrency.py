"""Concurrent PUTs over real HTTP (uvicorn on loopback), on SQLite and PostgreSQL: If-Match lets
exactly one writer win; without it no update is lost."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
from sqlalchemy import Engine

from helpers import api_key, auth_header, make_order, serve_in_thread, store
from orderhub.api.app import create_app
from orderhub.store import UnitOfWork


def _race(
    base: str, token: str, bodies: list[dict[str, str]], headers: dict[str, str]
) -> list[tuple[int, str]]:
    """Send every body at once (a barrier releases them together); (status, vendor_ref) each."""
    barrier = threading.Barrier(len(bodies))
    codes: list[tuple[int, str]] = []
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=len(bodies))
    with httpx.Client(base_url=base, headers=auth_header(token), limits=limits, timeout=60) as http:

        def one(body: dict[str, str]) -> None:
            barrier.wait()
            code = http.put("/v1/orders/1", json=body, headers=headers).status_code
            with lock:
                codes.append((code, body["vendor_ref"]))

        threads = [threading.Thread(target=one, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return codes


def test_100_puts_with_one_if_match_one_wins_the_rest_412(engine: Engine) -> None:
    store(engine, [make_order("1")])
    token = api_key(engine)
    with serve_in_thread(create_app(engine)) as base:
        etag = httpx.get(f"{base}/v1/orders/1", headers=auth_header(token)).headers["etag"]
        bodies = [{"vendor_ref": f"R{i}"} for i in range(100)]
        answers = _race(base, token, bodies, {"If-Match": etag})
    assert Counter(code for code, _ in answers) == {200: 1, 412: 99}
    (winner,) = [ref for code, ref in answers if code == 200]
    with UnitOfWork(engine) as uow:
        stored = uow.orders.get(1)
        history = uow.events.history(1)
    assert stored is not None
    assert stored.version == 2
    # The one answered 200 is the one stored and the only change in the history.
    assert stored.scalars["vendor_ref"] == winner
    assert [(h["field"], h["old"], h["new"]) for h in history] == [("vendor_ref", None, winner)]


def test_concurrent_puts_without_if_match_lose_no_update(engine: Engine) -> None:
    store(engine, [make_order("1")])
    token = api_key(engine)
    with serve_in_thread(create_app(engine)) as base:
        bodies = [{"vendor_ref": f"R{i}"} for i in range(20)]
        answers = _race(base, token, bodies, {})
    assert Counter(code for code, _ in answers) == {200: 20}
    with UnitOfWork(engine) as uow:
        stored = uow.orders.get(1)
        history = uow.events.history(1)
    assert stored is not None
    assert stored.version == 21
    # Every PUT left exactly one change (none lost, none doubled), the first from nothing, and
    # each change saw the one before it: the old values chain without a gap.
    assert sorted(h["new"] for h in history) == sorted(f"R{i}" for i in range(20))
    assert history[0]["old"] is None
    assert [h["old"] for h in history[1:]] == [h["new"] for h in history[:-1]]
    assert history[-1]["new"] == stored.scalars["vendor_ref"]
