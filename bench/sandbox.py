"""Sandbox benchmark: how fast each channel sandbox starts and serves pages to bare paging.

For each channel, `orderhub sandbox <channel> --orders N --seed 1` in its own process, as a user
runs it; the start time is from launching it to its first answered list request (imports,
order generation, the first list query). Channels that keep their starting orders on disk
(`--snapshots`: all four) start twice: cold (no snapshot: the orders are generated, in
worker processes, and the snapshot written) then warm (the snapshot opened); the second is
the one paged. Then bare httpx paging over its list call, one
connection, storing nothing (each page parsed with orjson to count its orders and find the
next): orders per second. The sandboxes are there to measure the hub against (bench/sync.py),
so the targets (issue 15) are >= 20,000 orders/s and < 10 s to start with 1,000,000 orders.
See bench/README.md.

    .venv/bin/python bench/sandbox.py                                  # 1,000,000 orders
    .venv/bin/python bench/sandbox.py --orders 100000 --channels mall  # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table

sys.path[:0] = [str(Path(__file__).resolve().parent)]  # bench/sync.py
from sync import cpu_of, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHANNELS = ("mall", "cscart", "dexero", "cdon")
TARGET_ORDERS_PER_SECOND = 20_000
TARGET_START_SECONDS = 10.0
TARGET_AT = 1_000_000
DEXERO = "/service/rest/2/merchant/catalog"
#: The channels whose sandbox takes --snapshots.
SNAPSHOTS = ("mall", "cscart", "dexero", "cdon")


@dataclass(slots=True)
class Result:
    channel: str
    orders: int
    start_seconds: float
    rss_mb_after_start: float
    page_size: int
    pages: int
    orders_paged: int
    paging_seconds: float
    ms_per_page_p50: float
    #: CPU seconds the sandbox process used to start, and while paged (load-independent).
    start_cpu_seconds: float
    paging_cpu_seconds: float
    load_before: float
    load_after: float
    #: "cold" (the snapshot built), "warm" (opened) or "" (no snapshot: generated in process).
    start_kind: str = ""

    @property
    def rate(self) -> float:
        return self.orders_paged / self.paging_seconds if self.paging_seconds else 0.0

    @property
    def cpu_rate(self) -> float:
        """Orders a second of the sandbox's own CPU serves: its rate with a core to itself."""
        return self.orders_paged / self.paging_cpu_seconds if self.paging_cpu_seconds else 0.0


# --- how each channel is paged --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pager:
    """A channel's list call: the URL of page `number` (from 0) and the orders in an answer."""

    url: Callable[[int, int], str]
    orders: Callable[[Any], list[Any]]
    #: Whether the page after an answer exists (beyond "it was full").
    more: Callable[[Any, int, int], bool]


def _mall_more(body: Any, number: int, size: int) -> bool:
    return number + 1 < int(body["paging"]["pages"])


def _cscart_more(body: Any, number: int, size: int) -> bool:
    return (number + 1) * size < int(body["params"]["total_items"])


def _dexero_more(body: Any, number: int, size: int) -> bool:
    return (number + 1) * size < int(body["totalResults"])


PAGERS = {
    "mall": Pager(
        lambda n, size: f"/v1/orders?client_id=sandbox&test=in:0,1&page_size={size}&page={n + 1}",
        lambda body: body["data"],
        _mall_more,
    ),
    "cscart": Pager(
        lambda n, size: f"/api/orders?items_per_page={size}&page={n + 1}",
        lambda body: body["orders"],
        _cscart_more,
    ),
    "dexero": Pager(
        lambda n, size: f"{DEXERO}/orders/all.json?count={size}&offset={n * size}",
        lambda body: body["orders"],
        _dexero_more,
    ),
    "cdon": Pager(
        lambda n, size: f"/api/order/?skip={n * size}&take={size}",
        lambda body: body,
        lambda body, n, size: True,  # CDON answers 404 past the last page
    ),
}


def client_for(channel: str, base: str) -> httpx.Client:
    """A client with the channel's credentials (Dexero: a token from its OAuth call)."""
    if channel == "cscart":
        return httpx.Client(base_url=base, auth=("admin@example.com", "sandbox"), timeout=600)
    if channel == "cdon":
        return httpx.Client(base_url=base, headers={"Authorization": "api sandbox"}, timeout=600)
    if channel == "dexero":
        answer = httpx.post(
            f"{base}/oauth/token.action",
            auth=("sandbox", "sandbox"),
            data={"grant_type": "client_credentials"},
            timeout=600,
        )
        answer.raise_for_status()
        token = answer.json()["access_token"]
        return httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600
        )
    return httpx.Client(base_url=base, timeout=600)


# --- the sandbox process --------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def sandbox(
    channel: str, orders: int, data_dir: Path, snapshots: Path | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`orderhub sandbox CHANNEL` in its own process; stopped on exit."""
    port = free_port()
    log = data_dir / f"sandbox-{channel}-{port}.log"
    cmd = [str(BIN / "orderhub"), "sandbox", channel, "--port", str(port)]
    cmd += ["--orders", str(orders), "--seed", "1"]
    if snapshots is not None:
        cmd += ["--snapshots", str(snapshots)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=data_dir)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def first_answer(
    proc: subprocess.Popen[bytes], channel: str, base: str, size: int, timeout: float
) -> httpx.Client:
    """Poll the first list page until the sandbox answers it (200); its client."""
    deadline = time.monotonic() + timeout
    url = PAGERS[channel].url(0, size)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the {channel} sandbox exited ({proc.returncode})")
        try:
            client = client_for(channel, base)
            client.get(url).raise_for_status()
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        return client
    raise SystemExit(f"the {channel} sandbox did not answer within {timeout:.0f} s")


def page_through(
    client: httpx.Client, channel: str, size: int, duration: float
) -> tuple[int, int, float, list[float]]:
    """Page from the first page until the last or `duration` seconds: (pages, orders,
    seconds, each page's seconds)."""
    pager = PAGERS[channel]
    pages = orders = 0
    times: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < duration:
        before = time.perf_counter()
        answer = client.get(pager.url(pages, size))
        if channel == "cdon" and answer.status_code == 404:
            break
        answer.raise_for_status()
        body = orjson.loads(answer.content)
        found = len(pager.orders(body))
        times.append(time.perf_counter() - before)
        pages += 1
        orders += found
        if found < size or not pager.more(body, pages - 1, size):
            break
    return pages, orders, time.perf_counter() - started, times


def cpu_with_children(pid: int) -> float:
    """User + system CPU seconds of a running process and its children it has waited for (the
    worker processes that built a snapshot)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def measure_channel(
    channel: str, args: argparse.Namespace, data_dir: Path, console: Console
) -> list[Result]:
    """A cold then a warm start (only the warm one paged) where the channel keeps snapshots,
    else one start."""
    if channel not in SNAPSHOTS or args.no_snapshots:
        return [measure(channel, args, data_dir, console)]
    snapshots = data_dir / "sandbox-snapshots"
    for old in snapshots.glob(f"{channel}-1-{args.orders}-*"):
        shutil.rmtree(old)
    cold = measure(channel, args, data_dir, console, snapshots, "cold")
    return [cold, measure(channel, args, data_dir, console, snapshots, "warm")]


def measure(
    channel: str,
    args: argparse.Namespace,
    data_dir: Path,
    console: Console,
    snapshots: Path | None = None,
    kind: str = "",
) -> Result:
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with sandbox(channel, args.orders, data_dir, snapshots) as (proc, base):
        with console.status(f"{channel}: starting with {args.orders:,} orders {kind}"):
            client = first_answer(proc, channel, base, args.page_size, args.start_timeout)
        start_seconds = time.monotonic() - started
        rss, start_cpu = rss_mb(proc.pid), cpu_with_children(proc.pid)
        console.print(
            f"{channel}: answered its first list request after {start_seconds:.1f} s {kind}"
        )
        if kind == "cold":  # paged warm
            client.close()
            nothing = (args.page_size, 0, 0, 0.0, float("nan"), start_cpu, 0.0)
            load = (load_before, os.getloadavg()[0])
            return Result(channel, args.orders, start_seconds, rss, *nothing, *load, kind)
        try:
            with console.status(f"{channel}: paging"):
                pages, orders, seconds, times = page_through(
                    client, channel, args.page_size, args.duration
                )
            paging_cpu = cpu_of(proc.pid) - start_cpu
        finally:
            client.close()
    times.sort()
    return Result(
        channel,
        args.orders,
        start_seconds,
        rss,
        args.page_size,
        pages,
        orders,
        seconds,
        1000 * times[len(times) // 2] if times else float("nan"),
        start_cpu,
        paging_cpu,
        load_before,
        os.getloadavg()[0],
        kind,
    )


# --- report ---------------------------------------------------------------------------------


def report(console: Console, results: list[Result]) -> bool:
    table = Table(title="Channel sandboxes: start and bare paging (one connection, httpx)")
    columns = ("channel", "orders", "start", "start s", "start CPU s", "RSS MB", "page", "pages")
    for name in (*columns, "orders/s", "p50 ms/page", "orders/CPU s"):
        table.add_column(name, justify="left" if name == "channel" else "right")
    table.add_column("load", justify="right")
    for r in results:
        table.add_row(
            r.channel,
            f"{r.orders:,}",
            r.start_kind or "in process",
            f"{r.start_seconds:.1f}",
            f"{r.start_cpu_seconds:.1f}",
            f"{r.rss_mb_after_start:.0f}",
            str(r.page_size),
            f"{r.pages:,}",
            f"{r.rate:,.0f}",
            f"{r.ms_per_page_p50:.1f}",
            f"{r.cpu_rate:,.0f}",
            f"{r.load_before:.1f}-{r.load_after:.1f}",
        )
    console.print(table)
    console.print(
        "orders/CPU s: orders paged per second of the sandbox's own CPU time (what it serves "
        "with a core to itself); start CPU s likewise (with its worker processes). Start: cold "
        "builds the snapshot, warm opens it, in process generates without one. Wall figures "
        "drop with the load."
    )
    ok = True
    for r in results:
        checks = [] if r.start_kind == "cold" else [
            (f"{r.rate:,.0f} orders/s, target >= {TARGET_ORDERS_PER_SECOND:,}",
             r.rate >= TARGET_ORDERS_PER_SECOND)]  # fmt: skip
        if r.orders >= TARGET_AT:
            kind = f" ({r.start_kind})" if r.start_kind else ""
            start = f"start{kind} {r.start_seconds:.1f} s"
            checks.append((f"{start}, target < {TARGET_START_SECONDS:g} s",
                           r.start_seconds < TARGET_START_SECONDS))  # fmt: skip
        for text, passed in checks:
            ok = ok and passed
            console.print(f"  {'[green]ok  [/]' if passed else '[red]MISS[/]'} {r.channel}: {text}")
    if results and results[0].orders < TARGET_AT:
        console.print(f"(the start target is for {TARGET_AT:,} orders: not checked at fewer)")
    return ok


def run(args: argparse.Namespace, console: Console) -> bool:
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    results = [
        r for channel in args.channels for r in measure_channel(channel, args, data_dir, console)
    ]
    ok = report(console, results)
    document = {
        "results": [
            asdict(r) | {"orders_per_second": r.rate, "orders_per_cpu_second": r.cpu_rate}
            for r in results
        ]
    }
    (data_dir / "sandbox-results.json").write_text(json.dumps(document | {"targets_met": ok}))
    return ok


def parser(parent: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The options (added to `parent` when given: bench/sync.py's)."""
    p = parent or argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=TARGET_AT, help="orders in each sandbox")
    p.add_argument("--channels", type=lambda s: s.split(","), default=list(CHANNELS))
    p.add_argument("--page-size", type=int, default=100, help="orders a page (100)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of paging at most")
    p.add_argument("--start-timeout", type=float, default=3600.0)
    p.add_argument("--data-dir", default=str(ROOT / "bench" / ".data"))
    no_snapshots = "start every sandbox without --snapshots (generating in process)"
    p.add_argument("--no-snapshots", action="store_true", help=no_snapshots)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    unknown = set(args.channels) - set(CHANNELS)
    if unknown:
        raise SystemExit(
            f"--channels: unknown {', '.join(sorted(unknown))} ({', '.join(CHANNELS)})"
        )
    console = Console() if sys.stdout.isatty() else Console(width=150)
    return 0 if run(args, console) else 1


if __name__ == "__main__":
    sys.exit(main())
