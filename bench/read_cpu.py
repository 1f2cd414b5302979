"""Server CPU per request of bench/read.py's queries, under wrk at 1 and at 8 connections.

On a shared machine req/s move with the other processes' load; the CPU time the `orderhub
serve` process spends per answered request (user + system, from /proc) moves much less. For
each query (bench/read.py's, but the deep offset page): wrk for `--duration` seconds at 1 and
at 8 connections; prints req/s, p50 and the server's CPU per request, and the load average.

    .venv/bin/python bench/read_cpu.py bench/.data/orders-1000000.db --duration 6
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]  # bench/read.py, bench/sync.py
from read import (  # noqa: E402
    DEEP_PAGE,
    _wrk_load,
    build_queries,
    create_api_key,
    deep_cursor,
    orderhub_server,
    pick_sample,
    tool,
    warm_up,
)
from sync import cpu_of  # noqa: E402

TIMEOUT = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="a SQLite file of orderhub generate")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per run")
    parser.add_argument("--only", nargs="*", help="query keys (lookup, customers, ...)")
    args = parser.parse_args()
    wrk = tool("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed")
    sample = pick_sample(args.database)
    token = create_api_key(args.database)
    with (
        tempfile.TemporaryDirectory() as logs,
        orderhub_server(args.database, Path(logs), token) as server,
    ):
        cursor, after_id = deep_cursor(server, min(DEEP_PAGE, sample.depth), TIMEOUT)
        queries = build_queries(sample, args.database.stem, cursor, after_id)
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        print(f"{'query':14} {'conn':>4} {'req/s':>9} {'p50 ms':>8} {'server CPU/req':>15}")
        for query in queries:
            if query.key == "offset_deep" or (args.only and query.key not in args.only):
                continue
            warm_up(server, query.orderhub, TIMEOUT)
            for connections in (1, 8):
                before = cpu_of(server.pid)
                load = _wrk_load(wrk, server, query.orderhub, connections, args.duration, TIMEOUT)
                spent = cpu_of(server.pid) - before
                per_request = spent / max(load.requests, 1) * 1e6
                errors = f"  ({load.errors} errors)" if load.errors else ""
                print(
                    f"{query.key:14} {connections:>4} {load.rps:>9,.1f} {load.p50_ms:>8.2f}"
                    f" {per_request:>12,.0f} µs{errors}"
                )
                time.sleep(0.5)
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
