"""The MALL sandbox's state: its orders, order life, quota, traffic, faults and webhooks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from orderhub.channels.mall.sandbox_labels import create_labels
from orderhub.channels.mall.sandbox_life import MallLife
from orderhub.channels.mall.sandbox_listing import list_orders
from orderhub.channels.mall.sandbox_orders import ORDERS
from orderhub.channels.mall.sandbox_rows import mall_rows
from orderhub.channels.mall.sandbox_serials import apply_serial_numbers
from orderhub.channels.mall.sandbox_stats import order_stats, parse_days
from orderhub.channels.mall.sandbox_store import MallOrderStore, Payload
from orderhub.channels.mall.sandbox_updates import (
    MallError,
    apply_tracking,
    apply_update,
    changed_fields,
)
from orderhub.channels.sandbox_kit import (
    DailyQuota,
    FaultSpec,
    WebhookBatcher,
)
from orderhub.channels.sandbox_snapshot import fill_from_snapshot
from orderhub.channels.sandbox_state import SandboxState

#: The only client_id the sandbox accepts.
CLIENT_ID = "sandbox"
DEFAULT_DAILY_LIMIT = 100_000
#: How often the background webhook ticker looks whether a batch is due (seconds).
WEBHOOK_TICK = 1.0


class MallSandbox(SandboxState):
    """MALL's own options: `webhook_url` (POST the ids of orders MALL changed there, in batches
    at most every `webhook_interval` seconds) and `daily_limit` (requests a day per endpoint
    group, DEFAULT_DAILY_LIMIT when None)."""

    def __init__(
        self,
        orders: int = 1000,
        seed: int = 1,
        faults: FaultSpec | None = None,
        webhook_url: str | None = None,
        daily_limit: int | None = None,
        webhook_interval: float = 60.0,
        anchor: datetime | None = None,
        snapshots: Path | None = None,
    ) -> None:
        store = MallOrderStore()
        latest = fill_from_snapshot(
            store, ORDERS, "mall", orders, seed, anchor, snapshots, part=mall_rows
        )
        self._set_up(seed, faults, store, latest, MallLife, orders)
        self.client_id = CLIENT_ID
        self.quota = DailyQuota(DEFAULT_DAILY_LIMIT if daily_limit is None else daily_limit)
        self.webhooks = WebhookBatcher(webhook_url, webhook_interval) if webhook_url else None

    # --- what tests and the demo use ----------------------------------------------------------

    def orders_json(self) -> list[Payload]:
        """Every order as MALL JSON (test and blocked included), by id: the sandbox's truth."""
        return self.store.all()

    def put_order(self, payload: Payload) -> int:
        return self.store.put(payload)

    def _after_life(self, changed: list[int]) -> None:
        """Changes made by MALL (not by the merchant) are announced by webhook."""
        if self.webhooks is not None:
            self.webhooks.notify(changed)

    def _more_stats(self) -> dict[str, Any]:
        webhooks = self.webhooks.log if self.webhooks is not None else []
        return {
            "quota": {"limit": self.quota.limit, "used": self.quota.used()},
            "webhooks": [
                {"at": d.at.isoformat(), "ids": d.ids, "status": d.status, "error": d.error}
                for d in webhooks
            ],
            "webhooks_pending": self.webhooks.pending if self.webhooks is not None else [],
        }

    def _background(self) -> list[tuple[float, Callable[[], object]]]:
        """The webhook ticker, when a URL is set."""
        return [] if self.webhooks is None else [(WEBHOOK_TICK, self.webhooks.tick)]

    def flush_webhooks(self) -> list[int]:
        """Send the pending webhook now; the ids sent ([] when none or no URL is configured)."""
        return self.webhooks.flush() if self.webhooks is not None else []

    # --- MALL's API ---------------------------------------------------------------------------

    def list_orders(
        self,
        params: Sequence[tuple[str, str]],
        *,
        unconfirmed: bool,
        status_list: str | None = None,
    ) -> Any:
        return list_orders(self.store, params, unconfirmed=unconfirmed, status_list=status_list)

    def order_stats(self, params: Sequence[tuple[str, str]]) -> Any:
        """GET /orders/stats: orders placed in the last `days` days, per status."""
        return order_stats(self.store, parse_days(params), self.clock.now())

    def order(self, order_id: int) -> Payload:
        payload = self.store.get(order_id)
        if payload is None:
            raise MallError(404, "NOT_FOUND", f"order {order_id} not found", {"id": order_id})
        return payload

    def update(self, order_id: int, body: object) -> Payload:
        with self.store.lock:
            order = self.order(order_id)
            changed = apply_update(order, body, self.clock.now())
            # Each column is the top-level field of its name: only the changed ones are written.
            self.store.save_columns(changed, changed_fields(order, changed))
        return changed

    def update_tracking(self, order_id: int, body: object) -> Payload:
        with self.store.lock:
            changed = apply_tracking(self.order(order_id), body)
            self.store.save(changed)
        return changed

    def set_serial_numbers(self, order_id: int, item: str, body: object) -> Payload:
        with self.store.lock:
            changed = apply_serial_numbers(self.order(order_id), item, body)
            self.store.save(changed)
        return changed

    def labels(self, body: object) -> dict[str, Any]:
        return create_labels(body, self.order)

    # --- background work ----------------------------------------------------------------------
