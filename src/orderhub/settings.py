"""Settings from the environment (ORDERHUB_*); the embedded defaults need nothing installed."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "ORDERHUB_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = "sqlite:///orderhub.db"
    #: The channel accounts to sync (docs/channels.md); ORDERHUB_CONFIG_FILE.
    config_file: str = "orderhub.toml"
    #: Customer e-mail goes out through this server (smtp://, smtp+starttls://, smtps://);
    #: unset, mail waits in the outbox (`orderhub mail list`). docs/writes-and-mail.md.
    smtp_url: str | None = None
    #: The From of customer e-mail, e.g. "My Shop <shop@example.com>".
    mail_from: str = "orderhub@localhost"
    #: Where mail for the merchant goes (a webhook subscription disabled, docs/webhooks.md);
    #: unset: the mail_from address.
    merchant_email: str | None = None
    #: Fernet keys, comma-separated, encrypting the secrets kept in the database (the first
    #: encrypts, all decrypt); unset: a key file beside a SQLite database. docs/secrets.md.
    secret_keys: str | None = None
    #: Let webhook subscribers live on private/loopback addresses (tests, the demo); SSRF guard.
    webhooks_allow_private: bool = False
    #: How long a worker holds an account it syncs (renewed every third of it while the sync
    #: runs); a worker killed mid-sync frees the account this long after its last renewal.
    #: docs/sync.md, "Scheduled syncs".
    sync_lease_seconds: Annotated[float, Field(ge=1.0, le=3600.0)] = 120.0
    #: PostgreSQL connections each process keeps open (an `orderhub serve` worker, an
    #: `orderhub worker`), and how many more it may open at a peak. Every process may reach
    #: the sum, so processes x (pool_size + max_overflow) must stay under the server's
    #: max_connections: docs/scaling.md, "Connection pools". Ignored for SQLite.
    db_pool_size: Annotated[int, Field(ge=1, le=1000)] = 5
    db_max_overflow: Annotated[int, Field(ge=0, le=1000)] = 10


class SettingsError(ValueError):
    """An ORDERHUB_* environment variable holds a value of the wrong kind."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(_env_problem(e) for e in exc.errors())
        raise SettingsError(problems) from None


def _env_problem(error: Mapping[str, Any]) -> str:
    name = ENV_PREFIX + "_".join(str(part) for part in error["loc"]).upper()
    return f"environment variable {name}={error['input']!r}: {expected_text(error)}"


def expected_text(error: Mapping[str, Any]) -> str:
    """What a pydantic validation error expected, as a person would say it."""
    kind, ctx = error["type"], error.get("ctx") or {}
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
              "less_than": "<"}  # fmt: skip
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        return f"expected a number {bounds[kind]} {limit}"
    fixed = {
        "bool_parsing": "expected a boolean (true/false, 1/0, yes/no, on/off)",
        "bool_type": "expected true or false",
        "int_parsing": "expected a whole number",
        "int_type": "expected a whole number",
        "int_from_float": "expected a whole number",
        "float_parsing": "expected a number",
        "float_type": "expected a number",
        "string_type": "expected a string (in quotes)",
        "dict_type": "expected a table",
        "model_type": "expected a table",
        "missing": "missing: this key is required",
        "extra_forbidden": "unknown key",
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '?')}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern', '?')}"
    message = str(error.get("msg", "not valid"))
    return message.replace("Input should be", "expected", 1)
