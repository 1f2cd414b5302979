"""Delivering webhooks: the outbox handler of topic "webhook", signed per Standard Webhooks.

Each delivery is POSTed with `webhook-id` (the event id: the same on every retry, so
subscribers de-duplicate on it), `webhook-timestamp` (this attempt's time, in seconds) and
`webhook-signature` (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the
base64-decoded part of the secret after `whsec_`). A 2xx is delivered; a 410 disables the
subscription; anything else is retried on the SCHEDULE below (about three days), and 5 days of
nothing but failures disable it too (services/webhook_health.py). Before sending, a delivery
waits for its turn under the subscription's rate (services/webhook_pacing.py) and, when it is
a replay's copy, for the copies before it (store/webhook_replay.py); waiting spends no attempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine

from orderhub import __version__
from orderhub.channels.http import retry_after_seconds
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.services import webhook_health as health
from orderhub.services import webhook_pacing as pacing
from orderhub.services.outbox import Backoff, Defer, GiveUp, RetryLater, Topic, register
from orderhub.services.webhooks import (
    SECRET_PREFIX,
    AddressRefused,
    HostUnresolvable,
    allow_private_default,
    check_destination,
)
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxItem
from orderhub.store.secrets import unseal
from orderhub.store.webhook_replay import earlier_pending
from orderhub.store.webhooks import TOPIC, Subscription, WebhookRepository

USER_AGENT = f"orderhub-webhooks/{__version__}"
TIMEOUT_SECONDS = 10.0
_ERROR_BODY_CHARS = 200
#: A subscriber's Retry-After is honoured up to a day (the schedule's own longest wait).
MAX_RETRY_AFTER = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class NarrowJitterBackoff(Backoff):
    """Exponential delays with +-`jitter` noise, so the documented schedule holds closely."""

    jitter: float = 0.1

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.first * self.factor ** (attempt - 1))
        return ceiling * rng.uniform(1 - self.jitter, 1 + self.jitter)


#: After failed attempt n the next comes min(24 h, 30 s * 3^(n-1)) later (+-10 %): 30 s,
#: 1.5 min, 4.5 min, 13.5 min, 40.5 min, 2 h, 6 h, 18.2 h, 24 h, 24 h; the 11th attempt,
#: about 3 days 3 hours after the first, is the last (docs/webhooks.md).
SCHEDULE = NarrowJitterBackoff(first=30.0, factor=3.0, cap=24 * 3600.0, attempts=11)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature header value: `v1,<base64 HMAC-SHA256>`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secrets: Sequence[str], message_id: str, body: bytes, timestamp: int
) -> dict[str, str]:
    """The delivery's headers; one signature per secret, space-separated (Standard Webhooks)."""
    signatures = " ".join(sign(secret, message_id, timestamp, body) for secret in secrets)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


@dataclass
class Deliverer:
    """The outbox handler: sends one webhook delivery (raises RetryLater or GiveUp)."""

    engine: Engine
    timeout: float = TIMEOUT_SECONDS
    #: None: ORDERHUB_WEBHOOKS_ALLOW_PRIVATE decides.
    allow_private: bool | None = None
    #: Stamps each attempt's `webhook-timestamp` (the worker's clock).
    clock: Clock = SYSTEM_CLOCK

    def __call__(self, item: OutboxItem) -> None:
        subscription = self._subscription(int(item.payload["subscription_id"]))
        if "replay" in item.payload:
            self._wait_for_earlier(item)
        wait = pacing.wait_for_turn(self.engine, subscription, self.clock)
        if wait > 0:
            rate = subscription.max_per_second
            raise Defer(f"at most {rate} deliveries a second to this subscription", after=wait)
        try:
            self._send(subscription, item)
        except _Gone:
            health.gone(self.engine, subscription, self.clock)
            raise GiveUp("HTTP 410: subscription disabled") from None
        except (RetryLater, GiveUp) as exc:
            if health.failed(self.engine, subscription, self.clock):
                raise GiveUp(f"{exc}; subscription disabled: failing for 5 days") from exc
            raise
        health.delivered(self.engine, subscription)

    def _send(self, subscription: Subscription, item: OutboxItem) -> None:
        self._check_address(subscription.url)
        body = str(item.payload["body"]).encode()
        now = self.clock.now()
        headers = signed_headers(
            [unseal(self.engine, sealed) for sealed in subscription.signing_secrets(now)],
            str(item.payload["event_id"]),
            body,
            int(now.timestamp()),
        )
        try:
            response = httpx.post(
                subscription.url,
                content=body,
                headers=headers,
                timeout=self.timeout,
                follow_redirects=False,  # a redirect could lead to an address we refuse
            )
        except httpx.HTTPError as exc:
            raise RetryLater(f"{type(exc).__name__}: {exc}") from exc
        self._settle(response)

    def _subscription(self, subscription_id: int) -> Subscription:
        with UnitOfWork(self.engine) as uow:
            found = WebhookRepository(uow.conn).get(subscription_id)
        if found is None:
            raise GiveUp("subscription deleted")
        if not found.active:
            raise GiveUp(f"subscription disabled: {found.disabled_reason or 'disabled'}")
        return found

    def _wait_for_earlier(self, item: OutboxItem) -> None:
        """A replayed delivery goes only after every earlier one of its replay has settled."""
        with UnitOfWork(self.engine) as uow:
            due = earlier_pending(uow.conn, str(item.dedupe_key))
        if due is not None:
            wait = (due - self.clock.now()).total_seconds() + 1.0
            raise Defer("waiting for an earlier delivery of this replay", after=max(1.0, wait))

    def _check_address(self, url: str) -> None:
        """Resolve again at each attempt: DNS may have changed since subscribing."""
        allowed = allow_private_default() if self.allow_private is None else self.allow_private
        if allowed:
            return
        try:
            check_destination(urlsplit(url))
        except HostUnresolvable as exc:
            raise RetryLater(str(exc)) from exc
        except AddressRefused as exc:
            raise GiveUp(f"refused: {exc}") from exc

    def _settle(self, response: httpx.Response) -> None:
        code = response.status_code
        if 200 <= code < 300:
            return
        if code == 410:
            raise _Gone
        wait = retry_after_seconds(response.headers.get("retry-after"))
        raise RetryLater(
            f"HTTP {code}: {response.text[:_ERROR_BODY_CHARS]}",
            after=None if wait is None else min(wait, MAX_RETRY_AFTER),
        )


class _Gone(Exception):
    """The receiver answered 410 Gone."""


def webhook_topic(
    engine: Engine,
    backoff: Backoff = SCHEDULE,
    allow_private: bool | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Topic:
    """The outbox topic of webhook deliveries (tests pass a backoff that does not wait)."""
    return Topic(Deliverer(engine, allow_private=allow_private, clock=clock), backoff)


def install(engine: Engine, clock: Clock = SYSTEM_CLOCK) -> None:
    """Register the webhook handler for `orderhub worker` (services.outbox.TOPICS)."""
    register(TOPIC, Deliverer(engine, clock=clock), SCHEDULE)
