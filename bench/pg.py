"""PostgreSQL benchmark: the read API with 1, 2 and 4 `orderhub serve` workers beside pgbench
running the very SQL the API sends, and the plan of every statement (each must use an index).

Generates N orders with `orderhub generate` into a database of its own (kept and reused while it
holds N orders), takes the query set of bench/read.py, captures the statements orderhub's
repository runs for each (a SQLAlchemy event) and renders them with psycopg's own literal
quoting into pgbench scripts (`-M prepared`: the API's driver prepares a statement from its fifth
run on a connection, so both run prepared). See bench/README.md.

    .venv/bin/python bench/pg.py --orders 1000000 --duration 5
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg
from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from orderhub.services.keys import READ, create_key
from orderhub.store import make_engine, upgrade

sys.path[:0] = [str(Path(__file__).resolve().parent)]  # bench/read.py
from read import (  # noqa: E402
    CUSTOMERS,
    DEEP_PAGE,
    LOOKUP_IDS,
    PAGE_SIZE,
    WINDOW_DAYS,
    Endpoint,
    Load,
    Sample,
    build_queries,
    capture,
    deep_cursor,
    free_port,
    load_generator,
    measure,
    server,
    tool,
    warm_up,
)

VISIBLE = "status <> 'pending' AND NOT test"
DEFAULT_ADMIN_URL = "postgresql+psycopg://root@127.0.0.1:5432/postgres"
BareCall = Callable[[Engine], object]
Statement = tuple[str, Any]


@dataclass(slots=True)
class Row:
    """One query's figures: pgbench, then the API per number of serve workers."""

    key: str
    title: str
    pgbench_tps: float = 0.0
    pgbench_latency_ms: float = 0.0
    api: dict[int, Load] = field(default_factory=dict)
    load_avg: dict[str, float] = field(default_factory=dict)
    index_only: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.key, "title": self.title,
            "pgbench_tps": round(self.pgbench_tps, 1),
            "pgbench_latency_ms": round(self.pgbench_latency_ms, 3),
            "api": {str(w): load.to_json() for w, load in self.api.items()},
            "load_avg": self.load_avg, "plans_use_an_index": self.index_only,
        }  # fmt: skip


# --- the database ----------------------------------------------------------------------------


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL for psycopg and pgbench (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def prepare_database(admin_url: str, name: str, orders: int, console: Console) -> str:
    """The benchmark database holding `orders` orders: reused if it does, else made afresh."""
    url = database_url(admin_url, name)
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if exists.first() is not None and _count(url) == orders:
                console.print(f"reusing {name}: {orders:,} orders")
                _upgrade(url)
                return url
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    _generate(url, orders, console)
    return url


def _count(url: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        found = conn.execute("SELECT to_regclass('orders')").fetchone()
        if found is None or found[0] is None:
            return -1
        row = conn.execute("SELECT count(*) FROM orders").fetchone()
        return int(row[0]) if row else -1


def _upgrade(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def _generate(url: str, orders: int, console: Console) -> None:
    cli = tool("orderhub")
    assert cli is not None, "orderhub is not installed in this virtualenv"
    console.print(f"generating {orders:,} orders (orderhub generate) ...")
    env = {**os.environ, "ORDERHUB_DATABASE_URL": url, "COLUMNS": "120"}
    started = time.perf_counter()
    done = subprocess.run(
        [cli, "generate", "--orders", str(orders), "--seed", "1"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"orderhub generate failed:\n{done.stdout}\n{done.stderr}")
    wall = time.perf_counter() - started
    console.print(f"generated in {wall:,.0f} s ({orders / wall:,.0f} orders/s, wall clock)")


def pick_sample(url: str, seed: float = 0.5) -> Sample:
    """bench/read.py's parameters, read the same way from PostgreSQL."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("SELECT setseed(%s)", (seed,))
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM orders ORDER BY random() LIMIT %s", (LOOKUP_IDS,))]  # fmt: skip
        customers = sorted({r[0] for r in conn.execute(
            f"SELECT customer_id FROM orders WHERE id = ANY(%s) AND {VISIBLE}"
            " AND customer_id IS NOT NULL", (ids,))})[:CUSTOMERS]  # fmt: skip
        where = "status = 'open' AND ship_date IS NOT NULL"
        row = conn.execute(f"SELECT count(*) FROM orders WHERE {where}").fetchone()
        n = int(row[0]) if row else 0
        first = conn.execute(
            f"SELECT ship_date FROM orders WHERE {where} ORDER BY ship_date LIMIT 1 OFFSET %s",
            (n // 2,),
        ).fetchone()
        visible_row = conn.execute(f"SELECT count(*) FROM orders WHERE {VISIBLE}").fetchone()
    assert first is not None and visible_row is not None
    low = first[0]
    window = (low.isoformat(), low.fromordinal(low.toordinal() + WINDOW_DAYS - 1).isoformat())
    visible = int(visible_row[0])
    return Sample(ids, window, customers, visible, min(DEEP_PAGE, visible // PAGE_SIZE - 1))


def create_read_key(url: str) -> str:
    engine = make_engine(url)
    try:
        return create_key(engine, "bench-pg", (READ,), None, replace=True).token
    finally:
        engine.dispose()


# --- the SQL the API sends ---------------------------------------------------------------------


def literal_sql(conn: psycopg.Connection[Any], statements: Sequence[Statement]) -> list[str]:
    """The statements with their parameters quoted by psycopg, as the server receives them."""
    cursor = psycopg.ClientCursor(conn)
    return [cursor.mogrify(sql, params) for sql, params in statements]


def write_scripts(directory: Path, key: str, sets: Sequence[Sequence[str]]) -> list[Path]:
    """One pgbench script per statement set (one API request); pgbench picks among them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, statements in enumerate(sets):
        path = directory / f"{key}-{n}.sql"
        # pgbench reads one statement per line ending in ';'
        path.write_text("".join(" ".join(sql.split()) + ";\n" for sql in statements))
        paths.append(path)
    return paths


def explain(conn: psycopg.Connection[Any], sql: str) -> str:
    rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {sql}").fetchall()
    return "\n".join(r[0] for r in rows)


def uses_an_index(plan: str) -> bool:
    """The orders are read through an index, never by a sequential scan. (The generated data
    has no tags: the tags' subquery may scan that empty table, 0 pages.)"""
    return "Seq Scan on orders" not in plan and "Index" in plan


def vacuum_analyze(url: str, console: Console) -> None:
    """Fresh statistics and visibility map after the bulk load, as autovacuum leaves them in
    time: without them the planner misjudges the lists (docs/scaling.md, "Plans")."""
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for table in ("orders", "order_tags"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    console.print(f"VACUUM (ANALYZE) took {time.perf_counter() - started:.1f} s")


# --- load ------------------------------------------------------------------------------------


def run_pgbench(
    url: str, scripts: Sequence[Path], clients: int, seconds: float
) -> tuple[float, float]:
    """pgbench's transactions (one API request's statements) per second and mean latency."""
    files = [arg for path in scripts for arg in ("-f", str(path))]
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
           "-T", str(max(1, round(seconds))), *files, libpq_url(url)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    tps = re.search(r"^tps = ([\d.]+)", out.stdout, re.MULTILINE)
    latency = re.search(r"^latency average = ([\d.]+) ms", out.stdout, re.MULTILINE)
    if out.returncode != 0 or tps is None or latency is None:
        raise SystemExit(f"pgbench failed ({' '.join(cmd[:8])} ...):\n{out.stdout}\n{out.stderr}")
    return float(tps.group(1)), float(latency.group(1))


@contextmanager
def orderhub_serve(url: str, workers: int, token: str, logs: Path) -> Iterator[Endpoint]:
    cli = tool("orderhub")
    assert cli is not None
    port = free_port()
    env = {**os.environ, "ORDERHUB_DATABASE_URL": url}
    cmd = [cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    base = f"http://127.0.0.1:{port}"
    log = logs / f"pg-serve-{workers}.log"
    with server(f"orderhub serve --workers {workers}", cmd, env, f"{base}/healthz", log) as pid:
        yield Endpoint(base, {"Authorization": f"Bearer {token}"}, pid)


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


# --- running ---------------------------------------------------------------------------------


def secret_key(path: Path) -> None:
    """A Fernet key for the database's secrets (PostgreSQL needs one), kept beside the data."""
    if "ORDERHUB_SECRET_KEYS" not in os.environ:
        if not path.exists():
            path.write_bytes(Fernet.generate_key())
        os.environ["ORDERHUB_SECRET_KEYS"] = path.read_text().strip()


def run(args: argparse.Namespace, console: Console) -> tuple[dict[str, Any], list[Row], str]:
    name = args.database or f"orderhub_bench_{args.orders}"
    args.data_dir.mkdir(parents=True, exist_ok=True)
    secret_key(args.data_dir / f"{name}.secret-key")
    url = prepare_database(args.admin_url, name, args.orders, console)
    vacuum_analyze(url, console)
    token = create_read_key(url)
    sample = pick_sample(url)
    data = args.data_dir
    data.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    explained: list[str] = []
    try:
        with orderhub_serve(url, 1, token, data) as first:
            cursor, after_id = deep_cursor(first, sample.depth, args.timeout)
        queries = build_queries(sample, name, cursor, after_id)
        rows, scripts = [], {}
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            for query in queries:
                sets = [
                    literal_sql(conn, capture(engine, call, shaped=lambda raw: raw))
                    for call in query.bare
                ]
                scripts[query.key] = write_scripts(data / "pgbench", query.key, sets)
                row = Row(query.key, query.title)
                plans = [explain(conn, sql) for sql in sets[0]]
                row.index_only = all(uses_an_index(plan) for plan in plans)
                explained.append(_explain_section(query.title, sets[0], plans))
                rows.append(row)
    finally:
        engine.dispose()
    for query, row in zip(queries, rows, strict=True):
        before = load_avg()
        row.pgbench_tps, row.pgbench_latency_ms = run_pgbench(
            url, scripts[query.key], args.connections, args.duration
        )
        row.load_avg["pgbench"] = round((before + load_avg()) / 2, 2)
        console.print(f"pgbench {query.title}: {row.pgbench_tps:,.0f} tps (load {before})")
    for workers in args.workers:
        with orderhub_serve(url, workers, token, data) as endpoint:
            for query, row in zip(queries, rows, strict=True):
                latency = warm_up(endpoint, query.orderhub, args.timeout)
                before = load_avg()
                loaded = measure(
                    endpoint, query.orderhub, args.connections, args.duration, args.timeout, latency
                )
                row.api[workers] = loaded
                row.load_avg[f"api_{workers}"] = round((before + load_avg()) / 2, 2)
                console.print(
                    f"{workers} worker(s) {query.title}: {loaded.rps:,.0f} req/s "
                    f"p50 {loaded.p50_ms:.1f} ms (load {before})"
                )
    summary = {
        "orders": _count(url), "database": name, "connections": args.connections,
        "duration_s": args.duration, "workers": args.workers, "cpus": os.cpu_count(),
        "load_generator": load_generator(), "sample_depth": sample.depth,
    }  # fmt: skip
    return summary, rows, "\n".join(explained)


def _explain_section(title: str, statements: Sequence[str], plans: Sequence[str]) -> str:
    parts = [f"#### {title}\n"]
    for sql, plan in zip(statements, plans, strict=True):
        shown = " ".join(sql.split())
        shown = shown if len(shown) < 600 else shown[:600] + " ..."
        parts.append(f"```sql\n{shown}\n```\n\n```\n{plan}\n```\n")
    return "\n".join(parts)


def report(summary: dict[str, Any], rows: Sequence[Row], console: Console) -> None:
    workers = summary["workers"]
    table = Table(
        title=f"PostgreSQL, {summary['orders']:,} orders, {summary['connections']} connections, "
        f"{summary['duration_s']:.0f} s each, {summary['cpus']} CPUs ({summary['load_generator']})"
    )
    table.add_column("query")
    table.add_column("pgbench tps", justify="right")
    for w in workers:
        table.add_column(f"API {w}w req/s", justify="right")
    table.add_column(f"API {workers[-1]}w / pgbench", justify="right")
    table.add_column("index", justify="center")
    table.add_column("load 1 min", justify="right")
    for r in rows:
        last = r.api.get(workers[-1])
        ratio = f"{last.rps / r.pgbench_tps:.2f}" if last and r.pgbench_tps else "-"
        loads = "/".join(f"{v:.1f}" for v in r.load_avg.values())
        table.add_row(
            r.title, f"{r.pgbench_tps:,.0f}",
            *[f"{r.api[w].rps:,.0f}" if w in r.api else "-" for w in workers],
            ratio, "yes" if r.index_only else "[red]NO[/]", loads,
        )  # fmt: skip
    console.print(table)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000, help="orders to generate")
    parser.add_argument("--database", help="database name (default orderhub_bench_ORDERS)")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--workers", type=lambda s: [int(w) for w in s.split(",")],
                        default=[1, 2, 4], help="serve --workers, comma-separated")  # fmt: skip
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per run")
    parser.add_argument("--connections", type=int, default=8, help="HTTP connections = pgbench -c")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).parent / ".data")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 200)
    summary, rows, explained = run(args, console)
    report(summary, rows, console)
    out = args.data_dir / "pg-results.json"
    document = {**summary, "queries": [r.to_json() for r in rows]}
    out.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    (args.data_dir / "pg-explain.md").write_text(explained)
    console.print(f"figures written to {out}, plans to {args.data_dir / 'pg-explain.md'}")
    return 0 if all(r.index_only for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
