"""The filter modifiers of seed 001: one registry, each operator knowing its SQL and its words."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import and_, false, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from orderhub.domain import FieldKind
from orderhub.query.values import Day, Value


class Arity(Enum):
    ONE = "one value"
    MANY = "one or more comma-separated values"
    TWO = "exactly two comma-separated values"


Column = ColumnElement[Any]
Predicate = ColumnElement[bool]


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    arity: Arity
    human: str
    build: Callable[[Column, Sequence[Value]], Predicate]
    negated: bool = False

    def describe(self, field: str, raw: str) -> str:
        return f"{field} {self.human} {raw}"


def _low(value: Value) -> Value:
    return value.start if isinstance(value, Day) else value


def _at_or_below(col: Column, value: Value) -> Predicate:
    return col < value.end if isinstance(value, Day) else col <= value


def _above(col: Column, value: Value) -> Predicate:
    return col >= value.end if isinstance(value, Day) else col > value


def _equal(col: Column, value: Value) -> Predicate:
    if isinstance(value, Day):
        return and_(col >= value.start, col < value.end)
    return col == value


def eq(col: Column, values: Sequence[Value]) -> Predicate:
    return _equal(col, values[0])


def gt(col: Column, values: Sequence[Value]) -> Predicate:
    return _above(col, values[0])


def ge(col: Column, values: Sequence[Value]) -> Predicate:
    return col >= _low(values[0])


def lt(col: Column, values: Sequence[Value]) -> Predicate:
    return col < _low(values[0])


def le(col: Column, values: Sequence[Value]) -> Predicate:
    return _at_or_below(col, values[0])


def in_(col: Column, values: Sequence[Value]) -> Predicate:
    if any(isinstance(v, Day) for v in values):
        return or_(*(_equal(col, v) for v in values))
    return col.in_(list(values))


def bt(col: Column, values: Sequence[Value]) -> Predicate:
    return and_(col >= _low(values[0]), _at_or_below(col, values[1]))


_POSITIVE = [
    Operator("eq", Arity.ONE, "equals", eq),
    Operator("gt", Arity.ONE, "is greater than", gt),
    Operator("ge", Arity.ONE, "is greater than or equal to", ge),
    Operator("lt", Arity.ONE, "is less than", lt),
    Operator("le", Arity.ONE, "is less than or equal to", le),
    Operator("in", Arity.MANY, "is one of", in_),
    Operator("bt", Arity.TWO, "is between (inclusive)", bt),
]


def _negate(op: Operator, name: str, human: str) -> Operator:
    def build(col: Column, values: Sequence[Value]) -> Predicate:
        # A negation matches orders where the field is empty too: "not John" includes no name.
        return or_(not_(op.build(col, values)), col.is_(None))

    return Operator(name, op.arity, human, build, negated=True)


_BY_NAME = {op.name: op for op in _POSITIVE}

OPERATORS: dict[str, Operator] = {
    **_BY_NAME,
    "neq": _negate(_BY_NAME["eq"], "neq", "does not equal"),
    "nin": _negate(_BY_NAME["in"], "nin", "is not one of"),
    "nbt": _negate(_BY_NAME["bt"], "nbt", "is not between (inclusive)"),
}

#: Other spellings accepted: MALL's own client writes `ne`.
ALIASES = {"ne": "neq"}

_EQUALITY_ONLY = ("eq", "neq", "in", "nin")

#: Modifiers that make sense for each kind of field; ordering comparisons need an ordered kind.
ALLOWED_BY_KIND: dict[FieldKind, tuple[str, ...]] = {
    FieldKind.BOOL: _EQUALITY_ONLY,
    FieldKind.ENUM: _EQUALITY_ONLY,
    FieldKind.INT: tuple(OPERATORS),
    FieldKind.STR: tuple(OPERATORS),
    FieldKind.DECIMAL: tuple(OPERATORS),
    FieldKind.DATE: tuple(OPERATORS),
    FieldKind.DATETIME: tuple(OPERATORS),
    FieldKind.SET: _EQUALITY_ONLY,
}


def null_predicate(col: Column, negated: bool) -> Predicate:
    """`field=$null` and `field=neq:$null`."""
    return col.is_not(None) if negated else col.is_(None)


def constant(value: bool) -> Predicate:
    return true() if value else false()
