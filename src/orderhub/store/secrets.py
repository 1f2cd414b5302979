"""Secrets the hub keeps in its database, encrypted at rest (docs/secrets.md).

Values are Fernet tokens (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a
MultiFernet: the first key encrypts, every key decrypts, so keys rotate without downtime.
The keys come from ORDERHUB_SECRET_KEYS (comma-separated). Without it, a SQLite database (one
machine by nature: the demo, a small shop) gets a key file created beside it, `<file>.keys`,
mode 0600; a PostgreSQL database refuses, because processes on several machines would each
make a key of their own and could not read one another's secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, Engine, make_url

from orderhub.settings import SettingsError, get_settings

log = logging.getLogger(__name__)

KEY_FILE_SUFFIX = ".keys"
ENV_NAME = "ORDERHUB_SECRET_KEYS"
_GENERATE = "`orderhub secrets generate-key` makes one"


class SecretKeyMissing(SettingsError):
    """No key to encrypt the database's secrets with (PostgreSQL without ORDERHUB_SECRET_KEYS)."""


class SecretUnreadable(SettingsError):
    """A stored secret that none of the keys decrypts."""


def key_file(database_url: str) -> Path | None:
    """Where a SQLite database's key file is (None: not a SQLite file)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database + KEY_FILE_SUFFIX)


def require_keys(database_url: str) -> None:
    """Raise SecretKeyMissing (or SettingsError) now, rather than at the first secret."""
    _box(database_url, get_settings().secret_keys)


def seal(conn: Connection | Engine, plain: str) -> str:
    """The text encrypted with the first key (a Fernet token: ASCII, about 140 characters)."""
    return seal_bytes(conn, plain.encode()).decode()


def unseal(conn: Connection | Engine, token: str) -> str:
    return unseal_bytes(conn, token.encode()).decode()


def seal_bytes(conn: Connection | Engine, plain: bytes) -> bytes:
    return _box_of(conn).encrypt(plain)


def unseal_bytes(conn: Connection | Engine, token: bytes) -> bytes:
    try:
        return _box_of(conn).decrypt(token)
    except InvalidToken:
        raise SecretUnreadable(
            f"a stored secret does not decrypt with any key of {ENV_NAME} (or the key file): "
            "the key that encrypted it is missing"
        ) from None


def reseal(conn: Connection | Engine, token: str) -> str:
    """The same secret encrypted again with the first key (key rotation)."""
    try:
        return _box_of(conn).rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            f"a stored secret does not decrypt with any key of {ENV_NAME} (or the key file)"
        ) from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def _box_of(conn: Connection | Engine) -> MultiFernet:
    url = conn.engine.url.render_as_string(hide_password=False)
    return _box(url, get_settings().secret_keys)


def signing_keys(conn: Connection | Engine, purpose: str) -> list[bytes]:
    """Keys to sign with for `purpose` (e.g. the web's session cookie), derived from the
    secrets' keys so every process of the hub agrees: the first key's last (itsdangerous signs
    with the last of a list and checks with any)."""
    url = conn.engine.url.render_as_string(hide_password=False)
    keys = _keys(url, get_settings().secret_keys)
    return [hmac.new(k.encode(), purpose.encode(), hashlib.sha256).digest() for k in reversed(keys)]


@cache
def _box(database_url: str, configured: str | None) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in _keys(database_url, configured)])


@cache
def _keys(database_url: str, configured: str | None) -> tuple[str, ...]:
    """The keys, first the one that encrypts (checked Fernet keys)."""
    if configured and configured.strip():
        return tuple(_fernet(k.strip(), ENV_NAME) for k in configured.split(","))
    path = key_file(database_url)
    if path is not None:
        return tuple(_fernet(k, str(path)) for k in _file_keys(path))
    if make_url(database_url).get_backend_name() == "sqlite":  # in memory: this process only
        return (new_key(),)
    raise SecretKeyMissing(
        f"{ENV_NAME} is not set: webhook secrets are kept encrypted in the database with it; "
        f"set it to a Fernet key on every server and worker ({_GENERATE})"
    )


def _fernet(key: str, where: str) -> str:
    try:
        Fernet(key.encode())
        return key
    except ValueError:
        raise SettingsError(
            f"{where}: expected Fernet keys (32 bytes, url-safe base64), comma-separated; "
            + _GENERATE
        ) from None


def _file_keys(path: Path) -> list[str]:
    """The key file's keys (one a line, the first encrypts), made with one key if absent."""
    if not path.exists():
        _make_key_file(path)
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise SettingsError(f"{path} holds no key; {_GENERATE}")
    return keys


def _make_key_file(path: Path) -> None:
    """Write a new key file whole, then link it in place: a process that races this one
    reads either no file or the complete one, and the first link wins."""
    draft = path.with_name(f"{path.name}.{os.getpid()}.new")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(new_key() + "\n")
    try:
        os.link(draft, path)
        log.warning("made %s: the key of the secrets in the database beside it", path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
