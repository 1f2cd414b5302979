"""The overlap cases (docs/sync.md, "Overlap") against the Dexero sandbox, over real HTTP (its
JSON format), on SQLite and PostgreSQL.

Dexero writes times as ISO 8601 in UTC ("2026-05-31T18:50:21Z"); an order's change timestamp is
`updated_date`, else its `purchase_date`: what the time window filters on (`earliest_time`,
docs/channels-dexero.md).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from orderhub.channels.base import Account, Cursor
from orderhub.channels.dexero.sandbox import PREFIX, create_app
from overlap_support import Channel, OverlapCases, Payload


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class Dexero(Channel):
    name = "dexero-dk"

    def create_app(self, **options: Any) -> Any:
        return create_app(**options)

    def account(self, base_url: str, **overrides: Any) -> Account:
        values: dict[str, Any] = {
            "name": self.name,
            "type": "dexero",
            "base_url": base_url + PREFIX,
            "credentials": {"client_id": "sandbox", "client_secret": "sandbox"},
            "timeout": 2.0,
            "options": {"format": "json"},
        }
        return Account(**(values | overrides))

    def id_of(self, payload: Payload) -> int:
        return int(payload["id"])

    def stamp_of(self, payload: Payload) -> datetime:
        return from_iso(payload.get("updated_date") or payload["purchase_date"])

    def listed(self, payload: Payload) -> bool:
        return True  # the hub reads every order (`orders/all`, tests and forms included)

    def changed(self, payload: Payload, at: datetime, email: str) -> Payload:
        new = copy.deepcopy(payload)
        new["updated_date"] = iso(at)
        new["customer_email"] = email
        return new

    def renumbered(self, payload: Payload, order_id: int) -> Payload:
        new = copy.deepcopy(payload)
        new["id"] = order_id
        new["reference_number"] = f"DX-{order_id}"
        return new

    def watermark(self, cursor: Cursor, payload: Payload) -> datetime:
        return from_iso(cursor["since"])


class TestDexeroOverlap(OverlapCases):
    channel = Dexero()
