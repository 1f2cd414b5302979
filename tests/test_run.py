"""`orderhub run` as an operator runs it: a real process in a fresh directory, stopped by a
signal; and a busy port refused before anything is created."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from helpers import free_port
from process_support import ORDERHUB, children, cmdline, kill, wait

RUN_STOP_SECONDS = 60


def _env() -> dict[str, str]:
    """The caller's environment without any database or config of its own: the defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
    return env | {"PYTHONUNBUFFERED": "1"}


class Started:
    def __init__(self, directory: Path, *args: str) -> None:
        self.output = directory / "output.log"
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                [ORDERHUB, *args], cwd=directory, env=_env(), stdout=out, stderr=subprocess.STDOUT
            )

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def answers(self, url: str) -> bool:
        assert self.process.poll() is None, self.log()
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False


@pytest.fixture
def start_run(tmp_path: Path) -> Iterator[Callable[..., tuple[Started, str]]]:
    """Starts `orderhub run` in the fresh `tmp_path` with these options; kills what is left."""
    runs: list[Started] = []

    def start(*options: str) -> tuple[Started, str]:
        port = free_port()
        runs.append(Started(tmp_path, "run", "--port", str(port), *options))
        return runs[-1], f"http://127.0.0.1:{port}"

    yield start
    for started in runs:
        leftovers = children(started.process.pid)
        started.process.kill()
        started.process.wait()
        for pid in leftovers:
            kill(pid)


def _worker_children(parent: int) -> list[int]:
    return [pid for pid in children(parent) if "orderhub\x00worker" in cmdline(pid)]


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.mark.parametrize(
    ("stop_with", "servers"),
    [(signal.SIGTERM, 1), (signal.SIGINT, 1), (signal.SIGTERM, 2)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-2-servers"],
)
def test_run_migrates_serves_runs_a_worker_and_stops_on_a_signal(
    start_run: Callable[..., tuple[Started, str]],
    tmp_path: Path,
    stop_with: signal.Signals,
    servers: int,
) -> None:
    started, base = start_run("--workers", str(servers))
    assert not (tmp_path / "orderhub.db").exists()

    wait(lambda: started.answers(f"{base}/readyz"), "/readyz to answer 200")
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["status"] == "ready"
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert (tmp_path / "orderhub.db").exists()
    workers = _worker_children(started.process.pid)
    assert len(workers) == 1, [cmdline(pid) for pid in children(started.process.pid)]
    wait(lambda: "running;" in started.log(), "the worker to run")
    everything = _descendants(started.process.pid)
    assert len(everything) >= 1 + (servers if servers > 1 else 0), everything

    started.process.send_signal(stop_with)
    assert started.process.wait(timeout=RUN_STOP_SECONDS) == 0, started.log()
    # multiprocessing's resource tracker ends when it reads EOF, just after its last writer.
    with contextlib.suppress(AssertionError):
        wait(lambda: all(_gone(pid) for pid in everything), "every process to end", timeout=10)
    left = {pid: cmdline(pid) for pid in everything if not _gone(pid)}
    assert left == {}, "outlived `orderhub run`"
    log = started.log()
    assert "Traceback" not in log, log
    assert log.count("orderhub.server") == 1, log  # the one startup line
    assert log.rstrip().splitlines()[-1].endswith("stopped"), log


def _descendants(parent: int) -> list[int]:
    found = children(parent)
    return found + [pid for child in found for pid in _descendants(child)]


def test_run_stops_with_an_error_when_its_worker_dies(
    start_run: Callable[..., tuple[Started, str]],
) -> None:
    started, base = start_run()
    wait(lambda: started.answers(f"{base}/healthz"), "/healthz to answer 200")
    [worker] = _worker_children(started.process.pid)
    os.kill(worker, signal.SIGKILL)
    assert started.process.wait(timeout=RUN_STOP_SECONDS) == 1, started.log()
    assert "error: the worker stopped with exit code -9" in started.log()


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_busy_port_is_refused_before_anything_is_created(tmp_path: Path, command: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [ORDERHUB, command, "--port", str(port)],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 3, result
    assert result.stdout == ""
    assert result.stderr == f"error: port {port} on 127.0.0.1 is already in use\n"
    assert list(tmp_path.iterdir()) == []  # no orderhub.db, nothing else
