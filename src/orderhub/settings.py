"""Settings from the environment (ORDERHUB_*); the embedded defaults need nothing installed."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERHUB_", extra="ignore")

    database_url: str = "sqlite:///orderhub.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
