"""Where a read request's time goes: each layer of a lookup and of a list, timed alone.

Over an existing database (`orderhub generate` first), in one process, no server: the SQL
alone (sqlite3), the repository (SQLAlchemy), the endpoint function, and the whole app (an
in-process ASGI call: middlewares, key check, routing, endpoint, body). Medians of CPU time
(`time.process_time`), which a shared machine's load moves less than wall time; `--wall` for
wall time. docs/performance.md, "Read API", has the figures.

    .venv/bin/python bench/read_layers.py bench/.data/orders-100000.db --requests 500
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from statistics import median
from typing import Any

from starlette.requests import Request

from orderhub.api import orders as api_orders
from orderhub.api.app import create_app
from orderhub.api.render import Format, full_order, page_envelope, page_items, render
from orderhub.query import parse_query
from orderhub.services import keys
from orderhub.services import orders as service
from orderhub.store import OrderPage, OrderRepository, make_engine

LIST_QUERY = "customer_id=in:{customers}&filter=basic&count=none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", help="a SQLite file of orderhub generate")
    parser.add_argument("--requests", type=int, default=500, help="timed calls per layer")
    parser.add_argument("--wall", action="store_true", help="wall time, not CPU time")
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    engine = make_engine(f"sqlite:///{args.database}")
    token = keys.create_key(engine, "bench-layers", ("orders:read",), replace=True).token
    app = create_app(engine)
    with closing(sqlite3.connect(args.database)) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM orders WHERE test = 0 LIMIT 1000")]
        customers = [r[0] for r in conn.execute("SELECT DISTINCT customer_id FROM orders LIMIT 20")]
    list_query = LIST_QUERY.format(customers=",".join(map(str, customers)))

    def timed(call: Callable[[int], object]) -> float:
        spent = []
        for i in range(args.requests):
            started = clock()
            call(i)
            spent.append(clock() - started)
        return median(spent) * 1e6

    def scope(path: str, query: str = "") -> dict[str, Any]:
        headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query.encode(), "headers": headers, "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80), "state": {}, "app": app,
        }  # fmt: skip

    def whole_app(make_scope: Callable[[int], dict[str, Any]]) -> float:
        async def run() -> float:
            spent = []
            for i in range(args.requests):
                sent: list[Any] = []

                async def receive() -> dict[str, Any]:
                    return {"type": "http.request", "body": b"", "more_body": False}

                started = clock()
                await app(make_scope(i), receive, _appender(sent))
                spent.append(clock() - started)
                assert sent[0]["status"] == 200, sent
            return median(spent) * 1e6

        return asyncio.run(run())

    raw = sqlite3.connect(args.database)

    def repository_get(i: int) -> None:
        with engine.connect() as conn:
            OrderRepository(conn).get(ids[i % len(ids)])

    order = service.get_order(engine, ids[0])
    encoded = service.get_order(engine, ids[0], encoded=True)
    lookup = {
        "the SQL alone (sqlite3)": timed(
            lambda i: raw.execute(
                "SELECT * FROM orders WHERE id = ?", (ids[i % len(ids)],)
            ).fetchall()
        ),
        "pool checkout + repository.get": timed(repository_get),
        "held connection, encoded (get_held)": timed(
            lambda i: OrderRepository.get_held(engine, ids[i % len(ids)])
        ),
        "JSON of the order": timed(lambda i: render(full_order(order), Format.JSON)),
        "JSON of the encoded order": timed(lambda i: render(full_order(encoded), Format.JSON)),
        "endpoint get_order": timed(
            lambda i: api_orders.get_order(
                str(ids[i % len(ids)]), Request(scope(f"/v1/orders/{ids[i % len(ids)]}"))
            )
        ),
        "the whole app": whole_app(lambda i: scope(f"/v1/orders/{ids[i % len(ids)]}")),
    }
    params = [(k, v) for k, _, v in (p.partition("=") for p in list_query.split("&"))]
    query = parse_query(params)
    page = service.list_orders(engine, query)
    encoded_page = service.list_orders(engine, query, encoded=True)

    def page_json(page: OrderPage) -> bytes:
        items = page_items(query, page, ids_only=False, fmt=Format.JSON)
        return render(page_envelope(query, page, items), Format.JSON)[0]

    listing = {
        "parse the query language": timed(lambda i: parse_query(params)),
        "service.list_orders": timed(lambda i: service.list_orders(engine, query)),
        "service.list_orders, encoded": timed(
            lambda i: service.list_orders(engine, query, encoded=True)
        ),
        "JSON of the page": timed(lambda i: page_json(page)),
        "JSON of the encoded page": timed(lambda i: page_json(encoded_page)),
        "endpoint list_orders": timed(
            lambda i: api_orders.list_orders(Request(scope("/v1/orders", list_query)))
        ),
        "the whole app": whole_app(lambda i: scope("/v1/orders", list_query)),
    }
    unit = "wall" if args.wall else "CPU"
    for title, layers in (("lookup by id", lookup), (f"list ({list_query[:40]}...)", listing)):
        print(title)
        for name, micros in layers.items():
            print(f"  {name:38} {micros:9,.0f} µs {unit}")


def _appender(sent: list[Any]) -> Callable[[Any], Any]:
    async def send(message: Any) -> None:
        sent.append(message)

    return send


if __name__ == "__main__":
    main()
