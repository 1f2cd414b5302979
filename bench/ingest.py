"""Ingest: `orderhub generate` into SQLite and PostgreSQL, orders/s and peak memory.

    .venv/bin/python bench/ingest.py                          # 1,000,000 and 100,000 orders
    .venv/bin/python bench/ingest.py --orders 100000 --small 10000 --databases sqlite

For each database and size: a fresh database (`DIR/ingest-N.db`, or the PostgreSQL database
`ingest_bench_N` on --postgres-url's server), then `orderhub generate --orders N --seed 1` as a
user runs it (a subprocess, migrations included). Printed: orders/s over the command's wall
time and by its own clock (the write alone), the CPU time of the command and its producer
processes per order, the PostgreSQL server's per order (the backends serving the database,
sampled from /proc every 0.1 s), the peak RSS of the largest process (wait4), the largest WAL
seen (SQLite), the orders counted afterwards, and the load average before and after.
docs/performance.md ("Ingest") has the figures of a run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg

sys.path[:0] = [str(Path(__file__).resolve().parent)]  # bench/sync.py
from sync import cpu_of  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ORDERHUB = ROOT / ".venv" / "bin" / "orderhub"
TARGETS = {"sqlite": 50_000, "postgresql": 100_000}


@dataclass
class Run:
    database: str
    orders: int
    wall_s: float
    write_rate: float
    cpu_us_per_order: float
    server_cpu_us_per_order: float | None
    peak_rss_mb: float
    peak_wal_mb: float | None
    counted: int
    load_before: float
    load_after: float

    @property
    def rate(self) -> float:
        return self.orders / self.wall_s


def main() -> None:
    args = _arguments()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    for database in args.databases.split(","):
        for size in (args.orders, args.small):
            if size:
                runs.append(_measure(database, size, args))
                _print_row(runs[-1])
    _summary(runs, args)
    results = [asdict(run) | {"orders_per_s": run.rate} for run in runs]
    (args.data_dir / "ingest-results.json").write_text(json.dumps(results, indent=2) + "\n")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders (the big size)")
    parser.add_argument("--small", type=int, default=100_000, help="the small size (0: none)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--workers", type=int, default=None, help="orderhub generate's --workers (default: its own)"
    )
    parser.add_argument(
        "--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test", help="admin URL"
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / ".data")
    return parser.parse_args()


def _measure(database: str, size: int, args: argparse.Namespace) -> Run:
    url, wal = _fresh(database, size, args)
    command = [str(ORDERHUB), "generate", "--orders", str(size), "--seed", "1"]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    env = {**os.environ, "ORDERHUB_DATABASE_URL": url, "COLUMNS": "200"}
    load_before = os.getloadavg()[0]
    watcher = _WalWatcher(wal)
    server = _ServerWatcher(args.postgres_url if wal is None else None, url.rsplit("/", 1)[1])
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    watcher.stop()
    server.stop()
    if status != 0:
        sys.exit(f"orderhub generate failed:\n{output}")
    found = re.search(r"wrote [\d,]+ orders in ([\d.]+) s", output)
    write_rate = size / float(found.group(1)) if found else float("nan")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(
        database,
        size,
        wall,
        write_rate,
        cpu / size * 1e6,
        server.cpu / size * 1e6 if wal is None else None,
        usage.ru_maxrss / 1024,
        watcher.peak / 1e6 if wal is not None else None,
        _count(url),
        load_before,
        os.getloadavg()[0],
    )


def _fresh(database: str, size: int, args: argparse.Namespace) -> tuple[str, Path | None]:
    if database == "sqlite":
        path = args.data_dir / f"ingest-{size}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", Path(f"{path}-wal")
    name = f"ingest_bench_{size}"
    with psycopg.connect(args.postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    base = args.postgres_url.rsplit("/", 1)[0]
    return f"{base}/{name}", None


def _count(url: str) -> int:
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM orders").fetchone()
        assert row is not None
        return int(row[0])


class _WalWatcher:
    """The largest size the WAL file reaches, sampled every 0.2 s."""

    def __init__(self, path: Path | None) -> None:
        self.path, self.peak = path, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        if path is not None:
            self._thread.start()

    def _watch(self) -> None:
        assert self.path is not None
        while not self._stop.wait(0.2):
            with contextlib.suppress(FileNotFoundError):
                self.peak = max(self.peak, self.path.stat().st_size)

    def stop(self) -> None:
        self._stop.set()
        if self.path is not None:
            self._thread.join()


class _ServerWatcher:
    """The CPU time of the PostgreSQL processes serving database `name` (the server must run
    on this machine): each one's latest /proc reading, every 0.1 s while it lives."""

    def __init__(self, admin_url: str | None, name: str) -> None:
        self.admin_url, self.name = admin_url, name
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        if admin_url is not None:
            self._thread.start()

    @property
    def cpu(self) -> float:
        return sum(self.seen.values())

    def _watch(self) -> None:
        assert self.admin_url is not None
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.wait(0.1):
                query = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
                for (pid,) in conn.execute(query, (self.name,)).fetchall():
                    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                        self.seen[pid] = cpu_of(pid)

    def stop(self) -> None:
        self._stop.set()
        if self.admin_url is not None:
            self._thread.join()


def _print_row(run: Run) -> None:
    wal = "" if run.peak_wal_mb is None else f", WAL peak {run.peak_wal_mb:,.0f} MB"
    server = run.server_cpu_us_per_order
    server_cpu = "" if server is None else f" + server {server:.0f} us/order"
    print(
        f"{run.database:10} {run.orders:>9,} orders: {run.rate:>7,.0f} orders/s wall"
        f" ({run.wall_s:.1f} s; {run.write_rate:,.0f}/s by the command's clock),"
        f" CPU {run.cpu_us_per_order:.0f} us/order{server_cpu},"
        f" peak RSS {run.peak_rss_mb:,.0f} MB{wal},"
        f" counted {run.counted:,}, load {run.load_before:.1f} -> {run.load_after:.1f}",
        flush=True,
    )


def _summary(runs: list[Run], args: argparse.Namespace) -> None:
    print(f"\nworkers {args.workers or 'the command default'}, {os.cpu_count()} CPUs")
    for run in runs:
        target = TARGETS[run.database]
        met = "met" if run.rate >= target else "NOT met"
        exact = "exact" if run.counted == run.orders else f"COUNT WRONG ({run.counted:,})"
        print(
            f"{run.database:10} {run.orders:>9,}: {run.rate:,.0f} orders/s, target {target:,}: "
            f"{met}; {exact}"
        )
    for database in {run.database for run in runs}:
        sizes = sorted((r for r in runs if r.database == database), key=lambda r: r.orders)
        if len(sizes) == 2:
            small, big = sizes
            print(
                f"{database}: peak RSS {small.peak_rss_mb:,.0f} MB at {small.orders:,} orders,"
                f" {big.peak_rss_mb:,.0f} MB at {big.orders:,}"
            )


if __name__ == "__main__":
    main()
