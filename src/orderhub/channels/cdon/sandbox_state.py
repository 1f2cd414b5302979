"""The CDON sandbox's state: its orders, order life, traffic and faults."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import orjson

from orderhub.channels.cdon.sandbox_api import ROW_CALLS, list_query, page_of, row_body
from orderhub.channels.cdon.sandbox_drawn import cdon_drawn
from orderhub.channels.cdon.sandbox_life import CdonLife
from orderhub.channels.cdon.sandbox_orders import ORDERS
from orderhub.channels.cdon.sandbox_rows import ORDER_NOT_FOUND, CdonError, Payload
from orderhub.channels.cdon.sandbox_store import CdonOrderStore
from orderhub.channels.sandbox_kit import FaultSpec
from orderhub.channels.sandbox_snapshot import fill_from_snapshot
from orderhub.channels.sandbox_state import SandboxState

#: The only API key the sandbox accepts (`Authorization: api sandbox`).
API_KEY = "sandbox"


class CdonSandbox(SandboxState):
    def __init__(
        self,
        orders: int = 1000,
        seed: int = 1,
        faults: FaultSpec | None = None,
        anchor: datetime | None = None,
        snapshots: Path | None = None,
    ):
        store = CdonOrderStore()
        fill_from_snapshot(store, ORDERS, "cdon", orders, seed, anchor, snapshots, part=cdon_drawn)
        # The clock starts after the latest LastModifiedDateUtc (some generated changes leave
        # no trace in a CDON order: its latest stamp can be before the order's updated_at).
        self._set_up(seed, faults, store, store.latest(), CdonLife, orders)

    # --- what tests and the demo use ----------------------------------------------------------

    def orders_json(self) -> list[Payload]:
        """Every order as `{OrderDetails, Invoices}` (amounts as Decimal), by OrderId."""
        return self.store.all()

    def put_order(self, payload: Payload) -> int:
        self.store.save(payload)  # inserts or replaces (kept as its JSON text)
        return int(payload["OrderDetails"]["OrderId"])

    # --- CDON's API ---------------------------------------------------------------------------

    def list_orders(self, params: Sequence[tuple[str, str]]) -> list[orjson.Fragment]:
        """A page of the list, each order's JSON text as stored."""
        query = list_query(params)
        texts = self.store.by_modification(
            query.country, query.since, query.until, query.skip, query.take
        )
        return [orjson.Fragment(text) for text in page_of(texts)]

    def order(self, order_id: int) -> Payload:
        payload = self.store.get(order_id)
        if payload is None:
            raise CdonError(404, ORDER_NOT_FOUND, f"Order {order_id} not found")
        return payload

    def row_call(self, call: str, body: object) -> Payload:
        """`POST api/orderdelivery|ordercancel|orderreturn`: all rows applied, or none."""
        apply = ROW_CALLS[call][0]
        order_id, requests = row_body(call, body)
        with self.store.lock:
            payload = self.store.get(order_id)
            if payload is None:  # CDON's documented answer: 400, ErrorCode 1000
                raise CdonError(400, ORDER_NOT_FOUND, f"Order {order_id} does not exist")
            apply(payload, requests, self.clock.now())
            self.store.save(payload)
        return payload

    # --- background work ----------------------------------------------------------------------
