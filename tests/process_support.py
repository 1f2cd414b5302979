"""Real processes for the concurrency tests: `orderhub` commands started from the project's
own console script, each logging to its own file, found and killed by process id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from helpers import free_port
from orderhub.store.sync import sync_runs

ORDERHUB = str(Path(sys.executable).with_name("orderhub"))
CHANNEL = "mall-cz"
TICK = 0.05


@dataclass
class Fleet:
    """Every process this test starts, each logging to its own file."""

    env: dict[str, str]
    logs: Path
    started: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    closed: bool = False
    #: The sync loop starts processes from its own thread.
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with self.lock, open(self.logs / f"{name}.log", "wb") as log:
            assert not self.closed, f"{name} started after the end"
            process = subprocess.Popen(
                [ORDERHUB, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
            self.started[name] = process
        return process

    def run(self, name: str, *args: str) -> int:
        return self.start(name, *args).wait(timeout=180)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM (uvicorn's parent stops its workers), then SIGKILL what is left."""
        if process.poll() is None:
            process.terminate()
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
        for pid in children(process.pid):
            kill(pid)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def stop_all(self) -> None:
        with self.lock:
            self.closed = True
            started = dict(self.started)
        # Shown with a failure: which processes had ended, and how (-9: SIGKILL).
        print({name: process.poll() for name, process in started.items()})
        for process in started.values():
            self.stop(process)

    def assert_logs_clean(self) -> None:
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace")
            assert "Traceback" not in text, f"{path.name}:\n{text[-3000:]}"
            assert "database is locked" not in text, f"{path.name}:\n{text[-3000:]}"


@contextmanager
def fleet_of(database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    logs = tmp_path / "logs"
    logs.mkdir()
    env = os.environ | {
        "ORDERHUB_DATABASE_URL": database_url,
        "ORDERHUB_CONFIG_FILE": str(tmp_path / "orderhub.toml"),
        "MALL_CZ_CLIENT_ID": "sandbox",
        "PYTHONUNBUFFERED": "1",
    }
    fleet = Fleet(env, logs)
    try:
        yield fleet
    finally:
        fleet.stop_all()


def start_sandbox(fleet: Fleet) -> None:
    """A MALL sandbox process whose orders live (a step a second), and the account for it."""
    port = free_port()
    Path(fleet.env["ORDERHUB_CONFIG_FILE"]).write_text(
        "[[channels]]\n"
        f'name = "{CHANNEL}"\ntype = "mall"\nbase_url = "http://127.0.0.1:{port}/v1"\n'
        'client_id_env = "MALL_CZ_CLIENT_ID"\npage_size = 50\ntimeout = 10\n'
    )
    process = fleet.start(
        "sandbox", "sandbox", "mall", "--port", str(port), "--orders", "200", "--seed", "10",
        "--life-interval", "1",
    )  # fmt: skip
    wait_http(process, f"http://127.0.0.1:{port}/_sandbox/stats", fleet, "sandbox")


def start_server(fleet: Fleet, workers: int = 2) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = fleet.start("serve", "serve", "--port", str(port), "--workers", str(workers))
    base_url = f"http://127.0.0.1:{port}"
    # Each worker imports the app on its own: on a loaded 2-core machine 4 take a while.
    wait_http(process, f"{base_url}/healthz", fleet, "serve", timeout=45.0 * workers)
    wait(lambda: len(server_workers(process.pid)) == workers, f"{workers} server worker processes")
    return process, base_url


def wait_running(fleet: Fleet, name: str, process: subprocess.Popen[bytes]) -> None:
    wait(lambda: "running" in fleet.log(name) or process.poll() is not None, f"{name} to run")
    assert process.poll() is None, fleet.log(name)


def wait_http(
    process: subprocess.Popen[bytes], url: str, fleet: Fleet, name: str, timeout: float = 90.0
) -> None:
    def up() -> bool:
        assert process.poll() is None, fleet.log(name)
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait(up, f"{name} to answer", timeout)


class SyncLoop(threading.Thread):
    """`orderhub sync` runs back to back until `kill_mid_run`; the exit code of each run."""

    def __init__(self, fleet: Fleet) -> None:
        super().__init__(daemon=True)
        self.fleet = fleet
        self.codes: list[int] = []
        self.current: subprocess.Popen[bytes] | None = None
        self.killed: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        runs = 0
        while not self.stopping.is_set():
            runs += 1
            try:
                process = self.fleet.start(f"sync-{runs}", "sync")
            except AssertionError:  # the test ended (failed) while this loop ran
                return
            self.current = process
            code = process.wait()
            if process is not self.killed:
                self.codes.append(code)

    def finished_ok(self) -> int:
        return self.codes.count(0)

    def kill_mid_run(self, engine: Engine) -> None:
        """SIGKILL the sync process while its run is under way in the database; no more runs."""

        def under_way() -> bool:
            process = self.current
            return process is not None and process.poll() is None and sync_running(engine)

        while True:
            wait(under_way, "a sync run under way")
            self.killed = self.current
            assert self.killed is not None
            self.killed.kill()
            if self.killed.wait(timeout=30) == -signal.SIGKILL:
                break  # else it finished just before: kill the next one
        self.stopping.set()
        self.join(timeout=60)


def sync_running(engine: Engine) -> bool:
    with engine.connect() as conn:
        query = select(func.count()).where(sync_runs.c.status == "running")
        return bool(conn.execute(query.select_from(sync_runs)).scalar_one())


def server_workers(parent: int) -> list[int]:
    """The uvicorn worker processes of `orderhub serve` (not multiprocessing's tracker)."""
    return [pid for pid in children(parent) if "resource_tracker" not in cmdline(pid)]


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def kill(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def wait(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(TICK)
