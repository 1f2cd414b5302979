"""Small helpers the channel codecs share for reading and writing payload dicts. Pure."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from orderhub.domain.money import to_decimal

ZERO = Decimal(0)


def required(data: object, key: str) -> Any:
    """data[key], or a ValueError naming the key when it is missing or null."""
    if not isinstance(data, dict):
        raise ValueError(f"expected an object holding {key!r}, got {data!r}")
    value = data.get(key)
    if value is None:
        raise ValueError(f"{key}: missing")
    return value


def optional_money(value: object) -> Decimal | None:
    return None if value is None or value == "" else to_decimal(value)


def optional_int(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(str(value))


def first(values: Iterable[str | None]) -> str | None:
    """The first non-empty value."""
    return next((value for value in values if value), None)


def leftovers(data: dict[str, Any], mapped: frozenset[str]) -> dict[str, Any]:
    """The fields of data that the canonical model has no place for (copies, never shared)."""
    return {key: copy.deepcopy(value) for key, value in data.items() if key not in mapped}


def text_amounts(data: dict[str, Any], amounts: frozenset[str]) -> dict[str, Any]:
    """Amounts as exact decimal text, so that they survive JSON storage unchanged."""
    return {
        k: (str(to_decimal(v)) if k in amounts and v is not None else v) for k, v in data.items()
    }


def decimal_amounts(data: dict[str, Any], amounts: frozenset[str]) -> dict[str, Any]:
    """The inverse of text_amounts: the named amounts back to Decimal."""
    return {k: (to_decimal(v) if k in amounts and v is not None else v) for k, v in data.items()}


def int_or_text(value: str) -> int | str:
    """A channel id back to the integer it was, unless it is not all digits."""
    return int(value) if value.isdigit() else value
