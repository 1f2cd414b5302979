"""Web UI benchmark: the server time of the staff pages on 1,000,000 orders (SQLite).

Builds (or reuses, by path) a database with `orderhub generate`, signs in, and requests each
page N times: through an in-process ASGI call (the server's time alone: from the call to the
last byte of the body) and through uvicorn on loopback (server plus one HTTP client, one
request at a time). Prints p50/p95 per page; the target is under 50 ms for the list page with
a filter and for the order page (issue 14). A page this build does not have prints
"n/a (404)". See bench/README.md and docs/web.md.

    .venv/bin/python bench/web.py                        # 1,000,000 orders, 200 requests a page
    .venv/bin/python bench/web.py --orders 100000 --requests 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from statistics import quantiles
from typing import Any
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.table import Table

from orderhub.store import make_engine, upgrade

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent / "tests")]  # bench/read.py, tests/helpers.py
from helpers import serve_in_thread  # noqa: E402
from read import database_url, tool  # noqa: E402

TARGET_MS = 50.0
#: Pages held to the target (issue 14 point 7); the others are shown for information.
TARGETED = ("list, status filter", "list, status + channel", "list, q= search", "order page")
#: Warm-up requests beyond one to each URL (the first request of a URL reads cold pages).
WARMUP = 5


@dataclass(frozen=True, slots=True)
class Figures:
    """One page's timings (ms) by one route to the server, or why there are none."""

    p50: float | None = None
    p95: float | None = None
    status: int = 200

    def cell(self) -> str:
        if self.p50 is None or self.p95 is None:
            return f"n/a ({self.status})"
        return f"{self.p50:.1f} / {self.p95:.1f}"


# --- signing in: the one place that knows how a session is made ---------------------------


def sign_in(engine: Any) -> dict[str, str]:
    """The cookies of a signed-in admin: a real session of the bench's own admin user."""
    import secrets

    from orderhub.domain import NotFound
    from orderhub.services import users, web_sessions
    from orderhub.web.session import COOKIE

    try:
        user = users.get_user(engine, "bench@example.com")
    except NotFound:
        user = users.create_user(engine, "bench@example.com", "admin", secrets.token_urlsafe(16))
    return {COOKIE: web_sessions.open_session(engine, user).cookie}


# --- the database --------------------------------------------------------------------------


def build(db: Path, orders: int, console: Console) -> None:
    """`orderhub generate` (two worker processes) into `db`, unless it exists (cached by path)."""
    if db.exists():
        console.print(f"reusing {db}")
        return
    cli = tool("orderhub")
    if cli is None:
        raise SystemExit("orderhub is not installed: pip install -e . in this virtualenv")
    db.parent.mkdir(parents=True, exist_ok=True)
    partial = db.with_suffix(".partial.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    console.print(f"generating {orders:,} orders into {db} (once; reused after) ...")
    env = {**os.environ, "ORDERHUB_DATABASE_URL": database_url(partial), "COLUMNS": "120"}
    command = [cli, "generate", "--orders", str(orders), "--seed", "1", "--workers", "2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"orderhub generate failed:\n{done.stdout}\n{done.stderr}")
    with closing(sqlite3.connect(partial)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(db)


def pages(db: Path, seed: int = 1) -> dict[str, list[str]]:
    """Each page's URLs (several, picked from the data with a fixed seed)."""
    rng = random.Random(seed)
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        low, high = conn.execute("SELECT min(id), max(id) FROM orders").fetchone()
        ids = [rng.randint(low, high) for _ in range(50)]
        channels = [r[0] for r in conn.execute("SELECT DISTINCT channel FROM orders LIMIT 20")]
        names = [
            r[0]
            for r in conn.execute(
                f"SELECT customer FROM orders WHERE id IN ({','.join('?' * 10)})", ids[:10]
            )
            if r[0]
        ]
    words = [name.split()[-1] for name in names] or ["a"]
    listed = "/orders?status=open&_sort=created_at:desc"
    return {
        "list, status filter": [listed],
        "list, status + channel": [f"{listed}&channel={quote(c)}" for c in channels],
        "list, q= search": [f"/orders?q={quote(w)}" for w in words],
        "order page": [f"/orders/{i}" for i in ids],
        "dashboard": ["/"],
        "packing slip": [f"/orders/{i}/packing-slip" for i in ids],
    }


# --- measuring -----------------------------------------------------------------------------


def percentiles(samples: list[float], status: int) -> Figures:
    if not samples:
        return Figures(status=status)
    cuts = quantiles(samples, n=20, method="inclusive") if len(samples) > 1 else samples * 19
    return Figures(round(cuts[9], 2), round(cuts[18], 2), status)


async def _asgi_get(app: Any, url: str, cookies: dict[str, str]) -> tuple[int, float]:
    """One GET through the ASGI interface: its status and the server's time in ms."""
    path, _, query = url.partition("?")
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"bench"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    started = time.perf_counter()
    await app(scope, receive, send)
    return status, (time.perf_counter() - started) * 1000


def measure_asgi(app: Any, urls: list[str], n: int, cookies: dict[str, str]) -> Figures:
    async def run() -> Figures:
        status, _ = await _asgi_get(app, urls[0], cookies)
        if status != 200:
            return Figures(status=status)
        for i in range(WARMUP + len(urls)):
            await _asgi_get(app, urls[i % len(urls)], cookies)
        samples = []
        for i in range(n):
            status, ms = await _asgi_get(app, urls[i % len(urls)], cookies)
            if status != 200:
                return Figures(status=status)
            samples.append(ms)
        return percentiles(samples, 200)

    return asyncio.run(run())


def measure_http(base: str, urls: list[str], n: int, cookies: dict[str, str]) -> Figures:
    with httpx.Client(base_url=base, cookies=cookies, timeout=120) as http:
        first = http.get(urls[0])
        if first.status_code != 200:
            return Figures(status=first.status_code)
        for i in range(WARMUP + len(urls)):
            http.get(urls[i % len(urls)])
        samples = []
        for i in range(n):
            started = time.perf_counter()
            answer = http.get(urls[i % len(urls)])
            samples.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                return Figures(status=answer.status_code)
        return percentiles(samples, 200)


# --- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    from orderhub.web.app import create_app

    db = args.data_dir / f"web-orders-{args.orders}.db"
    build(db, args.orders, console)
    engine = make_engine(database_url(db))
    upgrade(engine)
    app = create_app(engine)
    cookies = sign_in(engine)
    urls_of = pages(db)
    # The ASGI figures first, with no server thread in the process to share the GIL with.
    results = {
        name: {"asgi": measure_asgi(app, urls, args.requests, cookies)}
        for name, urls in urls_of.items()
    }
    with serve_in_thread(app) as base:  # this process: its secret signs the session
        for name, urls in urls_of.items():
            results[name]["uvicorn"] = measure_http(base, urls, args.requests, cookies)
    engine.dispose()
    report(results, args, console)
    return {
        "orders": args.orders,
        "requests": args.requests,
        "target_ms": TARGET_MS,
        "pages": {
            name: {route: _json(figures) for route, figures in by.items()}
            for name, by in results.items()
        },
    }


def _json(figures: Figures) -> dict[str, Any]:
    return {"p50_ms": figures.p50, "p95_ms": figures.p95, "status": figures.status}


def report(results: dict[str, dict[str, Figures]], args: argparse.Namespace, c: Console) -> None:
    table = Table(title=f"web pages on {args.orders:,} orders, {args.requests} requests each")
    table.add_column("page")
    table.add_column("server time p50 / p95 ms (ASGI)", justify="right")
    table.add_column("uvicorn loopback p50 / p95 ms", justify="right")
    table.add_column(f"target < {TARGET_MS:.0f} ms (p50, server)")
    for name, by in results.items():
        asgi = by["asgi"]
        if name not in TARGETED:
            verdict = ""
        elif asgi.p50 is None:
            verdict = "not measured"
        else:
            verdict = "[green]met[/]" if asgi.p50 < TARGET_MS else "[red]missed[/]"
        table.add_row(name, asgi.cell(), by["uvicorn"].cell(), verdict)
    c.print(table)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the database")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(__file__).resolve().parent / ".data",
        help="where the database (web-orders-N.db, reused) and web-results.json go",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    figures = run(args, console)
    out = args.data_dir / "web-results.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    console.print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
