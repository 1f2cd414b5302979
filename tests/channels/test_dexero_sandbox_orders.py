"""The Dexero sandbox's calls of Dexero's public documentation beyond seed 003, over real HTTP:
`GET orders.{format}` with `status` (dexero.com/ecommerce/en/developers/api/rest/orders) and
`GET orders/{idOrNumber}` by order number (.../rest/orders/id). Expected values come from
those pages (and the sandbox's `/_sandbox/orders` truth), not from the listing code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from helpers import serve_in_thread
from orderhub.channels.dexero.codec import page_from_xml
from orderhub.channels.dexero.sandbox import PREFIX, DexeroSandbox, create_app


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[httpx.Client, DexeroSandbox]]:
    app = create_app(orders=120, seed=9)
    with serve_in_thread(app) as base:
        grant = httpx.post(f"{base}/oauth/token.action", auth=("sandbox", "sandbox"),
                           data={"grant_type": "client_credentials"})  # fmt: skip
        bearer = {"Authorization": f"Bearer {grant.json()['access_token']}"}
        with httpx.Client(base_url=f"{base}{PREFIX}", headers=bearer) as client:
            yield client, app.state.sandbox


def truth(sandbox: DexeroSandbox, *statuses: str) -> list[dict[str, Any]]:
    """The non-test orders with those statuses, as the sandbox holds them."""
    return [o for o in sandbox.orders_json() if o["status"] in statuses and not o["is_test"]]


@pytest.mark.parametrize("status", ["cancelled", "completed", "pending", "treated"])
def test_get_orders_filters_by_each_documented_status(
    served: tuple[httpx.Client, DexeroSandbox], status: str
) -> None:
    client, sandbox = served
    answer = client.get("/orders.json", params={"status": status, "count": "500"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = sorted(o["id"] for o in truth(sandbox, status))
    assert sorted(o["id"] for o in body["orders"]) == expected
    assert body["totalResults"] == len(expected) and body["startIndex"] == 0


def test_get_orders_without_status_lists_every_order_and_pages(
    served: tuple[httpx.Client, DexeroSandbox],
) -> None:
    client, sandbox = served
    everything = [o for o in sandbox.orders_json() if not o["is_test"]]
    first = client.get("/orders.json").json()  # the documented default count: 20
    assert first["totalResults"] == len(everything) and first["itemsPerPage"] == 20
    assert len(first["orders"]) == 20
    xml = client.get("/orders.xml", params={"count": "5", "offset": "5"})
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert len(page_from_xml(xml.content)["orders"]) == 5


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/orders.json", {"status": "shipped"}, "status"),
        ("/orders.json", {"count": "501"}, "count"),  # the documented maximum: 500
        ("/orders.csv", {}, "format"),
    ],
)
def test_get_orders_refuses_bad_parameters(
    served: tuple[httpx.Client, DexeroSandbox], path: str, params: dict[str, str], named: str
) -> None:
    client, _ = served
    answer = client.get(path, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"].startswith(named)


def test_an_order_by_its_number(served: tuple[httpx.Client, DexeroSandbox]) -> None:
    client, sandbox = served
    order = sandbox.orders_json()[7]
    by_number = client.get(f"/orders/{order['reference_number']}.json")
    by_id = client.get(f"/orders/{order['id']}.json")
    assert by_number.status_code == 200, by_number.text
    assert by_number.json() == by_id.json()
    assert by_number.json()["id"] == order["id"]
    missing = client.get("/orders/test-123.json")  # the page's example number; not ours
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_no_extension_means_xml(served: tuple[httpx.Client, DexeroSandbox]) -> None:
    """Dexero's "REST Resources" page: XML is asked for by `.xml` or by no extension."""
    client, sandbox = served
    order = sandbox.orders_json()[3]
    listed = client.get("/orders/pending", params={"count": "3"})
    every = client.get("/orders", params={"count": "2"})
    one = client.get(f"/orders/{order['id']}")
    for answer in (listed, every, one):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/xml")
    assert len(page_from_xml(listed.content)["orders"]) == 3
    assert len(page_from_xml(every.content)["orders"]) == 2
    assert f"<id>{order['id']}</id>" in one.text
    missing = client.get("/orders/no-such-number")
    assert missing.status_code == 404 and "<code>not_found</code>" in missing.text
