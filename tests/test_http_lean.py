"""channels/http_lean.py: a request sent past httpx.Client is the same bytes on the wire, and
its answer the same value or error, as httpx.Client's (the oracle: the same `ChannelHttp`
with its lean path off), against a raw socket server that records what it receives."""

from __future__ import annotations

import gzip
import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.channels.http import ChannelHttp
from socket_support import accepting

Answer = Callable[[bytes], bytes]


def _ok(body: bytes = b'{"data": {"id": 1}}', extra: str = "") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _read_request(conn: socket.socket, pending: bytes) -> tuple[bytes, bytes] | None:
    """One whole request (head and body) and the bytes after it; None once closed."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += conn.recv(65536)
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


@contextmanager
def recorder(answer: Answer) -> Iterator[tuple[str, list[bytes]]]:
    """A keep-alive server answering each request with `answer(request)`; yields its URL and
    the requests it received, byte for byte."""
    seen: list[bytes] = []

    def serve(conn: socket.socket, _number: int) -> None:
        pending = b""
        with conn:
            while (got := _read_request(conn, pending)) is not None:
                request, pending = got
                seen.append(request)
                conn.sendall(answer(request))

    with accepting(serve) as port:
        yield f"http://127.0.0.1:{port}/v1", seen


def _pair(base: str, **options: Any) -> tuple[ChannelHttp, ChannelHttp]:
    """The same client twice: the lean path on, and off (httpx.Client sends everything)."""
    settings_ = {
        "params": {"client_id": "sandbox ü&/=", "lang": "cs"},
        "headers": {"X-Application-Name": "orderhub"},
        "max_attempts": 1,
        "sleep": lambda _: None,
    } | options
    lean, plain = ChannelHttp(base, **settings_), ChannelHttp(base, **settings_)
    assert lean.lean is not None
    plain.lean = None
    return lean, plain


def _outcome(http: ChannelHttp, method: str, path: str, **kwargs: Any) -> tuple[str, Any]:
    try:
        return "value", http.request(method, path, **kwargs)
    except Exception as exc:  # the error, as a caller sees it
        return type(exc).__name__, str(exc)


def _both(
    answer: Answer, calls: list[tuple[str, str, dict[str, Any]]], **options: Any
) -> tuple[list[Any], list[Any]]:
    """Each call by both clients in turn (one server): (outcomes, requests received) each."""
    results = []
    with recorder(answer) as (base, seen):
        for http in _pair(base, **options):
            before = len(seen)
            outcomes = [_outcome(http, method, path, **kw) for method, path, kw in calls]
            http.close()
            results.append((outcomes, seen[before:]))
    return results[0], results[1]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(["client_id", "lang", "page"]) | st.text(max_size=8)  # some the client's
PARAMS = st.none() | st.lists(st.tuples(KEYS, st.text(max_size=8)), max_size=4)
PATHS = st.sampled_from(["orders", "orders/123", "/orders/unconfirmed", "orders/a_b-c~d"]) | (
    st.text(max_size=12)
)
METHODS = st.sampled_from(["GET", "DELETE", "PUT", "POST", "PATCH"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(METHODS, PATHS, PARAMS, JSON | st.none()), min_size=1, max_size=4))
def test_the_same_requests_on_the_wire(calls: list[tuple[str, str, Any, Any]]) -> None:
    plan = [
        (method, path, {"params": params, "json_body": body})
        for method, path, params, body in calls
    ]
    lean, plain = _both(lambda _: _ok(), plan)
    assert lean == plain


def test_channel_requests_take_the_lean_path() -> None:
    """What channel clients send is taken (else the test above compares httpx with itself)."""
    http = ChannelHttp("http://127.0.0.1:9/v1", params={"client_id": "x"})
    assert http.lean is not None
    assert http.lean.takes("GET", "orders/123", None)
    assert http.lean.takes("PUT", "orders/123", {"confirmed": True})
    assert http.lean.takes("GET", "orders", None)
    assert not http.lean.takes("PUT", "orders/123", None)  # httpx adds Content-Length: 0
    assert not http.lean.takes("GET", "orders/../x", None)
    assert not http.lean.takes("GET", "orders?x=1", None)


@pytest.mark.parametrize(
    "answer",
    [
        _ok(b'{"data": [1, 2.5, "\\u00fc"]}'),
        _ok(b""),
        _ok(b'{"cut": '),
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 19\r\n\r\n" + b'{"message": "gone"}',
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope",
        b"HTTP/1.1 500 Oops\r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 429 Slow\r\nRetry-After: 9999\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 2\r\n\r\n{}",
        _ok(gzip.compress(b'{"zipped": true}'), "Content-Encoding: gzip\r\n"),
        _ok(b"x" * 300),
        _ok(
            b"[1]",
            "X-RateLimit-Limit: 100\r\nX-RateLimit-Remaining: 2\r\nX-RateLimit-Reset: 60\r\n",
        ),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[7]\r\n0\r\n\r\n",
    ],
)
def test_the_same_answers(answer: bytes) -> None:
    calls = [("GET", "orders/7", {}), ("PUT", "orders/7", {"json_body": {"confirmed": True}})]
    lean, plain = _both(lambda _: answer, calls * 2, max_body_bytes=200)
    assert lean == plain


def test_cookies_the_channel_sets_are_sent_back() -> None:
    def answer(request: bytes) -> bytes:
        sticky = b"cookie: lb=" in request
        return _ok(b"{}") if sticky else _ok(b"{}", "Set-Cookie: lb=node-2; Path=/\r\n")

    calls = [("GET", "orders", {}), ("GET", "orders/1", {}), ("PUT", "orders/1", {"json_body": 1})]
    lean, plain = _both(answer, calls)
    assert lean == plain
    assert [b"cookie: lb=node-2" in request for request in lean[1]] == [False, True, True]


def test_a_client_without_parameters() -> None:
    calls = [
        ("GET", "orders", {"params": []}),
        ("GET", "orders", {}),
        ("GET", "orders", {"params": [("a", "")]}),
        ("PUT", "x", {"json_body": {}}),
    ]
    lean, plain = _both(lambda _: _ok(), calls, params={})
    assert lean == plain
    assert [r.split(b"\r\n")[0] for r in lean[1]][:3] == [
        b"GET /v1/orders HTTP/1.1",
        b"GET /v1/orders HTTP/1.1",
        b"GET /v1/orders?a= HTTP/1.1",
    ]


def test_the_same_request_log(caplog: pytest.LogCaptureFixture) -> None:
    calls = [
        ("GET", "orders", {"params": [("page", "2")]}),
        ("PUT", "orders/1", {"json_body": {"confirmed": True}}),
        ("GET", "orders/9", {}),
    ]
    with caplog.at_level(logging.INFO, logger="httpx"):
        _both(lambda request: _ok() if b"/9" not in request else _ok(b"", "X: 1\r\n"), calls)
    lines = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert len(lines) == 6 and lines[:3] == lines[3:]
