"""Sync benchmark: the hub's first MALL sync against dlt's `rest_api` source and bare paging.

Starts the MALL sandbox in its own process (`orderhub sandbox mall`), runs `orderhub sync` as a
user runs it (a subprocess, fresh SQLite file, credentials from the environment) and reports
orders per second, CPU per order, requests per 1,000 orders (list calls, blocked-order detail
calls and confirmation PUTs apart) and the hub's peak RSS; then, against the same sandbox, bare
httpx paging of `/v1/orders` (the ceiling: requests and JSON decoding, nothing stored) and a
dlt pipeline (`rest_api` source, page-number paginator) into DuckDB, and the ratios.
See bench/README.md.

    .venv/bin/python bench/sync.py --orders 20000 --page-size 100,1000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHANNEL = "mall-bench"
CLIENT_ID = "sandbox"  # the sandbox's client_id
CLIENT_ID_ENV = "BENCH_MALL_CLIENT_ID"
TARGET_VS_DLT = 10.0
#: The hub's orders/s as a share of bare paging's (same endpoint, page size and sandbox).
TARGET_VS_BARE = 0.25
TARGET_LIST_TOLERANCE = 0.10
TARGET_PEAK_MB = 300.0
DLT_DATASET = "mall_orders"


# --- results -------------------------------------------------------------------------------


@dataclass(slots=True)
class Requests:
    """Requests the sandbox saw during one run, by kind."""

    list_calls: int = 0  # GET /v1/orders
    queue_calls: int = 0  # GET /v1/orders/unconfirmed
    detail_calls: int = 0  # GET /v1/orders/{id} (blocked orders: MALL lists them as ids)
    puts: int = 0  # PUT /v1/orders/{id} (confirmations)
    other: int = 0

    @property
    def total(self) -> int:
        return self.list_calls + self.queue_calls + self.detail_calls + self.puts + self.other

    @classmethod
    def between(cls, before: dict[str, int], after: dict[str, int]) -> Requests:
        counts = cls()
        for path, n in after.items():
            made = n - before.get(path, 0)
            if not made:
                continue
            method, _, url = path.partition(" ")
            if method == "GET" and url == "/v1/orders":
                counts.list_calls += made
            elif method == "GET" and url == "/v1/orders/unconfirmed":
                counts.queue_calls += made
            elif method == "GET" and url.startswith("/v1/orders/"):
                counts.detail_calls += made
            elif method == "PUT":
                counts.puts += made
            else:
                counts.other += made
        return counts


@dataclass(slots=True)
class Run:
    """One tool's run: orders stored, wall time, CPU, peak RSS, requests."""

    tool: str
    page_size: int
    orders: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    requests: Requests
    load_before: float
    load_after: float
    sandbox_cpu: float
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    def per_1000(self, count: float) -> float:
        return count * 1000 / self.orders if self.orders else float("nan")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["orders_per_second"] = round(self.rate, 1)
        data["requests"]["total"] = self.requests.total
        return data


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    return os.getloadavg()[0]


@contextmanager
def mall_sandbox(orders: int, data_dir: Path, console: Console) -> Iterator[Sandbox]:
    """`orderhub sandbox mall` in its own process, until it answers; stopped on exit."""
    port = free_port()
    log = data_dir / f"sandbox-{port}.log"
    cmd = [str(BIN / "orderhub"), "sandbox", "mall", "--port", str(port), "--orders", str(orders)]
    cmd += ["--seed", "1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=data_dir)
    sandbox = Sandbox(proc, f"http://127.0.0.1:{port}")
    try:
        started = time.monotonic()
        with console.status(f"generating {orders:,} MALL orders in the sandbox"):
            sandbox.wait(timeout=60 + orders / 200, log=log)
        console.print(f"sandbox up on port {port} after {time.monotonic() - started:.0f} s")
        yield sandbox
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(slots=True)
class Sandbox:
    proc: subprocess.Popen[bytes]
    base: str

    def wait(self, timeout: float, log: Path) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the sandbox exited ({self.proc.returncode}); see {log}")
            try:
                httpx.get(f"{self.base}/_sandbox/stats", timeout=2).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise SystemExit(f"the sandbox did not answer within {timeout:.0f} s; see {log}")

    def requests_by_path(self) -> dict[str, int]:
        stats = httpx.get(f"{self.base}/_sandbox/stats", timeout=60).json()
        return dict(stats["requests_by_path"])

    def cpu(self) -> float:
        return cpu_of(self.proc.pid)


def run_child(cmd: Sequence[str], env: dict[str, str], log: Path) -> tuple[float, float, float]:
    """Run a command to its end: (wall seconds, CPU seconds, peak RSS in MB) of that child."""
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}); see {log}")
    # ru_maxrss is in KiB on Linux.
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


# --- the hub -------------------------------------------------------------------------------


def hub_sync(sandbox: Sandbox, page_size: int, confirm: bool, data_dir: Path) -> Run:
    """`orderhub sync` (a first sync) into a fresh SQLite file."""
    db = data_dir / f"sync-{page_size}.db"
    for path in (db, db.with_suffix(".db-wal"), db.with_suffix(".db-shm")):
        path.unlink(missing_ok=True)
    config = data_dir / "orderhub.toml"
    config.write_text(
        "[[channels]]\n"
        f'name = "{CHANNEL}"\n'
        'type = "mall"\n'
        f'base_url = "{sandbox.base}/v1"\n'
        f'client_id_env = "{CLIENT_ID_ENV}"\n'
        f"page_size = {page_size}\n"
        f"confirm = {'true' if confirm else 'false'}\n"
    )
    env = os.environ | {
        "ORDERHUB_DATABASE_URL": f"sqlite:///{db}",
        "ORDERHUB_CONFIG_FILE": str(config),
        CLIENT_ID_ENV: CLIENT_ID,
        "COLUMNS": "120",
    }
    cmd = [str(BIN / "orderhub"), "sync", "--channel", CHANNEL]
    before, cpu_before, load_before = sandbox.requests_by_path(), sandbox.cpu(), load_average()
    seconds, cpu, peak = run_child(cmd, env, data_dir / f"sync-{page_size}.log")
    sandbox_cpu, load_after = sandbox.cpu() - cpu_before, load_average()
    requests = Requests.between(before, sandbox.requests_by_path())
    detail = _last_run(db)
    return Run(
        "orderhub",
        page_size,
        detail["orders_new"] + detail["orders_changed"] + detail["orders_unchanged"],
        seconds,
        cpu,
        peak,
        requests,
        load_before,
        load_after,
        sandbox_cpu,
        detail,
    )


def _last_run(db: Path) -> dict[str, Any]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1").fetchone()
    run = dict(row)
    if run["status"] != "ok":
        raise SystemExit(f"the hub's sync ended {run['status']}: {run['error']}")
    return run


# --- bare paging -------------------------------------------------------------------------


def bare_paging(sandbox: Sandbox, page_size: int) -> Run:
    """httpx over `/v1/orders` page by page, each answer decoded (orjson), nothing kept: the
    most a client of this endpoint can read, in this process."""
    import orjson

    params = {"client_id": CLIENT_ID, "test": "in:0,1", "page_size": str(page_size)}
    before, cpu_before, load_before = sandbox.requests_by_path(), sandbox.cpu(), load_average()
    started, cpu_started = time.perf_counter(), time.process_time()
    orders = page = pages = 0
    with httpx.Client(base_url=sandbox.base, timeout=600) as client:
        while page < pages or page == 0:
            page += 1
            answer = client.get("/v1/orders", params={**params, "page": str(page)})
            answer.raise_for_status()
            body = orjson.loads(answer.content)
            orders += len(body["data"])
            pages = int(body["paging"]["pages"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    sandbox_cpu, load_after = sandbox.cpu() - cpu_before, load_average()
    requests = Requests.between(before, sandbox.requests_by_path())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Run(
        "bare httpx",
        page_size,
        orders,
        seconds,
        cpu,
        peak,
        requests,
        load_before,
        load_after,
        sandbox_cpu,
    )


# --- dlt -----------------------------------------------------------------------------------


def dlt_available() -> bool:
    try:
        import dlt  # noqa: F401
    except ImportError:
        return False
    return True


def dlt_sync(sandbox: Sandbox, page_size: int, destination: str, data_dir: Path) -> Run:
    """dlt's rest_api source into `destination`, in a subprocess (this script, `dlt-worker`)."""
    work = data_dir / f"dlt-{page_size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result = work / "result.json"
    env = os.environ | {
        "RUNTIME__LOG_LEVEL": "WARNING",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DLT_DATA_DIR": str(work),
    }
    cmd = [sys.executable, __file__, "dlt-worker", sandbox.base, str(page_size), destination]
    cmd += [str(work), str(result)]
    before, cpu_before, load_before = sandbox.requests_by_path(), sandbox.cpu(), load_average()
    seconds, cpu, peak = run_child(cmd, env, data_dir / f"dlt-{page_size}.log")
    sandbox_cpu, load_after = sandbox.cpu() - cpu_before, load_average()
    requests = Requests.between(before, sandbox.requests_by_path())
    detail = json.loads(result.read_text())
    return Run(
        f"dlt ({destination})",
        page_size,
        detail["rows"],
        seconds,
        cpu,
        peak,
        requests,
        load_before,
        load_after,
        sandbox_cpu,
        detail,
    )


def dlt_worker(base: str, page_size: int, destination: str, work: Path, result: Path) -> None:
    """What a dlt user writes: a rest_api source with a paginator, one pipeline run."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": f"{base}/v1/",
                "paginator": {
                    "type": "page_number",
                    "base_page": 1,
                    "page_param": "page",
                    "total_path": "paging.pages",
                },
            },
            "resources": [
                {
                    "name": "orders",
                    "endpoint": {
                        "path": "orders",
                        "params": {
                            "client_id": CLIENT_ID,
                            "test": "in:0,1",
                            "page_size": page_size,
                        },
                        "data_selector": "data",
                    },
                }
            ],
        }
    )
    if destination == "duckdb":
        target: Any = dlt.destinations.duckdb(str(work / "bench.duckdb"))
    else:
        target = dlt.destinations.sqlalchemy(f"sqlite:///{work / 'bench.db'}")
    pipeline = dlt.pipeline(
        pipeline_name="mall_bench",
        destination=target,
        dataset_name=DLT_DATASET,
        pipelines_dir=str(work / "pipelines"),
    )
    started = time.perf_counter()
    pipeline.run(source, write_disposition="replace")
    seconds = time.perf_counter() - started
    trace = pipeline.last_trace
    steps = {
        step.step: round((step.finished_at - step.started_at).total_seconds(), 2)
        for step in (trace.steps if trace is not None else [])
        if step.finished_at is not None
    }
    with pipeline.sql_client() as client:
        rows = _count(client, "orders")
        item_rows = _count(client, "orders__items")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    detail = {"rows": rows, "item_rows": item_rows, "seconds": seconds, "steps": steps}
    result.write_text(json.dumps(detail | {"peak_mb_self": peak}))


def _count(client: Any, table: str) -> int:
    answer = client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(table)}")
    return int(answer[0][0]) if answer else 0


# --- report --------------------------------------------------------------------------------


def report(console: Console, runs: list[Run], orders: int) -> bool:
    """The table, then each target met or missed; True when all are met."""
    table = Table(title=f"First sync of {orders:,} MALL orders over loopback")
    columns = ("tool", "page", "orders", "wall s", "orders/s", "vs dlt", "vs bare", "CPU s")
    for name in (*columns, "CPU us/order", "peak MB"):
        table.add_column(name, justify="left" if name == "tool" else "right")
    for name in ("req/1k", "list/1k", "queue/1k", "detail/1k", "PUT/1k", "load"):
        table.add_column(name, justify="right")
    for run in runs:
        dlt = _dlt_run(runs, run.page_size) if run.tool == "orderhub" else None
        bare = _bare_run(runs, run.page_size) if run.tool == "orderhub" else None
        r = run.requests
        table.add_row(
            run.tool,
            str(run.page_size),
            f"{run.orders:,}",
            f"{run.seconds:.1f}",
            f"{run.rate:,.0f}",
            f"{run.rate / dlt.rate:.1f}x" if dlt and dlt.rate else "",
            f"{run.rate / bare.rate:.0%}" if bare and bare.rate else "",
            f"{run.cpu_seconds:.1f}",
            f"{run.per_1000(run.cpu_seconds) * 1000:,.0f}",
            f"{run.peak_mb:.0f}",
            f"{run.per_1000(r.total):.1f}",
            f"{run.per_1000(r.list_calls):.2f}",
            f"{run.per_1000(r.queue_calls):.2f}",
            f"{run.per_1000(r.detail_calls):.1f}",
            f"{run.per_1000(r.puts):.1f}",
            f"{run.load_before:.1f}-{run.load_after:.1f}",
        )
    console.print(table)
    ok = True
    for run in (r for r in runs if r.tool == "orderhub"):
        d = run.detail
        console.print(
            f"page {run.page_size}: the sync itself took {d['seconds']:.1f} s "
            f"({run.orders / d['seconds']:,.0f} orders/s without start-up and migrations), "
            f"{d['acknowledged']:,} confirmed, {d['quarantined']} quarantined; "
            f"sandbox CPU {run.sandbox_cpu:.1f} s"
        )
        checks = _checks(run, _dlt_run(runs, run.page_size), _bare_run(runs, run.page_size))
        for text, passed in checks:
            ok = ok and passed
            mark = "[green]ok  [/]" if passed else "[red]MISS[/]"
            console.print(f"  {mark} {text}")
    for run in (r for r in runs if r.tool.startswith("dlt")):
        d = run.detail
        console.print(
            f"page {run.page_size}: {run.tool} steps (s) {d['steps']}, "
            f"{d['item_rows']:,} item rows; sandbox CPU {run.sandbox_cpu:.1f} s"
        )
    console.print(
        "dlt and bare paging read the list endpoint only: MALL lists blocked orders as ids, so "
        "they leave them out, and they confirm nothing; the hub also fetches each blocked order "
        "(detail) and confirms each unconfirmed one (PUT). Bare paging runs in this script's "
        "process: its peak MB is this process's."
    )
    return ok


def _dlt_run(runs: list[Run], page_size: int) -> Run | None:
    return next((r for r in runs if r.tool.startswith("dlt") and r.page_size == page_size), None)


def _bare_run(runs: list[Run], page_size: int) -> Run | None:
    return next((r for r in runs if r.tool == "bare httpx" and r.page_size == page_size), None)


def _checks(run: Run, dlt: Run | None, bare: Run | None) -> list[tuple[str, bool]]:
    target = 1000 / run.page_size
    listed = run.per_1000(run.requests.list_calls)
    checks = [
        (
            f"list calls (GET /v1/orders) {listed:.2f} per 1,000 orders, target {target:g} +-10%",
            abs(listed - target) <= target * TARGET_LIST_TOLERANCE,
        ),
        (
            f"peak RSS {run.peak_mb:.0f} MB, target < {TARGET_PEAK_MB:.0f} MB",
            run.peak_mb < TARGET_PEAK_MB,
        ),
    ]
    if dlt is not None:
        ratio = run.rate / dlt.rate if dlt.rate else float("inf")
        checks.append(
            (f"{ratio:.1f}x dlt's orders/s, target >= {TARGET_VS_DLT:g}x", ratio >= TARGET_VS_DLT)
        )
    if bare is not None:
        share = run.rate / bare.rate if bare.rate else float("inf")
        checks.append(
            (
                f"{share:.0%} of bare paging's orders/s, target >= {TARGET_VS_BARE:.0%}",
                share >= TARGET_VS_BARE,
            )
        )
    return checks


# --- main ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    # Wide enough for the table when the output is not a terminal (a log file, CI).
    console = Console() if sys.stdout.isatty() else Console(width=170)
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    page_sizes = [int(p) for p in str(args.page_size).split(",")]
    use_dlt = not args.skip_dlt
    if use_dlt and not dlt_available():
        console.print(
            "[yellow]dlt is not installed (pip install 'dlt[duckdb]==1.31.0'): skipped[/]"
        )
        use_dlt = False
    console.print(
        f"{os.cpu_count()} CPUs, load average {load_average():.1f}; "
        f"confirm {'off' if args.no_confirm else 'on'}"
    )
    runs: list[Run] = []
    for page_size in page_sizes:
        # A fresh sandbox per page size: confirming changes it, and its counters start at 0.
        with mall_sandbox(args.orders, data_dir, console) as sandbox:
            with console.status(f"orderhub sync, page size {page_size}"):
                hub = hub_sync(sandbox, page_size, not args.no_confirm, data_dir)
            runs.append(hub)
            console.print(f"orderhub: {hub.orders:,} orders in {hub.seconds:.1f} s")
            with console.status(f"bare httpx paging, page size {page_size}"):
                bare = bare_paging(sandbox, page_size)
            runs.append(bare)
            console.print(f"bare httpx: {bare.orders:,} orders in {bare.seconds:.1f} s")
            if use_dlt:
                with console.status(f"dlt rest_api -> {args.dlt_destination}, page {page_size}"):
                    dlt = dlt_sync(sandbox, page_size, args.dlt_destination, data_dir)
                runs.append(dlt)
                console.print(f"dlt: {dlt.orders:,} orders in {dlt.seconds:.1f} s")
    ok = report(console, runs, args.orders)
    results = {"orders": args.orders, "runs": [run.to_json() for run in runs], "targets_met": ok}
    (data_dir / "sync-results.json").write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000, help="orders in the sandbox")
    parser.add_argument("--page-size", default="100", help="page size, or several: 100,1000")
    parser.add_argument("--skip-dlt", action="store_true", help="measure the hub only")
    parser.add_argument("--no-confirm", action="store_true", help="sync without confirming")
    parser.add_argument("--dlt-destination", choices=("duckdb", "sqlite"), default="duckdb")
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / ".data"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    if sys.argv[1:2] == ["dlt-worker"]:
        base, size, dest, work, out = sys.argv[2:7]
        dlt_worker(base, int(size), dest, Path(work), Path(out))
        sys.exit(0)
    sys.exit(main())
