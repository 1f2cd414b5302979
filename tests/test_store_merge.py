"""Merging channel orders: new, changed and stale reports; history and events in one go."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine

from helpers import make_order
from orderhub.domain import Status
from orderhub.domain.events import EventType
from orderhub.store import UnitOfWork


def merge(engine: Engine, batch):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        result = uow.orders.merge_from_channel(batch)
        uow.publish(result.events)
        return result


def test_new_changed_stale_and_identical_reports(engine: Engine) -> None:
    first = make_order("1", confirmed=True)
    created = merge(engine, [first, make_order("2")])
    assert len(created.created) == 2 and created.changed == [] and created.unchanged == 0
    assert {e.type for e in created.events} == {EventType.CREATED}

    later = first.updated_at + timedelta(hours=1)
    shipped = replace(first, status=Status.SHIPPED, tracking_number="T1", updated_at=later)
    stale = replace(make_order("2"), total=Decimal("1.00"))  # same updated_at: not newer
    result = merge(engine, [shipped, stale])
    order_id = created.created[0]
    assert result.changed == [order_id] and result.created == [] and result.unchanged == 1
    assert [e.type for e in result.events] == [EventType.UPDATED, EventType.STATUS_CHANGED]

    with UnitOfWork(engine) as uow:
        stored = uow.orders.get(order_id)
        history = uow.events.history(order_id)
        untouched = uow.orders.get(created.created[1])
    assert stored is not None and stored.scalars["status"] == "shipped"
    assert stored.scalars["confirmed"] is False  # the channel changed it: the merchant must look
    assert stored.version == 2
    assert {(h["field"], h["old"], h["new"]) for h in history} >= {
        ("status", "open", "shipped"),
        ("tracking_number", None, "T1"),
    }
    assert all(h["source"] == "channel" for h in history)
    assert untouched is not None and untouched.scalars["total"] == Decimal("100.00")

    again = merge(engine, [shipped])
    assert again.changed == [] and again.created == [] and again.unchanged == 1
    assert again.events == []


def test_hub_owned_fields_survive_a_channel_update(engine: Engine) -> None:
    order = make_order("7")
    (order_id,) = merge(engine, [order]).created
    with UnitOfWork(engine) as uow:
        uow.conn.execute(
            __import__("sqlalchemy").text(
                "UPDATE orders SET vendor_ref = 'REF-1', confirmed = true WHERE id = :id"
            ),
            {"id": order_id},
        )
    newer = replace(order, updated_at=order.updated_at + timedelta(minutes=5))
    result = merge(engine, [newer])
    assert result.changed == []  # only the timestamp moved: no news
    with UnitOfWork(engine) as uow:
        stored = uow.orders.get(order_id)
    assert stored is not None
    assert stored.scalars["vendor_ref"] == "REF-1"
    assert stored.scalars["confirmed"] is True


def test_a_batch_repeating_an_order_keeps_the_newest(engine: Engine) -> None:
    old = make_order("9", total=Decimal("1.00"))
    new = replace(old, total=Decimal("2.00"), updated_at=old.updated_at + timedelta(seconds=1))
    result = merge(engine, [new, old])
    assert len(result.created) == 1
    with UnitOfWork(engine) as uow:
        stored = uow.orders.get(result.created[0])
    assert stored is not None and stored.scalars["total"] == Decimal("2.00")
