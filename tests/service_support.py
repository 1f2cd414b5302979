"""Starting orderhub as an operator would (an installed wheel, a Procfile) and stopping it by
signal: the process's output collected as it comes, /readyz polled until it answers."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

import httpx

#: How long a start may take on a busy machine (installing nothing: the process is ready).
START_TIMEOUT = 180.0


class Service:
    """A process in its own session (so nothing it starts outlives it), its output kept."""

    def __init__(self, argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._chunks: list[bytes] = []
        #: Processes of the session still running when it had stopped (see stop).
        self.leftovers: list[int] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for chunk in iter(lambda: self.process.stdout.read1(65536), b""):  # type: ignore[union-attr]
            self._chunks.append(chunk)

    @property
    def output(self) -> str:
        return b"".join(self._chunks).decode(errors="replace")

    def wait_ready(self, base: str) -> httpx.Response:
        """Poll GET /readyz until it is 200; fail with the output if the process ends first."""
        deadline = time.monotonic() + START_TIMEOUT
        last: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"ended with {self.process.returncode}:\n{self.output}")
            try:
                answer = httpx.get(f"{base}/readyz", timeout=5)
                if answer.status_code == 200:
                    return answer
                last = answer.text
            except httpx.TransportError as exc:
                last = exc
            time.sleep(0.2)
        raise AssertionError(f"/readyz not 200 after {START_TIMEOUT} s ({last}):\n{self.output}")

    def stop(self, signum: signal.Signals, timeout: float = 60) -> int:
        """Send `signum` to the process and wait for it; whatever is left of its session after
        that (or after the timeout) is killed, and the failure shows its output."""
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=timeout)
            self.leftovers = in_group(self.process.pid)
            return code
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running {timeout} s after {signum.name}:\n{self.output}"
            ) from None
        finally:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self._reader.join(timeout=10)


def in_group(group: int) -> list[int]:
    """The processes of a process group (here: a session this test started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue  # ended meanwhile
            if int(fields[2]) == group and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without orderhub's settings, the virtualenv or Python path of the tests."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ORDERHUB_", "PYTHON", "VIRTUAL_ENV", "PYTEST", "COV_"))
    }
    return env | extra
