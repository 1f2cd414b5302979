"""The sandboxes' `exact_loads` (one decoder kept, channels/sandbox_store.py) reads any text or
bytes as `json.loads(..., parse_float=Decimal)` does (the oracle): the same value, or the same
error, for JSON of every kind, encodings with and without a BOM, and junk."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from orderhub.channels.sandbox_store import exact_loads

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "utf-32-be"])


def _outcome(load: Any, text: str | bytes) -> tuple[str, Any]:
    try:
        return "value", load(text)
    except Exception as exc:  # the same kind of error and message is the point
        return type(exc).__name__, str(exc)


def _oracle(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


@given(VALUES, st.booleans(), ENCODINGS)
def test_json_text_and_bytes_read_as_json_loads_reads_them(
    value: Any, bom: bool, encoding: str
) -> None:
    text = ("\ufeff" if bom else "") + json.dumps(value)
    assert _outcome(exact_loads, text) == _outcome(_oracle, text)
    data = text.encode(encoding, "surrogatepass")
    assert _outcome(exact_loads, data) == _outcome(_oracle, data)


@given(st.text() | st.binary())
def test_junk_fails_as_json_loads_fails(junk: str | bytes) -> None:
    assert _outcome(exact_loads, junk) == _outcome(_oracle, junk)


def test_amounts_are_exact() -> None:
    assert exact_loads(b'{"price": 12.30}') == {"price": Decimal("12.30")}
    assert exact_loads('{"price": 0.1}')["price"] == Decimal("0.1")
