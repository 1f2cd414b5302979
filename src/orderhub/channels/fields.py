"""Reading a channel payload's values: each failure a ValueError naming channel and field.

The codecs quarantine a record that fails here (the sync turns the ValueError into Skippable).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NoReturn

from orderhub.domain.money import to_decimal


class FieldReader:
    def __init__(self, channel: str) -> None:
        self.channel = channel

    def fail(self, field: str, expected: str, value: object) -> NoReturn:
        raise ValueError(
            f"{self.channel} order field {field!r}: expected {expected}, got {value!r}"
        )

    def text(self, value: object, field: str) -> str | None:
        """A string (numbers are accepted as their digits); empty is None."""
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        self.fail(field, "a string", value)

    def integer(self, value: object, field: str) -> int | None:
        """An integer, also written as a string ("97"); empty is None."""
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isascii() and value.removeprefix("-").isdigit():
            return int(value)
        self.fail(field, "an integer", value)

    def money(self, value: object, field: str) -> Decimal | None:
        """An exact amount (string or number); empty is None."""
        if value is None or value == "":
            return None
        try:
            return to_decimal(value)
        except ValueError as exc:
            raise ValueError(f"{self.channel} order field {field!r}: {exc}") from exc

    def mapping(self, value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(where, "an object", value)
        return value

    def array(self, value: object, where: str) -> list[Any]:
        """A list; null is an empty list."""
        if value is None or isinstance(value, list):
            return value or []
        self.fail(where, "an array", value)
