"""`orderhub run`: the whole installation in one command. Migrate the database to head, serve
the API (N server processes) and run one `orderhub worker` beside it as a child process;
Ctrl-C or SIGTERM stops the server, then the worker, and exits 0 (docs/operations.md)."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading

from orderhub.cli.serving import (
    ApiServer,
    ServerOptions,
    fail,
    server_command,
)

log = logging.getLogger("orderhub.run")
#: How long the worker may take to finish the row in hand after SIGTERM before it is killed.
WORKER_STOP_SECONDS = 30.0


@server_command
def run(options: ServerOptions) -> None:
    """Migrate the database, serve the API and run one worker beside it; Ctrl-C stops all."""
    ready = options.start()
    if ready is None:
        return  # stopped while migrating: nothing else has started
    signals, server = ready
    worker = _start_worker()
    watch = WorkerWatch(worker, server)
    watch.start()
    try:
        started = server.run(also=f" and 1 worker (pid {worker.pid})")
    finally:
        watch.stopping.set()
        _stop_worker(worker)
    if watch.failed is not None:
        raise fail(f"the worker stopped with exit code {watch.failed}; the server was stopped")
    if not started and not signals.received:
        raise fail("the server did not start (see the log above)")
    log.info("stopped")


def _start_worker() -> subprocess.Popen[bytes]:
    """`orderhub worker` as a child process, with this process's environment (database, config,
    log options). In its own session: a Ctrl-C at the terminal reaches this process only, which
    stops the server first and then the worker, with one SIGTERM."""
    return subprocess.Popen([sys.executable, "-m", "orderhub", "worker"], start_new_session=True)


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.error("the worker did not stop in %.0f s; killing it", WORKER_STOP_SECONDS)
            worker.kill()
            worker.wait()


class WorkerWatch(threading.Thread):
    """When the worker ends while the server runs, the server stops too: with exit code 0 the
    worker was asked to stop (SIGTERM sent to it alone), any other end is a failure."""

    def __init__(self, worker: subprocess.Popen[bytes], server: ApiServer) -> None:
        super().__init__(name="worker-watch", daemon=True)
        self.worker = worker
        self.server = server
        self.stopping = threading.Event()
        self.failed: int | None = None

    def run(self) -> None:
        code = self.worker.wait()
        if self.stopping.is_set():
            return
        if code != 0:
            self.failed = code
            log.error("the worker stopped with exit code %s; stopping the server", code)
        self.server.stop()
