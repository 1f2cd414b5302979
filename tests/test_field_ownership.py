"""Field ownership end to end (docs/sync.md): what the merchant sets through the hub survives
the channel's next report, and what the channel itself changes in a field it carries arrives.

Each case runs over real HTTP: the hub's API, the push through the outbox to the channel's
sandbox, the channel's own back-office edit (stamped after the merchant's change, so the sync
sees a newer order), the next sync. The expected owners are written here by hand from the
channels' documents (docs/channels-*.md), not read from the hub's ownership table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from helpers import client
from orderhub.services.outbox import Backoff, Topic, Worker
from orderhub.services.push import TOPIC, Pusher
from orderhub.services.sync import sync_account
from orderhub.store import UnitOfWork
from ownership_support import KITS, Running, running

TRACKING = {
    "status": "shipped",
    "tracking_number": "TRK-HUB-1",
    "tracking_url": "https://track.example/TRK-HUB-1",
    "carrier": "Hub Carrier",
}
DELIVERED_AT = "2026-11-30T10:15:00Z"

#: Per channel, the fields the merchant sets that the channel does not carry (hub-owned) and
#: those it carries too (both write: the channel's own new value wins).
HUB_FIELDS = {
    "mall": ("carrier", "vendor_ref"),
    "cscart": ("tracking_number", "tracking_url", "carrier", "delivered_at"),
    "dexero": ("tracking_number", "tracking_url", "carrier", "delivered_at", "vendor_ref"),
    "cdon": ("tracking_url", "carrier", "delivered_at", "vendor_ref"),
}
BOTH_FIELDS = {
    "mall": ("tracking_number", "tracking_url", "delivered_at"),
    "cscart": ("vendor_ref",),
    "dexero": (),
    "cdon": ("tracking_number",),
}
#: A value the channel's back office sets, per field it carries.
CHANNEL_VALUES: dict[str, Any] = {
    "tracking_number": "TRK-CHANNEL-9",
    "tracking_url": "https://carrier.example/track/TRK-CHANNEL-9",
    "delivered_at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    "vendor_ref": "PO-FROM-SHOP-9",
}
#: What the merchant sends to set each field (with what its status needs), and the value shown.
MERCHANT_SETS: dict[str, tuple[list[dict[str, Any]], Any]] = {
    "vendor_ref": ([{"vendor_ref": "PO-HUB-1"}], "PO-HUB-1"),
    "tracking_number": ([TRACKING], "TRK-HUB-1"),
    "tracking_url": ([TRACKING], "https://track.example/TRK-HUB-1"),
    "carrier": ([TRACKING], "Hub Carrier"),
    "delivered_at": (
        [TRACKING, {"status": "delivered", "delivered_at": DELIVERED_AT}],
        DELIVERED_AT,
    ),
}

#: Per channel, the fields whose change the channel takes (pushed); the others are kept in the
#: hub only and marked unsupported (docs/push-back.md).
PUSHED = {
    "mall": {"tracking_number", "tracking_url", "carrier", "delivered_at"},
    "cscart": {"tracking_number", "tracking_url", "carrier", "vendor_ref"},
    "dexero": set(),
    "cdon": {"tracking_number", "tracking_url", "carrier"},
}

KEPT_CASES = [(name, f) for name, fields in HUB_FIELDS.items() for f in fields] + [
    (name, f) for name, fields in BOTH_FIELDS.items() for f in fields
]
CHANNEL_CASES = [(name, f) for name, fields in BOTH_FIELDS.items() for f in fields]


def hub_id(engine: Engine, channel: str, external_id: str) -> int:
    with UnitOfWork(engine) as uow:
        return uow.orders.ids_by_external(channel, [external_id])[external_id]


def push_all(engine: Engine, sandbox: Running) -> None:
    pusher = Pusher(engine, lambda name: sandbox.account(max_attempts=1))
    Worker(engine, {TOPIC: Topic(pusher, Backoff(first=0.0, attempts=1))}).run_until_idle()


def shown(http: Any, order_id: int) -> dict[str, Any]:
    answer = http.get(f"/v1/orders/{order_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def updated_at(order: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(order["updated_at"].replace("Z", "+00:00"))


def merchant_sets(engine: Engine, sandbox: Running, field: str) -> tuple[int, str, Any]:
    """Sync, then the merchant sets `field` on an open order and the push lands."""
    assert sync_account(engine, sandbox.account()).ok
    external_id = sandbox.kit.external_id(sandbox.open_order())
    order_id = hub_id(engine, sandbox.kit.channel, external_id)
    http = client(engine)
    bodies, expected = MERCHANT_SETS[field]
    for body in bodies:
        answer = http.put(f"/v1/orders/{order_id}", json=body)
        assert answer.status_code == 200, answer.text
        push_all(engine, sandbox)
    landed = "pushed" if field in PUSHED[sandbox.kit.name] else "unsupported"
    assert shown(http, order_id)["push_status"] == landed
    return order_id, external_id, expected


@pytest.mark.parametrize(("channel", "field"), KEPT_CASES)
def test_a_value_the_merchant_set_survives_the_channels_next_report(
    engine: Engine, channel: str, field: str
) -> None:
    with running(KITS[channel]) as sandbox:
        order_id, external_id, expected = merchant_sets(engine, sandbox, field)
        http = client(engine)
        before = shown(http, order_id)
        assert before[field] == expected
        # The channel changes the order afterwards (saying nothing of the merchant's field).
        sandbox.back_office_edit(external_id, after=updated_at(before))
        result = sync_account(engine, sandbox.account())
        assert result.ok, result.error
        after = shown(http, order_id)
        assert updated_at(after) > updated_at(before), "the channel's report was applied"
        assert after[field] == expected, f"{field} lost at the {channel} sync"


@pytest.mark.parametrize(("channel", "field"), CHANNEL_CASES)
def test_the_channels_own_new_value_wins_and_the_history_says_so(
    engine: Engine, channel: str, field: str
) -> None:
    with running(KITS[channel]) as sandbox:
        order_id, external_id, hub_value = merchant_sets(engine, sandbox, field)
        http = client(engine)
        before = shown(http, order_id)
        new = CHANNEL_VALUES[field]
        sandbox.back_office_edit(external_id, after=updated_at(before), **{field: new})
        result = sync_account(engine, sandbox.account())
        assert result.ok, result.error
        after = shown(http, order_id)
        expected = new.isoformat().replace("+00:00", "Z") if isinstance(new, datetime) else new
        assert after[field] == expected
        history = http.get(f"/v1/orders/{order_id}/history").json()["history"]
        last = [h for h in history if h["field"] == field][-1]
        assert (last["source"], last["new"]) == ("channel", expected)
        assert last["old"] == hub_value


@pytest.mark.parametrize("channel", sorted(KITS))
def test_the_merchants_confirmation_survives_a_report_that_changes_nothing(
    engine: Engine, channel: str
) -> None:
    with running(KITS[channel]) as sandbox:
        assert sync_account(engine, sandbox.account()).ok
        external_id = sandbox.kit.external_id(sandbox.open_order())
        order_id = hub_id(engine, sandbox.kit.channel, external_id)
        http = client(engine)
        answer = http.put(f"/v1/orders/{order_id}", json={"confirmed": True})
        assert answer.status_code == 200, answer.text
        push_all(engine, sandbox)
        before = shown(http, order_id)
        assert before["confirmed"] is True
        # Re-stamped by the channel with nothing else changed: nothing for the merchant to see.
        sandbox.back_office_edit(external_id, after=updated_at(before) + timedelta(seconds=1))
        assert sync_account(engine, sandbox.account()).ok
        assert shown(http, order_id)["confirmed"] is True
