"""A MALL order's status history: one change per status timestamp, and the carrier's
consignment history where it means a status the timestamps do not carry.

MALL has one timestamp per status word (the last time the order entered it). The consignment
history (`consignment_status_history`, the carrier's reports on the parcel) adds `RETURNING`,
a canonical status MALL's order has no word for, and `DELIVERED`, `RETURNED`, `LOST` when the
order's own timestamp for them is still null (the carrier reported it, MALL has not yet).
Its other codes (CREATED, RECEIVED, DELIVERING, READY_FOR_PICKUP, DAMAGED, CANCELLED) follow the
parcel, not the order, and stay only in `extra`.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import Any

from orderhub.channels.mall.codec_values import array, mapping, moment, text
from orderhub.domain.order import StatusChange, StatusSource
from orderhub.domain.status import Status

#: MALL status -> canonical status, in lifecycle order (also the tie-break order of the history).
STATUS_MAP: dict[str, Status] = {
    "blocked": Status.PENDING, "open": Status.OPEN, "shipping": Status.SHIPPING,
    "shipped": Status.SHIPPED, "delivered": Status.DELIVERED, "returned": Status.RETURNED,
    "cancelled": Status.CANCELLED, "lost": Status.LOST,
}  # fmt: skip
#: Consignment status codes that mean a canonical status of the order.
CONSIGNMENT_STATUS: dict[str, Status] = {
    "DELIVERED": Status.DELIVERED, "RETURNING": Status.RETURNING,
    "RETURNED": Status.RETURNED, "LOST": Status.LOST,
}  # fmt: skip
CONSIGNMENTS = "consignment_status_history"
_CHANNEL = StatusSource.CHANNEL
_at = attrgetter("at")


def status_history(payload: Mapping[str, Any]) -> list[StatusChange]:
    """The timestamps' changes, then the consignment's they lack; by time, ties in that order."""
    get = payload.get
    changes = []
    for name, status in STATUS_MAP.items():
        value = get(name)
        if value is not None and (at := moment(value, name)) is not None:
            changes.append(StatusChange(status, at, _CHANNEL))
    consignments = get(CONSIGNMENTS)
    if consignments is not None:
        stamped = {change.status for change in changes}
        for change in consignment_changes(consignments):
            if change.status not in stamped and change not in changes:
                changes.append(change)
    changes.sort(key=_at)  # stable: ties keep the order above
    return changes


def consignment_changes(value: object) -> list[StatusChange]:
    """The changes the consignment history's entries mean (see the module docstring)."""
    changes = []
    for index, entry in enumerate(array(value, CONSIGNMENTS) if value is not None else []):
        where = f"{CONSIGNMENTS}[{index}]"
        data = entry if isinstance(entry, Mapping) else mapping(entry, where)
        code = data.get("status")
        if type(code) is not str:
            code = text(code, f"{where}.status")
        status = CONSIGNMENT_STATUS.get(code or "")
        at = moment(data.get("date"), f"{where}.date")
        if status is not None and at is not None:
            changes.append(StatusChange(status, at, _CHANNEL))
    return changes
