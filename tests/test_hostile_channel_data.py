"""Hostile data from channels, read by the hub's real clients, connectors and sync engine.

A small server on loopback (this file's, not a sandbox) plays the channel: CDON's JSON array of
orders, Dexero's XML pages. Each page mixes good orders (the golden fixtures of
tests/channels/golden/, renumbered) with hostile records (wrong types, cut short, absurd
numbers, huge strings, deep nesting); other answers are hostile as a whole (truncated JSON,
100,000 levels of nesting, a 100 MB body, billion laughs, an external entity). What must hold
(docs/sync.md "Hostile answers"): the run ends, never a crash; every good order of a page that
was read is stored; a bad record is quarantined (or, where it is a readable order, stored and
readable over the API); a page that cannot be read is refused with a sync error saying why,
and the process reads no more than the client's cap of a huge body.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from helpers import client, serve_in_thread
from orderhub.channels.base import Account
from orderhub.channels.http import MAX_BODY_BYTES
from orderhub.services.sync import sync_account
from orderhub.store import SyncRepository, UnitOfWork, make_engine, upgrade
from sync_support import stored_orders

GOLDEN = Path(__file__).parent / "channels" / "golden"
Answer = Callable[[], Response]


class PlayedChannel:
    """Answers every list call with `answer()`; counts the calls."""

    def __init__(self) -> None:
        self.answer: Answer = lambda: JSONResponse([])
        self.calls = 0

    def app(self) -> Starlette:
        async def listing(request: Request) -> Response:
            self.calls += 1
            return self.answer()

        async def token(request: Request) -> Response:
            return JSONResponse({"access_token": "t", "token_type": "bearer", "expires_in": 3600})

        return Starlette(
            routes=[
                Route("/oauth/token.action", token, methods=["POST"]),
                # Every other call of every channel: the list, the details, a confirmation.
                Route("/{path:path}", listing, methods=["GET", "PUT", "POST"]),
            ]
        )


@contextmanager
def played() -> Iterator[tuple[PlayedChannel, str]]:
    channel = PlayedChannel()
    with serve_in_thread(channel.app()) as base_url:
        yield channel, base_url


def cdon_account(base_url: str) -> Account:
    return Account(name="cdon-se", type="cdon", base_url=base_url + "/api",
                   credentials={"api_key": "k"}, timeout=10.0, max_attempts=2)  # fmt: skip


def dexero_account(base_url: str) -> Account:
    return Account(name="dexero-ca", type="dexero", base_url=base_url + "/rest",
                   credentials={"client_id": "c", "client_secret": "s"},
                   options={"format": "xml"}, timeout=10.0, max_attempts=2)  # fmt: skip


# --- CDON: JSON ------------------------------------------------------------------------------


def cdon_order(order_id: int) -> dict[str, Any]:
    order: dict[str, Any] = json.loads((GOLDEN / "cdon_order.json").read_text())
    details = order["OrderDetails"]
    details["OrderId"] = order_id
    details["OrderKey"] = f"key-{order_id}"
    return order


GOOD_CDON = [5001, 5002, 5003]


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def hostile_cdon_records() -> dict[str, Any]:
    """Records that are not CDON orders, or orders with hostile values (keyed by a name)."""
    cut_short = cdon_order(6002)
    for name in ("CustomerInfo", "OrderRows", "TotalAmount", "CreatedDateUtc"):
        del cut_short["OrderDetails"][name]
    wrong_rows = cdon_order(6003)
    wrong_rows["OrderDetails"]["OrderRows"] = "none"
    huge_id = cdon_order(6004)
    huge_id["OrderDetails"]["OrderId"] = 2**70  # past 64 bits
    huge_text = cdon_order(6006)
    huge_text["OrderDetails"]["CustomerInfo"]["ShippingAddress"]["Name"] = "A" * 2_000_000
    deep_extra = cdon_order(6007)
    deep_extra["OrderDetails"]["Unknown"] = _deep(600)  # past Python's recursion limit
    deeper_than_json = cdon_order(6009)
    deeper_than_json["OrderDetails"]["Unknown"] = _deep(300)  # past orjson's 255 levels
    controls = cdon_order(6008)
    controls["OrderDetails"]["CustomerInfo"]["ShippingAddress"]["Name"] = "A\x00\ufffe<b>&"
    return {
        "a string": "<order/>",
        "no details": {"OrderDetails": None},
        "cut short": cut_short,
        "rows not a list": wrong_rows,
        "id past 64 bits": huge_id,
        "2 MB name": huge_text,
        "600 levels deep": deep_extra,
        "300 levels deep": deeper_than_json,
        "control characters": controls,
    }


def cdon_page() -> bytes:
    records = [cdon_order(GOOD_CDON[0]), *hostile_cdon_records().values()]
    records += [cdon_order(order_id) for order_id in GOOD_CDON[1:]]
    return json.dumps(records).encode()


def test_hostile_records_are_quarantined_and_the_good_orders_of_the_page_stored(
    engine: Engine,
) -> None:
    with played() as (channel, base_url):
        channel.answer = lambda: Response(cdon_page(), media_type="application/json")
        result = sync_account(engine, cdon_account(base_url))
    assert result.ok, result.error
    stored = stored_orders(engine, "cdon-se")
    assert {str(i) for i in GOOD_CDON} <= set(stored)
    quarantined = _quarantined(engine, "cdon-se")
    hostile = hostile_cdon_records()
    # Not orders at all, or orders without what an order must have: quarantined.
    for name in ("a string", "no details", "cut short", "rows not a list", "id past 64 bits"):
        assert _record_id(hostile[name]) not in stored, name
    assert result.counts.quarantined == len(quarantined) >= 4
    assert {"6002", "6003", "6007", "6009"} <= {q.external_id for q in quarantined}
    # orjson reads 2**70 as a float: the order must not be stored under a rounded id.
    assert not [key for key in stored if not key.isdigit()], sorted(stored)
    assert any("OrderId: expected a whole number" in q.reason for q in quarantined)
    # Every other record is either quarantined or stored, and what is stored reads back.
    for name, record in hostile.items():
        key = _record_id(record)
        held = key in stored or key in {q.external_id for q in quarantined}
        assert held or name in ("no details", "id past 64 bits"), name
    _every_stored_order_reads_back(engine)


def test_a_huge_answer_is_refused_at_the_cap_without_reading_it_all(engine: Engine) -> None:
    sent = {"bytes": 0}

    async def hundred_megabytes() -> AsyncIterator[bytes]:
        record = json.dumps(cdon_order(7001)).encode() + b","
        chunk = record * (1024 * 1024 // len(record))
        yield b"["
        while sent["bytes"] < 100 * 1024 * 1024:
            sent["bytes"] += len(chunk)
            yield chunk

    with played() as (channel, base_url):
        channel.answer = lambda: StreamingResponse(
            hundred_megabytes(), media_type="application/json"
        )
        tracemalloc.start()
        try:
            result = sync_account(engine, cdon_account(base_url))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.status == "failed"
    assert result.error is not None and "larger than 32 MiB" in result.error, result.error
    assert channel.calls == 1  # refused, not retried
    assert peak < 3 * MAX_BODY_BYTES, f"peak {peak / 2**20:.0f} MiB"
    assert stored_orders(engine, "cdon-se") == {}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'[{"OrderDetails": {"OrderId": 1, "State": "Pend', "not complete JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not complete JSON"),
        (b"\xff\xfe\x00garbage", "not complete JSON"),
        # orjson reads no number past a double's range: the page is refused, its cursor kept.
        (b'[{"OrderDetails": {"OrderId": 1, "TotalAmount": 1e999}}]', "infinity"),
        (b'{"OrderDetails": {}}', "expected CDON's JSON array"),
    ],
    ids=["truncated", "100000 levels", "not text", "infinite amount", "an object"],
)
def test_an_unreadable_page_fails_the_run_saying_why(
    engine: Engine, body: bytes, says: str
) -> None:
    with played() as (channel, base_url):
        channel.answer = lambda: Response(body, media_type="application/json")
        result = sync_account(engine, cdon_account(base_url))
    assert result.status == "failed"
    assert result.error is not None and says in result.error, result.error
    assert stored_orders(engine, "cdon-se") == {}


ACCOUNTS: dict[str, Callable[[str], Account]] = {
    "mall": lambda base_url: Account(name="mall-cz", type="mall", base_url=base_url + "/v1",
                                     credentials={"client_id": "c"}, timeout=10.0, max_attempts=2),
    "cscart": lambda base_url: Account(name="cscart-x", type="cscart", base_url=base_url + "/api",
                                       credentials={"email": "a@b.c", "api_key": "k"},
                                       timeout=10.0, max_attempts=2),
    "dexero": lambda base_url: Account(name="dexero-ca", type="dexero",
                                       base_url=base_url + "/rest",
                                       credentials={"client_id": "c", "client_secret": "s"},
                                       timeout=10.0, max_attempts=2),
    "cdon": cdon_account,
}  # fmt: skip


def _forty_megabytes() -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"data": ["'
        for _ in range(40):
            yield b"x" * (1024 * 1024)
        yield b'"]}'

    return StreamingResponse(chunks(), media_type="application/json")


@pytest.mark.parametrize("kind", sorted(ACCOUNTS))
@pytest.mark.parametrize(
    ("answer", "says"),
    [
        # orjson: "not complete JSON (recursion limit)"; Dexero's stdlib reader: "nests too deep".
        (lambda: Response(b"[" * 100_000, media_type="application/json"), "JSON"),
        (lambda: Response(b'{"a": [1, 2', media_type="application/json"), "not complete JSON"),
        (_forty_megabytes, "larger than 32 MiB"),
    ],
    ids=["100000 levels", "truncated", "40 MB"],
)
def test_every_channel_refuses_an_unreadable_answer_and_stays_up(
    tmp_path: Path, kind: str, answer: Answer, says: str
) -> None:
    # The page never reaches a database: SQLite alone (the record tests above run on both).
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgrade(engine)
    with played() as (channel, base_url):
        channel.answer = answer
        result = sync_account(engine, ACCOUNTS[kind](base_url))
    assert result.status == "failed"
    assert result.error is not None and says in result.error, result.error
    with UnitOfWork(engine) as uow:
        assert uow.orders.count() == 0
    engine.dispose()


# --- Dexero: XML ---------------------------------------------------------------------------


def dexero_order_xml(order_id: int) -> str:
    text = (GOLDEN / "dexero_order.xml").read_text()
    start, end = text.index("<order>"), text.index("</order>") + len("</order>")
    return text[start:end].replace("<id>100234</id>", f"<id>{order_id}</id>", 1)


def dexero_page(orders: list[str], prologue: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prologue}<response>'
        f"<totalResults>{len(orders)}</totalResults><startIndex>0</startIndex>"
        f"<itemsPerPage>{len(orders)}</itemsPerPage><pageCount>1</pageCount>"
        f"<orders>{''.join(orders)}</orders></response>"
    ).encode()


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    + "]>"
)
EXTERNAL_ENTITY = '<!DOCTYPE order [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def test_a_dexero_page_keeps_its_good_orders_and_quarantines_the_bad_one(engine: Engine) -> None:
    bad = dexero_order_xml(8002).replace("<total_order>83.58</total_order>",
                                         "<total_order>lots</total_order>")  # fmt: skip
    deep = dexero_order_xml(8003).replace("</order>", "<x>" * 5000 + "</x>" * 5000 + "</order>")
    page = dexero_page([dexero_order_xml(8001), bad, deep, dexero_order_xml(8004)])
    with played() as (channel, base_url):
        channel.answer = lambda: Response(page, media_type="application/xml")
        result = sync_account(engine, dexero_account(base_url))
    assert result.ok, result.error
    stored = stored_orders(engine, "dexero-ca")
    assert {"8001", "8004"} <= set(stored)
    assert not {"8002", "8003"} & set(stored)
    assert {"8002", "8003"} <= {q.external_id for q in _quarantined(engine, "dexero-ca")}
    _every_stored_order_reads_back(engine)


@pytest.mark.parametrize(
    ("prologue", "says"),
    [(BILLION_LAUGHS, "refused XML with a DTD"), (EXTERNAL_ENTITY, "refused XML with a DTD")],
    ids=["billion laughs", "external entity"],
)
def test_xml_with_entities_is_refused_unexpanded(engine: Engine, prologue: str, says: str) -> None:
    payload = dexero_order_xml(9001).replace("<currency>CAD</currency>",
                                             "<currency>&lol9;&xxe;</currency>")  # fmt: skip
    page = dexero_page([payload], prologue)
    with played() as (channel, base_url):
        channel.answer = lambda: Response(page, media_type="application/xml")
        result = sync_account(engine, dexero_account(base_url))
    assert result.status == "failed"
    assert result.error is not None and says in result.error, result.error
    assert channel.calls == 1  # a Fatal: not asked again
    assert stored_orders(engine, "dexero-ca") == {}


# --- helpers ---------------------------------------------------------------------------------


def _record_id(record: Any) -> str | None:
    details = record.get("OrderDetails") if isinstance(record, dict) else None
    if isinstance(details, dict) and details.get("OrderId") is not None:
        return str(details["OrderId"])
    return None


def _quarantined(engine: Engine, channel: str) -> list[Any]:
    with UnitOfWork(engine) as uow:
        records, _ = SyncRepository(uow.conn).quarantined(channel, 0, 100)
    return records


def _every_stored_order_reads_back(engine: Engine) -> None:
    http: TestClient = client(engine)
    listing = http.get("/v1/orders", params={"page_size": "100"})
    assert listing.status_code == 200, listing.text
    for order in listing.json()["data"]:
        for suffix in ("", ".xml"):
            answer = http.get(f"/v1/orders/{order['id']}{suffix}")
            assert answer.status_code == 200, answer.text[:300]
