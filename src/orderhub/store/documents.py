"""The order detail's keys read straight from a stored row, for answers that never build an
`Order`: the webhook bodies and the NDJSON export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from orderhub.domain import SCALAR_FIELDS
from orderhub.query.parser import ORDER_KEYS
from orderhub.store.tags import tags_of


def document_value(row: Mapping[Any, Any], name: str) -> Any:
    """One key of the order detail from a row of the orders columns and TAGS_TEXT: a scalar as
    read, the tags as a list, a nested part spliced as its stored JSON (exact money kept)."""
    if name in SCALAR_FIELDS:
        return row[name]
    if name == "tags":
        return tags_of(row)
    text = row[name]
    return None if text is None else orjson.Fragment(text)


def order_document(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The whole order detail (GET /v1/orders/{id}'s keys, in its order) from such a row."""
    return {name: document_value(row, name) for name in ORDER_KEYS}
