"""channels/http_transport.py: keep-alive reuse, a connection the server closed, and failures
as the httpx errors channels/http.py retries; against a raw socket server written here."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import trustme

from orderhub.channels.base import Retriable
from orderhub.channels.http import ChannelHttp
from orderhub.channels.http_transport import KeepAliveTransport
from socket_support import accepting


def _answer(conn: socket.socket, body: bytes, *, length: int | None = None) -> None:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {length or len(body)}\r\n\r\n"
    conn.sendall(head.encode() + body)


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    return data


@contextmanager
def server(handle: Callable[[socket.socket, int, int], bool]) -> Iterator[tuple[str, list[int]]]:
    """A server calling `handle(conn, connection number, request number on it)` per request
    until it returns False (then it closes the connection); yields its URL and, per
    connection, how many requests it served."""
    served: list[int] = []

    def serve(conn: socket.socket, number: int) -> None:
        with conn:
            while _read_request(conn):
                served[number] += 1
                if not handle(conn, number, served[number]):
                    return

    with accepting(serve, accepted=lambda _: served.append(0)) as port:
        yield f"http://127.0.0.1:{port}/", served


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, transport=KeepAliveTransport(5.0))


def test_requests_share_one_connection() -> None:
    def handle(conn: socket.socket, number: int, request: int) -> bool:
        _answer(conn, b'{"n": %d}' % request)
        return True

    with server(handle) as (base, served), _client(base) as client:
        answers = [client.get("orders", params={"page": i}).json()["n"] for i in range(3)]
    assert answers == [1, 2, 3]
    assert served == [3]


def test_a_connection_the_server_closed_is_replaced() -> None:
    def handle(conn: socket.socket, number: int, request: int) -> bool:
        _answer(conn, b"{}")
        return False  # answers, then closes: the idle connection is dead

    with server(handle) as (base, served), _client(base) as client:
        for _ in range(3):
            assert client.get("orders").json() == {}
    assert served == [1, 1, 1]


def test_a_body_cut_short_is_an_httpx_transport_error_and_retried() -> None:
    def handle(conn: socket.socket, number: int, request: int) -> bool:
        if number < 2:  # the first connection of each client below
            _answer(conn, b'{"data": [', length=100)  # promises 100 bytes, sends 10
            return False
        _answer(conn, b'{"data": []}')
        return True

    with server(handle) as (base, _):
        with _client(base) as client, pytest.raises(httpx.TransportError):
            client.get("orders").read()
        http = ChannelHttp(base, sleep=lambda _: None)
        assert http.request("GET", "orders") == {"data": []}
        assert http.stats.retries == 1
        http.close()


def test_a_refused_connection_is_retriable() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    http = ChannelHttp(f"http://127.0.0.1:{port}/", max_attempts=2, sleep=lambda _: None)
    with pytest.raises(Retriable, match="connection failed"):
        http.request("GET", "orders")
    assert http.stats.requests == 2
    http.close()


@contextmanager
def tls_server(ca: trustme.CA) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 whose certificate, for `localhost`, `ca` signed."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = b'{"secure": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"https://localhost:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_https_with_a_trusted_certificate_answers() -> None:
    ca = trustme.CA()
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with tls_server(ca) as base:
        transport = KeepAliveTransport(5.0, ssl_context=client_context)
        with httpx.Client(base_url=base, transport=transport) as client:
            assert client.get("orders").json() == {"secure": True}
            assert client.get("orders").json() == {"secure": True}


def test_https_trusts_the_ca_file_named_by_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    with tls_server(ca) as base, _client(base) as client:
        assert client.get("orders").status_code == 200


def test_https_refuses_a_certificate_no_trusted_ca_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default trust (certifi's bundle) does not know the test CA: no answer is read."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with (
        tls_server(trustme.CA()) as base,
        _client(base) as client,
        pytest.raises(httpx.TransportError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get("orders")


def test_https_refuses_a_certificate_for_another_host() -> None:
    ca = trustme.CA()
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with tls_server(ca) as base:
        other = base.replace("localhost", "127.0.0.1")  # the certificate names localhost only
        transport = KeepAliveTransport(5.0, ssl_context=client_context)
        with (
            httpx.Client(base_url=other, transport=transport) as client,
            pytest.raises(httpx.TransportError, match=r"CERTIFICATE_VERIFY_FAILED|match"),
        ):
            client.get("orders")
