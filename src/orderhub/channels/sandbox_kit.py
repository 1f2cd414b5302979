"""What every channel sandbox shares: fault injection, traffic records and the app class here;
a daily quota, batched webhooks, a never-repeating clock and a background ticker from
`sandbox_pacing` (re-exported, so a sandbox imports one kit).

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
#: The fault kinds, in the order one random draw is matched against their rates.
FAULT_KINDS = ("429", "500", "timeout", "truncate", "reset")
#: Builds a channel's error body for an HTTP status and a message.
ErrorBody = Callable[[int, str], bytes]


# --- fault specification --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Per-request fault rates, e.g. parsed from `429=0.2,500=0.05,timeout=0.01,seed=7`.

    `retry_after` is the Retry-After (seconds) of an injected 429; `delay` how long a
    `timeout` fault holds the request before answering.
    """

    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    retry_after: int = 1
    delay: float = 5.0

    @property
    def active(self) -> bool:
        return any(rate > 0 for rate in self.rates.values())

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Parse `kind=rate,...,seed=S[,retry_after=SECONDS][,delay=SECONDS]`; ValueError if bad."""
        if text is None or text.strip() == "":
            return cls()
        rates: dict[str, float] = {}
        options: dict[str, Any] = {}
        for item in text.split(","):
            key, sep, raw = (part.strip() for part in item.partition("="))
            if not sep:
                raise ValueError(f"fault spec: expected key=value, got {item.strip()!r}")
            if key in FAULT_KINDS:
                rates[key] = _rate(key, raw)
            elif key in ("seed", "retry_after"):
                options[key] = _number(key, raw, int)
            elif key == "delay":
                options[key] = _number(key, raw, float)
            else:
                known = ", ".join((*FAULT_KINDS, "seed", "retry_after", "delay"))
                raise ValueError(f"fault spec: unknown key {key!r} (known: {known})")
        if sum(rates.values()) > 1:
            raise ValueError("fault spec: the rates add up to more than 1")
        return cls(rates, **options)

    def pick(self, draw: float) -> str | None:
        """The fault kind a uniform draw in [0, 1) falls on, or None for no fault."""
        bound = 0.0
        for kind in FAULT_KINDS:
            bound += self.rates.get(kind, 0.0)
            if draw < bound:
                return kind
        return None


def _rate(key: str, raw: str) -> float:
    rate = _number(key, raw, float)
    if not 0 <= rate <= 1:
        raise ValueError(f"fault spec: {key} must be a rate from 0 to 1, got {raw!r}")
    return rate


def _number(key: str, raw: str, kind: type[int] | type[float]) -> Any:
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"fault spec: {key} expects a number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"fault spec: {key} must not be negative, got {raw!r}")
    return value


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
    """ASGI middleware that records each API request and, at the spec's rates, answers it with
    a fault: 429 (+ Retry-After), 500, a late answer, a truncated body, or a dropped connection.

    The draws come from one seeded stream in arrival order, so a sequential client sees the same
    faults on every run. Truncate and reset need uvicorn (they close its transport).
    """

    def __init__(self, app: ASGIApp, spec: FaultSpec, traffic: Traffic, error: ErrorBody) -> None:
        self.app = app
        self.spec = spec
        self.traffic = traffic
        self.error = error
        self._random = random.Random(spec.seed)
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        with self._lock:
            kind = self.spec.pick(self._random.random()) if self.spec.active else None
        retry_after = self.spec.retry_after if kind == "429" else None
        self.traffic.record(scope, kind, retry_after)
        if kind is None:
            await self.app(scope, receive, send)
        elif kind == "429":
            headers = [(b"retry-after", str(self.spec.retry_after).encode())]
            await respond(send, 429, self.error(429, "Too many requests (injected)"), headers)
        elif kind == "500":
            await respond(send, 500, self.error(500, "Internal server error (injected)"))
        elif kind == "timeout":
            await asyncio.sleep(self.spec.delay)
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
    "QuotaState",
    "RequestRecord",
    "SandboxApp",
    "StrictClock",
    "Ticker",
    "Traffic",
    "WebhookBatcher",
    "WebhookDelivery",
    "drop_connection",
    "post_json",
    "respond",
    "with_headers",
]
