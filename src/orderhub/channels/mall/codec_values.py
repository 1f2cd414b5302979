"""Reading the values of a MALL order object: each failure a ValueError naming the field.

MALL times ("YYYY-MM-DD HH:MM:SS") carry no zone: they are read as Prague wall time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from orderhub.channels.fields import FieldReader

MALL_ZONE = ZoneInfo("Europe/Prague")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_TIME = "a time 'YYYY-MM-DD HH:MM:SS'"

_FLAGS: dict[int | str, bool] = {
    0: False,
    1: True,
    "0": False,
    "1": True,
    "false": False,
    "true": True,
}

_read = FieldReader("MALL")
fail = _read.fail
text = _read.text
integer = _read.integer
order_id = _read.order_id
one_of = _read.one_of
money = _read.money
mapping = _read.mapping
array = _read.array


def flag(value: object, field: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | str) and value in _FLAGS:
        return _FLAGS[value]
    fail(field, "true, false, 1 or 0", value)


def moment(value: object, field: str) -> datetime | None:
    """A MALL time ('YYYY-MM-DD HH:MM:SS', Prague wall time unless it carries an offset) in UTC."""
    # null and plain text first (nearly every value): `_parsed`'s steps without its calls.
    if value is None:
        return None
    if type(value) is str and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            fail(field, _TIME, value)
    else:
        found = _parsed(value, field, _TIME)
        if found is None:
            return None
        parsed = found
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=MALL_ZONE).astimezone(UTC)
    return parsed.astimezone(UTC)


def day(value: object, field: str) -> date | None:
    parsed = _parsed(value, field, "a date 'YYYY-MM-DD'")
    return None if parsed is None else parsed.date()


def local(value: datetime | None) -> str | None:
    """A zoned instant as MALL writes it: Prague wall time, no zone."""
    return None if value is None else value.astimezone(MALL_ZONE).strftime(TIME_FORMAT)


def _parsed(value: object, field: str, expected: str) -> datetime | None:
    found = text(value, field)
    try:
        return None if found is None else datetime.fromisoformat(found)
    except ValueError:
        fail(field, expected, value)
