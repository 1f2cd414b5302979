"""The overlap cases (docs/sync.md, "Overlap") against the CDON sandbox, over real HTTP, on
SQLite and PostgreSQL.

CDON writes times in UTC without a zone, with seven fractional digits
("2026-06-05T03:50:04.0000000"); an order's change timestamp is `LastModifiedDateUtc`, what
`DateTimeRangeMin` filters on. An account reads one country (`cdon-se`: Sweden)
(docs/channels-cdon.md).
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from orderhub.channels.base import Account, Cursor
from orderhub.channels.cdon.sandbox import create_app
from overlap_support import Channel, OverlapCases, Payload

COUNTRY = "Sweden"


def cdon_time(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}0"


def from_cdon_time(text: str) -> datetime:
    whole, _, fraction = text.partition(".")
    at = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return at.replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))


class Cdon(Channel):
    name = "cdon-se"

    def create_app(self, **options: Any) -> Any:
        return create_app(**options)

    def account(self, base_url: str, **overrides: Any) -> Account:
        values: dict[str, Any] = {
            "name": self.name,
            "type": "cdon",
            "base_url": base_url + "/api",
            "credentials": {"api_key": "sandbox"},
            "timeout": 2.0,
        }
        return Account(**(values | overrides))

    def id_of(self, payload: Payload) -> int:
        return int(payload["OrderDetails"]["OrderId"])

    def stamp_of(self, payload: Payload) -> datetime:
        details = payload["OrderDetails"]
        return from_cdon_time(details.get("LastModifiedDateUtc") or details["CreatedDateUtc"])

    def synced(self, payload: Payload) -> bool:
        return bool(payload["OrderDetails"]["CountryCode"] == COUNTRY)

    def listed(self, payload: Payload) -> bool:
        return True

    def changed(self, payload: Payload, at: datetime, email: str) -> Payload:
        new = copy.deepcopy(payload)
        new["OrderDetails"]["LastModifiedDateUtc"] = cdon_time(at)
        new["OrderDetails"]["CustomerInfo"]["EmailAddress"] = email
        return new

    def renumbered(self, payload: Payload, order_id: int) -> Payload:
        new = copy.deepcopy(payload)
        details = new["OrderDetails"]
        details["OrderId"] = order_id
        details["OrderKey"] = f"{uuid.UUID(int=order_id)}-{order_id}"
        return new

    def watermark(self, cursor: Cursor, payload: Payload) -> datetime:
        return from_cdon_time(cursor["since"])


class TestCdonOverlap(OverlapCases):
    channel = Cdon()
