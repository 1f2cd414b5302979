"""What the sync tests share: a MALL sandbox on loopback, accounts for it, the hub's orders, and
the comparison of what the hub stored with a sandbox's raw payloads through a hand-written
oracle (tests/oracles)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from sqlalchemy import Engine, select

from helpers import serve_in_thread
from oracles import differences
from oracles import mall as mall_oracle
from orderhub.channels.base import Account
from orderhub.channels.mall.sandbox import create_app
from orderhub.channels.sandbox_kit import RequestRecord
from orderhub.domain import Order
from orderhub.store.order_rows import FULL_COLUMNS, stored
from orderhub.store.tables import orders

CHANNEL = "mall-cz"


@dataclass
class Sandbox:
    app: Any
    base_url: str

    @property
    def state(self) -> Any:
        return self.app.state.sandbox

    def account(self, **overrides: Any) -> Account:
        values: dict[str, Any] = {
            "name": CHANNEL,
            "type": "mall",
            "base_url": self.base_url + "/v1",
            "credentials": {"client_id": "sandbox"},
            "timeout": 2.0,
        }
        return Account(**(values | overrides))


@contextmanager
def served(create_app: Any, **options: Any) -> Iterator[tuple[Any, str]]:
    """A channel sandbox app served on loopback: (app, base URL); closed afterwards."""
    app = create_app(**options)
    try:
        with serve_in_thread(app) as base_url:
            yield app, base_url
    finally:
        app.state.sandbox.close()


@contextmanager
def mall_sandbox(**options: Any) -> Iterator[Sandbox]:
    with served(create_app, **options) as (app, base_url):
        yield Sandbox(app, base_url)


def stored_orders(engine: Engine, channel: str) -> dict[str, Order]:
    """Every stored order of an account, by external id (a duplicate would fail)."""
    found: dict[str, Order] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(*FULL_COLUMNS).where(orders.c.channel == channel)):
            order = stored(row._mapping).to_order()
            assert order.external_id not in found, f"duplicate {order.external_id}"
            found[order.external_id] = order
    return found


def assert_no_request_before_retry_after(records: Sequence[RequestRecord]) -> None:
    """After each injected 429, the next request came at least Retry-After seconds later."""
    checked = 0
    for earlier, later in pairwise(records):
        if earlier.fault == "429":
            assert earlier.retry_after is not None
            assert later.monotonic - earlier.monotonic >= earlier.retry_after
            checked += 1
    assert checked > 0


def hub_orders(engine: Engine) -> dict[str, Order]:
    """Every stored order of the MALL account, by external id."""
    return stored_orders(engine, CHANNEL)


def comparable(order: Order) -> Order:
    """The order without what the hub owns (its id, the merchant's `confirmed`)."""
    return replace(order, id=None, confirmed=False)


Payload = Mapping[str, Any]
#: An oracle's expectations for one raw payload of an account: (payload, channel) -> fields.
Expect = Callable[[Payload, str], dict[str, Any]]


def assert_hub_holds(
    engine: Engine,
    channel: str,
    payloads: Iterable[Payload],
    expect: Expect,
    external_id: Callable[[Payload], str],
) -> None:
    """The hub holds exactly the orders of these raw payloads, each field as the oracle
    `expect` says it must be (the fields the hub owns are not in an oracle's expectations)."""
    hub, raw = stored_orders(engine, channel), {external_id(p): p for p in payloads}
    assert hub.keys() == raw.keys(), (
        f"missing {sorted(raw.keys() - hub.keys())[:5]}, "
        f"extra {sorted(hub.keys() - raw.keys())[:5]}"
    )
    found = [
        d for key, payload in raw.items() for d in differences(hub[key], expect(payload, channel))
    ]
    assert found == [], f"{len(found)} fields differ, e.g.:\n" + "\n".join(found[:8])


def assert_holds_these(engine: Engine, sandbox: Sandbox, external_ids: Iterable[str]) -> None:
    """These MALL orders are stored, each field as the MALL oracle reads its raw payload."""
    hub = hub_orders(engine)
    raw = {str(p["id"]): p for p in sandbox.state.orders_json()}
    found = [
        d
        for key in external_ids
        for d in differences(hub[key], mall_oracle.expected(raw[key], CHANNEL))
    ]
    assert found == [], f"{len(found)} fields differ, e.g.:\n" + "\n".join(found[:8])


def assert_same_orders(engine: Engine, sandbox: Sandbox) -> None:
    """The hub holds exactly the MALL sandbox's orders, field for field by the MALL oracle."""
    payloads = sandbox.state.orders_json()
    assert_hub_holds(engine, CHANNEL, payloads, mall_oracle.expected, mall_oracle.external_id)


def sync_killed_after(
    command: Sequence[str], env: dict[str, str], sandbox_state: Any, after_requests: int
) -> bool:
    """Run `orderhub sync` as a real process and SIGKILL it once the sandbox has seen
    `after_requests` more requests; True when the sync finished first."""
    start = sandbox_state.request_count
    process = subprocess.Popen(
        list(command), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while process.poll() is None:
        if sandbox_state.request_count - start >= after_requests:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            return False
        time.sleep(0.002)
    return process.returncode == 0
