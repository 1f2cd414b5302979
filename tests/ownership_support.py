"""Each channel's sandbox as the field-ownership tests use it: served on loopback, an account for
it, an open order, and an edit made in the channel's own back office (written in the channel's
own spelling here, by hand, not through the hub's codec)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from orderhub.channels.base import Account
from orderhub.channels.cdon.sandbox import create_app as cdon_app
from orderhub.channels.cscart.sandbox import create_app as cscart_app
from orderhub.channels.dexero.sandbox import PREFIX as DEXERO_PREFIX
from orderhub.channels.dexero.sandbox import create_app as dexero_app
from orderhub.channels.mall.sandbox import create_app as mall_app
from sync_support import served

Payload = dict[str, Any]
PRAGUE = ZoneInfo("Europe/Prague")


@dataclass
class Kit:
    """One channel as these tests drive it."""

    name: str
    channel: str
    create_app: Callable[..., Any]
    account_values: dict[str, Any]
    #: Is this payload an order the merchant may ship (open, nothing delivered)?
    is_open: Callable[[Payload], bool]
    external_id: Callable[[Payload], str]
    #: Stamp the payload as changed by the channel at `at` (the channel's own timestamp field).
    stamp: Callable[[Payload, datetime], None]
    #: Set one canonical field in the channel's own spelling (fields the channel carries).
    setters: dict[str, Callable[[Payload, Any], None]] = field(default_factory=dict)

    def account(self, base_url: str, **overrides: Any) -> Account:
        values = {"name": self.channel, "timeout": 2.0, **self.account_values}
        values["base_url"] = base_url + values.pop("path")
        return Account(**(values | overrides))


@dataclass
class Running:
    kit: Kit
    app: Any
    base_url: str

    @property
    def state(self) -> Any:
        return self.app.state.sandbox

    def account(self, **overrides: Any) -> Account:
        return self.kit.account(self.base_url, **overrides)

    def open_order(self) -> Payload:
        return next(p for p in self.state.orders_json() if self.kit.is_open(p))

    def payload(self, external_id: str) -> Payload:
        found = self.state.store.get(int(external_id))
        assert found is not None, external_id
        return found  # type: ignore[no-any-return]

    def back_office_edit(self, external_id: str, after: datetime, **values: Any) -> None:
        """The channel changes the order in its own back office, stamped after `after`."""
        with self.state.store.lock:
            payload = self.payload(external_id)
            for name, value in values.items():
                self.kit.setters[name](payload, value)
            self.kit.stamp(payload, _second_after(after))
            self.state.store.save(payload)


@contextmanager
def running(kit: Kit, orders: int = 40, seed: int = 5) -> Iterator[Running]:
    with served(kit.create_app, orders=orders, seed=seed) as (app, base_url):
        yield Running(kit, app, base_url)


def _second_after(at: datetime) -> datetime:
    """The first whole second strictly after `at`: channels stamp to the second."""
    return at.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)


# --- MALL: status timestamps in Prague wall time; tracking and delivered_at at the top level ---


def _mall_time(at: datetime) -> str:
    return at.astimezone(PRAGUE).strftime("%Y-%m-%d %H:%M:%S")


def _mall_stamp(payload: Payload, at: datetime) -> None:
    payload[payload["status"]] = _mall_time(at)


def _mall_set(name: str) -> Callable[[Payload, Any], None]:
    def put(payload: Payload, value: Any) -> None:
        payload[name] = _mall_time(value) if isinstance(value, datetime) else value

    return put


MALL = Kit(
    name="mall",
    channel="mall-cz",
    create_app=mall_app,
    account_values={"type": "mall", "path": "/v1", "credentials": {"client_id": "sandbox"}},
    is_open=lambda p: p["status"] == "open" and not p["test"],
    external_id=lambda p: str(p["id"]),
    stamp=_mall_stamp,
    setters={name: _mall_set(name) for name in ("tracking_number", "tracking_url", "delivered_at")},
)


# --- CS-Cart: unix seconds as strings; status letters; vendor_ref at the top level -------------


def _cscart_stamp(payload: Payload, at: datetime) -> None:
    payload["updated_at"] = str(int(at.timestamp()))


CSCART = Kit(
    name="cscart",
    channel="shop-de",
    create_app=cscart_app,
    account_values={
        "type": "cscart",
        "path": "/api",
        "credentials": {"email": "admin@example.com", "api_key": "sandbox"},
    },
    is_open=lambda p: p["status"] == "P",
    external_id=lambda p: str(p["order_id"]),
    stamp=_cscart_stamp,
    setters={"vendor_ref": lambda p, v: p.__setitem__("vendor_ref", v)},
)


# --- Dexero: ISO times with Z; read only -----------------------------------------------------


def _dexero_stamp(payload: Payload, at: datetime) -> None:
    payload["updated_date"] = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


DEXERO = Kit(
    name="dexero",
    channel="dexero-dk",
    create_app=dexero_app,
    account_values={
        "type": "dexero",
        "path": DEXERO_PREFIX,
        "credentials": {"client_id": "sandbox", "client_secret": "sandbox"},
        "options": {"format": "json"},
    },
    is_open=lambda p: p["status"] == "pending" and not p["is_test"],
    external_id=lambda p: str(p["id"]),
    stamp=_dexero_stamp,
)


# --- CDON: zone-less UTC with seven fractional digits; PackageId on every row -----------------


def _cdon_stamp(payload: Payload, at: datetime) -> None:
    payload["OrderDetails"]["LastModifiedDateUtc"] = at.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.0000000"
    )


def _cdon_package(payload: Payload, value: Any) -> None:
    for row in payload["OrderDetails"]["OrderRows"]:
        if row["DeliveredQuantity"]:
            row["PackageId"] = value


def _cdon_open(payload: Payload) -> bool:
    details = payload["OrderDetails"]
    rows = details["OrderRows"]
    return details["State"] == "Pending" and not any(
        r["DeliveredQuantity"] or r["CancelledQuantity"] for r in rows
    )


CDON = Kit(
    name="cdon",
    channel="cdon-se",
    create_app=cdon_app,
    account_values={"type": "cdon", "path": "/api", "credentials": {"api_key": "sandbox"}},
    is_open=_cdon_open,
    external_id=lambda p: str(p["OrderDetails"]["OrderId"]),
    stamp=_cdon_stamp,
    setters={"tracking_number": _cdon_package},
)

KITS = {kit.name: kit for kit in (MALL, CSCART, DEXERO, CDON)}
