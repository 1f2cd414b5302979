"""The Dexero sandbox's state: its orders, order life, OAuth2 tokens, traffic and faults."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from orderhub.channels.dexero.sandbox_life import DexeroLife
from orderhub.channels.dexero.sandbox_listing import (
    DexeroError,
    flag,
    page_body,
    parse_selection,
    shown,
)
from orderhub.channels.dexero.sandbox_orders import ORDERS, Payload
from orderhub.channels.dexero.sandbox_rows import dexero_rows
from orderhub.channels.dexero.sandbox_store import DexeroStore, Selection
from orderhub.channels.sandbox_kit import FaultSpec
from orderhub.channels.sandbox_snapshot import fill_from_snapshot
from orderhub.channels.sandbox_state import SandboxState

#: The only client id and secret the sandbox accepts.
CLIENT_ID = "sandbox"
CLIENT_SECRET = "sandbox"
TOKEN_TTL = 3600


#: The values of `status` on `GET orders`: Dexero documents cancelled, completed, pending and
#: treated; the sandbox's orders also carry untreated, canceled and refunded.
ORDER_STATUSES = ("pending", "untreated", "treated", "completed", "cancelled", "canceled",
                  "refunded")  # fmt: skip


def _statuses(value: str) -> list[str]:
    wanted = [part.strip().lower() for part in value.split(",") if part.strip()]
    if not wanted or any(status not in ORDER_STATUSES for status in wanted):
        expected = "one or more of " + ", ".join(ORDER_STATUSES)
        raise DexeroError(400, "invalid_parameter", f"status: expected {expected}, got {value!r}")
    return wanted


class Tokens:
    """Bearer tokens issued by the client-credentials grant, each valid for `ttl` seconds."""

    def __init__(self, ttl: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.issued = 0
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expiry[token] = self._clock() + self.ttl
            self.issued += 1
        return {"access_token": token, "token_type": "bearer", "expires_in": self.ttl}

    def valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and self._clock() < expiry

    def revoke_all(self) -> int:
        """Every token stops working (as when they expire); how many there were."""
        with self._lock:
            count = len(self._expiry)
            self._expiry.clear()
        return count


class DexeroSandbox(SandboxState):
    """Dexero's own options: its OAuth2 tokens expire `token_ttl` seconds after they are
    issued, as `token_clock` counts."""

    def __init__(
        self,
        orders: int = 1000,
        seed: int = 1,
        faults: FaultSpec | None = None,
        token_ttl: int = TOKEN_TTL,
        token_clock: Callable[[], float] = time.monotonic,
        anchor: datetime | None = None,
        snapshots: Path | None = None,
    ) -> None:
        store = DexeroStore()
        latest = fill_from_snapshot(
            store, ORDERS, "dexero", orders, seed, anchor, snapshots, part=dexero_rows
        )
        self._set_up(seed, faults, store, latest, DexeroLife, orders)
        self.tokens = Tokens(token_ttl, token_clock)

    # --- what tests and the demo use ----------------------------------------------------------

    def orders_json(self) -> list[Payload]:
        """Every order as Dexero JSON, forms and test orders included, by id: the truth."""
        return self.store.all()

    def put_order(self, payload: Payload) -> int:
        self.store.save(payload)  # inserts or replaces, a copy
        return int(payload["id"])

    # --- Dexero's API -------------------------------------------------------------------------

    def _more_stats(self) -> dict[str, Any]:
        return {"tokens_issued": self.tokens.issued}

    def list_orders(
        self, list_name: str, params: Sequence[tuple[str, str]], fmt: str = "json"
    ) -> dict[str, Any]:
        """A list's page; in JSON (`fmt`) its orders are their JSON texts, spliced as they are."""
        return self._page(parse_selection(list_name, params), fmt)

    def _page(self, selection: Selection, fmt: str) -> dict[str, Any]:
        if fmt == "json":
            total, texts = self.store.select_texts(selection)
            return page_body(selection, total, [orjson.Fragment(text) for text in texts])
        total, payloads = self.store.select(selection)
        return page_body(selection, total, [shown(p, selection.include_forms) for p in payloads])

    def list_all(self, params: Sequence[tuple[str, str]], fmt: str = "json") -> dict[str, Any]:
        """`GET orders.{format}` (Dexero's "GET orders"): every order, `status` filtering."""
        statuses = [value for name, value in params if name == "status"]
        rest = [(name, value) for name, value in params if name != "status"]
        selection = parse_selection("all", rest)
        if statuses:
            wanted = frozenset(_statuses(",".join(statuses)))
            selection = dataclasses.replace(selection, statuses=wanted)
        return self._page(selection, fmt)

    def order(self, id_or_number: str, params: Sequence[tuple[str, str]]) -> Payload:
        """`GET orders/{idOrNumber}`: by the system id, else by the order number
        (`reference_number`)."""
        values = dict(params)
        unknown = sorted(set(values) - {"include_forms"})
        if unknown:
            raise DexeroError(400, "invalid_parameter", f"{unknown[0]}: unknown parameter")
        digits = id_or_number.isascii() and id_or_number.isdigit() and len(id_or_number) <= 18
        payload = self.store.get(int(id_or_number)) if digits else None
        if payload is None:
            payload = self.store.by_number(id_or_number)
        if payload is None:
            raise DexeroError(404, "not_found", f"order {id_or_number} not found")
        return shown(payload, flag(values, "include_forms"))

    # --- background work ----------------------------------------------------------------------
