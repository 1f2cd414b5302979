"""Dexero's OAuth token on a clock the test moves: the client renews an expired token before
using it, so no request is refused for it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orderhub.channels.base import Account
from orderhub.channels.dexero.client import DexeroClient
from orderhub.channels.dexero.sandbox import PREFIX, DexeroSandbox, create_app
from orderhub.domain import ManualClock
from sync_support import served

TTL = 120  # seconds the sandbox's tokens live
LIST = f"GET {PREFIX}/orders/pending.json"
TOKEN = "POST /oauth/token.action"


def _account(base_url: str) -> Account:
    values: dict[str, Any] = {
        "name": "dexero-test",
        "type": "dexero",
        "base_url": base_url + PREFIX,
        "credentials": {"client_id": "sandbox", "client_secret": "sandbox"},
        "timeout": 2.0,
        "options": {"format": "json"},
    }
    return Account(**values)


def test_an_expired_token_is_renewed_without_a_refused_request() -> None:
    clock = ManualClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    options = {"orders": 20, "seed": 21, "token_ttl": TTL, "token_clock": clock.monotonic}
    with served(create_app, **options) as (app, base_url):
        sandbox: DexeroSandbox = app.state.sandbox
        client = DexeroClient.for_account(_account(base_url), clock=clock.monotonic)
        try:
            client.list_orders("pending", [("count", "5")])
            client.list_orders("pending", [("count", "5")])
            first = client.tokens.token
            assert first is not None and sandbox.tokens.issued == 1  # cached
            clock.advance(TTL + 1)
            assert not sandbox.tokens.valid(first)  # the sandbox would refuse it now
            client.list_orders("pending", [("count", "5")])
        finally:
            client.close()
    assert client.tokens.token != first and sandbox.tokens.issued == 2
    by_path = sandbox.traffic.requests_by_path
    assert (by_path[LIST], by_path[TOKEN]) == (3, 2)  # no list call refused and sent again
