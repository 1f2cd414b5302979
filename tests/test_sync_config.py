"""orderhub.toml, the quarantine, `GET /v1/channels` and the `orderhub sync` family of commands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from helpers import api_key, auth_header, client
from orderhub.cli import app as cli_app
from orderhub.cli.common import console
from orderhub.services.channels import ConfigError, load_config
from orderhub.services.sync import sync_account
from orderhub.settings import get_settings
from sync_support import CHANNEL, Sandbox, assert_same_orders, mall_sandbox

CONFIG = """
[[channels]]
name = "mall-cz"
type = "mall"
base_url = "{base_url}"
client_id_env = "MALL_CZ_CLIENT_ID"
sync_interval = 600
page_size = 50
"""


MINIMAL = '[[channels]]\nname = "x"\ntype = "mall"\nbase_url = "http://h"\n'


def write_config(tmp_path: Path, base_url: str = "http://127.0.0.1:9/v1") -> Path:
    path = tmp_path / "orderhub.toml"
    path.write_text(CONFIG.format(base_url=base_url))
    return path


def test_config_reads_accounts_with_credentials_from_the_environment(tmp_path: Path) -> None:
    (config,) = load_config(write_config(tmp_path))
    assert (config.name, config.type, config.sync_interval, config.page_size) == (
        "mall-cz", "mall", 600, 50,
    )  # fmt: skip
    assert config.credentials_env == {"client_id": "MALL_CZ_CLIENT_ID"}
    assert config.missing_credentials({}) == ["MALL_CZ_CLIENT_ID"]
    account = config.account({"MALL_CZ_CLIENT_ID": "abc"})
    assert account.credentials == {"client_id": "abc"} and account.page_size == 50
    with pytest.raises(ConfigError, match="MALL_CZ_CLIENT_ID"):
        config.account({})
    assert load_config(tmp_path / "absent.toml") == []


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[[channels]]\nname = "x"\ntype = "ebay"\nbase_url = "http://h/v1"\n', "type"),
        ('[[channels]]\nname = "x"\ntype = "mall"\nbase_url = "ftp://h"\n', "base_url"),
        (MINIMAL + "sync_intrval = 5\n", "sync_intrval"),
        (MINIMAL + "page_size = 0\n", "page_size"),
        ("[[channels]\n", "not valid TOML"),
        ('channels = "mall"\n', "array of tables"),
        (MINIMAL * 2, "unique"),
    ],
)  # fmt: skip
def test_bad_configuration_is_named(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "orderhub.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=complaint):
        load_config(path)


def add_bad_record(sandbox: Sandbox) -> int:
    """A copy of an order under a new id with a status MALL does not have."""
    payloads = sandbox.state.orders_json()
    bad = dict(next(p for p in payloads if p["status"] == "open"))
    bad["id"] = max(p["id"] for p in payloads) + 1
    bad["status"] = "teleported"
    bad["confirmed"] = False
    sandbox.state.store.insert([bad])
    return int(bad["id"])


def test_undecodable_record_is_quarantined_and_the_sync_goes_on(engine: Engine) -> None:
    with mall_sandbox(orders=120, seed=12) as sandbox:
        bad_id = add_bad_record(sandbox)
        result = sync_account(engine, sandbox.account())
        assert result.ok, result.error
        http = client(engine)
        http.app.state.config_file = "absent.toml"  # the account is known from its sync
        body = http.get(f"/v1/channels/{CHANNEL}/quarantine").json()
        assert body["paging"]["total"] == 1
        (record,) = body["data"]
        assert record["external_id"] == str(bad_id)
        assert "status" in record["reason"]
        assert record["payload"]["status"] == "teleported"  # the raw payload, kept
        bad = sandbox.state.store.get(bad_id)
        assert bad is not None and bad["confirmed"] is False  # never confirmed: not stored
        bad["status"] = "open"
        sandbox.state.store.save(bad)
        assert sync_account(engine, sandbox.account(), full=True).ok
        assert http.get(f"/v1/channels/{CHANNEL}/quarantine").json()["paging"]["total"] == 0
        assert_same_orders(engine, sandbox)


def test_a_record_quarantined_twice_in_one_run_counts_once(engine: Engine) -> None:
    with mall_sandbox(orders=120, seed=12) as sandbox:
        add_bad_record(sandbox)
        result = sync_account(engine, sandbox.account())
    assert result.ok, result.error
    assert result.counts.quarantined == 1


def test_channels_api_shows_state_and_last_run_metrics(engine: Engine, tmp_path: Path) -> None:
    with mall_sandbox(orders=100, seed=13) as sandbox:
        result = sync_account(engine, sandbox.account())
        assert result.ok, result.error
        http = client(engine)
        http.app.state.config_file = str(write_config(tmp_path, sandbox.base_url + "/v1"))
        response = http.get("/v1/channels")
        assert response.status_code == 200, response.text
        (channel,) = response.json()["data"]
        assert (channel["name"], channel["configured"], channel["type"]) == (CHANNEL, True, "mall")
        assert channel["cursor"]["full"] is None
        # The config's sync_interval (600 s) after the last run (which succeeded).
        last_success = datetime.fromisoformat(channel["last_success_at"])
        assert datetime.fromisoformat(channel["next_due_at"]) == last_success + timedelta(
            seconds=600
        )
        assert (channel["overdue"], channel["consecutive_failures"]) == (False, 0)
        run = channel["last_run"]
        assert (run["status"], run["orders_new"]) == ("ok", 100)
        served = sandbox.state.request_count  # counted by the sandbox, not by the hub
        assert served > 0
        assert run["requests"] == served
        assert run["requests_per_1000_orders"] == round(served * 1000 / 100, 1)


def test_channels_api_needs_a_read_key_and_checks_paging(engine: Engine) -> None:
    http = client(engine)
    http.app.state.config_file = "absent.toml"
    assert http.get("/v1/channels").status_code == 200
    anonymous = http.get("/v1/channels", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    writer = auth_header(api_key(engine, scopes="orders:write"))
    assert http.get("/v1/channels", headers=writer).status_code == 403
    assert http.get("/v1/channels/nope/quarantine").status_code == 404
    bad = http.get("/v1/channels/nope/quarantine", params={"page_size": "0"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["parameter"] == "page_size"


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> Iterator[Sandbox]:
    with mall_sandbox(orders=80, seed=14) as sandbox:
        config = write_config(tmp_path, sandbox.base_url + "/v1")
        monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
        monkeypatch.setenv("ORDERHUB_CONFIG_FILE", str(config))
        monkeypatch.setenv("MALL_CZ_CLIENT_ID", "sandbox")
        get_settings.cache_clear()
        yield sandbox
        get_settings.cache_clear()


def test_cli_sync_then_channels_list(
    cli_env: Sandbox, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 250)  # a wide terminal: no cell is cut
    runner = CliRunner()
    synced = runner.invoke(cli_app, ["sync", "--channel", CHANNEL])
    assert synced.exit_code == 0, synced.output
    assert "mall-cz: ok 80 new" in synced.output
    # The channel's acknowledgement is not the hub's `confirmed` flag: not called the same.
    assert "acknowledged to the channel" in synced.output and "confirmed" not in synced.output
    assert_same_orders(engine, cli_env)
    listed = runner.invoke(cli_app, ["channels", "list"])
    assert listed.exit_code == 0, listed.output
    rows = [
        [cell.strip() for cell in line.strip("│").split("│")] for line in listed.output.splitlines()
    ]
    (row,) = [cells for cells in rows if cells[0] == "mall-cz"]
    assert (row[1], row[5], row[6], row[7]) == ("mall", "ok", "ok", "80")  # health, run, orders
    unknown = runner.invoke(cli_app, ["sync", "--channel", "nope"])
    assert unknown.exit_code == 2
    assert "known: mall-cz" in unknown.output
    quarantine = runner.invoke(cli_app, ["quarantine", "list", "--json"])
    assert quarantine.exit_code == 0, quarantine.output
    assert quarantine.output.strip() == "[]"
