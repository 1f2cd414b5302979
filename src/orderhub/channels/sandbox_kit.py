"""What every channel sandbox shares: fault injection, traffic records and the app class here;
the fault spec and the faults in force from `sandbox_faults`; a daily quota, batched webhooks,
a never-repeating clock and a background ticker from `sandbox_pacing` (all re-exported, so a
sandbox imports one kit). The control endpoint is `sandbox_control`, scenarios `sandbox_script`.

Channel-neutral: a sandbox passes its own error body (each channel has its own error shape).
Control paths (`/_sandbox/...`) are never faulted, counted or throttled.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.channels.sandbox_faults import FAULT_KINDS, FaultSpec, LiveFaults
from orderhub.channels.sandbox_pacing import (
    DailyQuota,
    QuotaState,
    StrictClock,
    Ticker,
    WebhookBatcher,
    WebhookDelivery,
    post_json,
)

CONTROL_PREFIX = "/_sandbox/"
#: Builds a channel's error body for an HTTP status and a message.
ErrorBody = Callable[[int, str], bytes]
#: One move of order life on one order, picked with the random stream given: the ids of the
#: orders it created or changed ([] when no order is in a state the move applies to).
LifeAction = Callable[[random.Random], list[int]]
#: What an injected status answers: its message, and whether it carries Retry-After.
_STATUS_FAULTS = {
    "429": ("Too many requests (injected)", True),
    "500": ("Internal server error (injected)", False),
    "502": ("Bad gateway (injected)", False),
    "503": ("Service unavailable (injected)", True),
    "504": ("Gateway timeout (injected)", False),
}


# --- traffic records ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestRecord:
    method: str
    path: str
    at: datetime
    #: time.monotonic() when the request arrived: compare records without wall-clock jumps.
    monotonic: float
    fault: str | None = None
    retry_after: int | None = None


class Traffic:
    """Every API request a sandbox saw (control paths excluded) and the faults it injected."""

    def __init__(self, keep: int = 100_000) -> None:
        self.request_count = 0
        self.requests_by_path: Counter[str] = Counter()
        self.requests: deque[RequestRecord] = deque(maxlen=keep)
        self.fault_log: list[RequestRecord] = []
        self._lock = threading.Lock()

    def record(self, scope: Scope, fault: str | None, retry_after: int | None = None) -> None:
        record = RequestRecord(
            scope["method"], scope["path"], datetime.now(UTC), time.monotonic(), fault, retry_after
        )
        with self._lock:
            self.request_count += 1
            self.requests_by_path[f"{record.method} {record.path}"] += 1
            self.requests.append(record)
            if fault is not None:
                self.fault_log.append(record)

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {
                "request_count": self.request_count,
                "requests_by_path": dict(self.requests_by_path),
                "faults": Counter(r.fault for r in self.fault_log),
                "fault_log": [_record_json(r) for r in self.fault_log[-1000:]],
            }


def _record_json(record: RequestRecord) -> dict[str, Any]:
    return {
        "kind": record.fault,
        "method": record.method,
        "path": record.path,
        "at": record.at.isoformat(),
        "retry_after": record.retry_after,
    }


# --- the fault injector ---------------------------------------------------------------------


class FaultInjector:
    """ASGI middleware that records each API request and, at the rates of the faults in force,
    answers it with a fault: 429 or 503 (+ Retry-After), 500/502/504, a late answer, a
    truncated body, or a dropped connection.

    `faults` is the sandbox's `LiveFaults` (changed while it runs by the control endpoint and
    scenarios) or a fixed spec. Truncate and reset need uvicorn (they close its transport).
    """

    def __init__(
        self, app: ASGIApp, faults: LiveFaults | FaultSpec, traffic: Traffic, error: ErrorBody
    ) -> None:
        self.app = app
        self.faults = faults if isinstance(faults, LiveFaults) else LiveFaults(faults)
        self.traffic = traffic
        self.error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        kind, spec = self.faults.draw()
        status = _STATUS_FAULTS.get(kind or "")
        retry_after = spec.retry_after if status is not None and status[1] else None
        self.traffic.record(scope, kind, retry_after)
        if kind is None:
            await self.app(scope, receive, send)
        elif status is not None:
            message, _ = status
            headers = [] if retry_after is None else [(b"retry-after", str(retry_after).encode())]
            await respond(send, int(kind), self.error(int(kind), message), headers)
        elif kind == "timeout":
            await asyncio.sleep(spec.delay)
            await self.app(scope, receive, send)
        elif kind == "truncate":
            await self._truncated(scope, receive, send)
        else:
            await drop_connection(send, receive, reset=True)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The real answer with its full Content-Length, but only half of the body, then FIN."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        start = next(m for m in messages if m["type"] == "http.response.start")
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        await drop_connection(send, receive, reset=False)


def named_moves(
    arrive: Callable[[], int], move: Callable[..., list[int]], moves: dict[str, tuple[Any, ...]]
) -> dict[str, LifeAction]:
    """A life's actions by name: `create_orders` (one arrival) and each of `moves`, a name with
    the arguments of `move(rng, *arguments)`, the life's own move of one order."""

    def bound(arguments: tuple[Any, ...]) -> LifeAction:
        return lambda rng: move(rng, *arguments)

    return {"create_orders": lambda rng: [arrive()]} | {
        name: bound(arguments) for name, arguments in moves.items()
    }


async def respond(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send a complete JSON answer."""
    head = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def drop_connection(send: Send, receive: Receive, *, reset: bool) -> None:
    """Close the client's connection mid-exchange: reset (RST, nothing sent) or a plain close."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("sandbox fault: the server does not expose its transport")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: close() sends an RST instead of a FIN, as a crashed peer would.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    # Wait until the server has seen the disconnect, so it does not try to answer itself.
    for _ in range(100):
        try:
            message = await asyncio.wait_for(receive(), timeout=1.0)
        except TimeoutError:
            return
        if message["type"] == "http.disconnect":
            return


def with_headers(send: Send, headers: Sequence[tuple[bytes, bytes]]) -> Send:
    """A send that adds headers to the response start."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *headers]}
        await send(message)

    return wrapped


class SandboxApp(Starlette):
    """A Starlette app whose outermost layer is the fault injector (outside even the error
    middleware, so that a dropped connection reaches the server untouched)."""

    def __init__(self, *, outer: Callable[[ASGIApp], ASGIApp], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._outer = outer

    def build_middleware_stack(self) -> ASGIApp:
        return self._outer(super().build_middleware_stack())


__all__ = [
    "CONTROL_PREFIX",
    "FAULT_KINDS",
    "DailyQuota",
    "ErrorBody",
    "FaultInjector",
    "FaultSpec",
    "LifeAction",
    "LiveFaults",
    "QuotaState",
    "RequestRecord",
    "SandboxApp",
    "StrictClock",
    "Ticker",
    "Traffic",
    "WebhookBatcher",
    "WebhookDelivery",
    "drop_connection",
    "named_moves",
    "post_json",
    "respond",
    "with_headers",
]
