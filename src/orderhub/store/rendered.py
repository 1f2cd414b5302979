"""A full order's JSON text built by SQLite (the JSON answers' lists of full orders), and a
basic order's (the basic view's lists: its scalars alone, `scalars_object`).

Turning 100 full rows' scalar columns into JSON values in Python (store/encoded.py) and then
into a dict per order cost more than SQLite's own reading of them (docs/performance.md,
"Read API"). SQLite writes each order's scalars itself with `json_object` (which escapes a
string exactly as orjson does), every value as `domain.jsonfmt` writes the typed one: money
from its scaled integer, a timestamp in SQLAlchemy's storage format as its ISO text in UTC, a
date as stored; then the nested parts spliced as stored, as `api.render.full_order` splices
them. Python adds the tags (SQLite 3.40 cannot sort inside an aggregate) and joins the texts.

A value in another form than the one the app writes (a timestamp in another text format,
money that is not an integer) is written as a control character (see `_UNWRITTEN`): such a
page is read the usual way (store/encoded.py), so the answer never differs.
tests/test_rendered_rows.py compares both with the typed path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Boolean, ColumnElement, Date, literal_column

from orderhub.domain import SCALAR_FIELDS
from orderhub.domain.codec import NESTED_FIELDS
from orderhub.store.tables import orders
from orderhub.store.types import SCALE, Amount, UTCDateTime

#: What a value SQLite cannot write as the typed path would becomes: a control character,
#: which `json_object` writes as an escape. A row whose text holds that escape is read the
#: usual way (a string that held the character is too: slower, never different).
_UNWRITTEN = "char(1)"
_MARK = "\\u0001"
_DIGITS = "[0-9]"
#: SQLAlchemy's storage formats of a date and a timestamp: "2026-05-01 12:34:56.000000".
_DATE = f"{_DIGITS * 4}-{_DIGITS * 2}-{_DIGITS * 2}"
_TIMESTAMP = f"{_DATE} {_DIGITS * 2}:{_DIGITS * 2}:{_DIGITS * 2}.{_DIGITS * 6}"


def _case(column: str, *whens: str) -> str:
    """CASE of these WHEN ... THEN ...; NULL stays NULL (`null`), anything else unwritten."""
    listed = " ".join(whens)
    return f"CASE {listed} WHEN {column} IS NOT NULL THEN {_UNWRITTEN} END"


def _money(column: str) -> str:
    unit, cent = 10**SCALE, 10 ** (SCALE - 2)
    integer = f"typeof({column}) = 'integer'"
    # Most amounts are positive with at most two decimals: one printf.
    cents = f"printf('%d.%02d', {column} / {unit}, {column} % {unit} / {cent})"
    places = f"rtrim(printf('%0{SCALE}d', abs({column} % {unit})), '0')"
    fraction = f"CASE length({places}) WHEN 0 THEN '00' WHEN 1 THEN {places} || '0' "
    fraction += f"ELSE {places} END"
    signed = f"CASE WHEN {column} < 0 THEN '-' ELSE '' END || abs({column} / {unit})"
    return _case(  # json(): a number's text, written as it is
        column,
        f"WHEN {integer} AND {column} >= 0 AND {column} % {cent} = 0 THEN json({cents})",
        f"WHEN {integer} THEN json({signed} || '.' || {fraction})",
    )


def _timestamp(column: str) -> str:
    whole = f"replace(substr({column}, 1, 19), ' ', 'T') || 'Z'"
    fraction = f"replace({column}, ' ', 'T') || 'Z'"
    return _case(
        column,
        f"WHEN {column} GLOB '{_TIMESTAMP}'",
        f"THEN iif({column} GLOB '*.000000', {whole}, {fraction})",
    )


def _date(column: str) -> str:
    return _case(column, f"WHEN {column} GLOB '{_DATE}' THEN {column}")


def _boolean(column: str) -> str:
    return _case(
        column,
        f"WHEN typeof({column}) = 'integer' THEN iif({column}, json('true'), json('false'))",
    )


def _integer(column: str) -> str:
    return _case(column, f"WHEN typeof({column}) = 'integer' THEN {column}")


def _value(name: str, row: str) -> str:
    column = f"{row}.{name}"
    kind = orders.c[name].type
    if isinstance(kind, Amount):
        return _money(column)
    if isinstance(kind, UTCDateTime):
        return _timestamp(column)
    if isinstance(kind, Date):
        return _date(column)
    if isinstance(kind, Boolean):
        return _boolean(column)
    if kind.python_type is int:
        return _integer(column)
    return column  # text: quoted and escaped by json_object as orjson does


def _key(name: str) -> str:
    return orjson.dumps(name).decode()


def object_sql(names: Sequence[str], row: str = "orders") -> str:
    """SQL of these scalar columns of `row` (a table or a trigger's `new`) as one JSON
    object, keys in this order."""
    members = ", ".join(f"'{name}', {_value(name, row)}" for name in names)
    return f"json_object({members})"


def head_sql(row: str) -> str:
    """SQL of a full order's scalars as an object, in `full_order`'s order (the tags follow
    them)."""
    return object_sql(list(SCALAR_FIELDS), row)


def tail_sql(row: str) -> str:
    """SQL of the rest of a full order's object after the tags: the nested parts spliced as
    stored."""
    parts = (f"',{_key(name)}:' || coalesce({row}.{name}, 'null')" for name in NESTED_FIELDS)
    return " || ".join(parts) + " || '}'"


def scalars_object(names: Sequence[str]) -> ColumnElement[Any]:
    """These scalar columns as one JSON object, keys in this order (made once per caller:
    store/shaped.py keys a statement on its columns' identity)."""
    return literal_column(object_sql(names)).label("json_head")


#: The order's scalars as an object, in `full_order`'s order (the tags follow them).
HEAD: ColumnElement[Any] = literal_column(head_sql("orders")).label("json_head")
#: The rest of the object after the tags.
TAIL: ColumnElement[Any] = literal_column(tail_sql("orders")).label("json_tail")


def rendered_objects(raw: Sequence[Any]) -> list[orjson.Fragment] | None:
    """Each row's object as JSON text, from the driver's rows of (`scalars_object`, ...);
    None when SQLite could not write one of them."""
    texts = []
    for head, *_ in raw:
        if _MARK in head:
            return None
        texts.append(orjson.Fragment(head))
    return texts


def rendered_rows(raw: Sequence[Any]) -> list[orjson.Fragment] | None:
    """Each row's order as JSON text, from the driver's rows of (HEAD, tags, TAIL, ...);
    None when SQLite could not write one of them."""
    texts = []
    for head, tags, tail, *_ in raw:
        text = order_text(head, tags, tail)
        if text is None:
            return None
        texts.append(orjson.Fragment(text))
    return texts


def order_text(head: str, tags: str | None, tail: str) -> str | None:
    """A full order's JSON text from its parts (`HEAD`, the tags joined by spaces, `TAIL`);
    None when SQLite could not write one of its values."""
    if _MARK in head:
        return None
    listed = orjson.dumps(sorted(tags.split())).decode() if tags else "[]"
    return f'{head[:-1]},"tags":{listed}{tail}'
