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
    second = make_order("2")
    stale = replace(second, total=Decimal("1.00"), updated_at=second.updated_at - timedelta(1))
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
    assert {(h["field"], h["old"], h["new"]) for h in history} == {
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


def _set_columns(engine: Engine, order_id: int, **values: object) -> None:
    from sqlalchemy import update

    from orderhub.store.tables import orders

    with UnitOfWork(engine) as uow:
        uow.conn.execute(update(orders).where(orders.c.id == order_id).values(**values))


def _stored(engine: Engine, order_id: int) -> dict[str, object]:
    with UnitOfWork(engine) as uow:
        found = uow.orders.get(order_id)
    assert found is not None
    return found.scalars


def test_a_report_read_before_the_merchants_push_landed_cannot_undo_it(engine: Engine) -> None:
    # MALL carries tracking (both write it). The merchant set TRK-NEW; its push is pending
    # when a report made before the push lands arrives, newer for another reason.
    order = make_order("11", status=Status.SHIPPED, tracking_number="TRK-OLD")
    (order_id,) = merge(engine, [order]).created
    _set_columns(engine, order_id, tracking_number="TRK-NEW", push_status="pending")
    later = order.updated_at + timedelta(minutes=5)
    stale = replace(order, tracking_number="TRK-OLD", status=Status.DELIVERED, updated_at=later)
    result = merge(engine, [stale])
    assert result.changed == [order_id]
    row = _stored(engine, order_id)
    assert (row["tracking_number"], row["status"]) == ("TRK-NEW", "delivered")
    history_fields = {c.field for e in result.events for c in e.changes}
    assert "tracking_number" not in history_fields and "status" in history_fields

    # Once the push landed, the channel's own new value wins, and the history says so.
    _set_columns(engine, order_id, push_status="pushed")
    newest = replace(stale, tracking_number="TRK-CHANNEL", updated_at=later + timedelta(minutes=1))
    result = merge(engine, [newest])
    assert _stored(engine, order_id)["tracking_number"] == "TRK-CHANNEL"
    (change,) = [c for e in result.events for c in e.changes if c.field == "tracking_number"]
    assert (change.old, change.new) == ("TRK-NEW", "TRK-CHANNEL")
    assert {e.source.value for e in result.events} == {"channel"}


def test_ownership_differs_per_channel_type(engine: Engine) -> None:
    from orderhub.domain import ChannelType

    # CS-Cart carries vendor_ref and no tracking; MALL carries tracking and no vendor_ref.
    shop = make_order("12", channel="shop-de", channel_type=ChannelType.CSCART)
    mall = make_order("12")
    merge(engine, [shop, mall])
    with UnitOfWork(engine) as uow:
        (shop_id,) = uow.orders.ids_by_external("shop-de", ["12"]).values()
        (mall_id,) = uow.orders.ids_by_external("mall-cz", ["12"]).values()
    hub_values = {"vendor_ref": "PO-HUB", "tracking_number": "T-HUB", "tracking_url": "u-hub"}
    for order_id in (shop_id, mall_id):
        _set_columns(engine, order_id, **hub_values)
    later = shop.updated_at + timedelta(minutes=1)
    reported = {"vendor_ref": "PO-CHANNEL", "tracking_number": "T-CHANNEL", "tracking_url": None}
    merge(engine, [replace(o, updated_at=later, **reported) for o in (shop, mall)])
    assert {k: _stored(engine, shop_id)[k] for k in hub_values} == {
        "vendor_ref": "PO-CHANNEL",  # the shop's own new value
        "tracking_number": "T-HUB",  # CS-Cart carries none: whatever it sends is ignored
        "tracking_url": "u-hub",
    }
    assert {k: _stored(engine, mall_id)[k] for k in hub_values} == {
        "vendor_ref": "PO-HUB",  # MALL keeps no merchant reference
        "tracking_number": "T-CHANNEL",  # MALL's own new value
        "tracking_url": "u-hub",  # MALL's report lacks one: the hub's stays
    }


def test_the_merchants_status_changes_stay_in_the_status_history(engine: Engine) -> None:
    from orderhub.domain import StatusChange, StatusSource
    from orderhub.domain.jsonfmt import dumps

    order = make_order("13")
    opened = order.status_history[0]
    (order_id,) = merge(engine, [order]).created
    shipped = StatusChange(Status.SHIPPED, opened.at + timedelta(hours=1), StatusSource.API)
    _set_columns(engine, order_id, status_history=dumps([opened, shipped]).decode())
    delivered = StatusChange(Status.DELIVERED, opened.at + timedelta(hours=2), StatusSource.CHANNEL)
    report = replace(
        order, status=Status.DELIVERED, status_history=[opened, delivered], updated_at=delivered.at
    )
    merge(engine, [report])
    with UnitOfWork(engine) as uow:
        stored = uow.orders.get(order_id)
    assert stored is not None
    history = [(c.status.value, c.source.value) for c in stored.to_order().status_history]
    assert history == [("open", "channel"), ("shipped", "api"), ("delivered", "channel")]


def test_a_second_change_stamped_in_the_same_second_applies_a_reread_does_not(
    engine: Engine,
) -> None:
    order = make_order("14")
    (order_id,) = merge(engine, [order]).created
    again = merge(engine, [order])  # the overlap reads it again: nothing new, nothing written
    assert (again.changed, again.unchanged, again.events) == ([], 1, [])
    assert _stored_version(engine, order_id) == 1
    same_second = replace(order, email="second@example.com")  # same updated_at, other values
    result = merge(engine, [same_second])
    assert result.changed == [order_id]
    assert _stored(engine, order_id)["email"] == "second@example.com"
    assert _stored_version(engine, order_id) == 2
    (change,) = [c for e in result.events for c in e.changes]
    assert (change.field, change.old, change.new) == ("email", None, "second@example.com")


def _stored_version(engine: Engine, order_id: int) -> int:
    with UnitOfWork(engine) as uow:
        found = uow.orders.get(order_id)
    assert found is not None
    return found.version


def test_a_channel_change_ends_the_merchants_confirmation_in_the_history(engine: Engine) -> None:
    order = make_order("15")
    (order_id,) = merge(engine, [order]).created
    _set_columns(engine, order_id, confirmed=True)
    changed = replace(order, phone="+420123", updated_at=order.updated_at + timedelta(minutes=1))
    result = merge(engine, [changed])
    assert _stored(engine, order_id)["confirmed"] is False
    changes = {(c.field, c.old, c.new) for e in result.events for c in e.changes}
    assert changes == {("phone", None, "+420123"), ("confirmed", True, False)}
