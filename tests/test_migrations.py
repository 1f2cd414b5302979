"""The migration history has one head, and the models agree with what the migrations build,
on SQLite and PostgreSQL (upgrades with data: tests/test_migrations_upgrade.py)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, String, text
from sqlalchemy.dialects import postgresql

import orderhub.store  # noqa: F401  (imports every module whose tables join the metadata)
from orderhub.store import make_engine
from orderhub.store.migrate import MIGRATIONS, current_revision
from orderhub.store.search import modelled
from orderhub.store.tables import metadata


def test_the_history_has_exactly_one_head() -> None:
    # A new branch must be joined by a merge revision before it lands (docs/architecture.md).
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1, f"merge these heads: {script.get_heads()}"
    assert len(script.get_bases()) == 1, f"one history, one base: {script.get_bases()}"


def test_every_revision_is_on_the_way_to_the_head() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    (head,) = script.get_heads()
    ancestors = {rev.revision for rev in script.iterate_revisions(head, "base")}
    assert ancestors == {rev.revision for rev in script.walk_revisions()}


def test_an_empty_database_is_upgraded_to_the_head(engine: Engine) -> None:
    # The `engine` fixture's database was upgraded by `orderhub.store.upgrade`'s default target.
    (head,) = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert current_revision(engine) == head


def test_the_models_and_the_migrations_agree(engine: Engine) -> None:
    """Autogenerate finds nothing to do: types, nullability, indexes, keys, server defaults."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": modelled,
            },
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_string_collations_agree_on_postgresql(pg_database: str) -> None:
    """Alembic does not compare collations; the "C" of `Str` (store/types.py) is checked here
    (PostgreSQL only: SQLite compares text as bytes whatever the column says)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    expected: dict[tuple[str, str], Any] = {}
    for table in metadata.sorted_tables:
        for column in table.columns:
            impl = column.type.dialect_impl(dialect)
            if isinstance(impl, String):
                expected[(table.name, column.name)] = impl.collation
    engine = make_engine(pg_database)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name <> 'alembic_version'"
                " AND data_type IN ('character varying', 'text')"
            )
        )
        actual = {(row.table_name, row.column_name): row.collation_name for row in rows}
    engine.dispose()
    assert actual == expected
