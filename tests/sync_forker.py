"""Starts `orderhub sync` processes fast, for the chaos test: imports the CLI once, then forks a
child per request that runs the command from its start (settings, engine, migration check,
sync) exactly as the console script does. Interpreter start and imports take 1-3 s on the
shared 2-core machine; a fork takes milliseconds, so 50 SIGKILLed runs per channel fit in CI.

Protocol (one line each): stdin `run LOGFILE` -> stdout `started PID`, later `ended PID CODE`
(CODE as subprocess gives it: -9 for SIGKILL); stdin `kill PID` SIGKILLs that child if it has
not been reaped yet (so a pid that ended and was reused is never hit). Closing stdin ends the
forker. Nothing is set up before a fork but imports: no
thread, engine or connection is shared with a child.
"""

from __future__ import annotations

import os
import random
import select
import signal
import sys
from collections.abc import Iterator

from orderhub.cli import main


def run_child(fd: int) -> None:
    """In the child: the command, its output to the file `fd`; never returns."""
    code = 1
    try:
        random.seed()  # the parent's random state is not the child's (retry jitter)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.argv = ["orderhub", "sync"]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def report(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def reap(children: set[int]) -> None:
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.discard(pid)
            report(f"ended {pid} {os.waitstatus_to_exitcode(status)}")


def commands() -> Iterator[str | None]:
    """stdin's lines as they come, None when none came within 5 ms (time to reap).

    Read with `os.read`, not through `sys.stdin`: its buffer may hold a second line already
    read from the pipe, which `select` on the descriptor no longer shows (a `run` written right
    after a `kill` then waited forever)."""
    pending = b""
    while True:
        lines = pending.split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield line.decode()
        ready, _, _ = select.select([0], [], [], 0.005)
        if not ready:
            yield None
            continue
        chunk = os.read(0, 4096)
        if not chunk:
            return
        pending += chunk


def serve() -> None:
    children: set[int] = set()
    for line in commands():
        reap(children)
        if line is None:
            continue
        command, _, argument = line.strip().partition(" ")
        if command == "kill":
            if int(argument) in children:  # not reaped yet: still this forker's child
                os.kill(int(argument), signal.SIGKILL)
            continue
        if command != "run":
            report(f"error unknown command {command!r}")
            continue
        # Opened before the fork: a child killed at once still leaves its (empty) log.
        fd = os.open(argument, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        pid = os.fork()
        if pid == 0:
            run_child(fd)
        os.close(fd)
        children.add(pid)
        report(f"started {pid}")
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    serve()
