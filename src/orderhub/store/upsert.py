"""The upsert of a channel's reports into `orders`: on a stored (channel, external_id), the
channel's fields of a newer report, the hub's own kept (domain/ownership.py). Shared by the
repository's `upsert_many` and the bulk loads of store/ingest.py."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import case, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from orderhub.domain import ChannelType
from orderhub.domain.order import PushStatus
from orderhub.domain.ownership import Owner, fields_owned
from orderhub.store.tables import orders

#: Never written by an upsert's update: the row's identity and the version it bumps.
_IDENTITY = frozenset({"id", "channel", "external_id", "version"})


@cache
def upsert_statement(
    postgres: bool, keep_confirmed: bool, channel_type: ChannelType, or_same_time: bool
) -> Insert:
    """The upsert of `upsert_many` for one channel type's ownership, built (and compiled) once."""
    dialect = postgresql if postgres else sqlite
    return on_conflict_update(
        dialect.insert(orders),
        channel_type,
        keep_confirmed=keep_confirmed,
        or_same_time=or_same_time,
    )


def on_conflict_update(
    stmt: Any, channel_type: ChannelType, *, keep_confirmed: bool, or_same_time: bool
) -> Insert:
    """`stmt` (an INSERT of either dialect, of VALUES or a SELECT) as `upsert_many`'s upsert: on
    the (channel, external_id) of a stored order, the channel's fields of a newer report."""
    keep = _IDENTITY | set(fields_owned(channel_type, Owner.HUB))
    if not keep_confirmed:
        keep -= {"confirmed"}
    updated: dict[str, Any] = {
        c.name: stmt.excluded[c.name] for c in orders.c if c.name not in keep
    }
    # A literal, not a bound parameter: execute_many binds only the rows' own columns.
    pending = orders.c.push_status == literal_column(f"'{PushStatus.PENDING.value}'")
    for name in fields_owned(channel_type, Owner.BOTH):
        if name != "status":  # the channel's newer status always applies (ownership.py)
            ours = orders.c[name]
            updated[name] = case((pending, ours), else_=func.coalesce(stmt.excluded[name], ours))
    updated["version"] = orders.c.version + literal_column("1")
    result: Insert = stmt.on_conflict_do_update(
        index_elements=["channel", "external_id"],
        set_=updated,
        where=(
            stmt.excluded.updated_at >= orders.c.updated_at
            if or_same_time
            else stmt.excluded.updated_at > orders.c.updated_at
        ),
    )
    return result
