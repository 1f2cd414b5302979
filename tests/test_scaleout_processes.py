"""Scale-out on PostgreSQL, for real (docs/scaling.md): `orderhub serve --workers 2` takes a
bulk job, and three `orderhub worker` processes share the outbox: the job's batches (one lease
each) and the webhook deliveries its changes cause. Every order is confirmed exactly once (one
`order.updated` event each, in the order's own history), the job counts each once, and the
subscriber receives every event exactly once (its `webhook-id`, counted by the receiver), from
whichever worker leased it. Marked slow: each process pays its own start-up.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from helpers import auth_header, free_port, make_order, serve_in_thread
from orderhub.services import jobs
from orderhub.services.keys import create_key, parse_scopes
from orderhub.services.webhooks import create_subscription
from orderhub.store import UnitOfWork
from orderhub.store.outbox import outbox
from process_support import Fleet, fleet_of, server_workers, wait, wait_running
from webhook_support import Subscriber, allow_private, merge  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")

#: Two batches of jobs.BATCH (two leases of the job's row, for any of the workers).
ORDERS = jobs.BATCH + 50
WORKERS = 3
#: Bounds on waiting (a loaded machine is slow), never sleeps: the test measures nothing.
STARTUP_SECONDS = 300.0
WORK_SECONDS = 900.0


@pytest.mark.slow
def test_worker_processes_run_each_batch_and_each_delivery_once(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("scale-out is PostgreSQL's: SQLite serves one machine")
    order_ids = merge(
        engine, [make_order(f"scale-{n}", confirmed=False) for n in range(ORDERS)]
    ).created
    assert len(order_ids) == ORDERS
    token = create_key(engine, "scaleout", parse_scopes("orders:read,orders:write")).token
    subscriber = Subscriber()
    with serve_in_thread(subscriber) as hooks, fleet_of(database_url, tmp_path) as fleet:
        create_subscription(
            engine, hooks + "/hook", ["order.updated"], allow_private=True, max_per_second=1000
        )
        fleet.env["ORDERHUB_WEBHOOKS_ALLOW_PRIVATE"] = "1"
        fleet.env.pop("ORDERHUB_SMTP_URL", None)
        serve, base_url = _start_server(fleet)
        workers = [
            fleet.start(f"worker-{n}", "worker", "--no-sync", "--poll", "0.1")
            for n in range(1, WORKERS + 1)
        ]
        for n, worker in enumerate(workers, 1):
            wait_running(fleet, f"worker-{n}", worker)
        answer = httpx.post(
            f"{base_url}/v1/orders/bulk",
            json={"query": "confirmed=0", "action": "confirm"},
            headers=auth_header(token),
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["id"]
        wait(lambda: jobs.get_job(engine, job_id).status == "finished", "the job", WORK_SECONDS)
        wait(lambda: _pending_webhooks(engine) == 0, "every delivery", WORK_SECONDS)
        fleet.stop(serve)
        for worker in workers:
            fleet.stop(worker)
    fleet.assert_logs_clean()

    job = jobs.get_job(engine, job_id)
    assert (job.processed, job.changed) == (ORDERS, ORDERS)
    updated = _updated_event_ids(engine, order_ids)
    assert len(updated) == ORDERS and set(updated.values()) == {1}  # each order changed once
    received = Counter(r.webhook_id for r in subscriber.accepted("/hook"))
    assert set(received) == _event_ids_of(engine, order_ids)  # every event delivered
    assert set(received.values()) == {1}, received.most_common(3)  # none sent twice


def _start_server(fleet: Fleet) -> tuple[subprocess.Popen[bytes], str]:
    """`orderhub serve --workers 2`, waited for up to STARTUP_SECONDS (a loaded machine starts
    Python processes slowly; this bounds the wait, it measures nothing)."""
    port = free_port()
    process = fleet.start("serve", "serve", "--port", str(port), "--workers", "2")
    base_url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, fleet.log("serve")
        try:
            return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait(answers, "serve to answer", STARTUP_SECONDS)
    wait(lambda: len(server_workers(process.pid)) == 2, "two server workers", STARTUP_SECONDS)
    return process, base_url


def _pending_webhooks(engine: Engine) -> int:
    stmt = select(func.count()).where(outbox.c.topic == "webhook", outbox.c.status != "delivered")
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def _updated_event_ids(engine: Engine, order_ids: list[int]) -> Counter[int]:
    """How many order.updated events each order has in its own history."""
    with UnitOfWork(engine) as uow:
        return Counter(
            order_id
            for order_id in order_ids
            for e in uow.events.for_order(order_id)
            if e["type"] == "order.updated"
        )


def _event_ids_of(engine: Engine, order_ids: list[int]) -> set[str]:
    with UnitOfWork(engine) as uow:
        return {
            e["event_id"]
            for order_id in order_ids
            for e in uow.events.for_order(order_id)
            if e["type"] == "order.updated"
        }
