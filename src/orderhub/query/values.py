"""Parse one filter value for a field of a given kind, as seed 001 spells values."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from orderhub.domain import FieldKind, InvalidInput, ScalarField
from orderhub.domain.tags import TAG_FORM, normalise_tag

NULL = "$null"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_INT = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]{1,14}(\.[0-9]{1,4})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_BOOLS = {"true": True, "1": True, "false": False, "0": False}

EXPECTED = {
    FieldKind.INT: "an integer",
    FieldKind.STR: "a string",
    FieldKind.DECIMAL: "a decimal number such as 12.50 (at most 14 digits, 4 decimals)",
    FieldKind.BOOL: "true, false, 1 or 0",
    FieldKind.DATE: "a date YYYY-MM-DD",
    FieldKind.DATETIME: "a date-time YYYY-MM-DD HH:MM:SS (UTC) or a date YYYY-MM-DD",
    FieldKind.SET: "a tag: " + TAG_FORM,
}


@dataclass(frozen=True, slots=True)
class Day:
    """A whole UTC day, the meaning of a date given for a date-time field: [start, end)."""

    start: datetime
    end: datetime


Value = int | str | Decimal | bool | date | datetime | Day


def expected_for(field: ScalarField) -> str:
    if field.kind is FieldKind.ENUM:
        return "one of " + ", ".join(field.choices)
    return EXPECTED[field.kind]


def parse_value(field: ScalarField, raw: str, parameter: str) -> Value:
    """Parse raw as a value of field's kind, or raise InvalidInput naming the parameter."""
    try:
        value = _PARSERS[field.kind](raw, field)
    except (ValueError, InvalidOperation, OverflowError):
        raise InvalidInput(parameter, expected_for(field), raw) from None
    return value


def _int(raw: str, field: ScalarField) -> int:
    if not _INT.fullmatch(raw):
        raise ValueError(raw)
    number = int(raw)
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError(raw)
    return number


def _str(raw: str, field: ScalarField) -> str:
    if "\x00" in raw:
        raise ValueError(raw)
    return raw


def _decimal(raw: str, field: ScalarField) -> Decimal:
    if not _DECIMAL.fullmatch(raw):
        raise ValueError(raw)
    return Decimal(raw)


def _bool(raw: str, field: ScalarField) -> bool:
    return _BOOLS[raw.lower()] if raw.lower() in _BOOLS else _fail(raw)


def _date(raw: str, field: ScalarField) -> date:
    if not _DATE.fullmatch(raw):
        raise ValueError(raw)
    return date.fromisoformat(raw)


def _datetime(raw: str, field: ScalarField) -> datetime | Day:
    if _DATE.fullmatch(raw):
        start = datetime.combine(date.fromisoformat(raw), time(), UTC)
        return Day(start, start + timedelta(days=1))
    if not _DATETIME.fullmatch(raw):
        raise ValueError(raw)
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _enum(raw: str, field: ScalarField) -> str:
    if raw not in field.choices:
        raise ValueError(raw)
    return raw


def _fail(raw: str) -> bool:
    raise ValueError(raw)


_PARSERS: dict[FieldKind, Callable[[str, ScalarField], Value]] = {
    FieldKind.INT: _int,
    FieldKind.STR: _str,
    FieldKind.DECIMAL: _decimal,
    FieldKind.BOOL: _bool,
    FieldKind.DATE: _date,
    FieldKind.DATETIME: _datetime,
    FieldKind.ENUM: _enum,
    FieldKind.SET: lambda raw, _field: normalise_tag(raw),
}
