"""What a merchant may do to a MALL order: confirm it, change its status, set its tracking.

MALL's rules (design section 4): open -> shipping|shipped|cancelled, shipping ->
shipped|cancelled, shipped -> delivered|returned; shipped needs a tracking number
(`[0-9a-zA-Z._-]+`) and URL, delivered needs `delivered_at` ("YYYY-MM-DD HH:MM:SS"); tracking
may be changed only in shipped. A merchant's own change does not make the order unconfirmed.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from orderhub.channels.mall.codec import TIME_FORMAT
from orderhub.channels.mall.sandbox_orders import mall_time
from orderhub.channels.mall.sandbox_store import MALL_STATUSES, Payload
from orderhub.domain.jsonfmt import dumps

MERCHANT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("shipping", "shipped", "cancelled"),
    "shipping": ("shipped", "cancelled"),
    "shipped": ("delivered", "returned"),
}
TRACKING_NUMBER = re.compile(r"[0-9a-zA-Z._-]+")
_URL = re.compile(r"https?://[^\s]+")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_UPDATE_KEYS = frozenset({"confirmed", "status", "tracking_number", "tracking_url", "delivered_at"})
_TRACKING_KEYS = frozenset({"tracking_number", "tracking_url"})


class MallError(Exception):
    """An error answered in MALL's error shape."""

    def __init__(
        self, status: int, code: str, message: str, attributes: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.attributes = attributes or {}

    def body(self) -> dict[str, Any]:
        return {
            "result": {"code": self.status, "status": "ERROR", "message": self.message},
            "errorCodes": [
                {
                    "message": self.message,
                    "errorCode": self.code,
                    "errorAttributes": self.attributes,
                }
            ],
        }


_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
}


def error_body(status: int, message: str) -> bytes:
    """MALL's error shape for a bare status (faults, unknown routes)."""
    return dumps(MallError(status, _CODES.get(status, "ERROR"), message).body())


def invalid(field: str, expected: str, value: object = None) -> MallError:
    attributes = {"field": field, "expected": expected, "value": value}
    return MallError(400, "INVALID_VALUE", f"{field}: expected {expected}", attributes)


def apply_update(payload: Payload, body: object, now: datetime) -> Payload:
    """PUT /orders/{id}: `{"confirmed": true}` and/or `{"status": ...}`; the order as changed."""
    fields = _object(body, _UPDATE_KEYS)
    if "confirmed" not in fields and "status" not in fields:
        raise invalid("body", "confirmed and/or status")
    if "confirmed" in fields and fields["confirmed"] is not True:
        raise invalid("confirmed", "true (an order cannot be unconfirmed)", fields["confirmed"])
    changed = copy.deepcopy(payload)
    if "status" in fields:
        _change_status(changed, fields, now)
    else:
        _refuse_extra(fields, set(), "status")
    if "confirmed" in fields:
        changed["confirmed"] = True
    return changed


def apply_tracking(payload: Payload, body: object) -> Payload:
    """PUT /orders/{id}/tracking: only in shipped."""
    fields = _object(body, _TRACKING_KEYS)
    if payload["status"] != "shipped":
        raise MallError(
            409,
            "TRACKING_NOT_ALLOWED",
            f"tracking can be changed only in status shipped, the order is {payload['status']}",
            {"status": payload["status"]},
        )
    changed = copy.deepcopy(payload)
    changed["tracking_number"] = _tracking_number(fields.get("tracking_number"))
    if "tracking_url" in fields:
        changed["tracking_url"] = _tracking_url(fields["tracking_url"])
    return changed


def _change_status(payload: Payload, fields: dict[str, Any], now: datetime) -> None:
    new, current = fields["status"], payload["status"]
    if new not in MALL_STATUSES:
        raise invalid("status", "one of " + ", ".join(MALL_STATUSES), new)
    allowed = MERCHANT_TRANSITIONS.get(current, ())
    if new not in allowed:
        listed = ", ".join(allowed) or "none"
        raise MallError(
            409,
            "STATUS_TRANSITION_NOT_ALLOWED",
            f"cannot change status from {current} to {new}; allowed: {listed}",
            {"status": current, "requested": new, "allowed": list(allowed)},
        )
    if new == "shipped":
        _refuse_extra(fields, _TRACKING_KEYS, "status shipped")
        payload["tracking_number"] = _tracking_number(fields.get("tracking_number"))
        payload["tracking_url"] = _tracking_url(fields.get("tracking_url"))
    elif new == "delivered":
        _refuse_extra(fields, {"delivered_at"}, "status delivered")
        payload["delivered_at"] = _delivered_at(fields.get("delivered_at"))
    else:
        _refuse_extra(fields, set(), f"status {new}")
    payload["status"] = new
    payload[new] = mall_time(now)


def _refuse_extra(fields: dict[str, Any], allowed: set[str] | frozenset[str], what: str) -> None:
    for key in sorted(set(fields) - {"confirmed", "status"} - set(allowed)):
        raise invalid(key, f"no {key} with {what}", fields[key])


def _tracking_number(value: object) -> str:
    if not isinstance(value, str) or not TRACKING_NUMBER.fullmatch(value):
        raise invalid("tracking_number", "a tracking number matching [0-9a-zA-Z._-]+", value)
    return value


def _tracking_url(value: object) -> str:
    if not isinstance(value, str) or not _URL.fullmatch(value):
        raise invalid("tracking_url", "an http(s) URL", value)
    return value


def _delivered_at(value: object) -> str:
    if isinstance(value, str) and _TIME.fullmatch(value):
        try:
            datetime.strptime(value, TIME_FORMAT)
            return value
        except ValueError:
            pass
    raise invalid("delivered_at", "a time YYYY-MM-DD HH:MM:SS", value)


def _object(body: object, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("body", "a JSON object", body)
    for key in body:
        if key not in keys:
            raise invalid(key, "a known field (" + ", ".join(sorted(keys)) + ")", body[key])
    return body
