"""The order page in a real browser: ship an order with tracking and see the timeline grow, a
stale edit explained (the order changed through the service after the page loaded), and the
packing slip with its barcode and lines."""

from __future__ import annotations

import re
from typing import Any

from orderhub.domain import Order
from orderhub.domain.fulfilment import GOODS, open_quantity
from orderhub.query import parse_query
from orderhub.services.orders import get_order, list_orders
from orderhub.services.update_request import parse_update
from orderhub.services.updates import update_order
from orderhub.web.barcode import code128_modules


def _open_orders(hub: Any, count: int) -> list[Order]:
    """Open orders of the seeded hub with goods left to ship."""
    page = list_orders(hub.engine, parse_query([("status", "open"), ("page_size", "100")]))
    found = []
    for row in page.rows:
        order = get_order(hub.engine, int(row["id"])).to_order()
        if any(line.type in GOODS and open_quantity(line) > 0 for line in order.lines):
            found.append(order)
    assert len(found) >= count, "the seed has too few open orders"
    return found[:count]


def test_ship_with_tracking_then_a_stale_edit(hub: Any, signed_in: Any, shot: Any) -> None:
    (order,) = _open_orders(hub, 1)
    page = signed_in("staff")
    page.goto(hub.url(f"/orders/{order.id}"))
    assert page.locator("h1").inner_text().startswith(f"Order {order.id}")
    entries = page.locator("ol.timeline > li").count()
    shot(page, "opened")

    page.get_by_label("Carrier").fill("PostNord")
    page.get_by_label("Tracking number").fill("PN-BROWSER-1")
    page.get_by_label("Tracking URL").fill("https://track.example/PN-BROWSER-1")
    page.get_by_role("button", name="Record the shipment").click()
    page.wait_for_url(re.compile(rf"/orders/{order.id}\?done=shipped"))
    assert "The shipment is recorded." in page.get_by_role("status").inner_text()
    assert page.locator("dd.status").inner_text() == "shipped"
    assert page.locator("ol.timeline > li").count() == entries + 1
    newest = page.locator("ol.timeline > li").last.inner_text()
    assert "PN-BROWSER-1" in newest and "open → shipped" in newest
    shot(page, "shipped")

    # Someone else changes the order while this page is open.
    update_order(hub.engine, order.id, parse_update({"vendor_ref": "STALE-1"}), "other-key")
    page.get_by_label("New status").select_option("lost")
    page.get_by_role("button", name="Change status").click()
    stale = page.locator("section.stale")
    stale.wait_for()
    words = stale.inner_text()
    assert "This order changed since you opened it" in words
    assert "other-key" in words and re.search(r"vendor_ref .* → STALE-1", words)
    assert page.get_by_role("link", name="Reload the order").is_visible()
    assert get_order(hub.engine, order.id).to_order().status == "shipped"  # nothing changed
    shot(page, "stale")


def test_the_packing_slip(hub: Any, signed_in: Any, shot: Any) -> None:
    (order,) = _open_orders(hub, 1)
    page = signed_in("viewer")
    page.goto(hub.url(f"/orders/{order.id}/packing-slip"))
    assert page.locator("nav").count() == 0
    barcode = page.locator("svg.barcode")
    assert barcode.get_attribute("aria-label") == f"Barcode (Code 128) of {order.id}"
    bars = len(re.findall("1+", code128_modules(str(order.id))))
    assert barcode.locator("g rect").count() == bars and barcode.bounding_box()["width"] > 100
    goods = [line for line in order.lines if line.type in GOODS]
    rows = page.locator("table.pick tbody tr")
    assert rows.count() == len(goods)
    for index, line in enumerate(goods):
        cells = rows.nth(index).locator("td")
        assert cells.nth(0).inner_text() == (line.sku or "—")
        assert cells.nth(3).inner_text() == str(open_quantity(line))
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Print").is_visible()
    shot(page, "slip")
