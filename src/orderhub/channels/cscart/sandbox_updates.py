"""PUT /api/orders/{id} of the CS-Cart sandbox: a status (and `notify_user`), a `vendor_ref`.

Seed 002's rules: N (Incomplete) cannot be set by an administrator; the shop e-mails the
customer about a status change only with `notify_user` 1; `vendor_ref` takes a single string
(objects and arrays are refused). Sandbox rules where the seed is silent are in
docs/channels-cscart.md ("Sandbox").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderhub.channels.cscart.codec import STATUS_BY_LETTER
from orderhub.channels.cscart.sandbox_life import set_status, unix
from orderhub.channels.cscart.sandbox_listing import LETTERS, bad_request
from orderhub.channels.cscart.sandbox_store import Payload

#: The fields a PUT may carry (`notify_department`/`notify_vendor`: CS-Cart's other flags,
#: accepted and ignored: the sandbox has no staff to e-mail).
UPDATE_KEYS = ("status", "notify_user", "notify_department", "notify_vendor", "vendor_ref")
#: The longest `vendor_ref` the shop stores.
VENDOR_REF_MAX = 64
_FLAGS = {"0": False, "1": True, 0: False, 1: True}


@dataclass(frozen=True, slots=True)
class Update:
    """The order as changed, and whether the shop e-mails the customer about it."""

    payload: Payload
    notify_user: bool


def apply_update(payload: Payload, body: object, now: datetime) -> Update:
    """Validate the whole body first, then change a copy: a refused PUT changes nothing."""
    fields = _fields(body)
    notify = {key: _flag(fields, key) for key in UPDATE_KEYS if key.startswith("notify_")}
    changed = copy.deepcopy(payload)
    status_changed = False
    if "status" in fields:
        letter = _letter(payload, fields["status"])
        if letter != payload["status"]:
            set_status(changed, letter, now)
            status_changed = True
    if "vendor_ref" in fields:
        _set_vendor_ref(changed, fields["vendor_ref"], now)
    return Update(changed, notify["notify_user"] and status_changed)


def _fields(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    for key in body:
        if key not in UPDATE_KEYS:
            raise bad_request(f"unknown field {key!r} (known: {', '.join(UPDATE_KEYS)})")
    if "status" not in body and "vendor_ref" not in body:
        raise bad_request("nothing to update: send status and/or vendor_ref")
    return body


def _flag(fields: dict[str, Any], key: str) -> bool:
    value = fields.get(key, "0")
    if isinstance(value, bool) or value not in _FLAGS:
        raise bad_request(f"{key}: expected 0 or 1, got {value!r}")
    return _FLAGS[value]


def _letter(payload: Payload, value: object) -> str:
    if not isinstance(value, str) or value not in STATUS_BY_LETTER:
        raise bad_request(f"status: expected one of the letters {LETTERS}, got {value!r}")
    if value == "N":
        raise bad_request("status: N (Incomplete) cannot be set by an administrator")
    if payload["status"] == "N":
        raise bad_request(
            f"order {payload['order_id']} is Incomplete (N): it awaits the payment gateway's "
            "answer and its status cannot be changed by hand"
        )
    return value


def _set_vendor_ref(payload: Payload, value: object, now: datetime) -> None:
    """A single string (empty: the reference is removed); anything else is refused."""
    if not isinstance(value, str):
        kind = "an object" if isinstance(value, dict) else "an array" if isinstance(
            value, list) else repr(value)  # fmt: skip
        raise bad_request(f"vendor_ref only accepts a single string, got {kind}")
    if len(value) > VENDOR_REF_MAX:
        raise bad_request(f"vendor_ref: at most {VENDOR_REF_MAX} characters, got {len(value)}")
    if (payload.get("vendor_ref") or "") == value:
        return
    if value:
        payload["vendor_ref"] = value
    else:
        payload.pop("vendor_ref", None)
    payload["updated_at"] = unix(now)


@dataclass(frozen=True, slots=True)
class SentMail:
    """A status e-mail the shop "sent" for `notify_user=1`."""

    order_id: str
    to: str
    status: str
    subject: str
    at: str


def status_mail(payload: Payload) -> SentMail | None:
    """The e-mail telling the customer the order's status; None when it has no address."""
    to = str(payload.get("email") or "")
    if not to:
        return None
    letter = payload["status"]
    subject = f"Order #{payload['order_id']}: {STATUS_BY_LETTER[letter].value} ({letter})"
    return SentMail(str(payload["order_id"]), to, letter, subject, payload["updated_at"])
