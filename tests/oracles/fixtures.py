"""Golden fixtures: a channel's example payload and, next to it, the canonical order written out
by hand (`<name>.expected.json`). Amounts there are exact decimal text, times ISO-8601 UTC."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from oracles.order_view import Expected
from orderhub.domain import Order
from orderhub.domain.order import OrderLine

GOLDEN = Path(__file__).resolve().parent.parent / "channels" / "golden"
_MONEY = {"total", "subtotal", "shipping_cost", "discount", "tax_total", "cod"}
_LINE_MONEY = {"unit_price", "tax_rate", "tax_amount", "total"}
_TIMES = {"created_at", "updated_at", "delivered_at"}


def expectation(name: str) -> Expected:
    """Every field of the canonical order, as the hand-written file gives it."""
    raw: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    raw.pop("_about", None)
    fields = {f.name for f in dataclasses.fields(Order)}
    assert raw.keys() == fields, f"{name} must write out every field: {raw.keys() ^ fields}"
    line_fields = {f.name for f in dataclasses.fields(OrderLine)}
    for line in raw["lines"]:
        assert line.keys() == line_fields, f"{name}: a line must write out every field"
        line.update({k: Decimal(line[k]) for k in _LINE_MONEY})
    raw.update({k: Decimal(raw[k]) for k in _MONEY if raw[k] is not None})
    raw.update({k: datetime.fromisoformat(raw[k]) for k in _TIMES if raw[k] is not None})
    return raw


def text(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")
