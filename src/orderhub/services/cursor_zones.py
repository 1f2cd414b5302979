"""Channel cursors as shown to people: every timestamp with its zone.

A cursor keeps each channel's watermarks in the channel's own form (MALL: Prague wall time
without an offset; CS-Cart: Unix seconds; CDON: UTC without a zone), which read as UTC look
an hour or two off. `zoned_cursor` shows each as ISO 8601 with its offset, in the channel's
zone; the stored cursor is not changed (docs/sync.md, "Cursors").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from orderhub.channels.mall.codec import MALL_ZONE

#: The zone of a channel's zone-less timestamps (UTC unless listed).
NAIVE_ZONES: dict[str, tzinfo] = {"mall": MALL_ZONE}
#: Cursor keys whose integers are Unix seconds, by channel type.
UNIX_KEYS: dict[str, frozenset[str]] = {"cscart": frozenset({"since"})}
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")


def zoned_cursor(channel_type: str, cursor: Any) -> Any:
    """The cursor with each timestamp as ISO 8601 with an offset (other values unchanged)."""
    return _walk(cursor, NAIVE_ZONES.get(channel_type, UTC), UNIX_KEYS.get(channel_type), False)


def _walk(value: Any, zone: tzinfo, unix_keys: frozenset[str] | None, unix: bool) -> Any:
    if isinstance(value, dict):
        return {
            key: _walk(item, zone, unix_keys, unix or (unix_keys is not None and key in unix_keys))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_walk(item, zone, unix_keys, unix) for item in value]
    if unix and isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat()
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return _zoned(value, zone)
    return value


def _zoned(text: str, zone: tzinfo) -> str:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).isoformat()
