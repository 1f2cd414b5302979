"""Caps and checks on raw request input, answered as RFC 9457 problems naming the input.

Two layers answer hostile input, with the same caps and the same problems:
- `InputGuard`, the app's outermost middleware, sees what the server passed on (any server,
  TestClient too): an over-long request target (414), too many or too large headers (431), too
  many query parameters, NUL or bytes that are not UTF-8 in the path, a query parameter's name or
  value, or a header (400), and a body over the cap (413).
- `ProblemHttpToolsProtocol`, the HTTP protocol `orderhub serve` gives uvicorn, answers what the
  server itself refuses before the app sees it (a target or headers over the caps, NUL in a
  header, a request that is not HTTP/1.1) with the same problems instead of uvicorn's plain text.
The caps are in docs/api.md ("Limits").
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from orderhub.api.asgi import HttpMiddleware
from orderhub.api.problems import PROBLEM_JSON, TYPE_BASE, orderhub_problem
from orderhub.domain import InvalidInput
from orderhub.domain.jsonfmt import dumps

MAX_TARGET_BYTES = 32_768  #: the request target as sent: path and query string
MAX_QUERY_PARAMETERS = 100
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32_768  #: names and values of every header together
MAX_BODY_BYTES = 1_048_576

LINGER_SECONDS = 2.0
DRAIN_BYTES = 4 * MAX_BODY_BYTES
_TEXT = "valid UTF-8 (percent-encoded in a URL) without NUL"


class UriTooLong(InvalidInput):
    status_code = HTTPStatus.REQUEST_URI_TOO_LONG
    title = "URI too long"


class HeadersTooLarge(InvalidInput):
    status_code = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
    title = "Request header fields too large"


class BodyTooLarge(InvalidInput):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    title = "Content too large"

    def __init__(self) -> None:
        super().__init__("body", f"a body of at most {MAX_BODY_BYTES} bytes")


def check_target(raw_path: bytes, query: bytes) -> None:
    """The request target: its length, its path, and every query parameter."""
    if len(raw_path) + len(query) + 1 > MAX_TARGET_BYTES:
        name = "path" if len(raw_path) > len(query) else _longest_parameter(query)
        raise UriTooLong(
            name, f"a request target (path and query) of at most {MAX_TARGET_BYTES} bytes"
        )
    if not _clean(unquote_to_bytes(raw_path)):
        raise InvalidInput("path", "a path of " + _TEXT)
    check_query(query)


def check_query(query: bytes) -> None:
    pairs = _pairs(query)
    if len(pairs) > MAX_QUERY_PARAMETERS:
        extra = _shown(pairs[MAX_QUERY_PARAMETERS][0])
        raise InvalidInput(extra, f"at most {MAX_QUERY_PARAMETERS} query parameters in all")
    for name, value in pairs:
        if not _clean(name):
            raise InvalidInput(_shown(name), "a parameter name of " + _TEXT)
        if not _clean(value):
            raise InvalidInput(_shown(name), "a value of " + _TEXT)


def one_value(request: Request, name: str, default: str | None = None) -> str | None:
    """A query parameter that may appear at most once (a second one is a 400 naming it)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidInput(name, "at most one value")
    return values[0] if values else default


def check_headers(headers: Iterable[tuple[bytes, bytes]]) -> None:
    size = 0
    for count, (name, value) in enumerate(headers, 1):
        size += len(name) + len(value)
        if count > MAX_HEADERS or size > MAX_HEADER_BYTES:
            expected = f"at most {MAX_HEADERS} headers of at most {MAX_HEADER_BYTES} bytes in all"
            raise HeadersTooLarge(_shown(name), expected)
        if not _clean(value):
            raise InvalidInput(_shown(name), "a header value of " + _TEXT)


def _pairs(query: bytes) -> list[tuple[bytes, bytes]]:
    """Query parameters as percent-decoded bytes (starlette would replace bad UTF-8 silently)."""
    pairs = []
    for item in query.split(b"&"):
        if item:
            name, _, value = item.replace(b"+", b" ").partition(b"=")
            pairs.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return pairs


def _clean(text: bytes) -> bool:
    if b"\x00" in text:
        return False
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _shown(name: bytes) -> str:
    """A parameter or header name as a problem names it (undecodable bytes replaced)."""
    text = name.decode("utf-8", "replace").replace("\x00", "\\u0000")
    return text if len(text) <= 64 else text[:64] + "..."


def _longest_parameter(query: bytes) -> str:
    longest = max(query.split(b"&"), key=len)
    return _shown(unquote_to_bytes(longest.partition(b"=")[0].replace(b"+", b" ")))


class InputGuard(HttpMiddleware):
    """Pure ASGI middleware: every http request's target, headers and body size are checked."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        try:
            check_target(raw_path, scope.get("query_string", b""))
            check_headers(scope.get("headers", ()))
            _check_length(scope)
        except InvalidInput as exc:
            await _drain(receive)
            await orderhub_problem(Request(scope), exc)(scope, receive, send)
            return
        await self.app(scope, _capped(receive), send)


async def _drain(receive: Receive) -> None:
    """Read (and drop) a refused request's body, up to a bound: a server that closes with the
    client's bytes unread resets the connection, and the client may lose the answer."""
    read = 0
    while read <= DRAIN_BYTES:
        message = await receive()
        read += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return


def _check_length(scope: Scope) -> None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and (not value.isdigit() or int(value) > MAX_BODY_BYTES):
            if value.isdigit():
                raise BodyTooLarge()
            raise InvalidInput("Content-Length", "a number of bytes", _shown(value))


def _capped(receive: Receive) -> Receive:
    """A receive that refuses a streamed (chunked) body once it passes the cap."""
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > MAX_BODY_BYTES:
            raise BodyTooLarge()
        return message

    return capped


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the caps above, answering a refusal with a problem."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refusal: InvalidInput | None = None
        self._headers_seen: list[tuple[bytes, bytes]] = []
        self._lingering: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        if self._lingering is None:
            super().data_received(data)
        # else: the answer is sent; the rest of the refused request is read and dropped

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lingering is not None:
            self._lingering.cancel()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._refusal = None
        self._headers_seen = []

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            path, _, query = bytes(self.url).partition(b"?")
            self._refuse(lambda: check_target(path, query))

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._headers_seen.append((name, value))
        self._refuse(lambda: check_headers(self._headers_seen))

    def _refuse(self, check: Any) -> None:
        try:
            check()
        except InvalidInput as exc:
            self._refusal = exc
            raise

    def send_400_response(self, msg: str) -> None:
        target = bytes(self.url)
        path = target.partition(b"?")[0][:200].decode("utf-8", "replace")
        exc = self._refusal or _malformed(target)
        body = problem_bytes(exc, path)
        head = [
            f"HTTP/1.1 {exc.status_code} {HTTPStatus(exc.status_code).phrase}\r\n".encode(),
            *(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers),
            f"content-type: {PROBLEM_JSON}\r\n".encode(),
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode(),
        ]
        self.transport.write(b"".join(head) + body)
        # Closing with the client's bytes unread would reset the connection, and the client
        # could lose the answer: stop writing, drop what still arrives, close a little later.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._lingering = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def _malformed(target: bytes) -> InvalidInput:
    """Why the server's parser refused the request, as near as the bytes tell: the parser
    reports the target only once it is whole, so a refused request without one broke in it."""
    if not target or any(byte < 0x21 or byte > 0x7E for byte in target):
        return InvalidInput("path", "a request target of printable ASCII (percent-encode the rest)")
    return InvalidInput("headers", "header names and values without NUL or control characters")


def problem_bytes(exc: InvalidInput, instance: str) -> bytes:
    """The problem JSON for a request the server refused before there was a request object."""
    return dumps(
        {
            "type": TYPE_BASE + type(exc).__name__.lower(),
            "title": exc.title,
            "status": exc.status_code,
            "detail": str(exc),
            "instance": instance,
            "errors": [{"parameter": exc.parameter, "expected": exc.expected}],
        }
    )


def server_options() -> dict[str, Any]:
    """uvicorn settings of `orderhub serve`: the protocol above (needs httptools, which
    uvicorn[standard] brings)."""
    return {"http": ProblemHttpToolsProtocol}
