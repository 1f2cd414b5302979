"""Every error a person can fix: one line on stderr, no traceback, a documented exit code.

The commands run as real processes (the installed `orderhub` script), in an empty directory
with no ORDERHUB_* variable but the ones a test sets. Exit codes: docs/operations.md.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from helpers import free_port
from orderhub.cli.errors import ReportingGroup, explain
from orderhub.store import make_engine, upgrade
from orderhub.store.migrate import head_revision
from process_support import ORDERHUB
from sync_support import mall_sandbox


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ORDERHUB_")}
    return subprocess.run(
        [ORDERHUB, *args], cwd=cwd, env=clean | env, capture_output=True, text=True, timeout=120
    )


def one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The process exited with `code` and said one `error: ...` line on stderr, nothing else."""
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def test_a_malformed_database_url(tmp_path: Path) -> None:
    line = one_error_line(run(tmp_path, "orders", "list", ORDERHUB_DATABASE_URL="nonsense"), 4)
    assert "ORDERHUB_DATABASE_URL" in line and "'nonsense'" in line
    assert "expected sqlite:///PATH or postgresql://" in line
    other = run(tmp_path, "db", "upgrade", ORDERHUB_DATABASE_URL="mysql://u:secret@h/d")
    line = one_error_line(other, 4)
    assert "mysql://u:***@h/d" in line and "secret" not in line


def test_an_unreachable_postgresql_never_shows_its_password(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://hub:s3cret@127.0.0.1:{port}/orders"
    line = one_error_line(run(tmp_path, "db", "upgrade", ORDERHUB_DATABASE_URL=url), 4)
    assert line.startswith(
        f"error: cannot reach the database at postgresql+psycopg://hub:***@127.0.0.1:{port}/orders"
    )
    assert "s3cret" not in line and "refused" in line.lower()


def test_a_sqlite_file_in_a_missing_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/orderhub.db"
    line = one_error_line(run(tmp_path, "db", "upgrade", ORDERHUB_DATABASE_URL=url), 4)
    assert line.startswith(f"error: cannot reach the database at {url}: ")


def test_a_database_not_migrated(tmp_path: Path) -> None:
    """Absent, empty, or at an older revision: each says which, and what to run."""
    absent = one_error_line(run(tmp_path, "orders", "list"), 4)
    assert absent == (
        f"error: the database at sqlite:///orderhub.db ({tmp_path / 'orderhub.db'}) does not "
        "exist: run `orderhub db upgrade` (or point ORDERHUB_DATABASE_URL at the right database)"
    )
    assert list(tmp_path.iterdir()) == []  # nothing created

    empty = tmp_path / "empty.db"
    with make_engine(f"sqlite:///{empty}").begin() as conn:
        conn.execute(text("CREATE TABLE unrelated (x INTEGER)"))
    line = one_error_line(
        run(tmp_path, "keys", "list", ORDERHUB_DATABASE_URL=f"sqlite:///{empty}"), 4
    )
    assert "is not migrated (it has no orderhub tables): run `orderhub db upgrade`" in line

    old = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(make_engine(old), "0003")
    line = one_error_line(run(tmp_path, "orders", "list", ORDERHUB_DATABASE_URL=old), 4)
    assert f"is at revision 0003, this orderhub needs {head_revision()}" in line


@pytest.fixture
def empty_postgresql(pg_database: str) -> Iterator[str]:
    """A PostgreSQL database with no tables at all, beside the session's."""
    admin = make_engine(pg_database, isolation_level="AUTOCOMMIT")
    name = f"{admin.url.database}_empty_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_postgresql_database_not_migrated(tmp_path: Path, empty_postgresql: str) -> None:
    result = run(tmp_path, "channels", "list", ORDERHUB_DATABASE_URL=empty_postgresql)
    line = one_error_line(result, 4)
    assert "is not migrated (it has no orderhub tables): run `orderhub db upgrade`" in line
    with make_engine(empty_postgresql).connect() as conn:  # and it stayed empty
        tables = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
        assert tables.scalar_one() == 0


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('colour = "red"\n', "unknown key `colour` (known: name, type, base_url"),
        ("sync_interval = 5\n", "`sync_interval = 5`: expected a number >= 10"),
        ('type = "amazon"\n', "`type = 'amazon'`: expected one of 'mall', 'cscart'"),
        ("client_id_env = 7\n", "`client_id_env = 7`: expected a string"),
        ('base_url = "ftp://x"\n', "`base_url = 'ftp://x'`: expected an http:// or https:// URL"),
    ],
)
def test_a_config_file_with_a_wrong_key_or_value(tmp_path: Path, entry: str, expected: str) -> None:
    config = tmp_path / "shop.toml"
    lines = {
        "name": 'name = "mall-cz"\n',
        "type": 'type = "mall"\n',
        "base_url": 'base_url = "http://127.0.0.1:9/v1"\n',
    }
    key = entry.split(" =")[0]
    lines[key] = entry
    config.write_text("[[channels]]\n" + "".join(lines.values()))
    result = run(tmp_path, "sync", ORDERHUB_CONFIG_FILE=str(config))
    line = one_error_line(result, 2)
    assert line.startswith(f"error: {config}: [[channels]] entry 1 (mall-cz): "), line
    assert expected in line
    assert list(tmp_path.iterdir()) == [config]  # checked before any database is made


def test_a_config_file_that_is_not_toml(tmp_path: Path) -> None:
    config = tmp_path / "orderhub.toml"
    config.write_text("[[channels]\nname = 1\n")
    line = one_error_line(run(tmp_path, "sync"), 2)
    assert line.startswith("error: orderhub.toml: not valid TOML (")


def test_a_config_file_that_cannot_be_read(tmp_path: Path) -> None:
    line = one_error_line(run(tmp_path, "sync", ORDERHUB_CONFIG_FILE=str(tmp_path)), 2)
    assert line == f"error: {tmp_path}: cannot be read (Is a directory): expected a TOML file"


def test_a_wrong_orderhub_environment_value(tmp_path: Path) -> None:
    result = run(tmp_path, "sync", ORDERHUB_WEBHOOKS_ALLOW_PRIVATE="maybe")
    assert one_error_line(result, 2) == (
        "error: environment variable ORDERHUB_WEBHOOKS_ALLOW_PRIVATE='maybe': "
        "expected a boolean (true/false, 1/0, yes/no, on/off)"
    )


def test_demo_on_a_busy_port_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(run(tmp_path, "demo", "--port", str(port), "--orders", "10"), 3)
    assert line == f"error: port {port} on 127.0.0.1 is already in use"
    assert list(tmp_path.iterdir()) == []  # no sandbox config, no database


def test_a_channel_refusing_the_credentials_is_said_once(tmp_path: Path) -> None:
    with mall_sandbox(orders=5, seed=3) as sandbox:
        config = tmp_path / "orderhub.toml"
        config.write_text(
            '[[channels]]\nname = "mall-cz"\ntype = "mall"\n'
            f'base_url = "{sandbox.base_url}/v1"\nclient_id_env = "MALL_CZ_ID"\n'
        )
        refused = run(tmp_path, "sync", MALL_CZ_ID="not-the-id")
        accepted = run(tmp_path, "sync", MALL_CZ_ID="sandbox")
    line = one_error_line(refused, 5)
    assert line.startswith("error: channel account 'mall-cz' refused the credentials (GET ")
    assert "HTTP 401" in line and line.endswith("check MALL_CZ_ID")
    assert (refused.stdout + refused.stderr).count("HTTP 401") == 1
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "mall-cz: ok 5 new" in accepted.stdout


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run(tmp_path, "--debug", "orders", "list", ORDERHUB_DATABASE_URL="nonsense")
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "DatabaseUrlInvalid" in result.stderr


def test_an_unexpected_error_is_one_line_pointing_at_debug() -> None:
    app = typer.Typer(cls=ReportingGroup)

    @app.command()
    def boom() -> None:
        raise RuntimeError("the flux capacitor\nsecond line")

    @app.command()
    def other() -> None:
        """A second command keeps `boom` a sub-command."""

    result = CliRunner().invoke(app, ["boom"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: unexpected error: RuntimeError: the flux capacitor "
        "(run with --debug for the traceback)\n"
    )
    assert explain(KeyError("x")) == (
        "unexpected error: KeyError: 'x' (run with --debug for the traceback)",
        1,
    )
