"""Subscriptions that stop working are disabled: after 5 days of failed deliveries, or at once
when the receiver answers 410 Gone. Disabling e-mails the merchant and sends `webhook.disabled`
to the other subscriptions (docs/webhooks.md, "When a subscription is disabled").

Time is the deliverer's clock, so tests can move it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from orderhub.domain.clock import Clock
from orderhub.domain.events import WebhookEventType
from orderhub.domain.jsonfmt import dumps
from orderhub.services import mail
from orderhub.settings import get_settings
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxRepository
from orderhub.store.webhook_fanout import enqueue_event
from orderhub.store.webhooks import Subscription, WebhookRepository

#: A subscription whose every delivery has failed for this long is disabled.
FAILING_FOR = timedelta(days=5)


def subscription_document(sub: Subscription) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    return {
        "id": sub.id,
        "url": sub.url,
        "event_types": list(sub.event_types),
        "filter": sub.filter,
        "active": sub.active,
        "disabled_reason": sub.disabled_reason,
        "created_at": sub.created_at,
        "previous_secret_until": sub.previous_secret_until,
        "failing_since": sub.failing_since,
        "max_per_second": sub.max_per_second,
    }


def delivered(engine: Engine, subscription: Subscription) -> None:
    """A delivery went through: a run of failures, if there was one, is over."""
    if subscription.failing_since is not None:
        with UnitOfWork(engine) as uow:
            WebhookRepository(uow.conn).working(subscription.id)


def failed(engine: Engine, subscription: Subscription, clock: Clock) -> bool:
    """A delivery failed now; True when that made the subscription disabled (every delivery
    has failed for FAILING_FOR)."""
    at = clock.now()
    with UnitOfWork(engine) as uow:
        since = WebhookRepository(uow.conn).failing(subscription.id, at)
        if since is None or at - since < FAILING_FOR:
            return False
        first = since.isoformat(timespec="seconds")
        reason = f"every delivery failed for 5 days (since {first})"
        return disable(uow.conn, subscription.id, reason, at)


def gone(engine: Engine, subscription: Subscription, clock: Clock) -> None:
    """The receiver answered 410 Gone: disabled at once."""
    at = clock.now()
    reason = f"the subscriber answered 410 Gone at {at.isoformat(timespec='seconds')}"
    with UnitOfWork(engine) as uow:
        disable(uow.conn, subscription.id, reason, at)


def disable(conn: Connection, subscription_id: int, reason: str, at: datetime) -> bool:
    """Disable it (once: False when it was not active), e-mail the merchant, and send
    `webhook.disabled` to the other active subscriptions of that type."""
    repo = WebhookRepository(conn)
    if not repo.disable(subscription_id, reason):
        return False
    sub = repo.get(subscription_id)
    assert sub is not None
    stamp = int(at.timestamp())
    event_id = f"evt_webhook_{sub.id}_disabled_{stamp}"
    kind = str(WebhookEventType.DISABLED)
    envelope = {"id": event_id, "type": kind, "timestamp": at, "data": subscription_document(sub)}
    enqueue_event(conn, kind, event_id, dumps(envelope), at)
    OutboxRepository(conn).enqueue(
        mail.TOPIC,
        _merchant_mail(sub, reason),
        dedupe_key=f"mail:webhook:{sub.id}:disabled:{stamp}",
        at=at,
    )
    return True


def merchant_address() -> str:
    """Where mail for the merchant goes: ORDERHUB_MERCHANT_EMAIL, else ORDERHUB_MAIL_FROM."""
    settings = get_settings()
    return settings.merchant_email or settings.mail_from


def _merchant_mail(sub: Subscription, reason: str) -> dict[str, str]:
    body = (
        f"orderhub stopped sending webhooks to subscription {sub.id}:\n\n"
        f"  {sub.url}\n  events: {', '.join(sub.event_types)}\n\n"
        f"Why: {reason}.\n\n"
        "Events that happen from now on are not queued for it. Once the receiver works again,\n"
        f"switch it on (`orderhub webhooks update {sub.id} --on`, or PATCH /v1/webhooks/{sub.id}\n"
        '{"active": true}), then send again what failed: `orderhub webhooks replay '
        f"{sub.id} --since <the first failure>`.\n"
    )
    subject = f"Webhook subscription {sub.id} disabled: {sub.url}"
    return {"to": merchant_address(), "subject": subject[:200], "body": body, "language": "en"}
