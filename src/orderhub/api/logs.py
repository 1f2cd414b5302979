"""The server's logs: one startup line, one access line per request, the request id on every
line of a request, as readable text or one JSON object a line (docs/operations.md, "Logs").

`orderhub serve` and `orderhub run` pass the options to every server process through the
environment (`LogOptions.to_env` / `from_env`): uvicorn's worker processes build the app from
`create_served_app`, which configures logging from there first.
"""

from __future__ import annotations

import logging
import os
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.engine import make_url
from starlette.types import ASGIApp, Receive, Scope, Send

from orderhub.api.asgi import HttpMiddleware, StatusNotingSend
from orderhub.api.request_id import current_request_id

LEVELS = ("critical", "error", "warning", "info", "debug")
FORMATS = ("text", "json")
ACCESS_LOGGER = "orderhub.access"
STARTUP_LOGGER = "orderhub.server"
#: The fields an access line carries besides the message (and `request_id`, on every line).
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "key_name")
_STARTUP_FIELDS = ("version", "url", "database", "workers")
_ENV_LEVEL, _ENV_FORMAT, _ENV_ACCESS = (
    "ORDERHUB_LOG_LEVEL",
    "ORDERHUB_LOG_FORMAT",
    "ORDERHUB_ACCESS_LOG",
)
_OURS = "_orderhub_handler"


@dataclass(frozen=True, slots=True)
class LogOptions:
    level: str = "info"
    format: str = "text"
    access_log: bool = True

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {self.level!r}")
        if self.format not in FORMATS:
            raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {self.format!r}")

    def to_env(self) -> dict[str, str]:
        """The environment that carries these options to the server's worker processes."""
        access = "1" if self.access_log else "0"
        return {_ENV_LEVEL: self.level, _ENV_FORMAT: self.format, _ENV_ACCESS: access}

    @classmethod
    def from_env(cls) -> LogOptions:
        return cls(
            level=os.environ.get(_ENV_LEVEL, "info").lower(),
            format=os.environ.get(_ENV_FORMAT, "text").lower(),
            access_log=os.environ.get(_ENV_ACCESS, "1") not in ("0", "false", "no", "off"),
        )


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request being served (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id and the line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in (*ACCESS_FIELDS, *_STARTUP_FIELDS):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """`time level logger message [request_id=...]`, with a traceback below when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name} {record.getMessage()}"
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line += f" request_id={request_id}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def configure_logging(options: LogOptions) -> None:
    """One handler on the root logger (stderr), in the chosen format, with the request id.

    uvicorn's and Alembic's loggers go through it too; their info lines are left to `debug`
    (the startup line says what they say). Access and startup lines do not depend on the
    level: `--access-log` switches the first, the second is always written."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    setattr(handler, _OURS, True)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if options.format == "json" else TextFormatter())
    root.addHandler(handler)
    level = logging.getLevelNamesMapping()[options.level.upper()]
    root.setLevel(level)
    # Lifecycle chatter (uvicorn's start and stop, Alembic's context on every /readyz) is
    # shown at debug only.
    chatty = level if level <= logging.DEBUG else max(level, logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi", "alembic"):
        library_logger = logging.getLogger(name)
        library_logger.handlers = []
        library_logger.propagate = True
        library_logger.setLevel(chatty)
    logging.getLogger("uvicorn.access").disabled = True  # replaced by AccessLog
    access = logging.getLogger(ACCESS_LOGGER)
    access.setLevel(logging.INFO)
    access.disabled = not options.access_log
    logging.getLogger(STARTUP_LOGGER).setLevel(logging.INFO)


def log_startup(version: str, url: str, database_url: str, workers: int, also: str = "") -> None:
    """The one line a server writes when it starts: version, URL, database, workers."""
    database = make_url(database_url).render_as_string(hide_password=True)
    plural = "es" if workers != 1 else ""
    message = f"orderhub {version} serving {url} with {workers} server process{plural}"
    message += f"{also}, database {database}"
    fields = {"version": version, "url": url, "database": database, "workers": workers}
    logging.getLogger(STARTUP_LOGGER).info(message, extra=fields)


@dataclass(slots=True)
class _Access:
    key_name: str | None = None


_ACCESS: ContextVar[_Access | None] = ContextVar("orderhub_access", default=None)


def note_key_name(name: str) -> None:
    """Record the name of the API key the request being served was admitted with."""
    access = _ACCESS.get()
    if access is not None:
        access.key_name = name


class AccessLog(HttpMiddleware):
    """Pure ASGI middleware, just inside `RequestId`: one line per http request when done."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        access = _Access()
        token = _ACCESS.set(access)
        started = time.perf_counter()
        answer = StatusNotingSend(send)
        try:
            await self.app(scope, receive, answer)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self._write(scope, answer.status, duration_ms, access.key_name)
            _ACCESS.reset(token)

    def _write(self, scope: Scope, status: int, duration_ms: float, key_name: str | None) -> None:
        if not self.log.isEnabledFor(logging.INFO):
            return
        method, path = scope["method"], scope["path"]
        fields = {
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "key_name": key_name,
        }
        message = f"{method} {path} {status} {duration_ms:.1f}ms key={key_name or '-'}"
        self.log.info(message, extra=fields)
