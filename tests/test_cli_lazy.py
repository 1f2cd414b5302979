"""The root command imports a command's module only when that command runs: `orderhub sync`
does not import the web app, FastAPI or the other commands; help still lists them all."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from orderhub.cli.main import RootGroup, app

_PROBE = """
import sys
from typer.testing import CliRunner
from orderhub.cli.main import app
result = CliRunner().invoke(app, [{args}])
assert result.exit_code == 0, result.output
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in ("fastapi", "starlette",
    "uvicorn", "jinja2") or m.startswith(("orderhub.api", "orderhub.web", "orderhub.cli.")))))
"""


def _imported(*args: str) -> set[str]:
    code = _PROBE.format(args=", ".join(repr(a) for a in args))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.strip().split(",")) - {""}


def test_sync_imports_neither_the_web_app_nor_other_commands() -> None:
    imported = _imported("sync", "--help")
    assert "orderhub.cli.sync" in imported
    assert imported <= {
        "orderhub.cli.sync",
        "orderhub.cli.main",
        "orderhub.cli.common",
        "orderhub.cli.errors",
        "orderhub.cli.lazy",
        "orderhub.cli.ports",
    }


def test_serve_still_finds_its_module() -> None:
    assert {"orderhub.cli.serve", "fastapi"} <= _imported("serve", "--help")


def test_root_help_lists_every_command_once() -> None:
    output = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    listed = [line.split()[0] for line in output.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == list(RootGroup.order)
    assert set(RootGroup.lazy) < set(listed)
    assert {"db", "generate"} < set(listed)  # the root's own
