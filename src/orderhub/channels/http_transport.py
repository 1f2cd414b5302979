"""A lean httpx transport: HTTP/1.1 keep-alive over the standard library's `http.client`.

httpx's own transport (httpcore and h11) costs about 1 ms of CPU per request on the 2-core
benchmark machine, this one about half that; a MALL sync sends some 200 requests per 1,000
orders (a detail call per blocked order, a PUT per confirmation), so that is a tenth of its
CPU (docs/performance.md "Sync"). httpx stays the client: base URL, parameters, headers, JSON
bodies, decompression and the errors `channels/http.py` turns into Retriable are its own; this
only moves the bytes (`channels/http_lean.py` writes a channel client's plain requests to it
directly, as httpx would, past httpx.Client's request and response objects). Its failures are
httpx's (`ConnectError`, `ReadTimeout`, `ReadError` ...), so nothing above it changes.

Idle connections are kept per origin and checked before reuse (a server closes an idle
connection after its keep-alive timeout): one whose socket is readable (closed, or holding
bytes nobody asked for) is dropped. A request that finds a reused connection closed under it
before any answer is sent once more on a new connection, as httpcore does.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import NoReturn

import httpx

#: Bytes read from the socket at a time while a body streams in.
CHUNK = 64 * 1024
#: Idle connections kept per origin.
KEEP = 4
#: Environment variables that make httpx send through a proxy (its own transport then).
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
#: A reused connection the server closed meanwhile fails with these before any answer.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)

Origin = tuple[str, str, int]


def lean_transport(timeout: float) -> httpx.BaseTransport | None:
    """This transport, unless the environment names a proxy (httpx's transport reads it)."""
    if any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES):
        return None
    return KeepAliveTransport(timeout)


class KeepAliveTransport(httpx.BaseTransport):
    """HTTP/1.1 over `http.client` connections, kept alive per origin; thread-safe."""

    def __init__(self, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        origin = origin_of(request.url)
        body = request.read() or None
        headers = list(request.headers.multi_items())
        target = request.url.raw_path.decode("ascii")
        answer, stream = self.exchange(origin, request.method, target, body, headers, request)
        return as_response(answer, stream, request)

    def exchange(
        self,
        origin: Origin,
        method: str,
        target: str,
        body: bytes | None,
        headers: list[tuple[str, str]],
        request: httpx.Request | None,
    ) -> tuple[http.client.HTTPResponse, Body]:
        """Send one request as it is; the answer's head and its body still to read. Failures
        are httpx's errors (naming `request` when there is one)."""
        conn, reused = self._take(origin)
        try:
            try:
                answer = _exchange(conn, method, target, body, headers)
            except _STALE:
                if not reused:
                    raise
                conn.close()
                conn, reused = self._open(origin), False
                answer = _exchange(conn, method, target, body, headers)
        except BaseException as exc:
            conn.close()
            _reraise(exc, request)
        return answer, Body(self, origin, conn, answer, request)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def _take(self, origin: Origin) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection still open (True), else a new one (False)."""
        while True:
            with self._lock:
                conns = self._idle.get(origin)
                conn = conns.pop() if conns else None
            if conn is None:
                return self._open(origin), False
            if _still_open(conn):
                return conn, True
            conn.close()

    def _open(self, origin: Origin) -> http.client.HTTPConnection:
        scheme, host, port = origin
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = _default_ssl_context()
            return http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self._ssl_context
            )
        if scheme != "http":
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def _give_back(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            conns = self._idle.setdefault(origin, [])
            if len(conns) < KEEP:
                conns.append(conn)
                return
        conn.close()


class Body(httpx.SyncByteStream):
    """An answer's body as it streams in; the connection goes back once it is read whole."""

    def __init__(
        self,
        transport: KeepAliveTransport,
        origin: Origin,
        conn: http.client.HTTPConnection,
        answer: http.client.HTTPResponse,
        request: httpx.Request | None,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._conn: http.client.HTTPConnection | None = conn
        self._answer = answer
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self._answer.read(CHUNK):
                yield chunk
            if self._answer.length:
                # read(amt) ends quietly at a closed socket; the bytes promised are missing.
                raise http.client.IncompleteRead(b"", self._answer.length)
        except BaseException as exc:
            self._drop()
            _reraise(exc, self._request)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._answer.isclosed() and not self._answer.will_close:
            self._transport._give_back(self._origin, conn)  # read whole: reusable
        else:
            conn.close()  # left unread or closing: its bytes would confuse the next answer

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def origin_of(url: httpx.URL) -> Origin:
    return (url.scheme, url.host, url.port or _port(url))


def as_response(
    answer: http.client.HTTPResponse, stream: Body, request: httpx.Request
) -> httpx.Response:
    """The answer as httpx's response to `request`, its body streaming from `stream`."""
    return httpx.Response(
        answer.status,
        headers=answer.getheaders(),
        stream=stream,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode()},
        request=request,
    )


def _exchange(
    conn: http.client.HTTPConnection,
    method: str,
    target: str,
    body: bytes | None,
    headers: list[tuple[str, str]],
) -> http.client.HTTPResponse:
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders(body)
    return conn.getresponse()


def _still_open(conn: http.client.HTTPConnection) -> bool:
    """An idle connection's socket has nothing to read: the server has not closed it."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _reraise(exc: BaseException, request: httpx.Request | None) -> NoReturn:
    """Raise the httpx error a failure of the exchange is; anything else as it is."""
    mapped = _as_httpx(exc, request)
    if mapped is exc:
        raise exc
    raise mapped from exc


def _as_httpx(exc: BaseException, request: httpx.Request | None) -> BaseException:
    if isinstance(exc, socket.timeout | TimeoutError):
        return httpx.ReadTimeout(f"timed out ({exc})", request=request)
    if isinstance(exc, ConnectionRefusedError | socket.gaierror):
        return httpx.ConnectError(str(exc) or type(exc).__name__, request=request)
    if isinstance(exc, http.client.HTTPException):
        return httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}", request=request)
    if isinstance(exc, OSError):
        return httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request)
    return exc


def _port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _default_ssl_context() -> ssl.SSLContext:
    """Certificates as httpx checks them: certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR."""
    import certifi

    cafile = os.environ.get("SSL_CERT_FILE")
    capath = os.environ.get("SSL_CERT_DIR")
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    return ssl.create_default_context(cafile=certifi.where())
