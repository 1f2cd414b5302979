"""Server CPU per request of two orderhub trees side by side: before/after on a loaded machine.

Starts `orderhub serve` twice on the same database, once with `--base`'s sources first on
PYTHONPATH (e.g. `git archive BASE src | tar -x -C /tmp/base`) and once with this checkout's,
then for each of bench/read.py's queries (not the deep offset page) alternates short wrk slices
between the two, so both see the same load. Prints user and system CPU per answered request
(from /proc) and the median p50 of the slices.

    .venv/bin/python bench/read_ab.py bench/.data/orders-200000.db --base /tmp/base/src
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from statistics import median

sys.path[:0] = [str(Path(__file__).resolve().parent)]  # bench/read.py
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

TIMEOUT = 60.0
HERE = Path(__file__).resolve().parent.parent / "src"


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="a SQLite file of orderhub generate")
    parser.add_argument("--base", required=True, help="the `src` directory of the tree before")
    parser.add_argument(
        "--base-database", type=Path,
        help="the file the tree before serves (default: the same; another when the schema moved)",
    )  # fmt: skip
    parser.add_argument("--slices", type=int, default=4, help="wrk runs per query and server")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="query keys (lookup, customers, ...)")
    args = parser.parse_args()
    wrk = tool("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed")
    sample = pick_sample(args.database)
    base_database = args.base_database or args.database
    with ExitStack() as stack:
        servers = {}
        for name, src, database in (
            ("before", args.base, base_database),
            ("after", str(HERE), args.database),
        ):
            os.environ["PYTHONPATH"] = src  # inherited by the server's process
            token = create_api_key(database, migrate=database == args.database)
            logs = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            servers[name] = stack.enter_context(orderhub_server(database, logs, token))
        os.environ.pop("PYTHONPATH")
        cursor, after_id = deep_cursor(servers["after"], min(DEEP_PAGE, sample.depth), TIMEOUT)
        queries = build_queries(sample, args.database.stem, cursor, after_id)
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        for query in queries:
            if query.key == "offset_deep" or (args.only and query.key not in args.only):
                continue
            totals = {name: [0, 0.0, 0.0, []] for name in servers}
            for server in servers.values():
                warm_up(server, query.orderhub, TIMEOUT)
            for i in range(args.slices):
                order = list(servers.items())
                for name, server in order if i % 2 == 0 else reversed(order):
                    user, system = cpu_split(server.pid)
                    load = _wrk_load(
                        wrk, server, query.orderhub, args.connections, args.seconds, TIMEOUT
                    )
                    user_after, system_after = cpu_split(server.pid)
                    total = totals[name]
                    total[0] += load.requests
                    total[1] += user_after - user
                    total[2] += system_after - system
                    total[3].append(load.p50_ms)
            for name, (requests, user, system, p50s) in totals.items():
                per = 1e6 / max(requests, 1)
                print(
                    f"{query.key:12} {name:6} {requests:7} requests  user {user * per:6,.0f} µs"
                    f"  system {system * per:5,.0f} µs  total {(user + system) * per:6,.0f} µs"
                    f"  p50 {median(p50s):.2f} ms"
                )
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
