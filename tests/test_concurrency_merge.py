"""A merchant's change committed while a sync merges the same order is never overwritten unseen.

The merge reads the stored order, diffs the channel's report against it (that diff is the
history) and upserts. If a PUT could commit between that read and the upsert, the channel's
newer report would overwrite the merchant's change while the history recorded a change from
the old value: the merchant's change gone without a trace. The unit of work prevents it: on
SQLite it holds the write lock from its first statement (BEGIN IMMEDIATE), on PostgreSQL the
merge locks the rows it read. The PUT waits for the merge, then finds a newer version (412).

The PUT is started from inside the merge, just after its read, and given two seconds: on the
old code it commits in that time; on the fixed code it is blocked by the merge's lock for as
long as the merge runs, however long that is, so the outcome does not depend on the clock.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from helpers import make_order, store
from orderhub.domain import Status
from orderhub.services.update_request import OrderUpdate
from orderhub.services.updates import PreconditionFailed, update_order
from orderhub.store import UnitOfWork, merging


def test_put_during_a_merge_waits_for_it_and_hides_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = make_order("1", status=Status.OPEN)
    store(engine, [stored])
    with UnitOfWork(engine) as uow:
        order_id = uow.orders.ids_by_external("mall-cz", ["1"])["1"]
    reported = replace(
        stored,
        status=Status.SHIPPING,
        channel_status="shipping",
        updated_at=stored.updated_at + timedelta(hours=1),
    )
    outcome: list[object] = []

    def merchant() -> None:
        cancel = OrderUpdate({"status": Status.CANCELLED})
        try:
            outcome.append(update_order(engine, order_id, cancel, "merchant", if_match={1}))
        except PreconditionFailed as exc:
            outcome.append(exc)

    put = threading.Thread(target=merchant)
    read_existing = merging._existing

    def existing_then_put(conn: Connection, keys: Any) -> Any:
        found = read_existing(conn, keys)
        put.start()
        put.join(timeout=2)
        return found

    monkeypatch.setattr(merging, "_existing", existing_then_put)
    with UnitOfWork(engine) as uow:
        uow.publish(uow.orders.merge_from_channel([reported]).events)
    put.join(timeout=60)

    assert len(outcome) == 1 and isinstance(outcome[0], PreconditionFailed), outcome
    with UnitOfWork(engine) as uow:
        now = uow.orders.get(order_id)
        history = [h for h in uow.events.history(order_id) if h["field"] == "status"]
    assert now is not None and now.scalars["status"] == "shipping"
    assert [(h["old"], h["new"], h["source"]) for h in history] == [("open", "shipping", "channel")]
