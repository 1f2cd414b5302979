"""The CS-Cart sandbox's `/api/shipments`, `/api/statuses` and the list filters of CS-Cart's
developer guide beyond seed 002, over real HTTP. Expected values come from the guide
(docs.cs-cart.com/4.11.x/developer_guide/api/entities/shipments.html, .../orders.html,
.../statuses.html) and seed 002, not from the sandbox's code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from helpers import serve_in_thread
from orderhub.channels.cscart.sandbox import CsCartSandbox, create_app

AUTH = ("admin@example.com", "sandbox")
#: The shipment fields the guide lists, and the id the shop gives it.
GUIDE_FIELDS = {
    "shipment_id", "order_id", "products", "shipping", "shipping_id", "user_id", "carrier",
    "tracking_number", "comments", "group_key", "order_timestamp", "status",
}  # fmt: skip


@pytest.fixture
def fresh() -> Iterator[tuple[str, CsCartSandbox]]:
    app = create_app(orders=60, seed=11)
    with serve_in_thread(app) as base:
        yield base, app.state.sandbox


def api(base: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/api", auth=AUTH)


def processed_order(sandbox: CsCartSandbox) -> dict[str, Any]:
    """A paid (P) order with a product of amount 2 or more when there is one."""
    paid = [o for o in sandbox.orders_json() if o["status"] == "P" and o["products"]]
    paid.sort(key=lambda o: -max(int(p["amount"]) for p in o["products"].values()))
    return paid[0]


def test_create_list_and_read_a_shipment(fresh: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = fresh
    order = processed_order(sandbox)
    item = next(iter(order["products"]))
    body = {"order_id": int(order["order_id"]), "products": {item: 1}, "carrier": "DHL",
            "tracking_number": "00340434161094042557", "comments": "first parcel"}  # fmt: skip
    with api(base) as client:
        created = client.post("/shipments", json=body)
        assert created.status_code == 201, created.text
        shipment_id = created.json()["shipment_id"]
        shipment = client.get(f"/shipments/{shipment_id}").json()
        listed = client.get("/shipments", params={"order_id": order["order_id"]}).json()
        details = client.get(f"/orders/{order['order_id']}").json()
    assert set(shipment) == GUIDE_FIELDS | {"timestamp"}
    assert shipment["order_id"] == str(order["order_id"])
    assert shipment["products"] == {item: "1"}
    assert (shipment["carrier"], shipment["tracking_number"]) == ("DHL", "00340434161094042557")
    assert shipment["comments"] == "first parcel"
    assert shipment["status"] == "P"  # the guide's default: Picked up
    assert shipment["order_timestamp"] == str(order["timestamp"])
    assert listed["shipments"] == [shipment] and listed["params"]["total_items"] == "1"
    assert details["shipment_ids"] == shipment_id
    assert details["status"] == "P"  # order_status left out: "Do not change"
    assert int(details["updated_at"]) >= int(order["updated_at"])


def test_order_status_with_a_shipment_and_everything_shipped(
    fresh: tuple[str, CsCartSandbox],
) -> None:
    base, sandbox = fresh
    order = processed_order(sandbox)
    everything = {item: int(p["amount"]) for item, p in order["products"].items()}
    body = {"order_id": order["order_id"], "products": everything, "tracking_number": "T1",
            "status": "S", "order_status": "C"}  # fmt: skip
    with api(base) as client:
        created = client.post("/shipments/", json=body)
        assert created.status_code == 201, created.text
        details = client.get(f"/orders/{order['order_id']}").json()
        again = client.post("/shipments", json={**body, "order_status": "C"})
    assert details["status"] == "C"
    assert details["need_shipment"] is False
    assert again.status_code == 400 and "left to ship" in again.json()["message"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"products": {}}, "products"),
        ({"products": {"no-such-item": 1}}, "products"),
        ({"carrier": "", "tracking_number": ""}, "carrier or tracking_number"),
        ({"status": "X"}, "status"),
        ({"order_status": "N"}, "N (Incomplete)"),
        ({"order_id": 1}, "order_id"),
        ({"order_id": "abc"}, "order_id"),
    ],
)
def test_refused_shipments_name_the_field_and_change_nothing(
    fresh: tuple[str, CsCartSandbox], change: dict[str, Any], named: str
) -> None:
    base, sandbox = fresh
    order = processed_order(sandbox)
    item = next(iter(order["products"]))
    body = {"order_id": order["order_id"], "products": {item: 1}, "carrier": "UPS", **change}
    with api(base) as client:
        refused = client.post("/shipments", json=body)
        after = client.get(f"/orders/{order['order_id']}").json()
        listed = client.get("/shipments").json()
    assert refused.status_code == 400, refused.text
    assert refused.json()["status"] == 400 and named in refused.json()["message"]
    assert after == order
    assert listed["shipments"] == [] and listed["params"]["total_items"] == "0"


def test_shipment_paging_and_missing_ones(fresh: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = fresh
    paid = [o for o in sandbox.orders_json() if o["status"] == "P" and o["products"]][:3]
    with api(base) as client:
        for order in paid:
            item = next(iter(order["products"]))
            body = {"order_id": order["order_id"], "products": {item: 1}, "carrier": "GLS"}
            assert client.post("/shipments", json=body).status_code == 201
        page = client.get("/shipments", params={"items_per_page": "2", "page": "2"}).json()
        missing = client.get("/shipments/99")
        bad = client.get("/shipments", params={"per_page": "2"})
    assert [s["shipment_id"] for s in page["shipments"]] == ["1"]  # newest first
    assert page["params"] == {"page": "2", "items_per_page": "2", "total_items": "3"}
    assert missing.status_code == 404 and missing.json()["status"] == 404
    assert bad.status_code == 400 and "per_page" in bad.json()["message"]


def test_company_and_credit_memo_filters(fresh: tuple[str, CsCartSandbox]) -> None:
    base, sandbox = fresh
    returned = next(o for o in sandbox.orders_json() if o["status"] == "H")
    company = next(o["company_id"] for o in sandbox.orders_json())
    expected = {o["order_id"] for o in sandbox.orders_json()
                if o["company_id"] == company and o["status"] != "N"}  # fmt: skip
    with api(base) as client:
        by_memo = client.get("/orders", params={"credit_memo_id": returned["credit_memo_id"]})
        by_company = client.get("/orders", params={"company_id": company,
                                                   "items_per_page": "1000"})  # fmt: skip
        bad = client.get("/orders", params={"company_id": "one"})
    assert [o["order_id"] for o in by_memo.json()["orders"]] == [returned["order_id"]]
    assert {o["order_id"] for o in by_company.json()["orders"]} == expected
    assert bad.status_code == 400 and "company_id" in bad.json()["message"]


def test_update_and_delete_a_shipment(fresh: tuple[str, CsCartSandbox]) -> None:
    """The guide: `/api/shipments/:id` supports GET, PUT and DELETE."""
    base, sandbox = fresh
    order = processed_order(sandbox)
    item = next(iter(order["products"]))
    body = {"order_id": order["order_id"], "products": {item: 1}, "carrier": "UPS"}
    with api(base) as client:
        shipment_id = client.post("/shipments", json=body).json()["shipment_id"]
        changed = client.put(
            f"/shipments/{shipment_id}",
            json={"tracking_number": "1Z999AA10123456784", "status": "S"},
        )
        shipment = client.get(f"/shipments/{shipment_id}").json()
        moved = client.put(f"/shipments/{shipment_id}", json={"order_id": 1})
        deleted = client.delete(f"/shipments/{shipment_id}")
        gone = client.get(f"/shipments/{shipment_id}")
        details = client.get(f"/orders/{order['order_id']}").json()
        again = client.delete(f"/shipments/{shipment_id}")
    assert changed.status_code == 200 and changed.json() == {"shipment_id": shipment_id}
    assert (shipment["carrier"], shipment["tracking_number"]) == ("UPS", "1Z999AA10123456784")
    assert shipment["status"] == "S" and shipment["products"] == {item: "1"}
    assert moved.status_code == 400 and "order_id" in moved.json()["message"]
    assert deleted.status_code == 204
    assert gone.status_code == 404 and again.status_code == 404
    assert details["shipment_ids"] == "" and details["need_shipment"] is True


# --- /api/statuses ----------------------------------------------------------------------------

#: Seed 002's letters and their meanings; N is "one hidden initial status".
SEED_LETTERS = {"P": "Processed", "C": "Complete", "O": "Open", "F": "Failed", "D": "Declined",
                "B": "Backordered", "I": "Cancelled", "H": "Return complete",
                "G": "Return in progress", "E": "Unpaid"}  # fmt: skip
STATUS_FIELDS = {"status_id", "status", "type", "is_default", "description", "email_subj",
                 "email_header", "lang_code", "params"}  # fmt: skip


def test_statuses_list_the_seeds_letters_in_the_guides_shape(
    fresh: tuple[str, CsCartSandbox],
) -> None:
    base, _ = fresh
    with api(base) as client:
        first = client.get("/statuses").json()
        rest = client.get("/statuses", params={"page": "2"}).json()
        processed = client.get(f"/statuses/{first[0]['status_id']}").json()
        missing = client.get("/statuses/99")
    every = first + rest
    assert len(first) == 10 and rest == []  # ten letters; the guide's default page of 10
    assert {s["status"]: s["description"] for s in every} == SEED_LETTERS
    assert all(set(s) == STATUS_FIELDS and s["type"] == "O" for s in every)
    assert processed == first[0] and processed["status"] == "P"
    assert processed["email_subj"] == "has been processed"  # the guide's example
    assert missing.status_code == 404
