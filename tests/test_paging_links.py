"""Every paged list answer carries an RFC 8288 Link header; following `rel=next` walks the list
and gets every item exactly once, on SQLite and PostgreSQL (issue 11, point 6)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from helpers import client, make_order, store
from orderhub.domain import Status
from orderhub.store import SyncRepository, UnitOfWork
from webhook_support import ALL_TYPES, allow_private, merge  # noqa: F401

PAGING = {"page", "cursor"}
# RFC 8288 section 3 with RFC 7230's tokens and quoted strings: link-value = "<" URI-Reference
# ">" *( OWS ";" OWS link-param ), link-param = token BWS [ "=" BWS ( token / quoted-string ) ].
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\.)*"'
_PARAM = rf"[ \t]*;[ \t]*{_TOKEN}[ \t]*(?:=[ \t]*(?:{_TOKEN}|{_QUOTED}))?"
_URI = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+"
LINK_VALUE = re.compile(rf"<({_URI})>((?:{_PARAM})*)")
LINK_HEADER = re.compile(rf"{LINK_VALUE.pattern}(?:[ \t]*,[ \t]*{LINK_VALUE.pattern})*")


def parse_link_header(header: str) -> dict[str, str]:
    """rel -> URL, after checking the whole header against RFC 8288's grammar."""
    assert LINK_HEADER.fullmatch(header), f"not an RFC 8288 Link header: {header!r}"
    links = {}
    for match in LINK_VALUE.finditer(header):
        params = dict(re.findall(rf";[ \t]*({_TOKEN})[ \t]*=[ \t]*({_TOKEN}|{_QUOTED})", match[2]))
        rel = params["rel"].strip('"')
        assert rel not in links, f"rel={rel} twice in {header!r}"
        links[rel] = match[1]
    return links


def _query(url: str) -> list[tuple[str, str]]:
    return sorted(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def walk(http: TestClient, url: str) -> tuple[list[Any], list[Any]]:
    """Follow rel=next from `url` to the last page: (every item, every response)."""
    items: list[Any] = []
    answers = []
    while True:
        answer = http.get(url)
        assert answer.status_code == 200, answer.text
        answers.append(answer)
        body = answer.json()
        items += body["data"]
        links = check_links(answer)
        assert body["paging"]["has_next"] is ("next" in links)
        if "next" not in links:
            return items, answers
        url = answer.links["next"]["url"]


def check_links(answer: Any) -> dict[str, str]:
    """The Link header is valid, httpx reads the same links, and each keeps the query."""
    header = answer.headers.get("link")
    if header is None:
        return {}
    links = parse_link_header(header)
    assert {rel: link["url"] for rel, link in answer.links.items()} == links
    asked = [(k, v) for k, v in _query(str(answer.url)) if k not in PAGING]
    for rel, url in links.items():
        assert urlsplit(url).path == answer.url.path, rel
        assert [(k, v) for k, v in _query(url) if k not in PAGING] == asked, rel
    return links


def _orders(count: int) -> list[Any]:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    statuses = [Status.OPEN, Status.SHIPPED, Status.CANCELLED]  # none hidden by default
    return [
        make_order(
            str(n),
            created_at=start + timedelta(hours=n),
            total=Decimal(100 + (n * 37) % 11),  # ties: the sort's id tie-break is walked too
            status=statuses[n % 3],
            confirmed=n % 4 != 0,
            customer=f"Zoë {n} & co",
        )
        for n in range(1, count + 1)
    ]


def test_following_next_gets_every_order_exactly_once(engine: Engine) -> None:
    store(engine, _orders(23))
    http = client(engine)
    items, answers = walk(http, "/v1/orders?page_size=4&_sort=total:desc&filter=basic")
    assert sorted(int(o["external_id"]) for o in items) == list(range(1, 24))
    assert len(answers) == 6
    assert "link" in answers[0].headers and "prev" not in answers[0].links
    assert {"next", "prev", "first"} <= answers[1].links.keys()
    assert {"prev", "first"} == answers[-1].links.keys()
    assert [a.json()["paging"]["page"] for a in answers] == [1, 2, 3, 4, 5, 6]


def test_a_filter_with_text_that_needs_escaping_is_kept_in_every_link(engine: Engine) -> None:
    store(engine, _orders(23))
    http = client(engine)
    not_two = "customer=nin:A%26B,Zo%C3%AB%202%20%26%20co"  # Zoë 2 & co
    url = f"/v1/orders?status=in:open,cancelled&{not_two}&page_size=3"
    items, answers = walk(http, url)
    # status by n % 3: open, shipped, cancelled
    wanted = [n for n in range(1, 24) if n % 3 != 1 and n != 2]
    assert sorted(int(o["external_id"]) for o in items) == wanted
    assert len(answers) == -(-len(wanted) // 3)


def test_prev_and_first_walk_back_from_a_numbered_page(engine: Engine) -> None:
    store(engine, _orders(10))
    http = client(engine)
    third = http.get("/v1/orders?page_size=3&page=3&_sort=created_at")
    links = check_links(third)
    assert third.json()["paging"]["has_next"] is True
    back = http.get(links["prev"]).json()
    assert back["paging"]["page"] == 2
    assert [o["external_id"] for o in back["data"]] == ["4", "5", "6"]
    first = http.get(links["first"]).json()
    assert [o["external_id"] for o in first["data"]] == ["1", "2", "3"]
    onward = http.get(links["next"]).json()
    assert [o["external_id"] for o in onward["data"]] == ["10"]
    assert onward["paging"]["has_next"] is False


def test_a_single_page_has_no_link_and_says_there_is_no_next(engine: Engine) -> None:
    store(engine, _orders(3))
    answer = client(engine).get("/v1/orders")
    assert "link" not in answer.headers
    assert answer.json()["paging"]["has_next"] is False


def test_the_unconfirmed_queue_walks_by_its_links(engine: Engine) -> None:
    store(engine, _orders(23))
    http = client(engine)
    ids, _ = walk(http, "/v1/orders/unconfirmed?page_size=2")
    basic, _ = walk(http, "/v1/orders/unconfirmed?page_size=2&filter=basic")
    unconfirmed = [n for n in range(1, 24) if n % 4 == 0]
    assert sorted(int(o["external_id"]) for o in basic) == unconfirmed
    assert sorted(ids) == sorted(o["id"] for o in basic)


def test_xml_answers_carry_the_links_and_has_next(engine: Engine) -> None:
    store(engine, _orders(5))
    http = client(engine)
    url: str | None = "/v1/orders.xml?page_size=2"
    seen = []
    while url is not None:
        answer = http.get(url)
        root = ElementTree.fromstring(answer.content)
        seen += [e.text for e in root.iterfind("data/order/external_id")]
        links = check_links(answer)
        assert root.findtext("paging/has_next") == ("true" if "next" in links else "false")
        url = links.get("next")
    assert sorted(seen, key=int) == ["1", "2", "3", "4", "5"]


def _quarantine(engine: Engine, count: int) -> None:
    at = datetime(2024, 3, 1, tzinfo=UTC)
    with UnitOfWork(engine) as uow:
        repo = SyncRepository(uow.conn)
        run = repo.start_run("mall-cz", False, at)
        records = [(str(n), "status: unknown", {"id": n}) for n in range(1, count + 1)]
        repo.quarantine("mall-cz", run, records, at)


def test_the_quarantine_walks_by_page_numbers(engine: Engine) -> None:
    _quarantine(engine, 7)
    http = client(engine)
    http.app.state.config_file = "absent.toml"  # the account is known from its run
    items, answers = walk(http, "/v1/channels/mall-cz/quarantine?page_size=3")
    assert sorted(int(r["external_id"]) for r in items) == list(range(1, 8))
    assert [dict(_query(str(a.url))).get("page") for a in answers] == [None, "2", "3"]
    assert answers[2].links["prev"]["url"].endswith("page=2")


@pytest.mark.usefixtures("allow_private")
def test_the_delivery_log_walks_by_its_cursor(engine: Engine) -> None:
    http = client(engine)
    hook = {"url": "http://127.0.0.1:9/hook", "event_types": ALL_TYPES}
    subscription = http.post("/v1/webhooks", json=hook).json()["id"]
    merge(engine, _orders(9))  # one order.created delivery each
    items, answers = walk(http, f"/v1/webhooks/{subscription}/deliveries?limit=4&status=pending")
    ids = [d["id"] for d in items]
    assert len(ids) == 9 and ids == sorted(set(ids), reverse=True)  # newest first, each once
    assert len(answers) == 3 and "first" in answers[1].links


def test_past_the_last_page_prev_is_the_last_page(engine: Engine) -> None:
    store(engine, _orders(5))
    http = client(engine)
    beyond = http.get("/v1/orders?page_size=2&page=9")
    assert beyond.json()["data"] == [] and beyond.json()["paging"]["has_next"] is False
    links = check_links(beyond)
    assert set(links) == {"prev", "first"}
    assert dict(_query(links["prev"]))["page"] == "3"
    _quarantine(engine, 3)
    http.app.state.config_file = "absent.toml"
    links = check_links(http.get("/v1/channels/mall-cz/quarantine?page_size=2&page=5"))
    assert set(links) == {"prev", "first"} and dict(_query(links["prev"]))["page"] == "2"
