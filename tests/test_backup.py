"""`orderhub db backup PATH`: an online copy of a SQLite database taken while another connection
writes; one moment's orders, a sound file; never over an existing file; PostgreSQL: pg_dump."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from helpers import make_order, store
from orderhub.cli.main import app as cli
from orderhub.services.backup import backup_sqlite
from orderhub.settings import get_settings
from orderhub.store import make_engine, upgrade

BATCH = 25


@pytest.fixture
def source(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def cli_url(source: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", source)
    get_settings.cache_clear()
    yield source
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["db", "backup", *args])


class Writer(threading.Thread):
    """Writes orders in transactions of BATCH, numbered 0, 1, 2 ..., until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.batches = 0
        self.started_writing = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.write_batch()
            if self.batches == 2:
                self.started_writing.set()
        self.write_batch()  # one after the backup, whenever it ended
        self.engine.dispose()

    def write_batch(self) -> None:
        first = self.batches * BATCH
        store(self.engine, [make_order(str(n)) for n in range(first, first + BATCH)])
        self.batches += 1


def orders_in(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT external_id FROM orders").fetchall()
    return sorted((row[0] for row in rows), key=int)


def test_a_backup_taken_during_writes_is_one_sound_moment(source: str, tmp_path: Path) -> None:
    writer = Writer(source)
    writer.start()
    assert writer.started_writing.wait(60)
    before = writer.batches * BATCH
    done = backup_sqlite(source, tmp_path / "copy.db")
    writer.stop.set()
    writer.join(60)
    written = writer.batches * BATCH

    copy = tmp_path / "copy.db"
    assert done.path == copy and done.size == copy.stat().st_size
    assert before <= done.orders < written  # the writer went on after the copy
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    # Whole transactions only, and exactly the first ones: the copy is one moment of the source.
    assert orders_in(copy) == [str(n) for n in range(done.orders)]
    assert done.orders % BATCH == 0
    assert not (tmp_path / "copy.db-wal").exists()
    assert len(orders_in(tmp_path / "live.db")) == written


def test_the_cli_backs_up_and_never_overwrites_unless_forced(cli_url: str, tmp_path: Path) -> None:
    engine = make_engine(cli_url)
    store(engine, [make_order("1"), make_order("2")])
    target = tmp_path / "nightly.db"
    first = run(str(target))
    assert first.exit_code == 0, first.output
    assert "backed up 2 orders" in first.output
    assert orders_in(target) == ["1", "2"]

    store(engine, [make_order("3")])
    engine.dispose()
    refused = run(str(target))
    assert refused.exit_code != 0
    assert refused.output.startswith(f"error: {target} exists") and "--force" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert orders_in(target) == ["1", "2"]

    forced = run(str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert orders_in(target) == ["1", "2", "3"]
    assert not target.with_name("nightly.db.partial").exists()


def test_a_server_database_points_to_pg_dump(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", "postgresql+psycopg://hub:secret@db.example/hub")
    get_settings.cache_clear()
    try:
        result = run(str(tmp_path / "x.db"))
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: ") and "pg_dump" in line and "secret" not in line
    assert not (tmp_path / "x.db").exists()


def test_no_database_there_is_an_error_not_an_empty_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'missing.db'}")
    get_settings.cache_clear()
    try:
        result = run(str(tmp_path / "copy.db"))
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert result.output.startswith("error: no SQLite database at")
    assert not (tmp_path / "missing.db").exists() and not (tmp_path / "copy.db").exists()


def test_a_malformed_url_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", "not a url")
    get_settings.cache_clear()
    try:
        result = run(str(tmp_path / "copy.db"))
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    [line] = result.output.strip().splitlines()
    assert line.startswith("error: ORDERHUB_DATABASE_URL: expected ")
