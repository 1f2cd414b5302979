"""What every command shares: the console and the configured database."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import Engine

from orderhub.settings import get_settings
from orderhub.store import make_engine

console = Console()


def engine_from_settings() -> Engine:
    return make_engine(get_settings().database_url)
