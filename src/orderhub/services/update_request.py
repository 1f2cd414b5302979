"""The body of PUT /v1/orders/{id}, parsed into a typed request; every mistake is a 400 naming
the field and what was expected (nothing is looked up or written before this succeeds)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from orderhub.domain import InvalidInput, Status
from orderhub.domain.tags import MAX_TAGS, TAG_FORM, normalise_tag, tag_set
from orderhub.domain.xmltext import has_non_xml_char

TRACKING_NUMBER = re.compile(r"[0-9A-Za-z._-]+")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?", re.ASCII
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FLAGS = {"1": True, "0": False, "true": True, "false": False}

MAX_VENDOR_REF = 64
MAX_CARRIER = 64
MAX_TRACKING_NUMBER = 128
MAX_TRACKING_URL = 1024


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """What the merchant asked for: new values by Order field name, tags to put on and take
    off, and whether to notify."""

    changes: Mapping[str, Any]
    notify_user: bool = False
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()


def parse_flag(name: str, value: object) -> bool:
    """`true`/`false`, `1`/`0`, or the same as strings (CS-Cart sends `"notify_user": "1"`)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _FLAGS:
        return _FLAGS[value.lower()]
    raise InvalidInput(name, "true, false, 1 or 0", value)


def _status(name: str, value: object) -> Status:
    # partially_shipped is a mistake in the body whatever the order holds: a 400 before the
    # order is read (not a 412 or 409 that depends on it).
    if value == Status.PARTIALLY_SHIPPED:
        raise InvalidInput(name, "a status other than partially_shipped: an order is partly "
                           "shipped by POST /v1/orders/{id}/shipments", value)  # fmt: skip
    if isinstance(value, str) and value in Status._value2member_map_:
        return Status(value)
    raise InvalidInput(name, "one of " + ", ".join(s.value for s in Status), value)


def text_value(name: str, value: object, limit: int, what: str) -> str | None:
    """null (clears the field) or a non-empty single-line string of at most `limit` chars."""
    if value is None:
        return None
    expected = f"{what}: a single string of 1 to {limit} characters, or null"
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(name, expected, shown(value))
    if _CONTROL.search(value) or has_non_xml_char(value):
        raise InvalidInput(name, expected + " (no control characters, U+FFFE or U+FFFF)", value)
    return value


def _vendor_ref(name: str, value: object) -> str | None:
    return text_value(name, value, MAX_VENDOR_REF, "the merchant's reference")


def _carrier(name: str, value: object) -> str | None:
    return text_value(name, value, MAX_CARRIER, "the carrier's name")


def _tracking_number(name: str, value: object) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or len(value) > MAX_TRACKING_NUMBER
        or not TRACKING_NUMBER.fullmatch(value)
    ):
        expected = (
            f"[0-9A-Za-z._-]+: letters, digits, '.', '_', '-' (at most {MAX_TRACKING_NUMBER})"
        )
        raise InvalidInput(name, expected, shown(value))
    return value


def _tracking_url(name: str, value: object) -> str | None:
    if value is None:
        return None
    expected = (
        f"an absolute http or https URL of at most {MAX_TRACKING_URL} characters"
        " (no control characters, U+FFFE or U+FFFF)"
    )
    if not isinstance(value, str) or len(value) > MAX_TRACKING_URL or not _is_web_url(value):
        raise InvalidInput(name, expected, shown(value))
    return value


def _is_web_url(text: str) -> bool:
    if any(c.isspace() for c in text) or _CONTROL.search(text) or has_non_xml_char(text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _delivered_at(name: str, value: object) -> datetime | None:
    """ISO 8601 with a zone, or MALL's `YYYY-MM-DD HH:MM:SS` (no zone: UTC)."""
    if value is None:
        return None
    expected = "a date and time, e.g. 2024-05-01T14:30:00Z or 2024-05-01 14:30:00 (UTC)"
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise InvalidInput(name, expected, shown(value))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(name, expected, value) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def parse_tags(name: str, value: object) -> list[str]:
    """A JSON list of tags: each of TAG_FORM (lowered), at most MAX_TAGS; sorted, each once."""
    expected = f"a list of at most {MAX_TAGS} tags, each {TAG_FORM}"
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise InvalidInput(name, expected, shown(value))
    tags = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidInput(name, expected, shown(item))
        try:
            tags.append(normalise_tag(item))
        except ValueError:
            raise InvalidInput(name, expected, shown(item)) from None
    return tag_set(tags)


def shown(value: object) -> object:
    """The offending value as the problem shows it: long strings and containers shortened."""
    if isinstance(value, str) and len(value) > 80:
        return value[:80] + "..."
    if isinstance(value, dict | list):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    return value


#: Every field a merchant may change, and how its value is read.
FIELD_PARSERS: dict[str, Callable[[str, object], Any]] = {
    "status": _status,
    "confirmed": parse_flag,
    "tracking_number": _tracking_number,
    "tracking_url": _tracking_url,
    "carrier": _carrier,
    "delivered_at": _delivered_at,
    "vendor_ref": _vendor_ref,
    "tags": parse_tags,
}
#: Changes to the tags rather than new values: put these on, take these off.
TAG_EDITS = ("add_tags", "remove_tags")
ACCEPTED = (*FIELD_PARSERS, *TAG_EDITS, "notify_user")


def parse_update(body: object) -> OrderUpdate:
    """A decoded JSON body -> OrderUpdate, or InvalidInput naming the first bad field."""
    accepted = ", ".join(ACCEPTED)
    if not isinstance(body, dict):
        raise InvalidInput("body", f"a JSON object with any of: {accepted}", shown(body))
    for name in body:
        if name not in ACCEPTED:
            raise InvalidInput(name, f"no such field; a change may set: {accepted}")
    changes = {
        name: parse(name, body[name]) for name, parse in FIELD_PARSERS.items() if name in body
    }
    edits = {name: tuple(parse_tags(name, body[name])) for name in TAG_EDITS if name in body}
    if not changes and not edits:
        raise InvalidInput("body", f"at least one of: {', '.join((*FIELD_PARSERS, *TAG_EDITS))}")
    if "tags" in changes and edits:
        raise InvalidInput(next(iter(edits)), "nothing beside tags (tags replaces the set)")
    notify = parse_flag("notify_user", body["notify_user"]) if "notify_user" in body else False
    return OrderUpdate(changes, notify, **edits)
