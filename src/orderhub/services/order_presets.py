"""Presets of the staff's orders list (`/orders?preset=...`, docs/web-orders.md): named sets of
filters in the query language, so what a preset lists is a query the API answers too.

- `unconfirmed`: the orders the merchant has not acknowledged, the set of
  `GET /v1/orders/unconfirmed` (`confirmed=0` under the default visibility).
- `overdue`: "overdue to ship": goods still to leave the warehouse (status open, backordered or
  partially_shipped) whose ship date is a day before today (UTC, from the injected clock).
"""

from __future__ import annotations

from dataclasses import dataclass

from orderhub.domain import InvalidInput, Status
from orderhub.domain.clock import SYSTEM_CLOCK, Clock

#: The query parameter naming a preset (the web list's; the API has the filters themselves).
PRESET = "preset"
#: The unconfirmed queue's filter (services/orders.py `list_unconfirmed` adds the same).
UNCONFIRMED = (("confirmed", "0"),)
#: Statuses whose goods have not all left the warehouse.
NOT_SHIPPED = (Status.OPEN, Status.BACKORDERED, Status.PARTIALLY_SHIPPED)


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    title: str
    description: str


PRESETS = {
    p.name: p
    for p in (
        Preset("unconfirmed", "Unconfirmed", "Orders the merchant has not confirmed yet."),
        Preset(
            "overdue",
            "Overdue to ship",
            "Open, backordered or partly shipped orders whose ship date has passed.",
        ),
    )
}


def preset_params(name: str, clock: Clock = SYSTEM_CLOCK) -> list[tuple[str, str]]:
    """The filters of preset `name` as query parameters; InvalidInput naming `preset`."""
    if name == "unconfirmed":
        return list(UNCONFIRMED)
    if name == "overdue":
        today = clock.now().date().isoformat()
        statuses = ",".join(s.value for s in NOT_SHIPPED)
        return [("status", f"in:{statuses}"), ("ship_date", f"lt:{today}")]
    raise InvalidInput(PRESET, "one of " + ", ".join(PRESETS), name)
