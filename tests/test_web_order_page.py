"""The order page and its actions (TestClient, SQLite and PostgreSQL; the print views are in
tests/test_web_packing.py). The orders are hand-written; so is every expected value: the
quantities, the money as the page writes it, the statuses a merchant may pick (written out
from the design's transitions, section 3, as the hub extends them with backordered, returning
and lost), and the history the API writes for the same change."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy import text as sql

from helpers import api_key, auth_header, make_order, store
from orderhub.domain import Address, LineType, OrderLine, Status
from orderhub.domain.order import PushStatus
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxStatus
from orderhub.store.push import PushRepository
from orderhub.web.app import create_app
from web_support import sign_in

GIVE_UP = sql("UPDATE outbox SET status = 'failed', attempts = 12, last_error = 'timeout' "
              "WHERE id = :id")  # fmt: skip
TRACK = {"tracking_number": "PN123", "tracking_url": "https://track.example/PN123"}


def _line(
    line_id: str, sku: str, quantity: int, price: str, vat: str, kind: LineType = LineType.ARTICLE,
    delivered: int = 0, cancelled: int = 0,
) -> OrderLine:  # fmt: skip
    unit = Decimal(price)
    return OrderLine(line_id, sku, f"{sku.title()} item", kind, quantity, unit, Decimal(vat),
                     Decimal(0), unit * quantity, delivered, cancelled)  # fmt: skip


def _orders() -> list[Any]:
    lines = [
        _line("A1", "MUG", 3, "10.50", "21", delivered=1),
        _line("A2", "TEE", 2, "1199.90", "12", cancelled=1),
        _line("P", "POST", 1, "89.00", "21", LineType.POSTAGE),
    ]
    address = Address(name="Jana Nováková", street="Dlouhá 12", city="Praha", zip="11000",
                      country="CZ", phone="+420 600 000 000")  # fmt: skip
    return [
        make_order(
            "M-1", lines=lines, shipping_address=address, customer="Jana Nováková",
            email="jana@example.com", phone="+420 600 000 000", total=Decimal("2521.30"),
            subtotal=Decimal("2432.30"), shipping_cost=Decimal("89.00"), vendor_ref="PO-7",
            status=Status.PARTIALLY_SHIPPED,
        ),
        make_order("M-2", lines=[_line("B1", "MUG", 2, "10.50", "21")], confirmed=False,
                   email="petr@example.com"),
        make_order("M-3", lines=[_line("C1", "MUG", 2, "10.50", "21")], confirmed=False,
                   email="eva@example.com"),
    ]  # fmt: skip


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(engine, _orders())
    test_client = TestClient(create_app(engine))
    test_client.headers.update(auth_header(api_key(engine)))  # the API, for comparisons
    return test_client


class _Cells(HTMLParser):
    """The text of each table row carrying `attr`, by that attribute's value."""

    def __init__(self, attr: str) -> None:
        super().__init__()
        self.attr, self.rows, self._row, self._cell = attr, {}, None, None
        self.rows: dict[str, list[str]]
        self._row: list[str] | None
        self._cell: list[str] | None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and self.attr in found:
            self._row = self.rows.setdefault(str(found[self.attr]), [])
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append(_squeezed("".join(self._cell)))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def rows(html: str, attr: str) -> dict[str, list[str]]:
    parser = _Cells(attr)
    parser.feed(html)
    return parser.rows


def text(html: str) -> str:
    return _squeezed(unescape(re.sub(r"<[^>]+>", " ", html)))


def _squeezed(words: str) -> str:
    """Runs of ASCII white space as one space (the money filter's thin spaces stay)."""
    return re.sub(r"[ \t\r\n]+", " ", words).strip()


def hidden(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to `action`."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', html, re.S)
    assert form is not None, f"no form posting to {action}"
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def post(http: TestClient, order_id: int, path: str, **fields: str) -> Any:
    page = http.get(f"/orders/{order_id}").text
    data = hidden(page, f"/orders/{order_id}/{path}") | fields
    return http.post(f"/orders/{order_id}/{path}", data=data, follow_redirects=False)


def ids(http: TestClient) -> list[int]:
    listed = http.get("/v1/orders", params={"_sort": "id"})
    assert listed.status_code == 200, listed.text
    return [order["id"] for order in listed.json()["data"]]


def test_the_page_shows_every_line_quantities_and_totals(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "viewer")
    first = ids(http)[0]
    assert http.put(f"/v1/orders/{first}", json={"add_tags": ["vip"]}).is_success
    page = http.get(f"/orders/{first}")
    assert page.status_code == 200
    # SKU, title, ordered, delivered, cancelled, returned, unit price, VAT, line total
    assert rows(page.text, "data-line") == {
        "A1": ["MUG", "Mug item", "3", "1", "0", "0", "10.50 CZK", "21 %", "31.50 CZK"],
        "A2": ["TEE", "Tee item", "2", "0", "1", "0", "1\u202f199.90 CZK", "12 %",
               "2\u202f399.80 CZK"],
        "P": ["POST", "Post item (postage)", "1", "0", "0", "0", "89.00 CZK", "21 %", "89.00 CZK"],
    }  # fmt: skip
    words = text(page.text)
    for expected in ("Subtotal 2\u202f432.30 CZK", "Shipping 89.00 CZK", "Total 2\u202f521.30 CZK",
                     "Jana Nováková", "jana@example.com", "+420 600 000 000", "Dlouhá 12",
                     "partially_shipped", "mall-cz (mall)", "External id M-1", "Vendor ref PO-7",
                     "vip"):  # fmt: skip
        assert expected in words
    assert '<ol class="timeline"' in page.text and "Order placed on mall-cz" in words


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        # partially_shipped is not offered: only a shipment of some lines reaches it
        (Status.OPEN, ["backordered", "cancelled", "shipped", "shipping"]),
        (Status.PENDING, ["cancelled"]),
        (Status.SHIPPED, ["delivered", "lost", "returned", "returning"]),
        (Status.PARTIALLY_SHIPPED, ["returned", "returning", "shipped"]),
        (Status.CANCELLED, []),
    ],
)
def test_the_status_select_offers_exactly_the_allowed_transitions(
    engine: Engine, status: Status, offered: list[str]
) -> None:
    store(engine, [make_order("S", status=status)])
    http = TestClient(create_app(engine))
    sign_in(http, engine, "staff")
    page = http.get("/orders/1").text
    select = re.search(r'<select id="status" name="status".*?</select>', page, re.S)
    if not offered:
        assert select is None
        return
    assert select is not None
    assert re.findall(r'<option value="([a-z_]+)"', select.group(0)) == offered


def _history(http: TestClient, order_id: int) -> list[tuple[Any, ...]]:
    entries = http.get(f"/v1/orders/{order_id}/history").json()["history"]
    return [(h["field"], h["old"], h["new"], h["source"]) for h in entries if h["field"] != "lines"]


def test_confirm_ship_and_status_write_what_the_api_writes(
    http: TestClient, engine: Engine
) -> None:
    sign_in(http, engine, "staff")
    _, by_web, by_api = ids(http)
    assert post(http, by_web, "confirm").status_code == 303
    shipped = post(http, by_web, "ship", carrier="PPL", scope="all", **TRACK)
    assert shipped.status_code == 303, text(shipped.text)
    delivered = post(http, by_web, "status", status="delivered", delivered_at="2024-02-01T10:00")

    assert delivered.headers["location"] == f"/orders/{by_web}?done=status"
    version = {"If-Match": http.get(f"/v1/orders/{by_api}").headers["etag"]}
    assert http.put(f"/v1/orders/{by_api}", json={"confirmed": True}, headers=version).is_success
    made = http.post(f"/v1/orders/{by_api}/shipments",
                     json={"all_remaining": True, "carrier": "PPL", **TRACK})  # fmt: skip
    assert made.status_code == 201
    assert http.put(f"/v1/orders/{by_api}", json={"status": "delivered",
                    "delivered_at": "2024-02-01T10:00:00Z"}).is_success  # fmt: skip

    web, api = http.get(f"/v1/orders/{by_web}"), http.get(f"/v1/orders/{by_api}")
    assert web.headers["etag"] == api.headers["etag"] == '"4"'
    same = ("status", "confirmed", "tracking_number", "tracking_url", "carrier", "delivered_at",
            "push_status", "lines")  # fmt: skip
    assert {k: web.json()[k] for k in same} | {"lines": None} == {
        k: api.json()[k] for k in same
    } | {"lines": None}
    assert [line["delivered_quantity"] for line in web.json()["lines"]] == [2]
    assert _history(http, by_web) == _history(http, by_api)
    assert ("status", "shipped", "delivered", "api") in _history(http, by_web)
    actors = {h["actor"] for h in http.get(f"/v1/orders/{by_web}/history").json()["history"]}
    assert actors == {"web:staff@example.com"}
    page = text(http.get(f"/orders/{by_web}").text)
    assert "status : shipped → delivered" in page and "PPL PN123" in page


def test_ship_part_of_the_lines_and_notify_the_customer(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "staff")
    _, order, _ = ids(http)
    answer = post(http, order, "ship", scope="lines", **{"qty-B1": "1"}, notify_user="1")
    assert answer.headers["location"] == f"/orders/{order}?done=shipped&mail=hub"
    got = http.get(f"/v1/orders/{order}").json()
    assert (got["status"], got["lines"][0]["delivered_quantity"]) == ("partially_shipped", 1)
    page = http.get(answer.headers["location"]).text
    assert "The shipment is recorded. The customer is e-mailed about it." in text(page)
    mail = text(page.split('id="mail-title"')[1])
    assert "petr@example.com" in mail and "pending" in mail


def test_a_stale_edit_is_refused_with_the_changes_listed(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "staff")
    _, order, _ = ids(http)
    loaded = http.get(f"/orders/{order}").text
    form = hidden(loaded, f"/orders/{order}/status")
    assert form["version"] == "1"
    # Someone else changes the order after the page was loaded.
    assert http.put(f"/v1/orders/{order}", json={"vendor_ref": "PO-99", "status": "backordered"},
                    headers={"If-Match": '"1"'}).is_success  # fmt: skip
    before = http.get(f"/v1/orders/{order}")
    answer = http.post(f"/orders/{order}/status", data=form | {"status": "cancelled"})
    assert answer.status_code == 409
    words = text(answer.text)
    assert "This order changed since you opened it" in words
    assert "You edited version 1; the order is now at version 2. Nothing was changed." in words
    assert "status open → backordered" in words and "vendor_ref (none) → PO-99" in words
    assert f'href="/orders/{order}">Reload the order' in answer.text
    after = http.get(f"/v1/orders/{order}")
    assert (after.headers["etag"], after.text) == (before.headers["etag"], before.text)


def test_bad_input_is_a_400_next_to_the_form_and_changes_nothing(
    http: TestClient, engine: Engine
) -> None:
    sign_in(http, engine, "staff")
    _, order, _ = ids(http)
    before = http.get(f"/v1/orders/{order}").text
    no_tracking = post(http, order, "ship", scope="all", tracking_url=TRACK["tracking_url"])
    assert no_tracking.status_code == 400
    assert re.search(r'<p class="error" role="alert" id="ship-error">tracking_number: expected a '
                     r"value: status shipped needs tracking_number and tracking_url",
                     no_tracking.text)  # fmt: skip
    assert 'value="https://track.example/PN123"' in no_tracking.text  # the input is kept
    refused = post(http, order, "status", status="delivered")
    assert refused.status_code == 400
    assert "cannot change status from open to delivered" in text(refused.text)
    no_reason = post(http, order, "cancel", reason=" ")
    assert (
        no_reason.status_code == 400 and "reason: expected why the cancellation" in no_reason.text
    )
    too_many = post(http, order, "ship", scope="lines", **{"qty-B1": "5"})
    assert too_many.status_code == 400 and "1 to 2 (left to ship of line B1)" in too_many.text
    assert http.get(f"/v1/orders/{order}").text == before


def test_cancel_with_a_reason_and_set_the_vendor_ref(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "staff")
    _, order, _ = ids(http)
    assert post(http, order, "vendor-ref", vendor_ref="PO-12").status_code == 303
    assert post(http, order, "cancel", reason="out of stock").status_code == 303
    got = http.get(f"/v1/orders/{order}").json()
    assert (got["status"], got["vendor_ref"], got["lines"][0]["cancelled_quantity"]) == (
        "cancelled", "PO-12", 2)  # fmt: skip
    cancellations = http.get(f"/v1/orders/{order}/cancellations").json()["data"]
    assert [c["reason"] for c in cancellations] == ["out of stock"]
    assert "out of stock" in text(http.get(f"/orders/{order}").text)


def test_a_viewer_sees_no_forms_and_its_posts_are_refused(http: TestClient, engine: Engine) -> None:
    _, order, _ = ids(http)
    sign_in(http, engine, "staff")
    staff_page = http.get(f"/orders/{order}").text
    form = hidden(staff_page, f"/orders/{order}/confirm")
    user = sign_in(http, engine, "viewer")
    page = http.get(f"/orders/{order}").text
    assert re.findall(r'<form[^>]*action="/orders/', page) == []
    assert "Retry push" not in page and "<select" not in page
    before = http.get(f"/v1/orders/{order}").text
    for path in ("confirm", "status", "ship", "cancel", "vendor-ref", "retry-push"):
        answer = http.post(f"/orders/{order}/{path}", data=form | {"csrf_token": user.csrf,
                           "status": "cancelled", "reason": "x", "vendor_ref": "x"})  # fmt: skip
        assert answer.status_code == 403, path
        assert "Not allowed" in answer.text
    assert http.get(f"/v1/orders/{order}").text == before


def test_a_missing_or_malformed_order_is_the_404_page(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "staff")
    cases = (("/orders/987654", "order 987654 does not exist"),
             ("/orders/12ab", "an order's number is a whole number"),
             ("/orders/987654/packing-slip", "order 987654 does not exist"))  # fmt: skip
    for path, words in cases:
        answer = http.get(path)
        assert answer.status_code == 404, path
        assert words in text(answer.text) and "Traceback" not in answer.text


def test_retry_a_failed_push(http: TestClient, engine: Engine) -> None:
    sign_in(http, engine, "staff")
    _, order, _ = ids(http)
    form = hidden(http.get(f"/orders/{order}").text, f"/orders/{order}/confirm")
    nothing = http.post(f"/orders/{order}/retry-push", data=form)
    assert nothing.status_code == 400 and "only a failed or refused push is retried" in nothing.text
    assert post(http, order, "confirm").status_code == 303  # queues a push to MALL
    assert post(http, order, "vendor-ref", vendor_ref="PO-1").status_code == 303  # and another
    with UnitOfWork(engine) as uow:  # the worker gave up on both
        rows = uow.outbox.of_order(order, "push")
        for row in rows:
            uow.conn.execute(GIVE_UP, {"id": row.id})
        PushRepository(uow.conn).set_state(order, PushStatus.FAILED, "MALL timed out",
                                           bump_version=True)  # fmt: skip
    page = http.get(f"/orders/{order}").text
    assert "MALL timed out" in text(page) and "Retry push" in page
    answer = post(http, order, "retry-push")
    assert answer.headers["location"] == f"/orders/{order}?done=retry"
    got = http.get(f"/v1/orders/{order}")
    assert (got.json()["push_status"], got.json()["push_error"]) == ("pending", None)
    with UnitOfWork(engine) as uow:
        again = uow.outbox.of_order(order, "push")
    assert [(r.status, r.attempts) for r in again] == [(OutboxStatus.PENDING.value, 0)] * 2


def test_the_webhook_deliveries_of_its_events(http: TestClient, engine: Engine) -> None:
    from orderhub.services.webhooks import create_subscription

    sub = create_subscription(engine, "https://hooks.example/orders", ["order.updated"],
                              allow_private=True)  # fmt: skip
    sign_in(http, engine, "admin")
    _, order, other = ids(http)
    assert post(http, order, "confirm").status_code == 303
    assert post(http, other, "confirm").status_code == 303
    page = http.get(f"/orders/{order}").text
    deliveries = text(page.split('id="webhooks-title"')[1])
    assert f"#{sub.id} order.updated pending 0" in deliveries
    assert deliveries.count("order.updated") == 1  # the other order's is not listed
    assert f'href="/admin/webhooks/{sub.id}"' in page


def test_a_retry_sends_only_the_failures_after_the_last_success(engine: Engine) -> None:
    from orderhub.services.push_retry import retry_push

    store(engine, [make_order("R")])
    with UnitOfWork(engine) as uow:
        for key in ("old", "ok", "new"):
            uow.outbox.enqueue("push", {"order_id": 1}, dedupe_key=f"push:{key}", order_id=1)
        uow.conn.execute(sql("UPDATE outbox SET status = CASE WHEN dedupe_key = 'push:ok' "
                             "THEN 'delivered' ELSE 'failed' END, attempts = 12"))  # fmt: skip
        PushRepository(uow.conn).set_state(1, PushStatus.FAILED, "gone", bump_version=True)
    after = retry_push(engine, 1, if_match={2})
    assert (after.version, after.to_order().push_status) == (3, "pending")
    with UnitOfWork(engine) as uow:
        states = {r.dedupe_key: (r.status, r.attempts) for r in uow.outbox.of_order(1, "push")}
    assert states == {"push:old": ("failed", 12), "push:ok": ("delivered", 12),
                      "push:new": ("pending", 0)}  # fmt: skip
