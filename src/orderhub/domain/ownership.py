"""Who owns each field of an order, per channel: what a sync may change and what it must keep.

The table is docs/sync.md's "Field ownership"; `merge` applies it to a channel's report.

- CHANNEL: the channel's report is the truth, an empty value included (names, lines, totals).
- HUB: set in the hub only (by the merchant, or the hub's own bookkeeping); a sync never touches
  it, whatever the channel sends (`vendor_ref` at channels that keep none, tracking at channels
  that carry none, `confirmed`, the push state, `tags`).
- BOTH: the merchant sets it through the hub and the channel carries it too. The latest writer
  wins: a channel's report that carries a value replaces the hub's (and the history says the
  channel changed it), a report without one keeps the hub's. While the merchant's own change is
  still on its way to the channel (`push_status` pending), the hub's value stands, so a report
  read before the push landed cannot undo it. `status` is the exception: it is never empty and
  the channel is the source of truth for it, so its newer report always applies.

`status_history` is the channel's entries as it reports them, with the hub's own entries (the
merchant's changes, source api or system) kept among them in time order.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from orderhub.domain.fulfilment import merged_quantities, status_from_lines
from orderhub.domain.order import Order, StatusChange, StatusSource
from orderhub.domain.status import ChannelType, Status


class Owner(StrEnum):
    CHANNEL = "channel"
    HUB = "hub"
    BOTH = "both"


#: Channels whose orders carry per-line delivered, cancelled and returned quantities (CDON's
#: rows); elsewhere the hub's shipments, cancellations and returns are the record.
LINE_FULFILMENT_REPORTED = frozenset({ChannelType.CDON})
#: What a channel with no per-line calls reports for an order the hub shipped in part.
_NOT_YET_SHIPPED = frozenset({Status.OPEN, Status.BACKORDERED, Status.SHIPPING})

#: Hub bookkeeping and the merchant's labels: never a channel's, on any channel.
HUB_ALWAYS = ("id", "confirmed", "push_status", "push_error", "tags")

#: Per channel type, the owner of each field a merchant sets through the hub (PUT
#: /v1/orders/{id}) besides `confirmed`; every other field is the channel's.
_MERCHANT_OWNERS: dict[ChannelType, dict[str, Owner]] = {
    # MALL carries status, tracking (number and URL) and delivered_at; no carrier, no reference.
    ChannelType.MALL: {
        "status": Owner.BOTH,
        "tracking_number": Owner.BOTH,
        "tracking_url": Owner.BOTH,
        "carrier": Owner.HUB,
        "delivered_at": Owner.BOTH,
        "vendor_ref": Owner.HUB,
    },
    # CS-Cart's order carries its status letter and vendor_ref, no tracking, no delivery time.
    ChannelType.CSCART: {
        "status": Owner.BOTH,
        "tracking_number": Owner.HUB,
        "tracking_url": Owner.HUB,
        "carrier": Owner.HUB,
        "delivered_at": Owner.HUB,
        "vendor_ref": Owner.BOTH,
    },
    # Dexero's order (read only) carries its status, nothing else the merchant sets.
    ChannelType.DEXERO: {
        "status": Owner.BOTH,
        "tracking_number": Owner.HUB,
        "tracking_url": Owner.HUB,
        "carrier": Owner.HUB,
        "delivered_at": Owner.HUB,
        "vendor_ref": Owner.HUB,
    },
    # CDON's rows carry the tracking number as PackageId; no URL, no carrier name, no reference.
    ChannelType.CDON: {
        "status": Owner.BOTH,
        "tracking_number": Owner.BOTH,
        "tracking_url": Owner.HUB,
        "carrier": Owner.HUB,
        "delivered_at": Owner.HUB,
        "vendor_ref": Owner.HUB,
    },
}

#: Per channel type, every field that is not simply the channel's.
OWNERS: MappingProxyType[ChannelType, MappingProxyType[str, Owner]] = MappingProxyType(
    {
        channel: MappingProxyType({**dict.fromkeys(HUB_ALWAYS, Owner.HUB), **owners})
        for channel, owners in _MERCHANT_OWNERS.items()
    }
)


def fields_owned(channel_type: ChannelType, kind: Owner) -> tuple[str, ...]:
    return tuple(name for name, who in OWNERS[channel_type].items() if who is kind)


def _keeps_hub_value(field: str, reported: Any, push_pending: bool) -> bool:
    """For a BOTH field: does the stored (hub) value stand against this report?"""
    if field == "status":
        return False
    return reported is None or push_pending


def merge(stored: Order, reported: Order) -> Order:
    """The order after a sync applies the channel's (newer) report to the stored one."""
    pending = stored.push_status == "pending"
    kept: dict[str, Any] = {}
    for name, who in OWNERS[reported.channel_type].items():
        ours = getattr(stored, name)
        if who is Owner.HUB or (
            who is Owner.BOTH and _keeps_hub_value(name, getattr(reported, name), pending)
        ):
            kept[name] = ours
    merged = replace(reported, **kept, status_history=merged_history(stored, reported))
    return _with_line_fulfilment(stored, merged, pending)


def _with_line_fulfilment(stored: Order, merged: Order, pending: bool) -> Order:
    """Per-line quantities: the report's where the channel carries them (CDON's rows), never
    below the hub's elsewhere or while the hub's shipment is on its way; and an order the
    hub's lines say is partly shipped stays so while the channel reports it not yet shipped."""
    if merged.channel_type in LINE_FULFILMENT_REPORTED and not pending:
        return merged
    lines = merged_quantities(stored.lines, merged.lines)
    status = merged.status
    if status in _NOT_YET_SHIPPED and stored.status is Status.PARTIALLY_SHIPPED:
        status = status_from_lines(status, lines)
    return replace(merged, lines=lines, status=status)


def merged_history(stored: Order, reported: Order) -> list[StatusChange]:
    """The channel's status history with the hub's own entries kept, in time order."""
    ours = [c for c in stored.status_history if c.source != StatusSource.CHANNEL]
    if not ours:
        return reported.status_history
    return sorted([*reported.status_history, *ours], key=lambda change: change.at)


__all__ = [
    "HUB_ALWAYS",
    "LINE_FULFILMENT_REPORTED",
    "OWNERS",
    "Owner",
    "fields_owned",
    "merge",
    "merged_history",
]
