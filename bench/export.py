"""Export benchmark: every order through GET /v1/orders.csv and /v1/orders.ndjson of a real
`orderhub serve`, over loopback: MB/s, orders/s and the server's peak RSS, at two sizes (so the
memory can be seen flat in the number of orders). See bench/README.md.

    .venv/bin/python bench/export.py                          # 1,000,000 and 100,000 orders
    .venv/bin/python bench/export.py --orders 100000 --small 10000
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table

from orderhub.domain import Status
from read import Endpoint, count_orders, create_api_key, generate, orderhub_server

#: Every order: pending and test ones too (the default visibility hides them).
EVERY = f"status=in:{','.join(Status)}&test=in:0,1"
#: What each run exports: (label, path and query).
RUNS = (
    ("csv", f"/v1/orders.csv?{EVERY}"),
    ("ndjson", f"/v1/orders.ndjson?{EVERY}"),
    ("csv lines=rows", f"/v1/orders.csv?lines=rows&{EVERY}"),
)
SAMPLE_SECONDS = 0.05
MB = 1_000_000


@dataclass(frozen=True, slots=True)
class Run:
    orders: int
    label: str
    bytes: int
    records: int
    seconds: float
    rss_before_mb: float
    peak_rss_mb: float

    @property
    def mb_per_s(self) -> float:
        return self.bytes / MB / self.seconds

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.seconds

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "mb_per_s": round(self.mb_per_s, 1),
            "orders_per_s": round(self.orders_per_s),
        }


def _status_kb(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {name} in /proc/{pid}/status")


@contextmanager
def peak_rss(pid: int) -> Iterator[list[float]]:
    """The process's peak RSS (MB) while the block runs: its VmHWM, reset before the block
    (`/proc/PID/clear_refs`, when allowed), and VmRSS sampled every 50 ms as a floor."""
    found = [0.0]
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_SECONDS):
            found[0] = max(found[0], _status_kb(pid, "VmRSS") / 1024)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()
        if reset:
            found[0] = max(found[0], _status_kb(pid, "VmHWM") / 1024)


def export_once(server: Endpoint, label: str, path: str, orders: int) -> Run:
    base, headers, pid = server.base, server.headers, server.pid
    before = _status_kb(pid, "VmRSS") / 1024
    size = records = 0
    with peak_rss(pid) as peak:
        started = time.perf_counter()
        with httpx.stream("GET", base + path, headers=headers, timeout=600) as response:
            if response.status_code != 200:
                response.read()
                raise SystemExit(f"GET {path} -> {response.status_code}: {response.text[:500]}")
            for chunk in response.iter_raw(1 << 20):
                size += len(chunk)
                records += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    return Run(orders, label, size, records, seconds, before, peak[0])


def bench_size(orders: int, args: argparse.Namespace, console: Console) -> list[Run]:
    db = args.data_dir / f"orders-{orders}.db"
    if args.fresh or not db.exists() or count_orders(db) != orders:
        generated = generate(db, orders, console)
        console.print(generated.cli_line or f"generated in {generated.wall_seconds:.1f} s")
    token = create_api_key(db)
    assert token is not None
    runs = []
    with orderhub_server(db, db.parent, token) as server:
        for label, path in RUNS:
            run = export_once(server, label, path, orders)
            console.print(
                f"{orders:>9,} orders {label:<15} {run.bytes / MB:8,.1f} MB in {run.seconds:6.1f} s"
                f" = {run.mb_per_s:5.1f} MB/s, {run.orders_per_s:7,.0f} orders/s, server peak RSS"
                f" {run.peak_rss_mb:,.0f} MB (before {run.rss_before_mb:,.0f} MB)"
            )
            runs.append(run)
    return runs


def report(runs: Sequence[Run], console: Console) -> None:
    table = Table(title="export benchmark (orderhub serve, one worker, SQLite, loopback)")
    for name in ("orders", "export", "MB", "seconds", "MB/s", "orders/s", "records",
                 "RSS before MB", "peak RSS MB"):  # fmt: skip
        table.add_column(name, justify="left" if name == "export" else "right")
    for r in runs:
        table.add_row(
            f"{r.orders:,}", r.label, f"{r.bytes / MB:,.1f}", f"{r.seconds:,.1f}",
            f"{r.mb_per_s:,.1f}", f"{r.orders_per_s:,.0f}", f"{r.records:,}",
            f"{r.rss_before_mb:,.0f}", f"{r.peak_rss_mb:,.0f}",
        )  # fmt: skip
    console.print(table)
    by_label: dict[str, list[Run]] = {}
    for r in runs:
        by_label.setdefault(r.label, []).append(r)
    for label, same in by_label.items():
        if len(same) == 2:
            big, small = sorted(same, key=lambda r: -r.orders)
            console.print(
                f"{label}: peak RSS {big.peak_rss_mb:,.0f} MB for {big.orders:,} orders vs "
                f"{small.peak_rss_mb:,.0f} MB for {small.orders:,} "
                f"({big.orders // small.orders}x the orders, "
                f"{big.peak_rss_mb / small.peak_rss_mb:.2f}x the memory)"
            )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders of the big run")
    parser.add_argument("--small", type=int, default=100_000, help="orders of the small run")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument("--fresh", action="store_true", help="generate the databases again")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 200)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    runs = [run for size in (args.orders, args.small) for run in bench_size(size, args, console)]
    report(runs, console)
    out = args.data_dir / "export-results.json"
    out.write_bytes(orjson.dumps([r.to_json() for r in runs], option=orjson.OPT_INDENT_2))
    console.print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
