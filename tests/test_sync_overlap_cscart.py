"""The overlap cases (docs/sync.md, "Overlap") against the CS-Cart sandbox, over real HTTP, on
SQLite and PostgreSQL.

CS-Cart keeps times as Unix seconds in strings; an order's change timestamp is `updated_at`,
the field the list call filters on (`updated_at_from`). Incomplete (N) orders are read by a
window of their own; the cases use the default listing's window (docs/channels-cscart.md).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from orderhub.channels.base import Account, Cursor
from orderhub.channels.cscart.sandbox import ADMIN_EMAIL, API_KEY, create_app
from overlap_support import Channel, OverlapCases, Payload


def unix(at: datetime) -> str:
    return str(int(at.timestamp()))


def from_unix(value: str | int) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


class CsCart(Channel):
    name = "shop-de"

    def create_app(self, **options: Any) -> Any:
        return create_app(**options)

    def account(self, base_url: str, **overrides: Any) -> Account:
        values: dict[str, Any] = {
            "name": self.name,
            "type": "cscart",
            "base_url": base_url + "/api",
            "credentials": {"email": ADMIN_EMAIL, "api_key": API_KEY},
            "timeout": 2.0,
        }
        return Account(**(values | overrides))

    def id_of(self, payload: Payload) -> int:
        return int(payload["order_id"])

    def stamp_of(self, payload: Payload) -> datetime:
        return from_unix(payload["updated_at"])

    def listed(self, payload: Payload) -> bool:
        return payload["status"] != "N"

    def changed(self, payload: Payload, at: datetime, email: str) -> Payload:
        new = copy.deepcopy(payload)
        new["updated_at"] = unix(at)
        new["email"] = email
        return new

    def renumbered(self, payload: Payload, order_id: int) -> Payload:
        new = copy.deepcopy(payload)
        new["order_id"] = str(order_id)
        return new

    def watermark(self, cursor: Cursor, payload: Payload) -> datetime:
        return from_unix(cursor["since"]["listed"])


class TestCsCartOverlap(OverlapCases):
    channel = CsCart()
