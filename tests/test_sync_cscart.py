"""The sync engine against the CS-Cart sandbox over real HTTP, on SQLite and PostgreSQL; the
connector's push-back over HTTP; the SIGKILL crash run (slow)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from oracles import cscart as cscart_oracle
from orderhub.channels.base import (
    Account,
    ChannelNotFound,
    Fatal,
    OrderChange,
    Unsupported,
)
from orderhub.channels.cscart.connector import CsCartConnector
from orderhub.channels.cscart.sandbox import ADMIN_EMAIL, API_KEY, CsCartSandbox, create_app
from orderhub.domain import Order, Status
from orderhub.services.sync import SyncProgress, sync_account
from orderhub.store import SyncRepository, UnitOfWork
from sync_support import (
    assert_hub_holds,
    assert_no_request_before_retry_after,
    served,
    stored_orders,
    sync_killed_after,
)

CHANNEL = "shop-de"
DETAILS = "GET /api/orders/"


@dataclass
class Shop:
    app: Any
    base_url: str

    @property
    def state(self) -> CsCartSandbox:
        sandbox: CsCartSandbox = self.app.state.sandbox
        return sandbox

    def account(self, **overrides: Any) -> Account:
        values: dict[str, Any] = {
            "name": CHANNEL,
            "type": "cscart",
            "base_url": self.base_url + "/api",
            "credentials": {"email": ADMIN_EMAIL, "api_key": API_KEY},
            "timeout": 2.0,
        }
        return Account(**(values | overrides))

    def detail_calls(self) -> int:
        paths = self.state.requests_by_path
        return sum(n for path, n in paths.items() if path.startswith(DETAILS))


@contextmanager
def cscart_shop(**options: Any) -> Iterator[Shop]:
    with served(create_app, **options) as (app, base_url):
        yield Shop(app, base_url)


def hub_orders(engine: Engine) -> dict[str, Order]:
    return stored_orders(engine, CHANNEL)


def assert_same_orders(engine: Engine, shop: Shop) -> None:
    """The hub holds exactly the shop's orders (Incomplete ones too), field for field by the
    CS-Cart oracle."""
    payloads = shop.state.orders_json()
    assert_hub_holds(engine, CHANNEL, payloads, cscart_oracle.expected, cscart_oracle.external_id)


# --- pulling --------------------------------------------------------------------------------


def test_first_sync_holds_exactly_the_shop_orders(engine: Engine) -> None:
    with cscart_shop(orders=300, seed=3) as shop:
        seen: list[SyncProgress] = []
        result = sync_account(engine, shop.account(page_size=50), progress=seen.append)
        assert result.ok, result.error
        assert_same_orders(engine, shop)
        letters = Counter(p["status"] for p in shop.state.orders_json())
        assert letters["N"] > 0  # hidden from the default list, pulled by its own window
        assert result.counts.orders_new == 300 and result.counts.quarantined == 0
        assert seen and seen[-1].counts.orders_new == 300 and seen[0].total is not None
        # One details call per order, plus the few re-read where a page restarts.
        pages = shop.state.requests_by_path["GET /api/orders"]
        assert 300 <= shop.detail_calls() <= 300 + pages
        assert pages <= 300 // 49 + 2 + 1


def test_second_sync_is_incremental(engine: Engine) -> None:
    with cscart_shop(orders=300, seed=5) as shop:
        account = shop.account()
        assert sync_account(engine, account).ok
        before, details = shop.state.request_count, shop.detail_calls()
        again = sync_account(engine, account)
        assert again.ok, again.error
        assert again.counts.orders_new == again.counts.orders_changed == 0
        # One list call per window; details only for the orders inside the overlap.
        assert shop.state.request_count - before == again.counts.requests
        assert shop.detail_calls() - details == overlapping(shop, account.overlap)
        assert again.counts.requests == 2 + overlapping(shop, account.overlap) <= 6
        assert_same_orders(engine, shop)


def overlapping(shop: Shop, overlap: float) -> int:
    """Orders whose updated_at is within `overlap` of the latest in their window."""
    payloads = shop.state.orders_json()
    count = 0
    for incomplete in (False, True):
        stamps = [int(p["updated_at"]) for p in payloads if (p["status"] == "N") == incomplete]
        count += sum(stamp >= max(stamps) - overlap for stamp in stamps)
    return count


def test_changes_arrive_at_the_next_sync_with_history(engine: Engine) -> None:
    with cscart_shop(orders=300, seed=6) as shop:
        account = shop.account()
        assert sync_account(engine, account).ok
        first = hub_orders(engine)
        changed = {str(i) for i in shop.state.step_life(30)}
        result = sync_account(engine, account)
        assert result.ok, result.error
        assert_same_orders(engine, shop)
        assert result.counts.orders_new + result.counts.orders_changed == len(changed)
        hub = hub_orders(engine)
        moved = [hub[i] for i in changed if i in first]
        assert moved and all(o.channel_status != first[o.external_id].channel_status
                             for o in moved)  # fmt: skip
        paid = [o for o in moved if first[o.external_id].channel_status == "N"]
        assert paid and all(o.status is Status.OPEN for o in paid)  # the gateway answered
        with UnitOfWork(engine) as uow:
            histories = [uow.events.history(o.id or 0) for o in moved]
        assert all(histories), "each order changed since the first sync has history entries"


def test_full_resync_rereads_everything_and_changes_nothing(engine: Engine) -> None:
    with cscart_shop(orders=200, seed=7) as shop:
        account = shop.account(page_size=40)
        assert sync_account(engine, account).ok
        result = sync_account(engine, account, full=True)
        assert result.ok, result.error
        assert result.counts.orders_unchanged >= 200 and result.counts.orders_new == 0
        with engine.connect() as conn:
            run = SyncRepository(conn).last_runs()[CHANNEL]
        assert run.full and run.status == "ok"
        assert_same_orders(engine, shop)


def test_an_undecodable_order_is_quarantined_and_the_sync_goes_on(engine: Engine) -> None:
    with cscart_shop(orders=100, seed=8) as shop:
        broken = shop.state.orders_json()[10]
        shop.state.store.save(broken | {"products": "not an object"})
        result = sync_account(engine, shop.account(page_size=30))
        assert result.ok, result.error
        assert result.counts.quarantined == 1 and result.counts.orders_new == 99
        with engine.connect() as conn:
            (record,), total = SyncRepository(conn).quarantined(CHANNEL, 0, 10)
        assert total == 1 and record.external_id == broken["order_id"]
        assert "products" in record.reason
        assert broken["order_id"] not in hub_orders(engine)


FAULTS = "429=0.3,500=0.1,timeout=0.02,truncate=0.02,reset=0.02,seed=11,delay=3"


# Every order costs a details call, and each injected 429 a one-second Retry-After: the default
# run keeps to a dozen orders (~10 s on both databases); the slow one pulls 30 (~20 s each).
@pytest.mark.parametrize("count", [12, pytest.param(30, marks=pytest.mark.slow)])
def test_faults_still_end_with_exactly_the_shop_orders(engine: Engine, count: int) -> None:
    with cscart_shop(orders=count, seed=8, faults=FAULTS) as shop:
        account = shop.account(page_size=100, timeout=1.0, max_attempts=30)
        result = sync_account(engine, account)
        assert result.ok, result.error
        assert_same_orders(engine, shop)
        assert result.counts.retries > 0
        kinds = {record.fault for record in shop.state.fault_log}
        assert {"429", "500"} <= kinds
        assert_no_request_before_retry_after(shop.state.requests)


def test_refused_credentials_fail_the_run(engine: Engine) -> None:
    with cscart_shop(orders=5, seed=1) as shop:
        account = shop.account(credentials={"email": ADMIN_EMAIL, "api_key": "wrong"})
        result = sync_account(engine, account)
        assert not result.ok and "Unauthorized" in (result.error or "")
        assert hub_orders(engine) == {}


# --- push-back over HTTP --------------------------------------------------------------------


@pytest.fixture
def shop() -> Iterator[Shop]:
    with cscart_shop(orders=150, seed=9) as shop:
        yield shop


@pytest.fixture
def connector(shop: Shop) -> Iterator[CsCartConnector]:
    connector = CsCartConnector(shop.account(max_attempts=2))
    try:
        yield connector
    finally:
        connector.close()


def with_letter(shop: Shop, letter: str, n: int = 0) -> dict[str, Any]:
    return [p for p in shop.state.orders_json() if p["status"] == letter][n]


def test_push_status_with_notify_user_has_the_shop_mail_once(
    shop: Shop, connector: CsCartConnector
) -> None:
    order = with_letter(shop, "P")
    connector.push(OrderChange(order["order_id"], status=Status.SHIPPED, notify_user=True))
    assert shop.state.order(int(order["order_id"]))["status"] == "C"
    (mail,) = shop.state.mail
    assert (mail.order_id, mail.to, mail.status) == (order["order_id"], order["email"], "C")
    other = with_letter(shop, "P")
    connector.push(OrderChange(other["order_id"], status=Status.CANCELLED))
    assert shop.state.order(int(other["order_id"]))["status"] == "D"
    assert len(shop.state.mail) == 1  # no notify_user: the shop stays quiet
    assert shop.state.requests_by_path[f"PUT /api/orders/{order['order_id']}"] == 1


@pytest.mark.parametrize(
    ("status", "letter"),
    [(Status.OPEN, "P"), (Status.BACKORDERED, "B"), (Status.RETURNING, "G"),
     (Status.RETURNED, "H"), (Status.FAILED, "F")],
)  # fmt: skip
def test_push_maps_each_status_to_its_letter(
    shop: Shop, connector: CsCartConnector, status: Status, letter: str
) -> None:
    order = with_letter(shop, "C")
    connector.push(OrderChange(order["order_id"], status=status))
    assert shop.state.order(int(order["order_id"]))["status"] == letter


def test_push_vendor_ref_then_search_and_sync_bring_it_back(shop: Shop, engine: Engine) -> None:
    connector = CsCartConnector(shop.account())
    try:
        order = with_letter(shop, "C")
        connector.push(OrderChange(order["order_id"], vendor_ref="PO-2026-0042"))
        found = connector.client.search("PO-2026-0042")
        assert [p["order_id"] for p in found] == [order["order_id"]]
        paid = with_letter(shop, "O")
        change = OrderChange(paid["order_id"], status=Status.OPEN, vendor_ref="PO-7")
        connector.push(change)  # both in one PUT
        assert shop.state.requests_by_path[f"PUT /api/orders/{paid['order_id']}"] == 1
    finally:
        connector.close()
    assert sync_account(engine, shop.account()).ok
    hub = hub_orders(engine)
    assert hub[order["order_id"]].vendor_ref == "PO-2026-0042"
    assert (hub[paid["order_id"]].status, hub[paid["order_id"]].vendor_ref) == (Status.OPEN, "PO-7")


def test_the_shops_refusals_are_fatal_with_its_message(
    shop: Shop, connector: CsCartConnector
) -> None:
    incomplete = with_letter(shop, "N")
    change = OrderChange(incomplete["order_id"], status=Status.CANCELLED, notify_user=True)
    with pytest.raises(Fatal, match=r"HTTP 400 .*awaits the payment gateway"):
        connector.push(change)
    with pytest.raises(Fatal, match="vendor_ref: at most 64 characters"):
        connector.push(OrderChange(incomplete["order_id"], vendor_ref="X" * 65))
    assert shop.state.order(int(incomplete["order_id"])) == incomplete
    assert shop.state.mail == []
    with pytest.raises(ChannelNotFound, match="Not Found: order 1 does not exist"):
        connector.push(OrderChange("1", status=Status.SHIPPED))


@pytest.mark.parametrize(
    "change",
    [
        OrderChange("1", status=Status.DELIVERED),
        OrderChange("1", status=Status.PENDING),
        OrderChange("1", tracking_number="T1", tracking_url="https://t.example/T1"),
    ],
)
def test_what_cscart_cannot_take_is_unsupported_before_any_request(
    shop: Shop, connector: CsCartConnector, change: OrderChange
) -> None:
    with pytest.raises(Unsupported, match="CS-Cart"):
        connector.push(change)
    assert shop.state.request_count == 0


def test_fetch_webhooks_and_acknowledgement(shop: Shop, connector: CsCartConnector) -> None:
    wanted = [p["order_id"] for p in shop.state.orders_json()[:3]]
    page = connector.fetch([*wanted, "1"])
    assert [o.external_id for o in page.orders] == wanted and page.skipped == []
    assert list(connector.unacknowledged()) == []
    with pytest.raises(Unsupported, match="no webhooks"):
        connector.webhook_ids(b"[1]", {})


# --- crash safety ---------------------------------------------------------------------------

KILLS = 12


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261124)
    with cscart_shop(orders=600, seed=9) as shop:
        env = _environment(shop, database_url, tmp_path)
        killed = 0
        while killed < KILLS:
            if _run_until(env, shop, after_requests=rng.randint(1, 40)):
                break  # the sync finished before the kill point: nothing left to interrupt
            killed += 1
            _assert_cursor_covers_what_is_stored(engine, shop)
        assert killed >= 10, f"only {killed} kills landed before the sync finished"
        finished = subprocess.run(_command(), env=env, capture_output=True, timeout=120)
        assert finished.returncode == 0, finished.stdout.decode() + finished.stderr.decode()
        assert_same_orders(engine, shop)
        with engine.connect() as conn:
            state = SyncRepository(conn).state(CHANNEL)
            last = SyncRepository(conn).last_runs()[CHANNEL]
        assert state is not None and state.cursor is not None and last.status == "ok"
        latest = {
            window: max(int(p["updated_at"]) for p in shop.state.orders_json()
                        if (p["status"] == "N") == (window == "incomplete"))
            for window in ("listed", "incomplete")
        }  # fmt: skip
        assert state.cursor["since"] == latest


def _run_until(env: dict[str, str], shop: Shop, after_requests: int) -> bool:
    """Start a sync and SIGKILL it after `after_requests` more sandbox requests; True when it
    finished first."""
    return sync_killed_after(_command(), env, shop.state, after_requests)


def _assert_cursor_covers_what_is_stored(engine: Engine, shop: Shop) -> None:
    """The committed cursor never runs ahead of the committed orders: every order of a window
    updated before its watermark is stored."""
    with engine.connect() as conn:
        state = SyncRepository(conn).state(CHANNEL)
    if state is None or state.cursor is None:
        return
    since = state.cursor["since"]
    stored_ids = hub_orders(engine).keys()
    for p in shop.state.orders_json():
        window = "incomplete" if p["status"] == "N" else "listed"
        if int(p["updated_at"]) < since[window]:
            assert p["order_id"] in stored_ids, f"cursor passed order {p['order_id']}"


def _environment(shop: Shop, database_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "orderhub.toml"
    config.write_text(
        "[[channels]]\n"
        f'name = "{CHANNEL}"\ntype = "cscart"\nbase_url = "{shop.base_url}/api"\n'
        'email_env = "SHOP_DE_EMAIL"\napi_key_env = "SHOP_DE_API_KEY"\npage_size = 50\n'
    )
    return os.environ | {
        "ORDERHUB_DATABASE_URL": database_url,
        "ORDERHUB_CONFIG_FILE": str(config),
        "SHOP_DE_EMAIL": ADMIN_EMAIL,
        "SHOP_DE_API_KEY": API_KEY,
    }


def _command() -> list[str]:
    return [sys.executable, "-c", "from orderhub.cli import main; main()", "sync"]
