"""What a merchant may do to a MALL order: confirm it, change its status, set its tracking.

MALL's rules (design section 4, and what MALL's official clients send, docs/channels-mall.md
"Writes the sandbox accepts"): open -> shipping|shipped|cancelled, shipping -> shipped|cancelled,
shipped -> delivered|returned; the same status again changes no status (v3 confirms with
`{"status": "open", "confirmed": true}`). Tracking (a number matching `[0-9a-zA-Z._-]+` and/or
an http(s) URL) travels with shipping or shipped, and shipped needs one of them (sent now or
with shipping before); delivered needs `delivered_at` and takes `first_delivery_attempt`
("YYYY-MM-DD HH:MM:SS", not after delivery). A status change needs the order confirmed (before,
or by `confirmed: true` in the same request). `PUT /tracking` only in shipped. A merchant's own
change does not make the order unconfirmed.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from orderhub.channels.mall.codec import TIME_FORMAT
from orderhub.channels.mall.sandbox_orders import mall_time
from orderhub.channels.mall.sandbox_store import MALL_STATUSES, Payload
from orderhub.channels.sandbox_app import SandboxError
from orderhub.domain.jsonfmt import dumps

MERCHANT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("shipping", "shipped", "cancelled"),
    "shipping": ("shipped", "cancelled"),
    "shipped": ("delivered", "returned"),
}
TRACKING_NUMBER = re.compile(r"[0-9a-zA-Z._-]+")
_URL = re.compile(r"https?://[^\s]+")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_TRACKING_KEYS = frozenset({"tracking_number", "tracking_url"})
_DELIVERY_KEYS = frozenset({"delivered_at", "first_delivery_attempt"})
_UPDATE_KEYS = frozenset({"confirmed", "status"}) | _TRACKING_KEYS | _DELIVERY_KEYS
#: The fields each status takes along with it in `PUT /orders/{id}`.
_TAKES: dict[str, frozenset[str]] = {
    "shipping": _TRACKING_KEYS,
    "shipped": _TRACKING_KEYS,
    "delivered": _DELIVERY_KEYS,
}


class MallError(SandboxError):
    """An error answered in MALL's error shape, with the `errorAttributes` it names."""

    def __init__(
        self, status: int, code: str, message: str, attributes: dict[str, Any] | None = None
    ) -> None:
        super().__init__(status, code, message)
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
    """PUT /orders/{id}: `confirmed` and/or `status` (with its fields); the order as changed."""
    fields = _object(body, _UPDATE_KEYS)
    confirmed = fields.get("confirmed")
    if "status" not in fields:
        if confirmed is not True:
            raise invalid("confirmed", "true (an order cannot be unconfirmed)", confirmed)
        _refuse_extra(fields, frozenset(), "no status")
    elif "confirmed" in fields and not isinstance(confirmed, bool):
        raise invalid("confirmed", "true or false", confirmed)
    if "status" in fields:
        changed = copy.deepcopy(payload)
        _change_status(changed, fields, now)
    else:  # a confirmation changes one top-level field: the nested parts are not touched
        changed = dict(payload)
    if confirmed is True:
        changed["confirmed"] = True
    return changed


def changed_fields(before: Payload, after: Payload) -> list[str]:
    """The top-level fields that may read differently: all but the equal scalars of one type
    (0 and False are equal, and a column may read them apart); added and dropped ones too."""
    gone = [name for name in before if name not in after]
    return [
        name for name, value in after.items() if not _same(before.get(name, _NONE), value)
    ] + gone


def _same(old: object, new: object) -> bool:
    return type(old) is type(new) and not isinstance(new, dict | list) and old == new


_NONE = object()


def apply_tracking(payload: Payload, body: object) -> Payload:
    """PUT /orders/{id}/tracking: a tracking number and/or URL, only in shipped."""
    fields = _object(body, _TRACKING_KEYS)
    if payload["status"] != "shipped":
        raise MallError(
            409,
            "TRACKING_NOT_ALLOWED",
            f"tracking can be changed only in status shipped, the order is {payload['status']}",
            {"status": payload["status"]},
        )
    tracking = _tracking(fields)
    if not tracking:
        raise invalid("tracking_number", "a tracking number and/or tracking_url", None)
    changed = copy.deepcopy(payload)
    changed.update(tracking)
    return changed


def _change_status(payload: Payload, fields: dict[str, Any], now: datetime) -> None:
    new, current = fields["status"], payload["status"]
    if new not in MALL_STATUSES:
        raise invalid("status", "one of " + ", ".join(MALL_STATUSES), new)
    allowed = MERCHANT_TRANSITIONS.get(current, ())
    if new != current and new not in allowed:
        listed = ", ".join(allowed) or "none"
        raise MallError(
            409,
            "STATUS_TRANSITION_NOT_ALLOWED",
            f"cannot change status from {current} to {new}; allowed: {listed}",
            {"status": current, "requested": new, "allowed": list(allowed)},
        )
    _refuse_extra(fields, _TAKES.get(new, frozenset()), f"status {new}")
    if new in ("shipping", "shipped"):
        payload.update(_tracking(fields))
        if new == "shipped" and not (payload.get("tracking_number") or payload.get("tracking_url")):
            raise invalid("tracking_number", "a tracking number and/or tracking_url with shipped")
    elif new == "delivered":
        payload.update(_delivery(fields, required=new != current))
    _check_confirmed(payload, fields)
    if new != current:
        payload["status"] = new
        payload[new] = mall_time(now)


def _check_confirmed(payload: Payload, fields: dict[str, Any]) -> None:
    """MALL changes no status of an order the merchant has not confirmed."""
    if not payload.get("confirmed") and fields.get("confirmed") is not True:
        raise MallError(
            409,
            "ORDER_NOT_CONFIRMED",
            f"order {payload['id']} is not confirmed: confirm it first, or send "
            "confirmed=true with the status",
            {"id": payload["id"], "confirmed": False},
        )


def _refuse_extra(fields: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    for key in sorted(set(fields) - {"confirmed", "status"} - allowed):
        raise invalid(key, f"no {key} with {what}", fields[key])


def _tracking(fields: dict[str, Any]) -> dict[str, str]:
    """The tracking given: an empty string counts as not given (the v5 `Tracking` always sends
    both keys)."""
    tracking = {}
    if fields.get("tracking_number") not in (None, ""):
        tracking["tracking_number"] = _tracking_number(fields["tracking_number"])
    if fields.get("tracking_url") not in (None, ""):
        tracking["tracking_url"] = _tracking_url(fields["tracking_url"])
    return tracking


def _delivery(fields: dict[str, Any], *, required: bool) -> dict[str, str]:
    delivery = {}
    if "delivered_at" in fields or required:
        delivery["delivered_at"] = _time("delivered_at", fields.get("delivered_at"))
    if "first_delivery_attempt" in fields:
        first = _time("first_delivery_attempt", fields["first_delivery_attempt"])
        delivered = delivery.get("delivered_at")
        if delivered is not None and first > delivered:
            raise invalid("first_delivery_attempt", f"a time not after delivered_at {delivered}",
                          first)  # fmt: skip
        delivery["first_delivery_attempt"] = first
    return delivery


def _tracking_number(value: object) -> str:
    if not isinstance(value, str) or not TRACKING_NUMBER.fullmatch(value):
        raise invalid("tracking_number", "a tracking number matching [0-9a-zA-Z._-]+", value)
    return value


def _tracking_url(value: object) -> str:
    if not isinstance(value, str) or not _URL.fullmatch(value):
        raise invalid("tracking_url", "an http(s) URL", value)
    return value


def _time(field: str, value: object) -> str:
    if isinstance(value, str) and _TIME.fullmatch(value):
        try:
            datetime.strptime(value, TIME_FORMAT)
            return value
        except ValueError:
            pass
    raise invalid(field, "a time YYYY-MM-DD HH:MM:SS", value)


def _object(body: object, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("body", "a JSON object", body)
    for key in body:
        if key not in keys:
            raise invalid(key, "a known field (" + ", ".join(sorted(keys)) + ")", body[key])
    return body
