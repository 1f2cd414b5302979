"""Hostile input, as raw bytes, against a real `orderhub serve` on loopback and against the app
itself: each request is a 4xx RFC 9457 problem naming the input, never a 500, and the database
(orders, history, events, outbox, subscriptions...) is the same before and after."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import Engine, MetaData, select

from helpers import api_key, client, free_port, make_order, store
from orderhub.api.app import create_app

BIG_ID = b"9" * 5000
ORDER_ID = 1


@dataclass(frozen=True)
class Case:
    """One hostile request and the problem it must get: status and the input it names."""

    label: str
    target: bytes
    status: int
    parameter: str
    method: bytes = b"GET"
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    #: The parameter named when the server itself refuses the request (see api/limits.py).
    served_parameter: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _json_put(target: bytes, body: bytes, label: str, status: int, parameter: str) -> Case:
    headers = ((b"content-type", b"application/json"),)
    return Case(label, target, status, parameter, b"PUT", headers, body)


CASES = [
    # A 5,000-digit id was a 500 (int() refuses more than 4,300 digits).
    Case("huge id", b"/v1/orders/" + BIG_ID, 400, "order_id"),
    Case("huge id xml", b"/v1/orders/" + BIG_ID + b".xml", 400, "order_id"),
    Case("huge id history", b"/v1/orders/" + BIG_ID + b"/history", 400, "order_id"),
    _json_put(b"/v1/orders/" + BIG_ID, b'{"vendor_ref": "x"}', "huge id put", 400, "order_id"),
    Case("id 2**63", b"/v1/orders/9223372036854775808", 400, "order_id"),
    Case("id 0", b"/v1/orders/0", 400, "order_id"),
    Case("huge webhook id", b"/v1/webhooks/" + BIG_ID, 400, "subscription_id"),
    # Invalid, truncated, overlong UTF-8 and NUL in a filter value were silently accepted.
    Case("truncated utf-8", b"/v1/orders?customer=%C3", 400, "customer"),
    Case("overlong utf-8", b"/v1/orders?customer=%C0%AF", 400, "customer"),
    Case("surrogate utf-8", b"/v1/orders?customer=%ED%A0%80", 400, "customer"),
    Case("byte ff", b"/v1/orders?customer=%FF", 400, "customer"),
    Case("nul value", b"/v1/orders?customer=%00", 400, "customer"),
    Case("nul value xml", b"/v1/orders.xml?customer=a%00", 400, "customer"),
    Case("nul name", b"/v1/orders?cust%00omer=1", 400, "cust\\u0000omer"),
    Case("bad utf-8 name", b"/v1/orders?%FF=1", 400, "\ufffd"),
    Case("nul path", b"/v1/orders/1%00", 400, "path"),
    Case("bad utf-8 path", b"/v1/orders%FF", 400, "path"),
    Case("raw nul path", b"/v1/orders/1\x00", 400, "path"),
    # Over-long targets and repeated parameters got uvicorn's plain text.
    Case("100 KB query", b"/v1/orders?customer=" + b"a" * 100_000, 414, "customer"),
    Case(
        "10,000 parameters", b"/v1/orders?" + b"&".join([b"customer=a"] * 10_000), 414, "customer"
    ),
    Case("2,000 parameters", b"/v1/orders?" + b"&".join([b"test=0"] * 2000), 400, "test"),
    Case("10,000 in: values", b"/v1/orders?customer_id=in:1" + b",1" * 9_999, 400, "customer_id"),
    Case("duplicate page", b"/v1/orders?page=1&page=1", 400, "page"),
    Case("duplicate page_size", b"/v1/orders?page_size=1&page_size=2", 400, "page_size"),
    Case("duplicate cursor", b"/v1/orders?cursor=a&cursor=b", 400, "cursor"),
    Case("duplicate _sort", b"/v1/orders?_sort=id&_sort=total", 400, "_sort"),
    Case("duplicate filter", b"/v1/orders?filter=basic&filter=basic", 400, "filter"),
    Case("duplicate vendor_ref", b"/v1/orders/search?vendor_ref=a&vendor_ref=b", 400, "vendor_ref"),
    Case("duplicate limit", b"/v1/webhooks/1/deliveries?limit=1&limit=2", 400, "limit"),
    # Headers: NUL, bytes that are not UTF-8, too many, too large.
    Case(
        "nul if-match",
        b"/v1/orders/1",
        400,
        "if-match",
        b"PUT",
        ((b"content-type", b"application/json"), (b"if-match", b'"1\x00"')),
        b'{"vendor_ref": "x"}',
        served_parameter="headers",
    ),
    Case("bad utf-8 header", b"/v1/orders", 400, "x-note", headers=((b"x-note", b"a\xffb"),)),
    Case("100 KB header", b"/v1/orders", 431, "x-big", headers=((b"x-big", b"a" * 100_000),)),
    Case(
        "1,000 headers",
        b"/v1/orders",
        431,
        "x-h98",  # the 101st header: host and authorization come first
        headers=tuple((b"x-h%d" % i, b"a") for i in range(1000)),
    ),
    # Bodies: too large, NUL in a string and in a key, not UTF-8, text XML cannot carry.
    _json_put(b"/v1/orders/1", b'{"vendor_ref": "' + b"a" * 2_000_000 + b'"}', "2 MB", 413, "body"),
    _json_put(b"/v1/orders/1", b'{"vendor_ref": "a\\u0000"}', "nul string", 400, "vendor_ref"),
    _json_put(b"/v1/orders/1", b'{"carrier": "a\x00b"}', "raw nul string", 400, "body"),
    _json_put(b"/v1/orders/1", b'{"vendor\\u0000": "a"}', "nul key", 400, "vendor\x00"),
    _json_put(b"/v1/orders/1", b'{"vendor_ref": "a\xff"}', "bad utf-8 body", 400, "body"),
    _json_put(b"/v1/orders/1", b'{"vendor_ref": "a\\ufffe"}', "U+FFFE", 400, "vendor_ref"),
    _json_put(b"/v1/orders/1", b'{"carrier": "a\\uffff"}', "U+FFFF", 400, "carrier"),
    _json_put(
        b"/v1/orders/1",
        b'{"tracking_url": "https://t.example/\\ufffe"}',
        "U+FFFE url",
        400,
        "tracking_url",
    ),
    _json_put(b"/v1/orders/1", b'{"vendor_ref": "a\\u0001"}', "U+0001", 400, "vendor_ref"),
    Case(
        "webhook nul url",
        b"/v1/webhooks",
        400,
        "url",
        b"POST",
        ((b"content-type", b"application/json"),),
        b'{"url": "https://a.example/\\u0000", "event_types": ["order.created"]}',
    ),
    Case(
        "webhook U+FFFF filter",
        b"/v1/webhooks",
        400,
        "filter",
        b"POST",
        ((b"content-type", b"application/json"),),
        b'{"url": "https://a.example/", "event_types": ["order.created"],'
        b' "filter": "customer=a\\uffff"}',
    ),
    Case(
        "webhook bad utf-8",
        b"/v1/webhooks",
        400,
        "body",
        b"POST",
        ((b"content-type", b"application/json"),),
        b'{"url": "https://a.example/\xff", "event_types": ["order.created"]}',
    ),
]
SERVED = CASES
# A raw NUL in the target never reaches an ASGI app (servers refuse it): served only.
ASGI = [case for case in CASES if b"\x00" not in case.target]


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    store(engine, [make_order("1", customer="Jane"), make_order("2")])
    http = client(engine)
    response = http.put(f"/v1/orders/{ORDER_ID}", json={"vendor_ref": "REF-1"})
    assert response.status_code == 200, response.text
    return engine


@pytest.fixture
def served(seeded: Engine, database_url: str, tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A real `orderhub serve` process on a free loopback port: (port, API key)."""
    with orderhub_serve(database_url, tmp_path) as port:
        yield port, api_key(seeded)


@contextlib.contextmanager
def orderhub_serve(database_url: str, tmp_path: Path, **env: str) -> Iterator[int]:
    """Run `orderhub serve` on a free loopback port until the block ends; yields the port."""
    port = free_port()
    environment = {**os.environ, "ORDERHUB_DATABASE_URL": database_url, **env}
    command = [str(Path(sys.executable).with_name("orderhub")), "serve", "--port", str(port)]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "orderhub serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("orderhub serve did not answer /healthz")


def test_hostile_requests_over_real_http(served: tuple[int, str], seeded: Engine) -> None:
    port, key = served
    before = snapshot(seeded)
    for case in SERVED:
        try:
            status, headers, body = send_raw(port, key, case)
        except OSError as exc:
            raise AssertionError(f"{case.label}: {exc}") from exc
        check_problem(case, status, headers, body, case.served_parameter or case.parameter)
    assert snapshot(seeded) == before


def test_hostile_requests_through_the_app(seeded: Engine) -> None:
    app = create_app(seeded)
    key = api_key(seeded)
    before = snapshot(seeded)
    for case in ASGI:
        status, headers, body = asyncio.run(call_asgi(app, key, case))
        check_problem(case, status, headers, body, case.parameter)
    assert snapshot(seeded) == before


def test_a_thousand_in_values_are_answered(seeded: Engine) -> None:
    """Up to the cap (docs/query-language.md) a long in: list is answered correctly."""
    http = client(seeded)
    wanted = ["2", *(f"nope-{i}" for i in range(999))]
    response = http.get("/v1/orders", params={"external_id": "in:" + ",".join(wanted)})
    assert response.status_code == 200, response.text
    assert [order["external_id"] for order in response.json()["data"]] == ["2"]
    response = http.get("/v1/orders", params={"external_id": "in:" + ",".join([*wanted, "x"])})
    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "external_id"


def check_problem(case: Case, status: int, headers: dict[str, str], body: bytes, name: str) -> None:
    label = f"{case.label}: {status} {body[:300]!r}"
    assert status == case.status, label
    if case.target.split(b"?")[0].endswith(b".xml"):
        assert headers["content-type"] == "application/problem+xml", label
        problem = ElementTree.fromstring(body)
        assert problem.findtext("status") == str(case.status), label
        return
    assert headers["content-type"] == "application/problem+json", label
    problem = json.loads(body)
    assert problem["status"] == case.status, label
    assert {"type", "title", "detail", "instance"} <= problem.keys(), label
    assert problem.get("errors", [{}])[0].get("parameter") == name, label


def send_raw(port: int, key: str, case: Case) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request written byte for byte (no client library cleans it up)."""
    head = [case.method + b" " + case.target + b" HTTP/1.1", b"host: 127.0.0.1"]
    head.append(b"authorization: Bearer " + key.encode())
    head += [name + b": " + value for name, value in case.headers]
    head += [b"content-length: %d" % len(case.body), b"connection: close"]
    request = b"\r\n".join(head) + b"\r\n\r\n" + case.body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # The server may answer before it has read all of it; the answer is still there.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head_bytes, _, body = answer.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


async def call_asgi(app: Any, key: str, case: Case) -> tuple[int, dict[str, str], bytes]:
    """The request as an ASGI server would pass it on (raw_path and query_string verbatim)."""
    raw_path, _, query = case.target.partition(b"?")
    headers = [
        (b"host", b"testserver"),
        (b"authorization", b"Bearer " + key.encode()),
        *case.headers,
        (b"content-length", b"%d" % len(case.body)),
    ]
    from urllib.parse import unquote

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": case.method.decode(),
        "scheme": "http",
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": case.body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    response_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], response_headers, body


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table except the API keys' own bookkeeping (each request counts)."""
    metadata = MetaData()
    metadata.reflect(engine)
    rows = {}
    with engine.connect() as conn:
        for name, table in sorted(metadata.tables.items()):
            if name in ("api_keys", "key_usage", "alembic_version"):
                continue
            rows[name] = sorted(map(tuple, conn.execute(select(table))), key=repr)
    return rows
