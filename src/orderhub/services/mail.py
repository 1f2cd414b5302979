"""Customer e-mail about status changes: who notifies, composing from templates, the mail outbox.

A message is rendered when the change is made (it says what was true then) and written to the
outbox, topic "mail", in the change's own transaction; `orderhub worker` delivers it over SMTP
(services/smtp.py). With no SMTP configured the messages wait in the outbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from sqlalchemy import Engine

from orderhub.domain import Order
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxItem, OutboxRepository

TOPIC = "mail"
TEMPLATES = Path(__file__).with_name("mail_templates")
FALLBACK_LANGUAGE = "en"
#: Language codes a channel may send that mean a template we have under another name.
_ALIASES = {"nb": "no", "nn": "no", "cz": "cs", "dk": "da", "se": "sv"}
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    undefined=StrictUndefined,
    autoescape=False,  # plain-text mail; nothing here is HTML
    keep_trailing_newline=False,
)


class Notifier(StrEnum):
    HUB = "hub"
    CHANNEL = "channel"


#: Channel types that e-mail the customer themselves when the push-back asks them to
#: (CS-Cart: `notify_user=1` on its PUT /orders/{id}); the hub then sends nothing.
CHANNEL_NOTIFIES = frozenset({"cscart"})


def who_notifies(order: Order) -> Notifier:
    """Who tells the customer about a change: the channel where it can (CS-Cart, with the
    push-back's `notify_user=1`), else the hub, by e-mail. Never both."""
    if str(order.channel_type) in CHANNEL_NOTIFIES:
        return Notifier.CHANNEL
    return Notifier.HUB


@dataclass(frozen=True, slots=True)
class Notification:
    """What became of a `notify_user` request; rendered as the answer's `notification`."""

    queued: bool
    by: Notifier | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.queued:
            return {"queued": True, "by": str(self.by)}
        return {"queued": False, "reason": self.reason}


STATUS_UNCHANGED = Notification(False, reason="status unchanged")


@dataclass(frozen=True, slots=True)
class MailMessage:
    to: str
    subject: str
    body: str
    language: str


def recipient(order: Order) -> str | None:
    """The customer's address: the order's, else the billing, else the shipping address's."""
    for candidate in (
        order.email,
        order.billing_address.email if order.billing_address else None,
        order.shipping_address.email if order.shipping_address else None,
    ):
        if candidate and _ADDRESS.fullmatch(candidate.strip()):
            return candidate.strip()
    return None


def template_language(language: str | None) -> str:
    """The template language for an order's language (`cs`, `cs_CZ`, `nb-NO`), else en."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    code = _ALIASES.get(code, code)
    if code.isalpha() and (TEMPLATES / f"status.{code}.txt.j2").is_file():
        return code
    return FALLBACK_LANGUAGE


def compose_status_mail(order: Order, to: str) -> MailMessage:
    """The status e-mail for the order as it is now, in its language where we have one."""
    language = template_language(order.language)
    try:
        template = _env.get_template(f"status.{language}.txt.j2")
    except TemplateNotFound:  # pragma: no cover - template_language checked the file
        template = _env.get_template(f"status.{FALLBACK_LANGUAGE}.txt.j2")
    text = template.render(status=str(order.status), order=_template_order(order))
    subject, _, body = text.strip().partition("\n")
    body = re.sub(r"\n{3,}", "\n\n", body.strip()) + "\n"
    return MailMessage(to, " ".join(subject.split()), body, language)


def _template_order(order: Order) -> dict[str, Any]:
    """What templates may use; one line each, so nothing from a channel can shape the mail."""
    return {
        "ref": _line(order.external_id),
        "id": order.id,
        "customer": _line(order.customer),
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "carrier": _line(order.carrier),
        "delivered_at": _when(order.delivered_at),
    }


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _line(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split())


def notify_customer(outbox: OutboxRepository, order: Order, version: int) -> Notification:
    """Queue the status e-mail for this version of the order (once, whatever retries happen)."""
    notifier = who_notifies(order)
    if notifier is not Notifier.HUB:
        return Notification(False, notifier, reason="the channel notifies the customer")
    to = recipient(order)
    if to is None:
        return Notification(False, reason="no e-mail address")
    message = compose_status_mail(order, to)
    outbox.enqueue(
        TOPIC,
        {
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "language": message.language,
            "status": str(order.status),
        },
        dedupe_key=f"mail:order:{order.id}:v{version}",
        order_id=order.id,
    )
    return Notification(True, Notifier.HUB)


def list_mail(engine: Engine, status: str | None = None, limit: int = 100) -> list[OutboxItem]:
    """Mail in the outbox, newest first: pending, delivered or failed."""
    with UnitOfWork(engine) as uow:
        return uow.outbox.list(TOPIC, status, limit)


def retry_mail(engine: Engine, item_id: int, clock: Clock = SYSTEM_CLOCK) -> bool:
    """Send a failed (or delivered) message again; False when there is no such mail."""
    with UnitOfWork(engine) as uow:
        item = uow.outbox.get(item_id)
        if item is None or item.topic != TOPIC:
            return False
        return uow.outbox.requeue(item_id, clock.now())
