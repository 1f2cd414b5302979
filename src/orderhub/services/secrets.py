"""The key of the secrets kept in the database: checked before a server or worker starts, and
rotated (`orderhub secrets rotate`). How it is chosen: store/secrets.py, docs/secrets.md."""

from __future__ import annotations

from sqlalchemy import Engine

from orderhub.store import UnitOfWork
from orderhub.store.secrets import new_key, require_keys
from orderhub.store.webhooks import WebhookRepository

__all__ = ["check_key", "new_key", "rotate"]


def check_key(engine: Engine) -> None:
    """Refuse (SecretKeyMissing, a settings error) a database that has no key: PostgreSQL
    without ORDERHUB_SECRET_KEYS; a SQLite file gets its key file now if it has none."""
    require_keys(engine.url.render_as_string(hide_password=False))


def rotate(engine: Engine) -> int:
    """Encrypt every stored secret again with the first key, in one transaction, so the other
    keys can be retired; returns how many secrets."""
    with UnitOfWork(engine) as uow:
        return WebhookRepository(uow.conn).reseal_all()
