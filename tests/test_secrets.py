"""Webhook secrets are encrypted at rest (docs/secrets.md): the raw rows hold Fernet tokens,
never the secret; the keys come from ORDERHUB_SECRET_KEYS (first encrypts, all decrypt) or,
for a SQLite file without it, a key file beside the database; PostgreSQL without a key refuses
to start; `orderhub secrets rotate` re-encrypts with the first key. The tokens are opened here
with `cryptography`'s Fernet itself and the keys the test chose; SQLite and PostgreSQL."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from standardwebhooks import Webhook
from typer.testing import CliRunner

from conftest import TEST_SECRET_KEY
from helpers import make_order, serve_in_thread
from orderhub.cli.main import app as cli
from orderhub.domain.clock import ManualClock
from orderhub.services.secrets import check_key
from orderhub.settings import SettingsError, get_settings
from orderhub.store import make_engine, upgrade
from orderhub.store.secrets import SecretKeyMissing
from test_keys import cli_database  # noqa: F401
from webhook_support import Subscriber, allow_private, hub, merge, near_now  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")
KEY_A = "hbXwF5xvB1c0xQ2c2qTQm5-0DUpF7nM7xJmq2b5kq1E="
KEY_B = "tV5c2q8g3VQ0kqZ7kR1f2a9WlW4cJ0m9r2yQm6Qq7-s="


@pytest.fixture
def clock() -> ManualClock:
    return near_now()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set ORDERHUB_SECRET_KEYS (None: unset) for the rest of the test."""

    def use(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("ORDERHUB_SECRET_KEYS", raising=False)
        else:
            monkeypatch.setenv("ORDERHUB_SECRET_KEYS", value)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def raw_secrets(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT secret, previous_secret FROM webhook_subscriptions"))
        return [(row[0], row[1]) for row in rows]


def opened(key: str, token: str) -> str:
    return Fernet(key.encode()).decrypt(token.encode()).decode()


def subscribe(http: TestClient, url: str) -> dict[str, Any]:
    answer = http.post("/v1/webhooks", json={"url": url, "event_types": ["order.created"]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_raw_rows_hold_no_plain_secret(engine: Engine, clock: ManualClock) -> None:
    http = hub(engine, clock)[0]
    old = subscribe(http, "http://127.0.0.1:9/hook")
    new = http.post(f"/v1/webhooks/{old['id']}/rotate-secret").json()["secret"]
    ((secret, previous),) = raw_secrets(engine)
    assert previous is not None
    for stored in (secret, previous):
        assert "whsec_" not in stored and old["secret"] not in stored and new not in stored
    assert (opened(TEST_SECRET_KEY, secret), opened(TEST_SECRET_KEY, previous)) == (
        new,
        old["secret"],
    )


def test_a_kept_idempotent_answer_holds_no_plain_secret(engine: Engine, clock: ManualClock) -> None:
    http = hub(engine, clock)[0]
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["order.created"]}
    first = http.post("/v1/webhooks", json=body, headers={"Idempotency-Key": "sub-1"})
    again = http.post("/v1/webhooks", json=body, headers={"Idempotency-Key": "sub-1"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["secret"] == first.json()["secret"]
    with engine.connect() as conn:
        (kept,) = conn.execute(text("SELECT body FROM idempotency_keys")).scalars()
    assert b"whsec_" not in bytes(kept)
    assert first.json()["secret"].encode() in Fernet(TEST_SECRET_KEY.encode()).decrypt(kept)


def test_deliveries_are_signed_with_the_opened_secret(engine: Engine, clock: ManualClock) -> None:
    http, worker = hub(engine, clock)
    receiver = Subscriber()
    with serve_in_thread(receiver) as base:
        sub = subscribe(http, base + "/hook")
        merge(engine, [make_order("1")])
        worker.run_until_idle()
    (request,) = receiver.requests
    Webhook(sub["secret"]).verify(request.body, request.headers)  # raises if it does not


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_file_without_a_key_gets_a_key_file_beside_it(
    database_url: str, keys: Any, clock: ManualClock
) -> None:
    keys(None)
    engine = make_engine(database_url)
    database = Path(database_url.removeprefix("sqlite:///"))
    key_file = database.with_name(database.name + ".keys")
    assert not key_file.exists()
    sub = subscribe(hub(engine, clock)[0], "http://127.0.0.1:9/hook")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    (key,) = key_file.read_text().split()
    ((secret, _),) = raw_secrets(engine)
    assert "whsec_" not in secret and opened(key, secret) == sub["secret"]
    with pytest.raises(InvalidToken):
        opened(TEST_SECRET_KEY, secret)
    engine.dispose()


@pytest.mark.usefixtures("cli_database")
def test_postgresql_without_a_key_refuses_to_start(
    engine: Engine, database_url: str, keys: Any
) -> None:
    keys(None)
    if engine.dialect.name == "sqlite":
        check_key(engine)  # a key file: no refusal
        return
    with pytest.raises(SecretKeyMissing, match="ORDERHUB_SECRET_KEYS is not set"):
        check_key(engine)
    result = CliRunner().invoke(cli, ["worker", "--once", "--no-sync"])
    assert result.exit_code == 2, result.output
    assert "ORDERHUB_SECRET_KEYS" in result.output


def test_a_key_that_is_not_a_fernet_key_is_refused(engine: Engine, keys: Any) -> None:
    keys("not-a-key")
    with pytest.raises(SettingsError, match="ORDERHUB_SECRET_KEYS: expected Fernet keys"):
        check_key(engine)


@pytest.mark.usefixtures("cli_database")
def test_rotating_the_key(engine: Engine, keys: Any, clock: ManualClock) -> None:
    keys(KEY_A)
    http, worker = hub(engine, clock)
    receiver = Subscriber()
    with serve_in_thread(receiver) as base:
        sub = subscribe(http, base + "/hook")
        keys(f"{KEY_B},{KEY_A}")  # the new key first; the old one still decrypts
        result = CliRunner().invoke(cli, ["secrets", "rotate"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("1 secret(s) encrypted again")
        ((secret, _),) = raw_secrets(engine)
        assert opened(KEY_B, secret) == sub["secret"]
        keys(KEY_B)  # the old key retired
        merge(engine, [make_order("1")])
        worker.run_until_idle()
    (request,) = receiver.requests
    Webhook(sub["secret"]).verify(request.body, request.headers)


def test_generate_key_prints_a_fernet_key() -> None:
    result = CliRunner().invoke(cli, ["secrets", "generate-key"])
    assert result.exit_code == 0
    Fernet(result.output.strip().encode())  # raises if it is not one


def test_the_upgrade_seals_the_secrets_it_finds(tmp_path: Path) -> None:
    # (tests/test_migrations_upgrade.py does the same from every revision, on both databases.)
    # A database at 0013 with a plain secret, as the versions before sealing kept it.
    scratch = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(scratch, "0013")
    with scratch.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO webhook_subscriptions (url, event_types, secret, active, created_at)"
                " VALUES ('https://hooks.example/a', 'order.created',"
                " 'whsec_cGxhaW4tc2VjcmV0LW9mLXRoZS1wYXN0', 1, '2026-12-01 10:00:00.000000')"
            )
        )
    upgrade(scratch)
    ((secret, previous),) = raw_secrets(scratch)
    assert previous is None
    assert opened(TEST_SECRET_KEY, secret) == "whsec_cGxhaW4tc2VjcmV0LW9mLXRoZS1wYXN0"
    scratch.dispose()
