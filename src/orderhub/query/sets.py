"""Set-valued fields (an order's tags): kept in a table of their own, filtered by membership.

`tags=eq:x` is "has x", `in:x,y` "has x or y", `neq:x` "lacks x", `nin:x,y` "has neither",
`$null` "has none" and `neq:$null` "has at least one": each an EXISTS over the set's table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists
from sqlalchemy.sql.elements import ColumnElement

from orderhub.query.values import Value


@dataclass(frozen=True, slots=True)
class SetColumn:
    """Where a set field lives: rows (owner, member), `owner` equal to the order's `key`."""

    key: ColumnElement[Any]
    owner: ColumnElement[Any]
    member: ColumnElement[Any]

    def predicate(self, operator: str, values: Sequence[Value]) -> ColumnElement[bool]:
        """The condition of `field=operator:values` (no values: `$null`)."""
        found = exists().where(self.owner == self.key)
        if not values:  # $null: no member at all; neq:$null: some member
            return found if operator == "neq" else ~found
        if operator in ("in", "nin"):
            found = found.where(self.member.in_(list(values)))
        else:
            found = found.where(self.member == values[0])
        return found if operator in ("eq", "in") else ~found
