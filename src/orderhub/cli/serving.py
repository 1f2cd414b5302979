"""What `orderhub serve` and `orderhub run` share: the log options, the checks and migration
before serving, and the API server itself (uvicorn, one process or a supervisor of N)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from enum import StrEnum
from types import FrameType
from typing import Any

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from orderhub import __version__
from orderhub.api.limits import server_options
from orderhub.api.logs import LogOptions, configure_logging, log_startup
from orderhub.api.metrics import shared_between_workers
from orderhub.cli.common import engine_from_settings
from orderhub.cli.ports import PortUnavailable, check_port_free
from orderhub.settings import get_settings
from orderhub.store import refresh_statistics, upgrade

#: The app factory every server process calls (it reads the log options from the environment).
APP_FACTORY = "orderhub.api.app:create_served_app"
EXIT_FAILED = 1


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def log_level_option() -> Any:
    help_text = "The least severe level logged."
    return typer.Option(LogLevel.info, "--log-level", case_sensitive=False, help=help_text)


def access_log_option() -> Any:
    return typer.Option(True, "--access-log/--no-access-log", help="One line per request.")


def log_format_option() -> Any:
    help_text = "text, or json: one JSON object a line."
    return typer.Option(LogFormat.text, "--log-format", case_sensitive=False, help=help_text)


class StopSignals:
    """Notes SIGINT and SIGTERM instead of raising, so the command stops its parts in order;
    once a server runs, a signal stops it (even one that came while it was being started)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._stop: Callable[[], None] | None = None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._note)

    def stop_with(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        if self.received:
            stop()

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._stop is not None:
            self._stop()


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print one line `error: ...` on stderr; raise the returned `typer.Exit`."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def prepare(host: str, port: int, options: LogOptions) -> None:
    """Before anything starts: the port is free; then logging, and the database at head. The
    options go into the environment, which every server and worker process inherits."""
    try:
        check_port_free(host, port)
    except PortUnavailable as exc:
        raise fail(str(exc), exc.exit_code) from None
    configure_logging(options)
    os.environ.update(options.to_env())
    engine = engine_from_settings()
    upgrade(engine)
    refresh_statistics(engine)
    engine.dispose()


class ApiServer:
    """The API on host:port, served by one process or by uvicorn's supervisor of `workers`;
    the socket is bound when this is made. `stop()` may be called from any thread."""

    def __init__(self, host: str, port: int, workers: int) -> None:
        self.workers = workers
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        config = uvicorn.Config(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,  # configure_logging has set up every logger
            access_log=False,  # api/logs.py writes the access line, with key and request id
            **server_options(),
        )
        self._socket = config.bind_socket()
        self._server = uvicorn.Server(config)
        self._supervisor = Multiprocess(config, [self._socket]) if workers > 1 else None

    def run(self, also: str = "") -> bool:
        """Serve until stopped (SIGINT, SIGTERM or `stop`); whether the server had started."""
        log_startup(__version__, self.url, get_settings().database_url, self.workers, also)
        try:
            if self._supervisor is not None:
                with shared_between_workers(self.workers):  # /metrics adds up every worker
                    self._supervisor.run()
                return True
            self._server.run(sockets=[self._socket])
            return self._server.started
        finally:
            self._socket.close()

    def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.should_exit.set()
        else:
            self._server.should_exit = True
