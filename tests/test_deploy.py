"""What deploy/ ships starts: the Procfile under honcho (the API with N server processes and M
workers on a temporary SQLite database), and the systemd units verify."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from helpers import free_port
from service_support import Service, clean_env, in_group

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
UNITS = ("orderhub-api.service", "orderhub-worker@.service")
#: The keys the units may use, by section: a misspelt one is a parse failure here too.
UNIT_KEYS = {
    "Unit": {"Description", "Documentation", "Wants", "After", "Requires", "PartOf"},
    "Service": {
        "Type", "User", "Group", "WorkingDirectory", "EnvironmentFile", "Environment",
        "ExecStartPre", "ExecStart", "ExecReload", "KillSignal", "TimeoutStopSec", "Restart",
        "RestartSec", "NoNewPrivileges", "PrivateTmp", "ProtectSystem", "ProtectHome",
        "ReadWritePaths",
    },
    "Install": {"WantedBy"},
}  # fmt: skip
_SECTION = re.compile(r"\[(\w+)\]")
_ENTRY = re.compile(r"([A-Za-z]+)=(.+)")


@pytest.mark.slow
def test_the_procfile_starts_the_api_and_workers_and_stops_on_sigterm(tmp_path: Path) -> None:
    database = tmp_path / "hub.db"
    env_file = tmp_path / "orderhub.env"  # as deploy/orderhub.env.example, on SQLite
    env_file.write_text(
        f"ORDERHUB_DATABASE_URL=sqlite:///{database}\n"
        f"ORDERHUB_CONFIG_FILE={tmp_path / 'orderhub.toml'}\n"
    )
    env = clean_env(PATH=f"{BIN}:{clean_env()['PATH']}", WEB_CONCURRENCY="2", PYTHONUNBUFFERED="1")
    upgrade = subprocess.run(  # the release step (docs/deploy.md), before the processes start
        ["honcho", "-e", str(env_file), "run", "orderhub", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    port = free_port()
    honcho = [
        "honcho", "-e", str(env_file), "-f", str(DEPLOY / "Procfile"), "--no-colour",
        "start", "-p", str(port), "-c", "web=1,worker=2",
    ]  # fmt: skip
    hub = Service(honcho, cwd=tmp_path, env=env)
    try:
        hub.wait_ready(f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/v1/orders").status_code == 401  # a key needed
    finally:
        code = hub.stop(signal.SIGTERM)
    output = hub.output
    started = dict(re.findall(r"\| (\w+\.\d) started \(pid=(\d+)\)", output))
    assert set(started) == {"web.1", "worker.1", "worker.2"}, output
    for name, pid in started.items():
        # honcho gives each its own session: nothing of it (uvicorn's workers) is left.
        assert in_group(int(pid)) == [], output
        assert f"{name} stopped (rc=0)" in output, output  # a clean exit, not killed
    assert "Traceback" not in output
    assert code == 128 + signal.SIGTERM, output  # honcho's own answer to SIGTERM


def test_the_procfile_names_the_documented_processes() -> None:
    lines = [line for line in (DEPLOY / "Procfile").read_text().splitlines() if line.strip()]
    entries = {name: command.split() for name, command in (line.split(": ", 1) for line in lines)}
    assert set(entries) == {"web", "worker"}
    assert entries["web"][:3] == ["exec", "orderhub", "serve"]
    assert "--workers" in entries["web"] and "${PORT:-8000}" in entries["web"]
    assert entries["worker"] == ["exec", "orderhub", "worker"]


@pytest.mark.parametrize("unit", UNITS)
def test_the_units_parse(unit: str) -> None:
    section = None
    seen: dict[str, set[str]] = {}
    for number, line in enumerate((DEPLOY / unit).read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if header := _SECTION.fullmatch(line):
            section = header.group(1)
            assert section in UNIT_KEYS, f"{unit}:{number}: unknown section {section}"
            continue
        entry = _ENTRY.fullmatch(line)
        assert entry and section, f"{unit}:{number}: not Key=value in a section: {line}"
        assert entry.group(1) in UNIT_KEYS[section], f"{unit}:{number}: unknown key {line}"
        seen.setdefault(section, set()).add(entry.group(1))
    assert {"ExecStart", "EnvironmentFile", "Restart", "KillSignal"} <= seen["Service"]
    assert seen["Install"] == {"WantedBy"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_verifies_the_units(tmp_path: Path) -> None:
    """systemd-analyze verify, with the units' /opt/orderhub/venv pointing at this venv's bin
    (verify checks that each command exists); any warning fails the test."""
    for unit in UNITS:
        text = (DEPLOY / unit).read_text().replace("/opt/orderhub/venv/bin/", f"{BIN}/")
        name = unit.replace("@.", "@1.")  # a template is verified as one of its instances
        (tmp_path / name).write_text(text)
    names = [unit.replace("@.", "@1.") for unit in UNITS]
    verified = subprocess.run(
        ["systemd-analyze", "verify", *names],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout + verified.stderr == ""
