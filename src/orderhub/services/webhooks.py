"""Webhook subscriptions: subscribe (validated), list, delete, the delivery log and resending.

Delivery itself (signing, sending, retries) is in services/webhook_delivery.py.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import socket
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import SplitResult, urlsplit

from sqlalchemy import Engine

from orderhub.domain import Conflict, InvalidInput, NotFound
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.domain.events import ChannelEventType, EventType, JobEventType, WebhookEventType
from orderhub.services.webhook_pacing import DEFAULT_PER_SECOND as DEFAULT_PER_SECOND
from orderhub.services.webhook_pacing import MAX_PER_SECOND
from orderhub.settings import get_settings
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxStatus
from orderhub.store.webhook_replay import enqueue_replay, new_replay_id
from orderhub.store.webhooks import (
    Delivery,
    LoggedDelivery,
    Subscription,
    WebhookRepository,
    filter_predicate,
)

SECRET_PREFIX = "whsec_"
SINCE_EXPECTED = (
    "an RFC 3339 time with its zone, e.g. 2026-12-06T10:00:00Z (send a + offset as %2B)"
)
_RFC3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
#: Order events, then channel events (a channel event goes to a subscription whose filter's
#: `channel` conditions admit the account; the filter's other fields concern orders only).
EVENT_TYPES = tuple(
    str(t) for t in (*EventType, *ChannelEventType, *JobEventType, *WebhookEventType)
)
MAX_URL_LENGTH = 2048
MAX_FILTER_LENGTH = 2000
MAX_DELIVERIES = 1000
DELIVERY_STATUSES = tuple(s.value for s in OutboxStatus)


class WebhookNotFound(NotFound):
    def __init__(self, subscription_id: int) -> None:
        super().__init__(f"webhook subscription {subscription_id} does not exist")


class DeliveryNotFound(NotFound):
    def __init__(self, subscription_id: int, delivery_id: int) -> None:
        super().__init__(f"webhook subscription {subscription_id} has no delivery {delivery_id}")


class ResendRefused(Conflict):
    """A delivery that cannot be sent again now (still pending, or the subscription is off)."""


class AddressRefused(Exception):
    """A subscriber host that resolves to an address webhooks may not reach."""


class HostUnresolvable(AddressRefused):
    """The subscriber's host name does not resolve (perhaps only for now)."""


#: How long an old secret may keep signing after a rotation: a week at most, a day by default.
MAX_GRACE_SECONDS = 7 * 86_400
DEFAULT_GRACE_SECONDS = 86_400


def new_secret() -> str:
    """`whsec_` + base64 of 24 random bytes, the Standard Webhooks secret format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def allow_private_default() -> bool:
    return get_settings().webhooks_allow_private


def create_subscription(
    engine: Engine,
    url: str,
    event_types: Sequence[str],
    filter: str | None = None,
    *,
    allow_private: bool | None = None,
    clock: Clock = SYSTEM_CLOCK,
    max_per_second: int = DEFAULT_PER_SECOND,
) -> Subscription:
    """Validate and store a subscription; the result carries its secret (show it once)."""
    check_rate(max_per_second)
    types = check_event_types(event_types)
    text = check_filter(filter)
    parts = check_url(url)
    private_ok = allow_private_default() if allow_private is None else allow_private
    if not private_ok:
        try:
            check_destination(parts)
        except AddressRefused as exc:
            raise InvalidInput(
                "url", f"a public address ({exc}; set ORDERHUB_WEBHOOKS_ALLOW_PRIVATE=1 to allow)"
            ) from exc
    secret = new_secret()
    with UnitOfWork(engine) as uow:
        created = WebhookRepository(uow.conn).insert(
            url=url,
            event_types=types,
            filter=text,
            secret=secret,
            created_at=clock.now(),
            max_per_second=max_per_second,
        )
    return replace(created, secret=secret)  # the plain secret, to be shown this once


def update_subscription(
    engine: Engine,
    subscription_id: int,
    *,
    max_per_second: int | None = None,
    active: bool | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Subscription:
    """Change its rate, or switch it on (after it was disabled: its failures are forgotten) or
    off; what is not given stays as it is."""
    values: dict[str, object] = {}
    if max_per_second is not None:
        values["max_per_second"] = check_rate(max_per_second)
    if active is True:
        values |= {"active": True, "disabled_reason": None, "failing_since": None}
    elif active is False:
        at = clock.now().isoformat(timespec="seconds")
        values |= {"active": False, "disabled_reason": f"switched off by the merchant at {at}"}
    with UnitOfWork(engine) as uow:
        repo = WebhookRepository(uow.conn)
        current = repo.get(subscription_id)
        if current is None:
            raise WebhookNotFound(subscription_id)
        if active is False and not current.active:
            values.pop("disabled_reason")  # keep why it was disabled first
        if values:
            repo.update(subscription_id, **values)
        found = repo.get(subscription_id)
    assert found is not None
    return found


def check_rate(max_per_second: int) -> int:
    if not 1 <= max_per_second <= MAX_PER_SECOND:
        expected = f"deliveries a second: an integer from 1 to {MAX_PER_SECOND}"
        raise InvalidInput("max_per_second", expected, max_per_second)
    return max_per_second


def list_subscriptions(engine: Engine) -> list[Subscription]:
    with UnitOfWork(engine) as uow:
        return WebhookRepository(uow.conn).all()


def get_subscription(engine: Engine, subscription_id: int) -> Subscription:
    with UnitOfWork(engine) as uow:
        found = WebhookRepository(uow.conn).get(subscription_id)
    if found is None:
        raise WebhookNotFound(subscription_id)
    return found


def rotate_secret(
    engine: Engine, subscription_id: int, grace_seconds: int, clock: Clock = SYSTEM_CLOCK
) -> Subscription:
    """A new signing secret; deliveries carry both signatures for `grace_seconds`, so the
    receiver can switch to the new secret without losing a delivery (docs/webhooks.md)."""
    if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
        expected = f"seconds the old secret keeps signing: 0 to {MAX_GRACE_SECONDS}"
        raise InvalidInput("grace_seconds", expected, grace_seconds)
    with UnitOfWork(engine) as uow:
        repo = WebhookRepository(uow.conn)
        until = clock.now() + timedelta(seconds=grace_seconds)
        secret = new_secret()
        if not repo.rotate(subscription_id, secret, until):
            raise WebhookNotFound(subscription_id)
        found = repo.get(subscription_id)
    assert found is not None
    return replace(found, secret=secret)  # the plain secret, to be shown this once


def delete_subscription(engine: Engine, subscription_id: int) -> None:
    """Delete it; its pending deliveries are failed ("subscription deleted")."""
    with UnitOfWork(engine) as uow:
        if not WebhookRepository(uow.conn).delete(subscription_id):
            raise WebhookNotFound(subscription_id)


def list_deliveries(
    engine: Engine,
    subscription_id: int,
    status: str | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[Delivery]:
    """The subscription's deliveries, newest first (only those older than delivery `before`)."""
    with UnitOfWork(engine) as uow:
        repo = WebhookRepository(uow.conn)
        if repo.get(subscription_id) is None:
            raise WebhookNotFound(subscription_id)
        return repo.deliveries(subscription_id, status, limit, before)


def delivery_log(
    engine: Engine, subscription_id: int, limit: int = 100, before: int | None = None
) -> list[LoggedDelivery]:
    """`list_deliveries` with each delivery's order and event sequence (the web UI's log)."""
    with engine.connect() as conn:
        repo = WebhookRepository(conn)
        if repo.get(subscription_id) is None:
            raise WebhookNotFound(subscription_id)
        return repo.delivery_log(subscription_id, limit, before)


def failed_counts(engine: Engine, subscriptions: Sequence[Subscription]) -> dict[int, int]:
    """Each subscription's failed deliveries (those not sent again since)."""
    with engine.connect() as conn:
        repo = WebhookRepository(conn)
        return {sub.id: repo.failed_count(sub.id) for sub in subscriptions}


def resend_delivery(
    engine: Engine, subscription_id: int, delivery_id: int, clock: Clock = SYSTEM_CLOCK
) -> Delivery:
    """Queue a failed (or delivered) delivery again, same webhook-id, fresh retry schedule."""
    with UnitOfWork(engine) as uow:
        repo = WebhookRepository(uow.conn)
        subscription = repo.get(subscription_id)
        if subscription is None:
            raise WebhookNotFound(subscription_id)
        if repo.delivery(subscription_id, delivery_id) is None:
            raise DeliveryNotFound(subscription_id, delivery_id)
        _refuse_disabled(subscription)
        if not repo.resend(delivery_id, clock.now()):
            raise ResendRefused(f"delivery {delivery_id} is still pending: it will be tried")
        found = repo.delivery(subscription_id, delivery_id)
    assert found is not None
    return found


def replay(
    engine: Engine, subscription_id: int, since: datetime, clock: Clock = SYSTEM_CLOCK
) -> int:
    """Queue again, in their order, every delivery of the subscription created since `since`
    (same webhook-id and body); returns how many (docs/webhooks.md, "Replaying")."""
    with UnitOfWork(engine) as uow:
        subscription = WebhookRepository(uow.conn).get(subscription_id)
        if subscription is None:
            raise WebhookNotFound(subscription_id)
        _refuse_disabled(subscription)
        return enqueue_replay(uow.conn, subscription_id, since, new_replay_id(), clock.now())


def _refuse_disabled(subscription: Subscription) -> None:
    if not subscription.active:
        reason = subscription.disabled_reason or "disabled"
        raise ResendRefused(f"webhook subscription {subscription.id} is disabled: {reason}")


def check_since(raw: str, parameter: str = "since") -> datetime:
    """An RFC 3339 time with its zone, in UTC; InvalidInput naming `parameter` otherwise."""
    match = _RFC3339.fullmatch(raw)
    if match is None:
        raise InvalidInput(parameter, SINCE_EXPECTED, raw[:40])
    seconds, fraction, zone = match.groups()
    # Python reads at most 6 fraction digits; RFC 3339 allows any number.
    when = seconds.upper() + (fraction or "")[:7] + zone.upper().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(when).astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # month 13, year 0, an offset past year 9999
        raise InvalidInput(parameter, SINCE_EXPECTED, raw[:40]) from exc


def check_event_types(event_types: Sequence[str]) -> tuple[str, ...]:
    expected = f"a non-empty list of event types among {', '.join(EVENT_TYPES)}"
    if not event_types:
        raise InvalidInput("event_types", expected, list(event_types))
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidInput("event_types", expected, unknown[0])
    return tuple(dict.fromkeys(event_types))


def check_filter(raw: str | None) -> str | None:
    """The filter as stored (None: every order); InvalidInput naming `filter` when bad."""
    if raw is None or raw.strip() == "":
        return None
    if len(raw) > MAX_FILTER_LENGTH:
        raise InvalidInput("filter", f"at most {MAX_FILTER_LENGTH} characters")
    filter_predicate(raw)
    return raw


def check_url(url: str) -> SplitResult:
    expected = f"an absolute http:// or https:// URL of at most {MAX_URL_LENGTH} characters"
    if len(url) > MAX_URL_LENGTH or not url.isprintable() or " " in url:
        raise InvalidInput("url", expected, url[:100])
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise InvalidInput("url", expected, url) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url", expected, url)
    return parts


def check_destination(parts: SplitResult) -> None:
    """Raise AddressRefused unless every address the host resolves to is public."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise HostUnresolvable(f"{host} does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not is_public(address):
            raise AddressRefused(f"{host} resolves to the non-public address {address}")


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not private, loopback, link-local, multicast, reserved or unspecified."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast and not address.is_reserved
