"""`orderhub worker`'s sync flags: what it says it syncs, `--once` with the scheduler, and
`--no-sync` / `--only-sync` (README's command table, docs/sync.md "Scheduled syncs")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from orderhub.cli.main import app
from orderhub.services import outbox as outbox_service
from orderhub.settings import get_settings
from sync_support import CHANNEL, Sandbox, mall_sandbox
from test_scheduler import runs


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with mall_sandbox(orders=6, seed=41) as sandbox:
        yield sandbox


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's environment: this test's database and a config file (returned, unwritten)."""
    config = tmp_path / "orderhub.toml"
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    monkeypatch.setenv("ORDERHUB_CONFIG_FILE", str(config))
    monkeypatch.setenv("SCHED_CLI_CLIENT_ID", "sandbox")
    monkeypatch.delenv("SCHED_CLI_UNSET", raising=False)
    monkeypatch.delenv("ORDERHUB_SMTP_URL", raising=False)
    topics = dict(outbox_service.TOPICS)
    get_settings.cache_clear()
    yield config
    get_settings.cache_clear()
    outbox_service.TOPICS.clear()
    outbox_service.TOPICS.update(topics)


def write_config(path: Path, sandbox: Sandbox) -> None:
    path.write_text(
        f'[[channels]]\nname = "{CHANNEL}"\ntype = "mall"\nbase_url = "{sandbox.base_url}/v1"\n'
        'client_id_env = "SCHED_CLI_CLIENT_ID"\nsync_interval = 60\n\n'
        '[[channels]]\nname = "mall-sk"\ntype = "mall"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'client_id_env = "SCHED_CLI_UNSET"\n'
    )


def test_no_sync_and_only_sync_together_is_an_error(cli: Path) -> None:
    result = CliRunner().invoke(app, ["worker", "--no-sync", "--only-sync", "--once"])
    assert result.exit_code == 2
    assert "--no-sync and --only-sync exclude each other" in result.output


def test_once_only_sync_syncs_what_is_due_and_says_what_it_syncs(
    cli: Path, engine: Engine, sandbox: Sandbox
) -> None:
    write_config(cli, sandbox)
    result = CliRunner().invoke(app, ["worker", "--once", "--only-sync"])
    assert result.exit_code == 0, result.output
    assert "delivering: nothing (--only-sync)" in result.output
    assert f"syncing: {CHANNEL} every 60 s (lease 120 s)" in result.output
    assert "not syncing mall-sk: set the environment variable SCHED_CLI_UNSET" in result.output
    assert f"synced {CHANNEL}: 6 new" in result.output
    assert "ran 1 scheduled sync(s)" in result.output
    assert "outbox row" not in result.output
    assert [run.status for run in runs(engine)] == ["ok"]
    again = CliRunner().invoke(app, ["worker", "--once", "--only-sync"])
    assert "ran 0 scheduled sync(s)" in again.output  # due again in 60 s
    assert len(runs(engine)) == 1


def test_once_no_sync_delivers_only(cli: Path, engine: Engine, sandbox: Sandbox) -> None:
    write_config(cli, sandbox)
    result = CliRunner().invoke(app, ["worker", "--once", "--no-sync"])
    assert result.exit_code == 0, result.output
    assert "syncing: nothing (--no-sync)" in result.output
    assert "attempted 0 outbox row(s)" in result.output
    assert runs(engine) == []
    assert sandbox.state.request_count == 0


def test_a_bad_configuration_file_is_one_clear_error(cli: Path) -> None:
    cli.write_text('[[channels]]\nname = "x"\ntype = "ebay"\n')
    result = CliRunner().invoke(app, ["worker", "--once"])
    assert result.exit_code == 2
    assert f"error: {cli}: [[channels]] entry 1" in result.output.replace("\n", "")
