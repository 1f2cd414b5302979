"""The CS-Cart sandbox's state: its orders, order life, traffic, faults and the e-mail it sent."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from orderhub.channels.cscart.sandbox_life import CsCartLife, unix
from orderhub.channels.cscart.sandbox_listing import CsCartError, bad_request, list_orders
from orderhub.channels.cscart.sandbox_orders import ORDERS
from orderhub.channels.cscart.sandbox_rows import cscart_rows
from orderhub.channels.cscart.sandbox_shipments import (
    ShipmentBook,
    changed_shipment,
    forget,
    new_shipment,
    record,
)
from orderhub.channels.cscart.sandbox_store import C, CsCartOrderStore, Payload
from orderhub.channels.cscart.sandbox_updates import SentMail, apply_update, status_mail
from orderhub.channels.sandbox_kit import FaultSpec
from orderhub.channels.sandbox_snapshot import fill_from_snapshot
from orderhub.channels.sandbox_state import SandboxState

#: The only credentials the sandbox accepts (HTTP Basic: the admin's e-mail and API key).
ADMIN_EMAIL = "admin@example.com"
API_KEY = "sandbox"


class CsCartSandbox(SandboxState):
    def __init__(
        self,
        orders: int = 1000,
        seed: int = 1,
        faults: FaultSpec | None = None,
        anchor: datetime | None = None,
        snapshots: Path | None = None,
    ):
        store = CsCartOrderStore()
        latest = fill_from_snapshot(
            store, ORDERS, "cscart", orders, seed, anchor, snapshots, part=cscart_rows
        )
        self._set_up(seed, faults, store, latest, CsCartLife, orders)
        self._mail: list[SentMail] = []
        self.shipments = ShipmentBook()
        self._mail_lock = threading.Lock()

    # --- what tests and the demo use ----------------------------------------------------------

    def orders_json(self) -> list[Payload]:
        """Every order's details (Incomplete ones included), by id: the sandbox's truth."""
        return self.store.all()

    def put_order(self, payload: Payload) -> int:
        return self.store.put(payload)

    @property
    def mail(self) -> list[SentMail]:
        with self._mail_lock:
            return list(self._mail)

    def _more_stats(self) -> dict[str, Any]:
        return {"mail_sent": len(self.mail)}

    def mail_json(self) -> list[dict[str, Any]]:
        return [asdict(m) for m in self.mail]

    # --- CS-Cart's API ------------------------------------------------------------------------

    def list_orders(self, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        return list_orders(self.store, params)

    def order(self, order_id: int) -> Payload:
        payload = self.store.get(order_id)
        if payload is None:
            raise CsCartError(404, f"Not Found: order {order_id} does not exist")
        return payload

    def update(self, order_id: int, body: object) -> dict[str, str]:
        """PUT /api/orders/{id}: `{"order_id": "98"}`; the e-mail recorded if one is due."""
        with self.store.lock:
            update = apply_update(self.order(order_id), body, self.clock.now())
            self.store.save(update.payload)
        if update.notify_user:
            self._send_mail(update.payload)
        return {"order_id": str(order_id)}

    def search(self, vendor_ref: str | None) -> list[Payload]:
        """GET /api/orders/search/?vendor_ref=: the details of every order with that reference."""
        if not vendor_ref:
            raise bad_request("vendor_ref: expected the reference to search for")
        found = self.store.find(C.vendor_ref == vendor_ref)
        if not found:
            raise CsCartError(404, "Your search did not return any results")
        return found

    def create_shipment(self, body: object) -> dict[str, str]:
        """POST /api/shipments: `{"shipment_id": "1"}`; the order names it and, with
        `order_status`, takes that status."""
        raw = body.get("order_id") if isinstance(body, dict) else None
        if isinstance(raw, bool) or not str(raw or "").isdigit():
            raise bad_request(f"order_id: expected the id of an order, got {raw!r}")
        with self.store.lock:
            order = self.store.get(int(str(raw)))
            if order is None:
                raise bad_request(f"order_id: order {raw} does not exist")
            earlier = self.shipments.of_order(str(order["order_id"]))
            made = new_shipment(order, earlier, body, self.clock.now())
            shipment_id = self.shipments.add(made.shipment)
            record(made.order, shipment_id)
            self.store.save(made.order)
        return {"shipment_id": str(shipment_id)}

    def update_shipment(self, shipment_id: int, body: object) -> dict[str, str]:
        """PUT /api/shipments/{id}: `{"shipment_id": "1"}`."""
        self.shipments.replace(changed_shipment(self.shipments.get(shipment_id), body))
        return {"shipment_id": str(shipment_id)}

    def delete_shipment(self, shipment_id: int) -> None:
        """DELETE /api/shipments/{id}: the shipment is gone and its order no longer names it."""
        with self.store.lock:
            removed = self.shipments.remove(shipment_id)
            order = self.store.get(int(removed["order_id"]))
            if order is not None:
                left = self.shipments.of_order(removed["order_id"])
                forget(order, removed, left, unix(self.clock.now()))
                self.store.save(order)

    def _send_mail(self, payload: Payload) -> None:
        sent = status_mail(payload)
        if sent is not None:
            with self._mail_lock:
                self._mail.append(sent)

    # --- background work ----------------------------------------------------------------------
