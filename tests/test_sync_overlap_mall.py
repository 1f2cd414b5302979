"""The overlap cases (docs/sync.md, "Overlap") against the MALL sandbox, over real HTTP, on
SQLite and PostgreSQL.

MALL times are Prague wall time without a zone, "YYYY-MM-DD HH:MM:SS"; an order's change
timestamp is the one named after its current status (docs/channels-mall.md). Changed and late
orders are committed `confirmed`, as after a merchant's own change in MALL's back office: an
unconfirmed order would be fetched by the unconfirmed queue whatever the windows read, and
these cases are about the windows.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from orderhub.channels.base import Account, Connector, Cursor
from orderhub.channels.mall.connector import MallConnector
from orderhub.channels.mall.sandbox import create_app
from overlap_support import Channel, OverlapCases, Payload

PRAGUE = ZoneInfo("Europe/Prague")
MALL_TIME = "%Y-%m-%d %H:%M:%S"


def mall_time(at: datetime) -> str:
    return at.astimezone(PRAGUE).strftime(MALL_TIME)


def parse_mall_time(text: str) -> datetime:
    return datetime.strptime(text, MALL_TIME).replace(tzinfo=PRAGUE)


class Mall(Channel):
    name = "mall-cz"
    hub_clock = True  # a fresh cursor starts at min(hub clock, newest timestamp read)

    def create_app(self, **options: Any) -> Any:
        return create_app(**options)

    def account(self, base_url: str, **overrides: Any) -> Account:
        values: dict[str, Any] = {
            "name": self.name,
            "type": "mall",
            "base_url": base_url + "/v1",
            "credentials": {"client_id": "sandbox"},
            "timeout": 2.0,
        }
        return Account(**(values | overrides))

    def connector(self, account: Account, hub_now: datetime | None) -> Connector | None:
        if hub_now is None:
            return None
        return MallConnector(account, now=lambda: hub_now)

    def id_of(self, payload: Payload) -> int:
        return int(payload["id"])

    def stamp_of(self, payload: Payload) -> datetime:
        return parse_mall_time(payload[payload["status"]])

    def listed(self, payload: Payload) -> bool:
        # Blocked orders are listed as ids only; their window is the same code, one detail
        # call each (docs/channels-mall.md).
        return payload["status"] != "blocked" and bool(payload.get(payload["status"]))

    def changed(self, payload: Payload, at: datetime, email: str) -> Payload:
        new = copy.deepcopy(payload)
        new[new["status"]] = mall_time(at)
        if new.get("updated"):
            new["updated"] = mall_time(at)
        new["email"] = email
        new["confirmed"] = True
        return new

    def renumbered(self, payload: Payload, order_id: int) -> Payload:
        new = copy.deepcopy(payload)
        new["id"] = order_id
        new["external_id"] = str(uuid.UUID(int=order_id))
        return new

    def watermark(self, cursor: Cursor, payload: Payload) -> datetime:
        return parse_mall_time(cursor["windows"][payload["status"]])


class TestMallOverlap(OverlapCases):
    channel = Mall()
