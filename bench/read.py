"""Read benchmark: orderhub's HTTP API against Datasette and bare SQL, on one SQLite file.

Generates orders with `orderhub generate`, serves the file with `orderhub serve` (uvicorn, one
worker) and with Datasette, and loads both with the same queries (wrk if it is on PATH, else the
asyncio load generator below). The bare figure runs the very statements orderhub runs (captured
from its repository) with sqlite3, plus orjson encoding of the rows. See bench/README.md.

    .venv/bin/python bench/read.py --orders 100000 --duration 3
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
from rich.console import Console
from sqlalchemy import Engine, event

from orderhub.domain.codec import NESTED_FIELDS
from orderhub.query import parse_query
from orderhub.services import orders as service
from orderhub.store import BASIC_FIELDS, make_engine, upgrade

sys.path[:0] = [str(Path(__file__).resolve().parent)]  # read_results, read_report
from read_report import report  # noqa: E402
from read_results import (  # noqa: E402
    OTHER_CPU_WARNING,
    TARGET_GENERATE,
    BareCall,
    Generated,
    Load,
    Query,
    QueryResult,
    Statements,
    median_of,
)

PAGE_SIZE = 100
DEEP_PAGE = 5_000
LOOKUP_IDS = 1_000
CUSTOMERS = 20
WINDOW_DAYS = 7
#: orderhub hides these unless the request filters on status / test: Datasette and bare SQL
#: must add the same conditions to compare like for like.
VISIBLE = "status != 'pending' AND test = 0"
DATASETTE_VISIBLE = [("status__not", "pending"), ("test__exact", "0")]
DATASETTE_SETTINGS = {
    "sql_time_limit_ms": "60000",
    "max_returned_rows": "1000",
    # orderhub suggests no facets: do not make Datasette compute them either.
    "suggest_facets": "off",
}


# --- servers and samples -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A running server: its base URL and the headers every request sends."""

    base: str
    headers: dict[str, str]
    pid: int


@dataclass(frozen=True, slots=True)
class Sample:
    """Realistic parameters read from the generated database."""

    ids: list[int]
    window: tuple[str, str]
    customers: list[int]
    visible: int
    depth: int


# --- other load on the machine ------------------------------------------------------------


class OtherCpu:
    """CPU (in cores) that processes other than the benchmark's used while the block ran.

    The machine is shared: a test run next to the benchmark disturbs its figures, and this says
    by how much. Linux /proc only; NaN elsewhere.
    """

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = [os.getpid(), *pids]
        self.cores = math.nan
        self._start: tuple[int, int] | None = None
        self._began = 0.0

    def __enter__(self) -> OtherCpu:
        self._start, self._began = _ticks(self.pids), time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        end, elapsed = _ticks(self.pids), time.perf_counter() - self._began
        if self._start is not None and end is not None and elapsed > 0:
            other = (end[0] - self._start[0]) - (end[1] - self._start[1])
            self.cores = max(0.0, other / os.sysconf("SC_CLK_TCK") / elapsed)


def wait_quiet(pids: Sequence[int], seconds: float, console: Console) -> None:
    """Wait (at most `seconds`) until other processes leave the CPUs nearly idle."""
    deadline = time.monotonic() + seconds
    waited = False
    while time.monotonic() < deadline:
        with OtherCpu(pids) as other:
            time.sleep(2)
        if not other.cores > OTHER_CPU_WARNING:  # NaN (no /proc) counts as quiet
            return
        if not waited:
            console.print(f"  [dim]other processes use {other.cores:.2f} cores: waiting[/]")
            waited = True
    if seconds > 0:
        console.print("  [yellow]still busy: measuring anyway[/]")


def _ticks(pids: Sequence[int]) -> tuple[int, int] | None:
    """Busy clock ticks so far: of the machine, and of `pids` (with children they waited for)."""
    try:
        cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        ours = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ours += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = cpu
    return user + nice + system + irq + softirq + steal, ours


# --- the database --------------------------------------------------------------------------


def tool(name: str) -> str | None:
    """An executable from this virtualenv, else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def database_url(db: Path) -> str:
    return f"sqlite:///{db.resolve()}"


def generate(db: Path, orders: int, console: Console) -> Generated:
    """A fresh database with `orders` orders, written by `orderhub generate` in a subprocess."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    cli = tool("orderhub")
    if cli is None:
        raise SystemExit("orderhub is not installed: pip install -e . in this virtualenv")
    console.print(f"generating {orders:,} orders into {db} ...")
    env = {**os.environ, "ORDERHUB_DATABASE_URL": database_url(db), "COLUMNS": "120"}
    started = time.perf_counter()
    with OtherCpu([]) as other:
        done = subprocess.run(
            [cli, "generate", "--orders", str(orders), "--seed", "1"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"orderhub generate failed:\n{done.stdout}\n{done.stderr}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("wrote")]
    return Generated(orders, wall, lines[-1] if lines else "", other.cores)


def create_api_key(db: Path, *, migrate: bool = True) -> str | None:
    """A read key for the benchmark, or None if this orderhub has no API keys; `migrate`
    False: the schema left as it is (a file another tree serves).

    It has no daily limit, so requests are authenticated (one indexed lookup) but not counted.
    """
    try:
        from orderhub.services.keys import READ, create_key
    except ImportError:
        return None
    engine = make_engine(database_url(db))
    try:
        if migrate:
            upgrade(engine)  # a --reuse'd database may predate the keys table
        return create_key(engine, "bench-read", (READ,), None, replace=True).token
    finally:
        engine.dispose()


def analyze(db: Path, console: Console) -> None:
    with closing(sqlite3.connect(db)) as conn:
        started = time.perf_counter()
        conn.execute("ANALYZE")
        conn.commit()
    console.print(f"ANALYZE took {time.perf_counter() - started:.1f} s")


def checkpoint(db: Path) -> bool:
    """Move the WAL into the database file; return whether the planner has statistics.

    Datasette reads the file immutable and never its WAL: without this it would not see what
    orderhub sees, such as the statistics `orderhub serve` writes when they are missing.
    """
    with closing(sqlite3.connect(db, timeout=60)) as conn:
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy or frames != copied:
            raise SystemExit(f"cannot checkpoint {db}: busy={busy}, {copied} of {frames} frames")
        return _has_stats(conn)


def _has_stats(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
    return found is not None and conn.execute("SELECT 1 FROM sqlite_stat1").fetchone() is not None


def count_orders(db: Path) -> int:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])


def pick_sample(db: Path, seed: int = 1) -> Sample:
    rng = random.Random(seed)
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        low, high = conn.execute("SELECT min(id), max(id) FROM orders").fetchone()
        candidates = sorted({rng.randint(low, high) for _ in range(LOOKUP_IDS * 2)})
        marks = ",".join("?" * len(candidates))
        ids = [
            r[0] for r in conn.execute(f"SELECT id FROM orders WHERE id IN ({marks})", candidates)
        ]
        rng.shuffle(ids)
        customers = _customers(conn, ids)
        window = _ship_window(conn)
        visible = conn.execute(f"SELECT count(*) FROM orders WHERE {VISIBLE}").fetchone()[0]
    depth = min(DEEP_PAGE, visible // PAGE_SIZE - 1)  # a full page, not the last one
    if depth < 2:
        raise SystemExit(f"too few orders ({visible} visible) for a deep page: use more --orders")
    return Sample(ids[:LOOKUP_IDS], window, customers, visible, depth)


def _customers(conn: sqlite3.Connection, ids: Sequence[int]) -> list[int]:
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT customer_id FROM orders WHERE id IN ({marks}) AND {VISIBLE}"
        " AND customer_id IS NOT NULL",
        list(ids),
    )
    found = list(dict.fromkeys(r[0] for r in rows))
    return sorted(found[:CUSTOMERS])


def _ship_window(conn: sqlite3.Connection) -> tuple[str, str]:
    """A WINDOW_DAYS window in the middle of the open orders' ship dates."""
    where = "status = 'open' AND ship_date IS NOT NULL"
    n = conn.execute(f"SELECT count(*) FROM orders WHERE {where}").fetchone()[0]
    sql = f"SELECT ship_date FROM orders WHERE {where} ORDER BY ship_date LIMIT 1 OFFSET ?"
    first = date.fromisoformat(conn.execute(sql, (n // 2,)).fetchone()[0])
    return first.isoformat(), (first + timedelta(days=WINDOW_DAYS - 1)).isoformat()


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(name: str, cmd: list[str], env: dict[str, str], health: str, log: Path) -> Iterator[int]:
    """Run a server process until the block ends (yields its pid); its output goes to `log`."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(name, proc, health, log)
            yield proc.pid
        finally:
            _stop(proc)


def _wait_healthy(name: str, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{name} exited with {proc.returncode}; its log ({log}):\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{name} did not answer {url} within 120 s; see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def orderhub_server(db: Path, logs: Path, token: str | None) -> Iterator[Endpoint]:
    """`orderhub serve` (uvicorn, one worker) on the database."""
    cli = tool("orderhub")
    assert cli is not None
    port = free_port()
    env = {**os.environ, "ORDERHUB_DATABASE_URL": database_url(db)}
    cmd = [cli, "serve", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with server("orderhub", cmd, env, f"{base}/healthz", logs / "orderhub-serve.log") as pid:
        yield Endpoint(base, headers, pid)


@contextmanager
def datasette_server(db: Path, logs: Path) -> Iterator[Endpoint]:
    """`datasette serve -i` (immutable: read-only, no locking) on the same file."""
    cli = tool("datasette")
    assert cli is not None
    port = free_port()
    settings = [arg for k, v in DATASETTE_SETTINGS.items() for arg in ("--setting", k, v)]
    cmd = [cli, "serve", "-i", str(db), "--host", "127.0.0.1", "--port", str(port), *settings]
    base = f"http://127.0.0.1:{port}"
    log = logs / "datasette.log"
    with server("datasette", cmd, dict(os.environ), f"{base}/-/versions.json", log) as pid:
        yield Endpoint(base, {}, pid)


# --- load generation -----------------------------------------------------------------------


def measure(
    server: Endpoint, paths: Sequence[str], connections: int, duration: float, timeout: float,
    latency: float = 0.0,
) -> Load:  # fmt: skip
    """Closed-loop load: `connections` keep-alive connections, each sending the next path.

    `latency` is one request's time unloaded: wrk drops the requests still running when its
    window closes, so slow queries go to the Python generator, which waits for them.
    """
    wrk = shutil.which("wrk")
    if wrk is not None and latency * max(connections, 2) < duration:
        return _wrk_load(wrk, server, paths, connections, duration, timeout)
    return asyncio.run(_python_load(server, paths, connections, duration, timeout))


def load_generator() -> str:
    return "wrk" if shutil.which("wrk") else "python (asyncio, raw HTTP/1.1 keep-alive)"


def summarise(latencies: list[float], errors: int, seconds: float) -> Load:
    ordered = sorted(latencies)
    p50, p99 = _pct(ordered, 50) * 1e3, _pct(ordered, 99) * 1e3
    return Load(len(ordered), errors, seconds, p50, p99, "python")


def _pct(ordered: Sequence[float], q: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]


async def _python_load(
    server: Endpoint, paths: Sequence[str], connections: int, duration: float, timeout: float
) -> Load:
    parts = urlsplit(server.base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **server.headers}.items())
    requests = [f"GET {p} HTTP/1.1\r\n{head}\r\n".encode() for p in paths]
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(*(
        _connection(host, port, requests, i * len(requests) // connections, deadline, timeout,
                    latencies, errors)
        for i in range(connections)
    ))  # fmt: skip
    # Requests started before the deadline are waited for: slow queries still count.
    return summarise(latencies, len(errors), time.perf_counter() - started)


async def _connection(
    host: str, port: int, requests: Sequence[bytes], index: int, deadline: float,
    timeout: float, latencies: list[float], errors: list[str],
) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            writer.write(requests[index % len(requests)])
            index += 1
            try:
                status = await asyncio.wait_for(_response(reader), timeout)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(repr(exc))
                return  # the connection is in an unknown state
            if status == 200:
                latencies.append(time.perf_counter() - began)
            else:
                errors.append(f"HTTP {status}")
    finally:
        writer.close()


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length or chunked body); return its status code."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status


_WRK_SCRIPT = """
local paths = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _wrk_load(
    wrk: str, server: Endpoint, paths: Sequence[str], connections: int, duration: float,
    timeout: float,
) -> Load:  # fmt: skip
    script = _WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        limits = [f"-d{max(1, round(duration))}s", f"--timeout={max(1, round(timeout))}s"]
        headers = [arg for k, v in server.headers.items() for arg in ("-H", f"{k}: {v}")]
        cmd = [wrk, "-t1", f"-c{connections}", *limits, *headers, "-s", lua.name, server.base]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.MULTILINE)
    if found is None:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    total, micros, bad_status, failed, p50, p99 = (int(g) for g in found.groups())
    return Load(total - bad_status, bad_status + failed, micros / 1e6, p50 / 1e3, p99 / 1e3, "wrk")


def warm_up(server: Endpoint, paths: Sequence[str], timeout: float, seconds: float = 1.0) -> float:
    """Sequential requests for about `seconds` (at least one); fail loudly on a non-200.

    Returns the last request's time in seconds.
    """
    started = time.perf_counter()
    with httpx.Client(base_url=server.base, headers=server.headers, timeout=timeout) as client:
        for path in itertools.cycle(paths):
            began = time.perf_counter()
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(
                    f"GET {server.base}{path} -> {response.status_code}: {response.text[:500]}"
                )
            if time.perf_counter() - started > seconds:
                return time.perf_counter() - began
    raise AssertionError("unreachable")


# --- bare SQL ------------------------------------------------------------------------------


def capture(engine: Engine, call: BareCall, shaped: Callable[[Any], Any] = tuple) -> Statements:
    """The SQL statements and driver parameters (as `shaped` gives them) that orderhub runs
    for `call`."""
    seen: Statements = []

    def hook(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, shaped(parameters)))

    event.listen(engine, "before_cursor_execute", hook)
    try:
        call(engine)
    finally:
        event.remove(engine, "before_cursor_execute", hook)
    return seen


def run_bare(conn: sqlite3.Connection, statements: Statements) -> bytes:
    """Run the statements and encode every row as a JSON object (nested parts spliced)."""
    results = []
    for sql, params in statements:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        nested = [name in NESTED_FIELDS for name in names]
        rows = cursor.fetchall()
        results.append([_json_row(names, nested, row) for row in rows])
    return orjson.dumps(results)


def _json_row(names: Sequence[str], nested: Sequence[bool], row: Sequence[Any]) -> dict[str, Any]:
    return {
        name: orjson.Fragment(value) if is_nested and value is not None else value
        for name, is_nested, value in zip(names, nested, row, strict=True)
    }


def time_bare(db: Path, sets: Sequence[Statements], duration: float) -> float:
    """Median milliseconds of one statement set (rotating over `sets`), on one connection."""
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA cache_size=-65536")  # as orderhub's engine sets it
        run_bare(conn, sets[0])  # warm-up
        samples: list[float] = []
        started = time.perf_counter()
        while len(samples) < 3 or time.perf_counter() - started < duration:
            began = time.perf_counter()
            run_bare(conn, sets[len(samples) % len(sets)])
            samples.append(time.perf_counter() - began)
    return median(samples) * 1e3


# --- the queries ---------------------------------------------------------------------------


def build_queries(sample: Sample, db_name: str, cursor: str, after_id: int) -> list[Query]:
    ds = f"/{db_name}/orders.json?"
    low, high = sample.window
    customers = ",".join(map(str, sample.customers))
    basic_cols = [("_col", name) for name in BASIC_FIELDS if name != "id"]
    page = [("_size", str(PAGE_SIZE)), ("_shape", "objects")]
    window = [("status", "open"), ("ship_date", f"bt:{low},{high}"), ("_sort", "id:desc")]
    by_customer = [("customer_id", f"in:{customers}"), ("filter", "basic")]
    offset = [("page_size", str(PAGE_SIZE)), ("page", str(sample.depth))]
    keyset = [("page_size", str(PAGE_SIZE)), ("cursor", cursor)]
    depth = f"{sample.depth:,}"
    return [
        Query("lookup", "lookup by id",
              [f"/v1/orders/{i}" for i in sample.ids],
              [f"/{db_name}/orders/{i}.json?_shape=objects" for i in sample.ids],
              [_get(i) for i in sample.ids[:50]]),
        Query("ship_window", f"status=open, ship_date {WINDOW_DAYS} days, id:desc",
              [_path("/v1/orders", window)],
              [ds + urlencode([("status__exact", "open"), ("ship_date__gte", low),
                               ("ship_date__lte", high), ("test__exact", "0"),
                               ("_sort_desc", "id"), *page])],
              [_find(window)]),
        Query("customers", f"customer_id=in:{CUSTOMERS} ids, filter=basic",
              [_path("/v1/orders", by_customer)],
              [ds + urlencode([("customer_id__in", customers), *DATASETTE_VISIBLE,
                               *basic_cols, *page])],
              [_find(by_customer)]),
        Query("page_1", "page 1 (default sort)",
              [_path("/v1/orders", [("page_size", str(PAGE_SIZE))])],
              [ds + urlencode([*DATASETTE_VISIBLE, *page])],
              [_find([("page_size", str(PAGE_SIZE))])]),
        Query("offset_deep", f"page {depth} by offset",
              [_path("/v1/orders", offset)], None, [_find(offset)]),
        Query("cursor_deep", f"page {depth} by cursor",
              [_path("/v1/orders", keyset)],
              [ds + urlencode([*DATASETTE_VISIBLE, *page, ("_next", str(after_id))])],
              [_find(keyset)]),
        Query("unconfirmed", "unconfirmed list (ids)",
              ["/v1/orders/unconfirmed"],
              [ds + urlencode([("confirmed__exact", "0"), *DATASETTE_VISIBLE, ("_col", "id"),
                               *page])],
              [_unconfirmed]),
    ]  # fmt: skip


def _path(prefix: str, params: list[tuple[str, str]]) -> str:
    return f"{prefix}?{urlencode(params)}"


def _get(order_id: int) -> BareCall:
    return lambda engine: service.get_order(engine, order_id)


def _find(params: list[tuple[str, str]]) -> BareCall:
    return lambda engine: service.list_orders(engine, parse_query(params))


def _unconfirmed(engine: Engine) -> object:
    return service.list_unconfirmed(engine, [])


def deep_cursor(server: Endpoint, depth: int, timeout: float) -> tuple[str, int]:
    """The cursor a client holds after reading page depth-1: paging.cursor of that page.

    It is the same cursor as following paging.cursor from page 1 (same filters and sort, same
    last row, page depth), without thousands of requests. Returns it and the last id read.
    """
    params = {"page_size": PAGE_SIZE, "page": depth - 1}
    response = _get_json(server, "/v1/orders", timeout, params)
    return response["paging"]["cursor"], int(response["data"][-1]["id"])


def _get_json(
    server: Endpoint, path: str, timeout: float, params: dict[str, Any] | None = None
) -> Any:
    response = httpx.get(server.base + path, params=params, headers=server.headers, timeout=timeout)
    if response.status_code != 200:
        raise SystemExit(f"GET {response.url} -> {response.status_code}: {response.text[:500]}")
    return response.json()


def compare(query: Query, oh: Endpoint, ds: Endpoint, timeout: float) -> str | None:
    """Check orderhub and Datasette return the same first id and total, or describe how not."""
    assert query.datasette is not None
    ours = _get_json(oh, query.orderhub[0], timeout)
    theirs = _get_json(ds, query.datasette[0], timeout)
    if "data" not in ours:  # a single order
        same = ours["id"] == theirs["rows"][0]["id"]
        return None if same else f"id {ours['id']} vs {theirs['rows'][0]['id']}"
    first = ours["data"][0] if ours["data"] else None
    first_id = first["id"] if isinstance(first, dict) else first
    their_first = theirs["rows"][0]["id"] if theirs["rows"] else None
    ours_seen = (ours["paging"]["total"], first_id)
    theirs_seen = (theirs["filtered_table_rows_count"], their_first)
    return None if ours_seen == theirs_seen else f"(total, first id) {ours_seen} vs {theirs_seen}"


# --- running -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    connections: int
    duration: float
    timeout: float
    wait_quiet: float
    rounds: int = 1


def bench_query(
    query: Query, engine: Engine, db: Path, oh: Endpoint, ds: Endpoint | None, s: Settings,
    console: Console,
) -> QueryResult:  # fmt: skip
    console.print(f"[bold]{query.title}[/]  {query.orderhub[0][:110]}")
    pids = [oh.pid] + ([ds.pid] if ds else [])
    wait_quiet(pids, s.wait_quiet, console)
    with OtherCpu(pids) as other:
        bare = time_bare(db, [capture(engine, call) for call in query.bare], s.duration / 2)
        latency = warm_up(oh, query.orderhub, s.timeout)
        loaded = measure(oh, query.orderhub, s.connections, s.duration, s.timeout, latency)
        # One request first: it waits out what the loaded run left queued in the server (a
        # slow query's backlog would otherwise fill the 1-connection run's window).
        warm_up(oh, query.orderhub, s.timeout, seconds=0)
        single = measure(oh, query.orderhub, 1, s.duration / 2, s.timeout, latency)
        result = QueryResult(query, bare, loaded, single)
        if ds is not None and query.datasette is not None:
            result.mismatch = compare(query, oh, ds, s.timeout)
            result.datasette = _measure_datasette(ds, query.datasette, s)
    result.other_cpu = other.cores
    console.print(f"  {_progress_line(result)}")
    return result


def _measure_datasette(ds: Endpoint, paths: Sequence[str], s: Settings) -> Load:
    latency = warm_up(ds, paths, s.timeout)
    return measure(ds, paths, s.connections, s.duration, s.timeout, latency)


def _progress_line(r: QueryResult) -> str:
    text = (
        f"orderhub {r.orderhub.rps:,.1f} req/s p50 {r.orderhub.p50_ms:.1f} ms, "
        f"1 conn p50 {r.orderhub_single.p50_ms:.2f} ms, bare {r.bare_p50_ms:.2f} ms"
    )
    if r.datasette is not None:
        text += f"; Datasette {r.datasette.rps:,.1f} req/s p50 {r.datasette.p50_ms:.1f} ms"
    if r.mismatch:
        text += f"\n  [red]orderhub and Datasette differ: {r.mismatch}[/]"
    return text


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    args.data_dir.mkdir(parents=True, exist_ok=True)
    db = args.data_dir / f"orders-{args.orders}.db"
    generated = None
    if not (args.reuse and db.exists()):
        wait_quiet([], args.wait_quiet, console)
        generated = generate(db, args.orders, console)
        console.print(generated.cli_line or f"generated in {generated.wall_seconds:.1f} s")
    token = create_api_key(db)
    if args.analyze:
        analyze(db, console)
    stored = count_orders(db)
    if stored != args.orders:
        console.print(f"[yellow]the database holds {stored:,} orders, not {args.orders:,}[/]")
    sample = pick_sample(db)
    settings = Settings(
        args.connections, args.duration, args.timeout, args.wait_quiet, max(args.rounds, 1)
    )
    with_datasette = not args.skip_datasette and _datasette_installed(console)
    results, stats = _measure_all(db, token, sample, with_datasette, settings, console)
    return {
        "orders": stored, "database": str(db), "planner_statistics": stats,
        "api_key": token is not None, "connections": args.connections,
        "duration_s": args.duration, "rounds": settings.rounds,
        "load_generator": load_generator(),
        "cpus": os.cpu_count(), "sqlite_version": sqlite3.sqlite_version,
        "sample": asdict(sample), "generate": _generate_json(generated), "queries": results,
    }  # fmt: skip


def _datasette_installed(console: Console) -> bool:
    if tool("datasette") is not None:
        return True
    console.print("[yellow]datasette is not installed (pip install datasette==0.65.5): skipped[/]")
    return False


def _measure_all(
    db: Path, token: str | None, sample: Sample, with_datasette: bool, s: Settings,
    console: Console,
) -> tuple[list[QueryResult], bool]:  # fmt: skip
    """Every query's figures, and whether the planner had statistics."""
    engine = make_engine(database_url(db))
    try:
        with ExitStack() as stack:
            oh = stack.enter_context(orderhub_server(db, db.parent, token))
            stats = checkpoint(db)  # after `orderhub serve` has migrated and analysed the file
            ds = stack.enter_context(datasette_server(db, db.parent)) if with_datasette else None
            console.print(f"orderhub at {oh.base}" + (f", Datasette at {ds.base}" if ds else ""))
            cursor, after_id = deep_cursor(oh, sample.depth, s.timeout)
            queries = build_queries(sample, db.stem, cursor, after_id)
            rounds = []
            for number in range(1, s.rounds + 1):
                if s.rounds > 1:
                    console.print(f"[bold]round {number} of {s.rounds}[/]")
                rounds.append([bench_query(q, engine, db, oh, ds, s, console) for q in queries])
            return [median_of(measured) for measured in zip(*rounds, strict=True)], stats
    finally:
        engine.dispose()


def _generate_json(generated: Generated | None) -> dict[str, Any] | None:
    if generated is None:
        return None
    return {
        "orders": generated.orders, "wall_seconds": round(generated.wall_seconds, 2),
        "orders_per_second": round(generated.rate), "cli": generated.cli_line,
        "other_cpu_cores": round(generated.other_cpu, 2),
        "target_met": generated.rate >= TARGET_GENERATE,
    }  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders to generate")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per query")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="measure every query this many times, one round after another; report the median",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).parent / ".data")
    parser.add_argument("--reuse", action="store_true", help="keep an existing generated DB")
    parser.add_argument("--skip-datasette", action="store_true", help="measure orderhub only")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE before serving")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, metavar="SECONDS",
        help="before each phase, wait up to SECONDS for other processes to idle",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 200)
    summary = run(args, console)
    results: list[QueryResult] = summary.pop("queries")
    report(summary, results, console)
    out = args.data_dir / "read-results.json"
    document = {**summary, "queries": [r.to_json() for r in results]}
    out.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    console.print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
