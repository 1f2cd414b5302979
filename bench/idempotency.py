"""What an Idempotency-Key costs: PUT /v1/orders/{id} over loopback HTTP, without a key, with a
new key each time (a claim, then the stored answer), and replayed (the same key again).

    .venv/bin/python bench/idempotency.py [--requests 300] [--postgres ADMIN_URL]

With --postgres it also creates a scratch database on that server, measures there and drops it.

One uvicorn server in this process, one client, sequential requests; prints the median and the
95th percentile of each kind, in milliseconds. See docs/idempotency.md.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from statistics import median, quantiles

import httpx
import uvicorn
from sqlalchemy import Engine, text

from orderhub.api.app import create_app
from orderhub.domain import ChannelType, PaymentStatus, Status, StatusChange, StatusSource
from orderhub.domain.order import Order
from orderhub.services.keys import create_key, parse_scopes
from orderhub.store import UnitOfWork, make_engine, upgrade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--postgres", help="also measure in a scratch database of this server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.requests)
    if args.postgres:
        admin = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
        scratch = f"orderhub_bench_{time.time_ns()}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        try:
            url = admin.url.set(database=scratch).render_as_string(hide_password=False)
            run("postgresql", url, args.requests)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            admin.dispose()


def run(name: str, url: str, count: int) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        measure(name, engine, count)
    finally:
        engine.dispose()


def measure(name: str, engine: Engine, count: int) -> None:
    order_id = _an_order(engine)
    token = create_key(engine, f"bench-{time.time_ns()}", parse_scopes("orders:write"), None).token
    server = uvicorn.Server(uvicorn.Config(create_app(engine), port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1/orders/{order_id}"
    prefix = time.time_ns()
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:

        def put(n: int, key: str | None) -> None:
            headers = {} if key is None else {"Idempotency-Key": key}
            answer = http.put(url, json={"vendor_ref": f"PO-{n}"}, headers=headers)
            assert answer.status_code == 200, answer.text

        kinds: dict[str, Callable[[int], None]] = {
            "no key": lambda n: put(n, None),
            "new key": lambda n: put(n, f"{prefix}-{n}"),
            "replayed": lambda n: put(n, f"{prefix}-{n}"),  # the keys "new key" used
        }
        for kind, call in kinds.items():
            times = []
            for n in range(count):
                started = time.perf_counter()
                call(n)
                times.append((time.perf_counter() - started) * 1000)
            p95 = quantiles(times, n=20)[-1]
            print(f"{name:10} {kind:9} median {median(times):6.2f} ms   p95 {p95:6.2f} ms")
    server.should_exit = True
    thread.join()


def _an_order(engine: Engine) -> int:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    order = Order(
        channel="bench",
        channel_type=ChannelType.MALL,
        external_id=str(time.time_ns()),
        status=Status.OPEN,
        channel_status="open",
        payment_status=PaymentStatus.PAID,
        created_at=at,
        updated_at=at,
        currency="CZK",
        total=Decimal("100.00"),
        confirmed=True,
        status_history=[StatusChange(Status.OPEN, at, StatusSource.CHANNEL)],
    )
    with UnitOfWork(engine) as uow:
        uow.orders.upsert_many([order])
        found = uow.conn.execute(
            text("SELECT id FROM orders WHERE channel = 'bench' AND external_id = :id"),
            {"id": order.external_id},
        )
        return int(found.scalar_one())


if __name__ == "__main__":
    main()
