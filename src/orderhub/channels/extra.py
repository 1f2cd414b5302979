"""What the channel codecs share for a payload's leftovers: the fields the canonical model has
no place for, kept in an order's `extra` (amounts as exact text) and written back. Pure.

Reading a payload's values is `fields.py`."""

from __future__ import annotations

import copy
from typing import Any

from orderhub.domain.money import to_decimal


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
