"""Inbound channel webhooks: `POST /v1/channels/{name}/webhook?secret=...` announces changed
orders (MALL: a JSON array of ids); the hub fetches them without waiting for the next sync.

Accepting writes one outbox row, topic "fetch", holding the ids (so an announcement survives
a crash or a channel outage and is retried), and the API then delivers it at once in a
background task; `orderhub worker` picks up whatever that could not finish. Fetching stores
the orders exactly as a sync page does: merged (only if newer), history and webhook events
recorded, undecodable records quarantined, and (MALL) confirmed once stored. docs/push-back.md.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from orderhub.channels.base import (
    Account,
    ChannelError,
    Page,
    Retriable,
    Unsupported,
)
from orderhub.channels.registry import open_connector
from orderhub.domain import InvalidInput, NotFound, OrderhubError
from orderhub.services.channels import ChannelConfig, ConfigError, load_config
from orderhub.services.outbox import Backoff, GiveUp, RetryLater, Topic, Worker, register
from orderhub.settings import get_settings
from orderhub.store import SyncRepository, UnitOfWork
from orderhub.store.outbox import OutboxItem

TOPIC = "fetch"
#: Most ids one announcement may carry (MALL batches a minute of changes).
MAX_IDS = 10_000
#: A fetch is retried from 5 s, doubling to 10 min, 10 attempts (about an hour).
SCHEDULE = Backoff(first=5.0, factor=2.0, cap=600.0, attempts=10)
#: Quarantine rows need a run id; fetches for a webhook belong to no sync run.
NO_RUN = 0

AccountLookup = Callable[[str], Account]


class WebhookSecretRefused(OrderhubError):
    status_code = 401
    title = "Webhook secret refused"


def accept(
    engine: Engine,
    configs: Sequence[ChannelConfig],
    name: str,
    secret: str | None,
    body: bytes,
    headers: Mapping[str, str],
) -> list[str]:
    """Check the channel's secret, read the ids its webhook announces, queue their fetch."""
    config = next((c for c in configs if c.name == name), None)
    expected = config.webhook_secret() if config is not None else None
    if config is None or expected is None:
        raise NotFound(f"channel {name!r} takes no webhooks (no webhook_secret_env configured)")
    if secret is None or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise WebhookSecretRefused(f"channel {name!r}: the secret parameter is missing or wrong")
    ids = _announced(config.account(), body, headers)
    if ids:
        with UnitOfWork(engine) as uow:
            uow.outbox.enqueue(TOPIC, {"channel": name, "ids": ids})
    return ids


def _announced(account: Account, body: bytes, headers: Mapping[str, str]) -> list[str]:
    connector = open_connector(account)
    try:
        ids = connector.webhook_ids(body, headers)
    except Unsupported as exc:
        raise NotFound(str(exc)) from exc
    except ValueError as exc:
        raise InvalidInput("body", str(exc)) from exc
    finally:
        connector.close()
    if len(ids) > MAX_IDS:
        raise InvalidInput("body", f"at most {MAX_IDS} order ids", f"{len(ids)} ids")
    return list(dict.fromkeys(ids))


def accounts_from(configs: Sequence[ChannelConfig]) -> AccountLookup:
    def lookup(name: str) -> Account:
        for config in configs:
            if config.name == name:
                return config.account()
        raise ConfigError(f"channel {name!r} is not configured")

    return lookup


def configured_account(name: str) -> Account:
    """The account from orderhub.toml, read at every fetch."""
    return accounts_from(load_config(get_settings().config_file))(name)


@dataclass
class Fetcher:
    """The outbox handler of topic "fetch": fetch the announced orders and store them."""

    engine: Engine
    accounts: AccountLookup = configured_account

    def __call__(self, item: OutboxItem) -> None:
        try:
            account = self.accounts(str(item.payload["channel"]))
        except ConfigError as exc:
            raise RetryLater(f"configuration: {exc}") from exc
        try:
            connector = open_connector(account)
        except ChannelError as exc:
            raise RetryLater(f"configuration: {exc}") from exc
        try:
            page = connector.fetch([str(i) for i in item.payload["ids"]])
            stored = store_page(self.engine, account, page)
            if account.options.get("confirm", True):
                connector.acknowledge(stored)  # only once they are committed, as a sync does
        except Retriable as exc:
            raise RetryLater(str(exc), after=exc.retry_after) from exc
        except ChannelError as exc:
            raise GiveUp(str(exc)) from exc
        finally:
            connector.close()


def store_page(engine: Engine, account: Account, page: Page) -> list[str]:
    """One transaction, as a sync page: merge, record events, quarantine; the stored ids."""
    now = datetime.now(UTC)
    with UnitOfWork(engine) as uow:
        result = uow.orders.merge_from_channel(page.orders)
        uow.publish(result.events)
        repo = SyncRepository(uow.conn)
        skipped = [(s.external_id, s.reason, s.payload) for s in page.skipped]
        repo.quarantine(account.name, NO_RUN, skipped, now)
        stored = [o.external_id for o in page.orders]
        repo.release(account.name, stored)
    return stored


def deliver_now(engine: Engine, accounts: AccountLookup) -> None:
    """Deliver the due fetch rows in this process (the API's background task)."""
    Worker(engine, {TOPIC: Topic(Fetcher(engine, accounts), SCHEDULE)}).run_once()


def install(engine: Engine) -> None:
    """Register the fetch handler for `orderhub worker` (services.outbox.TOPICS)."""
    register(TOPIC, Fetcher(engine), SCHEDULE)
