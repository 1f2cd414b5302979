"""Delivering the mail outbox over SMTP (`ORDERHUB_SMTP_URL`), for `orderhub worker`.

URLs: `smtp://[user:pass@]host[:25]`, `smtp+starttls://...[:587]` (STARTTLS, required),
`smtps://...[:465]` (TLS from the first byte). A refusal the server calls permanent (5xx) gives
up on the message; anything else (no connection, 4xx, a timeout) is retried with backoff.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from orderhub.domain import InvalidInput
from orderhub.services.outbox import Backoff, GiveUp, RetryLater, Topic
from orderhub.store.outbox import OutboxItem

_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
#: Mail is worth minutes of retrying, not hours: 30 s doubling to 1 h, 12 attempts (~half a day).
MAIL_BACKOFF = Backoff(first=30.0, factor=2.0, cap=3600.0, attempts=12)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        expected = "smtp://[user:pass@]host[:port], smtp+starttls://... or smtps://..."
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise InvalidInput("ORDERHUB_SMTP_URL", expected, "(unparsable)") from None
        if parts.scheme not in _PORTS or not parts.hostname:
            raise InvalidInput("ORDERHUB_SMTP_URL", expected, parts.scheme + "://...")
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port or _PORTS[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def build_message(item: OutboxItem, sender: str) -> EmailMessage:
    """The e-mail of a mail outbox row; its Message-ID is stable, so a resend can be spotted."""
    payload = item.payload
    message = EmailMessage()
    message["From"] = sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(item.created_at.timestamp(), usegmt=True)
    key = (item.dedupe_key or f"orderhub.mail.{item.id}").replace(":", ".")
    message["Message-ID"] = f"<{key}@orderhub.invalid>"
    message["Content-Language"] = payload.get("language", "en")
    message.set_content(payload["body"])
    return message


def send(config: SmtpConfig, message: EmailMessage) -> None:
    """Hand one message to the SMTP server; RetryLater or GiveUp when it does not take it."""
    try:
        with _connect(config) as client:
            if config.username:
                client.login(config.username, config.password or "")
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:  # a settings problem: fix it, mail waits
        raise RetryLater(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        _raise_for(min(codes), f"recipient refused: {exc.recipients}")
    except smtplib.SMTPResponseException as exc:
        _raise_for(exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}")
    except (OSError, smtplib.SMTPException) as exc:
        raise RetryLater(f"{type(exc).__name__}: {exc}") from exc


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if config.scheme == "smtps":
        return smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    if config.scheme == "smtp+starttls":
        client.starttls(context=context)
    return client


def _raise_for(code: int, error: str) -> None:
    if 500 <= code < 600 and code not in (530, 534, 535):  # auth codes: fix settings, retry
        raise GiveUp(error)
    raise RetryLater(error)


def mail_topic(config: SmtpConfig, sender: str, backoff: Backoff = MAIL_BACKOFF) -> Topic:
    """The outbox topic that delivers mail rows through this SMTP server."""

    def deliver(item: OutboxItem) -> None:
        send(config, build_message(item, sender))

    return Topic(deliver, backoff)
