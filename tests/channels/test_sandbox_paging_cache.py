"""The sandboxes keep a list query's ordered ids until the next write (channels/sandbox_store.py,
Dexero's and CDON's stores): paging over real HTTP lists each visible order once, and after an
order changes the next pages show the change (a stale cache would still list it).

The expected ids come from the sandbox's own truth (`orders_json`), filtered by the rule of the
channel's documented default list, never from the list code under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import serve_in_thread
from orderhub.channels.cdon.sandbox import create_app as cdon_app
from orderhub.channels.cscart.sandbox import create_app as cscart_app
from orderhub.channels.dexero.sandbox import PREFIX
from orderhub.channels.dexero.sandbox import create_app as dexero_app
from orderhub.channels.mall.sandbox import create_app as mall_app

Payload = dict[str, Any]
SIZE = 25


@dataclass(frozen=True)
class Channel:
    create_app: Callable[..., Any]
    #: The URL of page `n` (from 0) of the list, and the listed orders' ids in an answer.
    url: Callable[[int], str]
    listed: Callable[[Any], list[int]]
    #: The ids the default list shows, from the sandbox's own orders.
    visible: Callable[[list[Payload]], set[int]]
    #: An order of the list changed so that the list no longer shows it.
    hide: Callable[[Payload], None]
    client: Callable[[str], httpx.Client]


def _dexero_client(base: str) -> httpx.Client:
    token = httpx.post(
        f"{base}/oauth/token.action",
        auth=("sandbox", "sandbox"),
        data={"grant_type": "client_credentials"},
    ).json()["access_token"]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})


def _set(payload: Payload, **values: Any) -> None:
    payload.update(values)


CHANNELS = {
    "mall": Channel(
        mall_app,
        lambda n: f"/v1/orders?client_id=sandbox&test=in:0,1&page_size={SIZE}&page={n + 1}",
        lambda body: [int(order["id"]) for order in body["data"]],
        lambda orders: {o["id"] for o in orders if o["status"] != "blocked"},
        lambda payload: _set(payload, status="blocked"),
        lambda base: httpx.Client(base_url=base),
    ),
    "cscart": Channel(
        cscart_app,
        lambda n: f"/api/orders?items_per_page={SIZE}&page={n + 1}",
        lambda body: [int(order["order_id"]) for order in body["orders"]],
        lambda orders: {int(o["order_id"]) for o in orders if o["status"] != "N"},
        lambda payload: _set(payload, status="N"),
        lambda base: httpx.Client(base_url=base, auth=("admin@example.com", "sandbox")),
    ),
    "dexero": Channel(
        dexero_app,
        lambda n: f"{PREFIX}/orders/all.json?count={SIZE}&offset={n * SIZE}",
        lambda body: [int(order["id"]) for order in body["orders"]],
        lambda orders: {int(o["id"]) for o in orders if not o.get("is_test")},
        lambda payload: _set(payload, is_test=True),
        _dexero_client,
    ),
    "cdon": Channel(
        cdon_app,
        lambda n: f"/api/order/?CountryCode=Sweden&skip={n * SIZE}&take={SIZE}",
        lambda body: [int(order["OrderDetails"]["OrderId"]) for order in body],
        lambda orders: {
            int(o["OrderDetails"]["OrderId"])
            for o in orders
            if o["OrderDetails"]["CountryCode"] == "Sweden"
        },
        lambda payload: _set(payload["OrderDetails"], CountryCode="Norway"),
        lambda base: httpx.Client(base_url=base, headers={"Authorization": "api sandbox"}),
    ),
}


def page_through(client: httpx.Client, channel: Channel) -> list[int]:
    """Every id the list gives, page after page until a short (or, CDON, a 404) page."""
    ids: list[int] = []
    for number in range(1000):
        answer = client.get(channel.url(number))
        if answer.status_code == 404:  # CDON: no orders on this page
            break
        answer.raise_for_status()
        found = channel.listed(answer.json())
        ids += found
        if len(found) < SIZE:
            break
    return ids


#: The channels that can start from a snapshot on disk (texts read from its file).
SNAPSHOTS = ("mall", "cscart", "dexero", "cdon")
CASES = [*((name, False) for name in sorted(CHANNELS)), *((name, True) for name in SNAPSHOTS)]


@pytest.mark.parametrize(("name", "snapshot"), CASES)
def test_paging_lists_each_order_once_and_sees_a_change(
    name: str, snapshot: bool, tmp_path: Path
) -> None:
    channel = CHANNELS[name]
    options = {"snapshots": tmp_path} if snapshot else {}
    app = channel.create_app(orders=90, seed=4, **options)
    sandbox = app.state.sandbox
    with serve_in_thread(app) as base, channel.client(base) as client:
        first = page_through(client, channel)
        expected = channel.visible(sandbox.orders_json())
        assert len(first) == len(set(first)) and set(first) == expected
        assert len(expected) > SIZE  # several pages

        again = page_through(client, channel)  # from the cache: the same ids, same order
        assert again == first

        hidden = next(o for o in sandbox.orders_json() if _id(name, o) == first[SIZE + 1])
        channel.hide(hidden)
        sandbox.put_order(hidden)
        after = page_through(client, channel)
        assert sorted(after) == sorted(set(first) - {first[SIZE + 1]})

        sandbox.run_life([("create_orders", 3)])
        later = page_through(client, channel)
        assert len(later) == len(set(later))
        assert set(later) == channel.visible(sandbox.orders_json())
    sandbox.close()


def _id(name: str, payload: Payload) -> int:
    if name == "cdon":
        return int(payload["OrderDetails"]["OrderId"])
    return int(payload["order_id" if name == "cscart" else "id"])
