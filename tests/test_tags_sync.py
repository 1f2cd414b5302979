"""Tags are the hub's (docs/tags.md, docs/sync.md "Field ownership"): on each channel's sandbox,
a tagged order's next sync keeps its tags, nothing is pushed for them, and a change the channel
made before the tagging still arrives (tags do not move `updated_at`). On SQLite and
PostgreSQL, over real HTTP to the sandboxes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from helpers import client
from orderhub.services.sync import sync_account
from orderhub.store import UnitOfWork
from ownership_support import KITS, running


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.mark.parametrize("channel", sorted(KITS))
def test_a_sync_keeps_the_tags_and_still_takes_the_channels_earlier_change(
    engine: Engine, channel: str
) -> None:
    with running(KITS[channel]) as sandbox:
        assert sync_account(engine, sandbox.account()).ok
        external_id = sandbox.kit.external_id(sandbox.open_order())
        with UnitOfWork(engine) as uow:
            order_id = uow.orders.ids_by_external(sandbox.kit.channel, [external_id])[external_id]
        http = client(engine)
        before = http.get(f"/v1/orders/{order_id}").json()
        # The channel changes the order first (stamped within the last second, so before the
        # tagging); the merchant tags it before the next sync.
        sandbox.back_office_edit(external_id, after=datetime.now(UTC) - timedelta(seconds=1))
        tagged = http.post(f"/v1/orders/{order_id}/tags", json={"tags": ["vip", "gift"]})
        assert tagged.status_code == 200, tagged.text
        assert tagged.json()["push_status"] is None  # nothing to tell the channel
        assert tagged.json()["updated_at"] == before["updated_at"]

        result = sync_account(engine, sandbox.account())
        assert result.ok, result.error
        after = http.get(f"/v1/orders/{order_id}").json()
        assert stamp(after["updated_at"]) > stamp(before["updated_at"]), "the report applied"
        assert after["tags"] == ["gift", "vip"]
        assert after["push_status"] is None
        assert http.get("/v1/orders", params={"tags": "gift"}).json()["paging"]["total"] == 1
