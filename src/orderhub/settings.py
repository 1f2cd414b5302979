"""Settings from the environment (ORDERHUB_*); the embedded defaults need nothing installed."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERHUB_", extra="ignore")

    database_url: str = "sqlite:///orderhub.db"
    #: The channel accounts to sync (docs/channels.md); ORDERHUB_CONFIG_FILE.
    config_file: str = "orderhub.toml"
    #: Customer e-mail goes out through this server (smtp://, smtp+starttls://, smtps://);
    #: unset, mail waits in the outbox (`orderhub mail list`). docs/writes-and-mail.md.
    smtp_url: str | None = None
    #: The From of customer e-mail, e.g. "My Shop <shop@example.com>".
    mail_from: str = "orderhub@localhost"
    #: Let webhook subscribers live on private/loopback addresses (tests, the demo); SSRF guard.
    webhooks_allow_private: bool = False
    #: How long a worker holds an account it syncs (renewed every third of it while the sync
    #: runs); a worker killed mid-sync frees the account this long after its last renewal.
    #: docs/sync.md, "Scheduled syncs".
    sync_lease_seconds: Annotated[float, Field(ge=1.0, le=3600.0)] = 120.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
