"""Opaque keyset cursors: the last row's sort values, bound to the query that made them."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import orjson

from orderhub.domain import QUERY_FIELDS, FieldKind, InvalidInput
from orderhub.query.ast import After, Fields, Filter, SortKey
from orderhub.query.values import Value, parse_value


@dataclass(frozen=True, slots=True)
class Cursor:
    fingerprint: str
    after: After


PARAMETER = "cursor"
EXPECTED = "a cursor returned in paging.cursor by the same query (same filters and _sort)"


def fingerprint(
    filters: Sequence[Filter], sort: Sequence[SortKey], search: Sequence[str] = ()
) -> str:
    """A short hash of what a cursor is valid for, so a cursor cannot be replayed elsewhere."""
    text = "&".join(f"{f.field}={f.operator}:{f.raw}" for f in filters)
    text += "|" + ",".join(str(k) for k in sort)
    if search:  # left out when empty: the cursors of plain lists stay valid
        text += "|q=" + " ".join(search)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(cursor: Cursor) -> str:
    payload = {
        "f": cursor.fingerprint,
        "p": cursor.after.page,
        "t": cursor.after.total,
        "v": [_encode_value(v) for v in cursor.after.values],
    }
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(
    raw: str, sort: Sequence[SortKey], expected_fingerprint: str, fields: Fields = QUERY_FIELDS
) -> After:
    """Decode a cursor for this query's sort keys, or raise InvalidInput naming `cursor`."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        values, page, fp = payload["v"], payload["p"], payload["f"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidInput(PARAMETER, EXPECTED, raw) from None
    if fp != expected_fingerprint or not isinstance(values, list) or len(values) != len(sort):
        raise InvalidInput(PARAMETER, EXPECTED, raw)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise InvalidInput(PARAMETER, EXPECTED, raw)
    decoded: list[Value | None] = []
    for key, value in zip(sort, values, strict=True):
        field = fields[key.field]
        if value is None:
            decoded.append(None)
        elif not isinstance(value, str):
            raise InvalidInput(PARAMETER, EXPECTED, raw)
        else:
            decoded.append(parse_value(field, value, PARAMETER))
            if field.kind is FieldKind.DATETIME and not isinstance(decoded[-1], datetime):
                raise InvalidInput(PARAMETER, EXPECTED, raw)
    total = payload.get("t")
    if total is not None and (not isinstance(total, int) or isinstance(total, bool) or total < 0):
        raise InvalidInput(PARAMETER, EXPECTED, raw)
    return After(tuple(decoded), page, total)


def _encode_value(value: Value | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | Decimal | int):
        return str(value)
    return str(value)
