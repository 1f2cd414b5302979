"""Concurrency, for real: the hub as separate processes on one database (a SQLite file, and
PostgreSQL), under load, then SIGKILLed one by one.

`orderhub serve --workers 2`, two `orderhub worker`s and `orderhub sync` runs back to back
(against an `orderhub sandbox mall` process whose orders live: new ones arrive, others move)
share the database while 8 client threads change a few orders through the API with If-Match
(GET for the ETag, PUT, again on 412). No answer is a 5xx or mentions a locked database; every
200 is in the order's history with the API key as its actor; no two 200s on one order started
from the same version (a lost update), and each 200's ETag is the next version. Then every
process is SIGKILLed under the same load; afterwards the database is intact (SQLite's
integrity_check; no duplicate (channel, external_id); every order decodes), a new sync and a
worker run complete, and no process logged a traceback.

Marked slow: 40-50 s per database on a quiet 2-core machine, a few minutes on a busy one (each
`orderhub` process pays its own start-up).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from helpers import auth_header
from orderhub.services.keys import create_key, parse_scopes
from orderhub.store.order_rows import FULL_COLUMNS, stored
from orderhub.store.outbox import outbox
from orderhub.store.tables import orders
from process_support import (
    Fleet,
    SyncLoop,
    fleet_of,
    kill,
    server_workers,
    start_sandbox,
    start_server,
    wait,
    wait_running,
)

CLIENTS = 8
#: How long the clients change orders while every process runs (not a measurement).
LOAD_SECONDS = 15.0
#: The orders the clients fight over: few, so that they collide.
TARGETS = 12
KEY_NAME = "concurrency-clients"


@pytest.mark.slow
def test_processes_under_load_lose_nothing_and_survive_sigkill(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with fleet_of(database_url, tmp_path) as fleet:
        start_sandbox(fleet)
        assert fleet.run("sync-initial", "sync") == 0, fleet.log("sync-initial")
        token = create_key(engine, KEY_NAME, parse_scopes("orders:read,orders:write")).token
        targets = _target_orders(engine)
        workers = [
            fleet.start(f"worker-{n}", "worker", "--no-sync", "--poll", "0.1") for n in (1, 2)
        ]
        serve, base_url = start_server(fleet)
        for n, worker in enumerate(workers, 1):
            wait_running(fleet, f"worker-{n}", worker)
        syncs = SyncLoop(fleet)
        syncs.start()
        with _clients(base_url, token, targets) as calm:
            # The load lasts its time, and at least until a sync run has completed.
            wait(lambda: calm.age() > LOAD_SECONDS and syncs.finished_ok() >= 1, "the load")
        _assert_no_lost_update(calm, base_url, token)

        with _clients(base_url, token, targets) as killed:
            _kill_server_workers(serve.pid, killed)
            for worker in workers:
                os.kill(worker.pid, signal.SIGKILL)
            syncs.kill_mid_run(engine)
            wait(lambda: killed.puts_ok() >= 10, "changes after every kill")
        fleet.stop(serve)
        _assert_no_lost_update(killed, None, token, history=_history_from(engine))
        _assert_intact(engine, database_url)
        assert syncs.codes and set(syncs.codes) == {0}, syncs.codes
        assert fleet.run("sync-after", "sync") == 0, fleet.log("sync-after")
        _assert_worker_settles_and_stops(fleet, engine)
    fleet.assert_logs_clean()


# -- the clients -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Put:
    order_id: int
    base: int
    code: int
    etag: int | None
    change: dict[str, Any]
    answer: dict[str, Any] | None


@dataclass
class _Load:
    """What the client threads saw: every PUT, every answer's status, the suspicious ones."""

    started: float = field(default_factory=time.monotonic)
    puts: list[_Put] = field(default_factory=list)
    codes: Counter[tuple[str, int]] = field(default_factory=Counter)
    suspicious: list[str] = field(default_factory=list)
    transport_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, response: httpx.Response) -> None:
        with self.lock:
            self.codes[(response.request.method, response.status_code)] += 1
            if response.status_code >= 500 or "locked" in response.text.lower():
                self.suspicious.append(f"{response.status_code} {response.text[:500]}")

    def age(self) -> float:
        return time.monotonic() - self.started

    def puts_ok(self) -> int:
        return sum(put.code == 200 for put in self.puts)


@contextmanager
def _clients(base_url: str, token: str, targets: list[int]) -> Iterator[_Load]:
    """CLIENTS threads changing the target orders until the block ends."""
    load, stop = _Load(), threading.Event()
    threads = [
        threading.Thread(target=_client, args=(n, base_url, token, targets, stop, load))
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        yield load
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def _client(
    n: int, base_url: str, token: str, targets: list[int], stop: threading.Event, load: _Load
) -> None:
    rng = random.Random(n)
    # No keep-alive: each request connects anew, so both server workers get a share.
    limits = httpx.Limits(max_keepalive_connections=0)
    headers = auth_header(token)
    with httpx.Client(base_url=base_url, headers=headers, timeout=60, limits=limits) as http:
        seq = 0
        while not stop.is_set():
            order_id = rng.choice(targets)
            for _ in range(5):  # again on 412, with the new ETag
                seq += 1
                try:
                    code = _change_once(http, order_id, f"c{n}-{seq}", rng, load)
                except httpx.TransportError:  # a server worker was killed mid-request
                    with load.lock:
                        load.transport_errors += 1
                    break
                if code != 412:
                    break


def _change_once(
    http: httpx.Client, order_id: int, tag: str, rng: random.Random, load: _Load
) -> int:
    got = http.get(f"/v1/orders/{order_id}")
    load.saw(got)
    if got.status_code != 200:
        return got.status_code
    change = _change(got.json(), tag, rng)
    put = http.put(f"/v1/orders/{order_id}", json=change, headers={"If-Match": got.headers["etag"]})
    load.saw(put)
    ok = put.status_code == 200
    with load.lock:
        load.puts.append(
            _Put(
                order_id,
                _version(got.headers["etag"]),
                put.status_code,
                _version(put.headers["etag"]) if ok else None,
                change,
                put.json() if ok else None,
            )
        )
    return put.status_code


def _change(order: dict[str, Any], tag: str, rng: random.Random) -> dict[str, Any]:
    """A unique vendor_ref, sometimes with the next status (pushed to MALL by the workers) or
    a confirmation: every field given differs from the order's value."""
    change: dict[str, Any] = {"vendor_ref": tag}
    roll = rng.random()
    if roll < 0.2 and order["status"] == "open":
        change["status"] = "shipping"
    elif roll < 0.3 and order["status"] in ("open", "shipping"):
        change |= {
            "status": "shipped",
            "tracking_number": f"T{tag}",
            "tracking_url": f"https://track.example/{tag}",
        }
    elif roll < 0.4 and order["confirmed"] is False:
        change["confirmed"] = True
    return change


def _version(etag: str) -> int:
    return int(etag.strip('"'))


def _kill_server_workers(parent: int, load: _Load) -> None:
    """SIGKILL both server workers (mid-request: the clients are busy); uvicorn's parent
    replaces them, and changes go through again."""
    done = load.puts_ok()
    killed = server_workers(parent)
    for pid in killed:
        kill(pid)

    def replaced() -> bool:
        now = server_workers(parent)
        return len(now) == 2 and not set(now) & set(killed)

    wait(replaced, "uvicorn to replace the killed workers")
    wait(lambda: load.puts_ok() > done, "a change after the kill")


# -- the checks ------------------------------------------------------------------------------

History = Callable[[int], list[dict[str, Any]]]


def _assert_no_lost_update(
    load: _Load, base_url: str | None, token: str, history: History | None = None
) -> None:
    assert load.suspicious == [], load.suspicious[:5]
    unexpected = {k: v for k, v in load.codes.items() if k[1] not in (200, 412)}
    assert unexpected == {}, unexpected
    ok = [put for put in load.puts if put.code == 200]
    by_order: defaultdict[int, list[_Put]] = defaultdict(list)
    for put in ok:
        assert put.etag == put.base + 1, put
        assert put.answer is not None
        assert {k: put.answer[k] for k in put.change} == put.change, put
        by_order[put.order_id].append(put)
    if history is None:
        assert base_url is not None
        history = _history_from_api(base_url, token)
    for order_id, puts in by_order.items():
        bases = sorted(put.base for put in puts)
        assert len(bases) == len(set(bases)), f"order {order_id}: two 200s from one version"
        etags = [put.etag for put in sorted(puts, key=lambda p: p.base)]
        assert etags == sorted(set(etags)), f"order {order_id}: ETags not increasing"
        _assert_in_history(order_id, puts, history(order_id))
    # The checks above had something to check: changes went through, and clients collided.
    assert len(ok) >= 10 and load.codes[("PUT", 412)] >= 1, load.codes


def _assert_in_history(order_id: int, puts: list[_Put], entries: list[dict[str, Any]]) -> None:
    """Each 200's fields, exactly, share one event in the history, the key as its actor; the
    changes of each field (the API's and the channel's) chain without a gap."""
    by_event: defaultdict[str, dict[str, Any]] = defaultdict(dict)
    for entry in entries:
        by_event[str(entry["event_id"])][entry["field"]] = entry
    by_ref = {e["vendor_ref"]["new"]: e for e in by_event.values() if "vendor_ref" in e}
    for put in puts:
        event = by_ref.get(put.change["vendor_ref"])
        assert event is not None, f"order {order_id}: {put.change} is not in its history"
        assert {name: e["new"] for name, e in event.items()} == put.change
        assert {(e["actor"], e["source"]) for e in event.values()} == {(KEY_NAME, "api")}
    # Not `confirmed`: a channel's change resets it without a history entry (docs/sync.md).
    for name in {e["field"] for e in entries} - {"confirmed"}:
        same = [e for e in entries if e["field"] == name]
        assert [e["old"] for e in same[1:]] == [e["new"] for e in same[:-1]], (order_id, name)


def _history_from_api(base_url: str, token: str) -> History:
    def history(order_id: int) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{base_url}/v1/orders/{order_id}/history", headers=auth_header(token), timeout=60
        )
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["history"]
        return entries

    return history


def _history_from(engine: Engine) -> History:
    """The history read from the store (the server is gone by then), as the API renders it."""
    from orderhub.services.orders import order_history

    def history(order_id: int) -> list[dict[str, Any]]:
        return [
            {**entry, "event_id": str(entry["event_id"])}
            for entry in order_history(engine, order_id)
        ]

    return history


def _target_orders(engine: Engine) -> list[int]:
    """Open MALL orders first (their status can move), the rest filled with any others."""
    with engine.connect() as conn:
        rows = conn.execute(select(orders.c.id, orders.c.status).order_by(orders.c.id)).all()
    open_ids = [row.id for row in rows if row.status == "open"]
    others = [row.id for row in rows if row.status != "open"]
    chosen = (open_ids + others)[:TARGETS]
    assert len(chosen) == TARGETS, rows
    return chosen


def _assert_intact(engine: Engine, database_url: str) -> None:
    """After the kills: SQLite's own check, no duplicate order, every order decodes."""
    if database_url.startswith("sqlite"):
        path = make_url(database_url).database
        assert path is not None
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    key = (orders.c.channel, orders.c.external_id)
    with engine.connect() as conn:
        duplicates = conn.execute(select(*key).group_by(*key).having(func.count() > 1)).all()
        rows = conn.execute(select(*FULL_COLUMNS)).all()
    assert duplicates == []
    decoded = [stored(row._mapping).to_order() for row in rows]
    assert len({(o.channel, o.external_id) for o in decoded}) == len(rows) > 200


def _assert_worker_settles_and_stops(fleet: Fleet, engine: Engine) -> None:
    """A new worker takes up the outbox the killed ones left (it settles rows: their attempts
    grow), and stops cleanly on SIGTERM. (Draining it all would take minutes: every PUT queued
    a push, and pushes of one order go out one at a time.)"""

    def settled() -> tuple[int, int]:
        with engine.connect() as conn:
            attempts = conn.execute(select(func.coalesce(func.sum(outbox.c.attempts), 0)))
            delivered = select(func.count()).where(outbox.c.status == "delivered")
            return attempts.scalar_one(), conn.execute(delivered.select_from(outbox)).scalar_one()

    before, delivered = settled()
    assert delivered > 0, "the workers delivered nothing under load"
    worker = fleet.start("worker-after", "worker", "--no-sync", "--poll", "0.1")
    wait(lambda: settled()[0] > before, "the new worker to settle an outbox row")
    worker.terminate()
    assert worker.wait(timeout=60) == 0, fleet.log("worker-after")
    assert "stopped" in fleet.log("worker-after")
