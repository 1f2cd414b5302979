"""Free-text search on SQLite: what the search triggers cost a bulk write, and q's latency.

    .venv/bin/python bench/search.py [N]      # default 100,000 orders

Writes N generated orders into a database at revision 0013 (no search index) and into one at
the head (triggers), then times a first page (with its total) of a few `q=` searches, before
and after adding a shipment (with its own tracking number) to every order.
"""

from __future__ import annotations

import sys
import tempfile
import time

from sqlalchemy import Engine, text

from orderhub.query import parse_query
from orderhub.services.generate import write_orders
from orderhub.services.orders import list_orders
from orderhub.store import make_engine, upgrade


def main(count: int) -> None:
    for target in ("0013", "head"):
        engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
        upgrade(engine, target)
        start = time.perf_counter()
        write_orders(engine, count, 7)
        took = time.perf_counter() - start
        print(f"revision {target}: {count:,} orders written in {took:.2f} s")
        if target == "head":
            searches(engine)
            with engine.begin() as conn:
                conn.execute(text(SHIP_ALL))
            print(f"  with a shipment for each of the {count:,} orders:")
            searches(engine)
        engine.dispose()


#: A shipment per order, its tracking number found by `q=pkg12345` for one order.
SHIP_ALL = (
    "INSERT INTO shipments (order_id, lines, amount, created_at, created_by, tracking_number)"
    " SELECT id, '[]', 0, created_at, 'bench', 'PKG' || (id * 7919 % 1000003) FROM orders"
)


def searches(engine: Engine) -> None:
    for q in ("novak", "example", "a b c", "pkg12345"):
        query = parse_query([("q", q), ("page_size", "50")])
        start = time.perf_counter()
        page = list_orders(engine, query)
        ms = (time.perf_counter() - start) * 1000
        print(f"  q={q!r}: {page.total:,} matches, first page in {ms:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
