"""What `orderhub serve` and `orderhub run` share: the log options, the checks and migration
before serving, and the API server itself (uvicorn, one process or a supervisor of N)."""

from __future__ import annotations

import inspect
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
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
from orderhub.services.secrets import check_key
from orderhub.settings import get_settings
from orderhub.store import refresh_statistics, upgrade

#: The app factory every server process calls (it reads the log options from the environment).
APP_FACTORY = "orderhub.web.app:create_served_app"
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


def _server_parameters() -> list[inspect.Parameter]:
    """--host, --port, --workers and the log options, as `serve` and `run` take them."""
    workers_help = "Server processes sharing the port (uvicorn workers)."
    options = [
        ("host", str, typer.Option("127.0.0.1", "--host", help="Interface to listen on.")),
        ("port", int, typer.Option(8000, "--port", min=1, max=65535, help="TCP port.")),
        ("workers", int, typer.Option(1, "--workers", min=1, max=64, help=workers_help)),
        ("log_level", LogLevel, log_level_option()),
        ("access_log", bool, access_log_option()),
        ("log_format", LogFormat, log_format_option()),
    ]
    keyword = inspect.Parameter.KEYWORD_ONLY
    return [inspect.Parameter(name, keyword, default=o, annotation=t) for name, t, o in options]


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """What `serve` and `run` are given on the command line."""

    host: str
    port: int
    workers: int
    log_level: LogLevel
    access_log: bool
    log_format: LogFormat

    def start(self) -> tuple[StopSignals, ApiServer] | None:
        """Check the port, set up logging and migrate (`prepare`), then the server, ready to
        run and stopped by SIGINT or SIGTERM; None when a signal came while migrating."""
        signals = StopSignals()
        logs = LogOptions(self.log_level.value, self.log_format.value, self.access_log)
        prepare(self.host, self.port, logs)
        if signals.received:
            return None
        server = ApiServer(self.host, self.port, self.workers)
        signals.stop_with(server.stop)
        return signals, server


def server_command(func: Callable[[ServerOptions], None]) -> Callable[..., None]:
    """A command taking the server's options (--host, --port, --workers, the log options) as
    one `ServerOptions`; its help is `func`'s docstring."""

    def command(**options: Any) -> None:
        func(ServerOptions(**options))

    command.__signature__ = inspect.Signature(_server_parameters(), return_annotation=None)  # type: ignore[attr-defined]
    command.__doc__ = func.__doc__
    command.__name__ = command.__qualname__ = func.__name__
    return command


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
    check_key(engine)  # before the migration, which seals the secrets it finds
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
