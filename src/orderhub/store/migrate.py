"""Run Alembic migrations programmatically (`orderhub db upgrade`, tests, the demo)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from orderhub.store.engine import DatabaseUnavailable, check_reachable, shown_url, sqlite_path

MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseNotMigrated(DatabaseUnavailable):
    """The database is missing, empty or at another revision than this code's head."""

    def __init__(self, engine: Engine, state: str) -> None:
        super().__init__(
            f"the database at {shown_url(engine.url)} {state}: run `orderhub db upgrade` "
            "(or point ORDERHUB_DATABASE_URL at the right database)"
        )


def require_head(engine: Engine) -> None:
    """Check, without creating or changing anything, that the database is at the head revision.

    DatabaseNotMigrated when the SQLite file does not exist (connecting would create it), or
    the schema is empty or at another revision; DatabaseUnreachable when it cannot connect.
    """
    path = sqlite_path(engine.url)
    if path is not None and not path.exists():
        raise DatabaseNotMigrated(engine, "does not exist")
    check_reachable(engine)
    revision, head = current_revision(engine), head_revision()
    if revision is None:
        raise DatabaseNotMigrated(engine, "is not migrated (it has no orderhub tables)")
    if revision != head:
        raise DatabaseNotMigrated(engine, f"is at revision {revision}, this orderhub needs {head}")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the one head, see docs/architecture.md)."""
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The one head of the migration history (a test keeps it one)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head
