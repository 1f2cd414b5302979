"""Merging a channel's reports into the orders table: what is new, what changed, what the
merchant must see again, and the events that say so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from orderhub.domain import ChannelType, Order, StatusSource
from orderhub.domain.events import (
    EventType,
    FieldChange,
    OrderEvent,
    diff_orders,
    events_for_change,
)
from orderhub.domain.ownership import Owner, fields_owned
from orderhub.domain.ownership import merge as apply_report
from orderhub.store.order_rows import FULL_COLUMNS, order_row, stored, upsert_rows
from orderhub.store.tables import orders


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What merging a batch of channel orders did: new ids, changed ids, how many were same."""

    created: list[int]
    changed: list[int]
    unchanged: int
    events: list[OrderEvent]


def merge_from_channel(conn: Connection, batch: Sequence[Order]) -> MergeResult:
    """Store orders as a channel reports them, and say what changed.

    New orders and orders the channel changed are written: a newer `updated_at`, or the
    same one with other values (channels stamp to the second, and a second change within
    that second is news too); older reports, and the same report read again, change
    nothing. The hub's `confirmed` flag is the merchant's: a
    new order, or one the channel changed, waits for the merchant again. The caller
    records `result.events` (history and webhooks) in the same transaction.
    """
    latest = _latest_per_key(batch)
    # Only the stored update times first: whole orders are read (and decoded) only for
    # the ones the channel reports newer; new and unchanged ones need nothing more.
    known = _updated_at(conn, latest)
    newer = [k for k, at in known.items() if latest[k].updated_at > at]
    same_time = [k for k, at in known.items() if latest[k].updated_at == at]
    existing = _existing(conn, newer + _reported_otherwise(conn, same_time, latest))
    writes: list[dict[str, Any]] = []
    changed: list[tuple[int, list[FieldChange]]] = []
    events: list[OrderEvent] = []
    at = datetime.now(UTC)
    for key, order in latest.items():
        if key not in known:
            writes.append(_channel_row(order, confirmed=False))
        elif (before := existing.get(key)) is not None:
            merged = apply_report(before, order)
            diffs = diff_orders(before, merged)
            if not diffs and order.updated_at == before.updated_at:
                continue  # read again, nothing new: no write, no version bump
            if diffs and before.confirmed:  # news the merchant has not seen: said aloud
                diffs.append(FieldChange("confirmed", True, False))
            changed.append((before.id or 0, diffs))
            writes.append(_channel_row(merged, confirmed=before.confirmed and not diffs))
    upsert_rows(conn, writes, keep_confirmed=False, or_same_time=True)
    created_ids = _ids_for(conn, [o for k, o in latest.items() if k not in known])
    for order_id in created_ids:
        events.append(OrderEvent(EventType.CREATED, order_id, at, StatusSource.CHANNEL))
    for order_id, diffs in changed:
        events += events_for_change(order_id, diffs, at, StatusSource.CHANNEL)
    changed_ids = [order_id for order_id, diffs in changed if diffs]
    unchanged = len(latest) - len(created_ids) - len(changed_ids)
    return MergeResult(created_ids, changed_ids, unchanged, events)


def _updated_at(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], datetime]:
    """The stored `updated_at` of each (channel, external_id) that is stored, those rows
    locked until the merge commits (on SQLite the unit of work holds the write lock)."""
    found: dict[tuple[str, str], datetime] = {}
    # A PUT committing between this read and the upsert would be overwritten unseen (the diff,
    # and so the history, taken from the older row): on PostgreSQL the rows are locked, in id
    # order, so two merges of overlapping pages wait instead of deadlocking.
    stmt = _UPDATED_AT_LOCKED if conn.dialect.name == "postgresql" else _UPDATED_AT
    for channel, external_ids in _by_channel(keys).items():
        for external_id, updated_at in conn.execute(stmt, _keys(channel, external_ids)):
            found[(channel, external_id)] = updated_at
    return found


def _reported_otherwise(
    conn: Connection, keys: Sequence[tuple[str, str]], latest: Mapping[tuple[str, str], Order]
) -> list[tuple[str, str]]:
    """Of reports stamped at the stored time, those whose channel's columns differ from the
    stored row: raw columns compared, so an overlap re-read of an unchanged order (most of
    them) costs no decoding."""
    differ: list[tuple[str, str]] = []
    for channel, external_ids in _by_channel(keys).items():
        reports = {i: order_row(latest[(channel, i)]) for i in external_ids}
        names = _compared(latest[(channel, external_ids[0])].channel_type, reports)
        stmt = select(*(orders.c[n] for n in names)).where(
            orders.c.channel == channel, orders.c.external_id.in_(external_ids)
        )
        for row in conn.execute(stmt):
            stored_row = row._mapping
            report = reports[stored_row["external_id"]]
            if any(stored_row[n] != report[n] for n in names):
                differ.append((channel, stored_row["external_id"]))
    return differ


def _existing(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Order]:
    found: dict[tuple[str, str], Order] = {}
    for channel, external_ids in _by_channel(keys).items():
        stmt = select(*FULL_COLUMNS).where(
            orders.c.channel == channel, orders.c.external_id.in_(external_ids)
        )
        for row in conn.execute(stmt):
            order = stored(row._mapping).to_order()
            found[(order.channel, order.external_id)] = order
    return found


def _ids_for(conn: Connection, batch: Sequence[Order]) -> list[int]:
    ids: list[int] = []
    for channel in sorted({o.channel for o in batch}):
        mine = [o.external_id for o in batch if o.channel == channel]
        found = ids_by_external(conn, channel, mine)
        ids += [found[external_id] for external_id in mine]
    return ids


def ids_by_external(conn: Connection, channel: str, external_ids: Iterable[str]) -> dict[str, int]:
    """The hub's id of each of the channel's stored external ids."""
    rows = conn.execute(_IDS, _keys(channel, list(external_ids)))
    return {external_id: order_id for external_id, order_id in rows}


def _keys(channel: str, external_ids: list[str]) -> dict[str, Any]:
    return {"channel": channel, "external_ids": external_ids}


# Per page of a sync: built once (building and keying one per call cost more than running it).
_OF_CHANNEL = (
    orders.c.channel == bindparam("channel"),
    orders.c.external_id.in_(bindparam("external_ids", expanding=True)),
)
_UPDATED_AT = select(orders.c.external_id, orders.c.updated_at).where(*_OF_CHANNEL)
_UPDATED_AT_LOCKED = _UPDATED_AT.order_by(orders.c.id).with_for_update()
_IDS = select(orders.c.external_id, orders.c.id).where(*_OF_CHANNEL)


def _compared(channel_type: ChannelType, reports: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The columns a report at the stored time is compared on: all but the hub's own."""
    skip = {"id", "version", "confirmed", *fields_owned(ChannelType(channel_type), Owner.HUB)}
    first = next(iter(reports.values()))
    return ["external_id", *(n for n in first if n not in skip and n != "external_id")]


def _channel_row(order: Order, *, confirmed: bool) -> dict[str, Any]:
    """The row a channel's report writes: no id (the upsert keys on channel and external id),
    the hub's `confirmed` as the merge decided it (the order itself is not copied)."""
    row = order_row(order)
    row.pop("id", None)
    row["confirmed"] = confirmed
    return row


def _by_channel(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, []).append(external_id)
    return by_channel


def _latest_per_key(batch: Sequence[Order]) -> dict[tuple[str, str], Order]:
    """One order per (channel, external_id): the newest, when a batch repeats one."""
    latest: dict[tuple[str, str], Order] = {}
    for order in batch:
        key = (order.channel, order.external_id)
        if key not in latest or order.updated_at > latest[key].updated_at:
            latest[key] = order
    return latest
