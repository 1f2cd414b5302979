"""Reading a channel payload's values: each failure a ValueError naming the field.

`FieldReader` reads the values of one channel (MALL's, CS-Cart's), its errors naming channel and
field; the plain helpers (`required`, `optional_money` ...) serve codecs that name the order in
the error instead (CDON's, Dexero's). The codecs quarantine a record that fails here (the sync
turns the ValueError into Skippable). Keeping a payload's leftovers is `extra.py`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any, NoReturn

from orderhub.domain.money import to_decimal

ZERO = Decimal(0)


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

    def order_id(self, value: object, field: str) -> str:
        """The order's id: an integer (or its digits), as text."""
        number = self.integer(value, field)
        if number is None:
            self.fail(field, f"the {self.channel} order id", value)
        return str(number)

    def one_of(self, value: object, field: str, names: Collection[str], expected: str) -> str:
        """One of `names` (a status word, a letter ...); `expected` words them for the error."""
        if not isinstance(value, str) or value not in names:
            self.fail(field, expected, value)
        return value

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


def whole_number(value: object) -> int | None:
    """A non-negative integer, also written as its digits ("97"); None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def required_id(data: object, key: str) -> str:
    """data[key] as a whole number's digits, or a ValueError naming the key: never a float
    (orjson reads an integer past 64 bits as one, and `str` of it is not the channel's id)."""
    value = whole_number(required(data, key))
    if value is None:
        raise ValueError(f"{key}: expected a whole number, got {data[key]!r:.40}")  # type: ignore[index]
    return str(value)


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
