"""What a newcomer trips on (issue 11, point 10): each fixed, each pinned here."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from typer.main import get_command
from typer.testing import CliRunner

from helpers import free_port, make_order, store
from orderhub.cli.main import app
from orderhub.settings import get_settings
from process_support import ORDERHUB

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bare_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory and no ORDERHUB_* variable: the CLI's defaults."""
    for name in [k for k in os.environ if k.startswith("ORDERHUB_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "command",
    [
        ["orders", "list"],
        ["orders", "list", "--json"],
        ["channels", "list"],
        ["quarantine", "list"],
        ["keys", "list"],
        ["keys", "revoke", "ci"],
        ["mail", "list"],
        ["mail", "retry", "1"],
        ["orders", "get", "1"],
        ["orders", "update", "1", "--status", "shipped"],
        ["webhooks", "list"],
        ["webhooks", "create", "--url", "https://example.com/hook", "--event", "order.created"],
    ],
)
def test_commands_that_only_use_the_database_create_none(
    bare_directory: Path, command: list[str]
) -> None:
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 4, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: the database at sqlite:///orderhub.db (")
    assert "does not exist: run `orderhub db upgrade`" in result.stderr
    assert list(bare_directory.iterdir()) == []


def test_db_upgrade_creates_it_and_then_reading_works(bare_directory: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    listed = runner.invoke(app, ["orders", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"data":[]' in listed.stdout.replace(" ", "")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path, the root's lazy commands included (built as help lists them)."""
    yield path
    if not hasattr(command, "list_commands"):
        return
    context = command.context_class(command, info_name=path[-1] if path else "orderhub")
    for name in command.list_commands(context):
        yield from _commands(command.get_command(context, name), (*path, name))


def test_no_help_shows_a_bool_placeholder() -> None:
    commands = list(_commands(get_command(app)))
    assert ("orders", "list") in commands and ("sandbox", "mall") in commands  # it walks all
    runner = CliRunner()
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
        assert "--help" in result.output
    assert "Exit codes: 0 done, 1 failed, 2 usage" in runner.invoke(app, ["--help"]).output


def test_a_piped_table_keeps_every_value_whole(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = "Maximiliane Alexandrine Josephine von Hohenzollern-Sigmaringen und Weiterstadt"
    store(engine, [make_order("7", customer=customer)])
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["orders", "list"])  # its output is not a terminal
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.stdout.splitlines() if "mall-cz" in line]
    assert customer in row
    assert len(row) > 120


def test_the_readme_sorts_totals_within_one_currency() -> None:
    readme = (ROOT / "README.md").read_text()
    demo = (ROOT / "src/orderhub/cli/demo.py").read_text()
    examples = re.findall(r"\S*_sort=total\S*", readme + demo)
    assert examples, "the README shows a sort by total"
    for example in examples:
        assert "currency=" in example, example


def _environment(path: Path) -> dict[str, str]:
    """The variables `source .demo/env` would export."""
    found = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            (found[name],) = shlex.split(value)
    return found


def _wait_for(condition: object, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 120
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def test_demo_env_reaches_the_demo_and_sigterm_stops_it(tmp_path: Path) -> None:
    """`.demo/env` gives another shell's CLI the demo's accounts and sandboxes; SIGTERM stops
    the demo as Ctrl-C does, with its stopping lines, and exit 0."""
    demo_dir, elsewhere = tmp_path / "demo", tmp_path / "elsewhere"
    demo_dir.mkdir()
    elsewhere.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERHUB_", "DEMO_"))}
    port = free_port()
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        demo = subprocess.Popen(
            [ORDERHUB, "demo", "--port", str(port), "--orders", "60"],
            cwd=demo_dir, env=clean | {"PYTHONUNBUFFERED": "1"}, stdout=out,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        _wait_for(lambda: "source .demo/env" in log.read_text(), demo, log)
        _wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), demo, log)
        env = clean | _environment(demo_dir / ".demo" / "env")

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [ORDERHUB, *args], cwd=elsewhere, env=env, capture_output=True, text=True,
                timeout=120,
            )  # fmt: skip

        listed = cli("channels", "list")
        assert listed.returncode == 0, listed.stdout + listed.stderr
        names = ("mall-cz", "mall-sk", "shop-de", "dexero-dk", "cdon-se")
        rows = [line for line in listed.stdout.splitlines() if any(n in line for n in names)]
        assert len(rows) == 5 and "not in the configuration" not in listed.stdout, listed.stdout
        synced = cli("sync")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        for name in names:
            assert f"{name}: ok" in synced.stdout, synced.stdout
        assert list(elsewhere.iterdir()) == []  # the demo's database, not a new one here
    finally:
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=60)
    output = log.read_text()
    assert code == 0, output
    assert output.rstrip().endswith(
        "stopping the worker, the periodic sync and the sandboxes\nstopped"
    ), output
    assert "Traceback" not in output


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_sync_without_a_config_file_says_where_it_looked(bare_directory: Path) -> None:
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"error: there is no orderhub.toml (looked in {bare_directory.resolve()}): write one, "
        "or set ORDERHUB_CONFIG_FILE (docs/channels.md)\n"
    )
    assert list(bare_directory.iterdir()) == []
