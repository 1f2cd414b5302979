"""An online backup of a SQLite database (SQLite's backup API): a consistent copy of one moment,
taken while servers, workers and syncs keep writing (WAL readers block no writer)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from orderhub.domain import InvalidInput, OrderhubError
from orderhub.store.engine import normalise_url


class BackupRefused(OrderhubError):
    """The backup cannot be taken: not SQLite, no database there, or the target exists."""


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    #: Orders in the copy: the source's count at the moment the copy shows.
    orders: int
    size: int


def backup_sqlite(database_url: str, target: Path, *, force: bool = False) -> Backup:
    """Copy the database at `database_url` to `target` (BackupRefused if it is not SQLite)."""
    source = _sqlite_path(database_url)
    if target.exists() and not force:
        raise BackupRefused(f"{target} exists; choose a new path or pass --force to replace it")
    if not target.parent.is_dir():
        raise InvalidInput("PATH", "a file in an existing directory", str(target))
    partial = target.with_name(target.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    try:
        orders = _copy(source, partial)
        os.replace(partial, target)  # never a half-written file at PATH
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Backup(target, orders, target.stat().st_size)


def _sqlite_path(database_url: str) -> Path:
    try:
        url = make_url(normalise_url(database_url))
    except ArgumentError:
        expected = "a database URL, e.g. sqlite:///orderhub.db"
        raise InvalidInput("ORDERHUB_DATABASE_URL", expected) from None  # may hold a password
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(
            f"orderhub db backup copies SQLite databases; this one is {url.get_backend_name()}: "
            "back it up with pg_dump (docs/deploy.md), e.g. pg_dump -Fc -f orderhub.dump DBNAME"
        )
    if not url.database or url.database == ":memory:":
        raise BackupRefused("the database is in memory: there is no file to back up")
    path = Path(url.database)
    if not path.is_file():
        raise BackupRefused(f"no SQLite database at {path}: nothing to back up")
    return path


def _copy(source: Path, target: Path) -> int:
    """Copy in one step inside one read transaction, so the count and the copy see one moment."""
    src = sqlite3.connect(f"file:{source}?mode=rw", uri=True, isolation_level=None, timeout=30)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.execute("BEGIN")
        try:
            orders = src.execute("SELECT count(*) FROM orders").fetchone()[0]
        except sqlite3.OperationalError:
            raise BackupRefused(f"{source} is not an orderhub database (no orders table)") from None
        # pages=-1: every page in one step, within the read transaction begun above.
        src.backup(dst, pages=-1)
        src.execute("COMMIT")
        # The copy stands alone: one file, no -wal beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    return int(orders)
