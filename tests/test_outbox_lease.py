"""Leases: a worker process SIGKILLed mid-delivery, and its rows delivered again once its lease
has expired, to a receiver that de-duplicates on `webhook-id`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine
from standardwebhooks import Webhook
from starlette.types import Receive, Scope, Send

from helpers import client, make_order, serve_in_thread
from orderhub.domain import ManualClock
from orderhub.services.outbox import Backoff, GiveUp, Topic, Worker
from orderhub.services.webhook_delivery import webhook_topic
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxItem
from webhook_support import allow_private, event_ids, merge  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")

#: docs/webhooks.md ("Running it"): a worker holds the rows it took for 60 seconds.
LEASE = timedelta(seconds=60)
EVENTS = 3
WAIT_SECONDS = 60.0  # a bound on waiting for an event, never a sleep


@dataclass
class DedupingReceiver:
    """Processes each webhook-id once (a retry of one it has seen is answered 200 and dropped).

    The first request it receives is held open until `release` is set: the test kills the
    worker meanwhile, after the receiver has processed it but before the worker hears back.
    """

    secret: str = ""
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    received: list[str] = field(default_factory=list)
    processed: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        Webhook(self.secret).verify(body, headers)  # a forged or garbled request raises
        webhook_id = headers["webhook-id"]
        with self.lock:
            first = not self.received
            self.received.append(webhook_id)
            if webhook_id not in self.processed:
                self.processed[webhook_id] += 1
        if first:
            self.arrived.set()
            await anyio.to_thread.run_sync(self.release.wait)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def receiver() -> Iterator[DedupingReceiver]:
    found = DedupingReceiver()
    yield found
    found.release.set()


def _start_worker(database_url: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ORDERHUB_DATABASE_URL": database_url,
        "ORDERHUB_WEBHOOKS_ALLOW_PRIVATE": "1",
    }
    env.pop("ORDERHUB_SMTP_URL", None)
    command = [sys.executable, "-c", "from orderhub.cli import main; main()", "worker"]
    return subprocess.Popen(
        [*command, "--poll", "0.05"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_mid_delivery(process: subprocess.Popen[str], receiver: DedupingReceiver) -> None:
    try:
        if not receiver.arrived.wait(WAIT_SECONDS):
            _, err = process.communicate(timeout=5) if process.poll() is not None else ("", "")
            pytest.fail(f"the worker process never delivered: {err}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=WAIT_SECONDS)
    assert process.returncode == -signal.SIGKILL


def test_a_killed_workers_deliveries_go_out_after_its_lease_once_per_id(
    engine: Engine, database_url: str, receiver: DedupingReceiver
) -> None:
    http = client(engine)
    with serve_in_thread(receiver) as base:
        answer = http.post(
            "/v1/webhooks", json={"url": base + "/hook", "event_types": ["order.created"]}
        )
        sub: dict[str, Any] = answer.json()
        receiver.secret = sub["secret"]
        order_ids = merge(engine, [make_order(str(n)) for n in range(EVENTS)]).created
        expected = event_ids(engine, order_ids)
        assert len(expected) == EVENTS

        _kill_mid_delivery(_start_worker(database_url), receiver)
        assert len(receiver.received) == 1  # it held every row, and died sending the first
        receiver.release.set()

        clock = ManualClock(datetime.now(UTC))  # no earlier than the dead worker's lease
        topic = webhook_topic(engine, allow_private=True, clock=clock)
        survivor = Worker(engine, {"webhook": topic}, name="survivor", clock=clock)
        assert survivor.run_once() == 0  # the dead worker's lease still holds
        clock.advance(LEASE + timedelta(seconds=1))
        assert survivor.run_until_idle() == EVENTS

    assert set(receiver.received) == expected
    assert len(receiver.received) == EVENTS + 1  # the held one came again, same webhook-id
    assert receiver.received.count(receiver.received[0]) == 2
    assert set(receiver.processed) == expected and set(receiver.processed.values()) == {1}
    logged = http.get(f"/v1/webhooks/{sub['id']}/deliveries").json()["data"]
    assert {d["event_id"] for d in logged} == expected
    assert {(d["status"], d["attempts"]) for d in logged} == {("delivered", 1)}


def test_a_lease_holds_until_it_expires_then_the_row_is_taken_again(engine: Engine) -> None:
    """Two workers on one clock: the second takes the first's row only after its lease."""
    with UnitOfWork(engine) as uow:
        uow.outbox.enqueue("test", {"n": 1}, dedupe_key="test:1")
    clock = ManualClock(datetime.now(UTC))
    taken_by: list[str] = []

    def stuck(item: OutboxItem) -> None:  # leases, then never settles: a crash
        raise SystemExit

    def deliver(item: OutboxItem) -> None:
        taken_by.append("second")

    def refuse(item: OutboxItem) -> None:
        raise GiveUp("must not be called")

    first = Worker(engine, {"test": Topic(stuck, Backoff())}, name="first", clock=clock)
    with pytest.raises(SystemExit):
        first.run_once()
    second = Worker(engine, {"test": Topic(deliver, Backoff())}, name="second", clock=clock)
    clock.advance(LEASE - timedelta(seconds=1))
    assert second.run_once() == 0 and taken_by == []
    clock.advance(timedelta(seconds=2))
    assert second.run_once() == 1 and taken_by == ["second"]
    late = Worker(engine, {"test": Topic(refuse, Backoff())}, name="first", clock=clock)
    assert late.run_once() == 0  # delivered: nobody takes it again
    with UnitOfWork(engine) as uow:
        (item,) = uow.outbox.list("test")
    assert (item.status, item.attempts) == ("delivered", 1)
